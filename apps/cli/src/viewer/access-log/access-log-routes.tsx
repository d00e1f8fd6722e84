import type { ViewerApp, ViewerContext } from '../viewer-context.js';
import { Layout } from '../ui/layout.js';
import type { AccessLog, AccessLogPage } from './access-log.js';

const pageSize = 50;
const actions = ['sign-in', 'sign-in-refused', 'search', 'view', 'view-images', 'download', 'export', 'access-log'] as const;

const describeWhat = (what: Readonly<Record<string, string | number | boolean>>) =>
  Object.entries(what)
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(' ');

function AccessLogView({ user, page, who, action, number }: { user: string; page: AccessLogPage; who?: string; action?: string; number: number }) {
  const pages = Math.max(1, Math.ceil(page.total / pageSize));
  const link = (target: number) => {
    const parameters = new URLSearchParams();
    if (who !== undefined) parameters.set('who', who);
    if (action !== undefined) parameters.set('action', action);
    if (target > 1) parameters.set('page', String(target));
    const text = parameters.toString();
    return text === '' ? '/access-log' : `/access-log?${text}`;
  };
  return (
    <Layout title="Access log" user={user}>
      <h1>Access log</h1>
      <p class="note">Every sign-in, search, view, download and export, newest first. Recipients appear only as hash prefixes.</p>
      <form class="filters" method="get" action="/access-log" aria-label="Filter the access log">
        <div>
          <label for="who">Who</label>
          <input id="who" name="who" type="text" value={who ?? ''} placeholder="account name or token" autocomplete="off" />
        </div>
        <div>
          <label for="action">Action</label>
          <select id="action" name="action">
            <option value="">any</option>
            {actions.map((name) => (
              <option value={name} selected={name === action}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Filter</button>
      </form>
      {page.unreadable > 0 ? <p class="banner error" role="alert">{`${page.unreadable} line(s) of the log could not be read (a torn write?) and are not shown.`}</p> : null}
      {page.lines.length === 0 ? (
        <div class="empty">
          <p>No access matches.</p>
        </div>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">When (UTC)</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">What</th>
            </tr>
          </thead>
          <tbody>
            {page.lines.map((line) => (
              <tr>
                <td class="time">{line.at}</td>
                <td>{line.who}</td>
                <td>{line.action}</td>
                <td class="summary mono">{describeWhat(line.what)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pages" aria-label="Pages">
        {number > 1 ? (
          <a href={link(number - 1)} rel="prev">
            ← Newer
          </a>
        ) : null}
        <span>{`Page ${number} of ${pages} (${page.total} line${page.total === 1 ? '' : 's'})`}</span>
        {number < pages ? (
          <a href={link(number + 1)} rel="next">
            Older →
          </a>
        ) : null}
      </nav>
    </Layout>
  );
}

/** The access log page (`/access-log`, filter by who/action, paged) and `/api/access-log` (JSON). Reading the log is itself logged. */
export function registerAccessLogRoutes(app: ViewerApp, context: ViewerContext, log: AccessLog): void {
  const read = async (parameters: URLSearchParams) => {
    const who = parameters.get('who')?.trim() || undefined;
    const actionText = parameters.get('action')?.trim() || undefined;
    const action = actions.find((name) => name === actionText);
    const number = Math.max(1, Math.floor(Number(parameters.get('page') ?? '1')) || 1);
    const page = await log.read({ ...(who === undefined ? {} : { who }), ...(action === undefined ? {} : { action }), offset: (number - 1) * pageSize, limit: pageSize });
    return { who, action, number, page, problem: actionText !== undefined && action === undefined ? `action: "${actionText}" is not one of ${actions.join(', ')}.` : undefined };
  };
  app.get('/access-log', async (c) => {
    const { who, action, number, page } = await read(new URL(c.req.url).searchParams);
    await context.audit({ who: c.get('user'), action: 'access-log', what: { ...(who === undefined ? {} : { who }), ...(action === undefined ? {} : { filter: action }), page: number } });
    return c.html(<AccessLogView user={c.get('user')} page={page} number={number} {...(who === undefined ? {} : { who })} {...(action === undefined ? {} : { action })} />);
  });
  app.get('/api/access-log', async (c) => {
    const { who, action, number, page, problem } = await read(new URL(c.req.url).searchParams);
    if (problem !== undefined) return c.json({ error: { code: 'invalid_filter', message: problem } }, 400);
    await context.audit({ who: c.get('user'), action: 'access-log', what: { ...(who === undefined ? {} : { who }), ...(action === undefined ? {} : { filter: action }), page: number, via: 'api' } });
    return c.json({ total: page.total, page: number, unreadable: page.unreadable, lines: page.lines });
  });
}
