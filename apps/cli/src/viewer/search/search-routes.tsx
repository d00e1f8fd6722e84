import type { Context } from 'hono';
import { CliError } from '../../cli-kit/index.js';
import { recipientHashes } from '../../archive/ledger-search.js';
import type { ViewerApp, ViewerContext, ViewerEnv } from '../viewer-context.js';
import { resultDetails, runSearch, SearchFieldError, textSearchUnavailable, type SearchPage } from './run-search.js';
import { SearchPageView, type SearchFormProps } from './search-page.js';
import { describeSearch, hasFilters, knownChannel, searchParameters, searchQueryFrom, type FieldProblem, type SearchQuery } from './search-query.js';

const knownChannels = ['email', 'sms', 'push', 'whatsapp'];

function formChoices(context: ViewerContext): Pick<SearchFormProps, 'channels' | 'projects' | 'destinations' | 'textUnavailable'> {
  const { projects } = context.loaded.config;
  const channels = [...new Set([...knownChannels, ...Object.values(projects).flatMap((project) => project.channels ?? [])])].sort();
  const textUnavailable = textSearchUnavailable(context);
  return { channels, projects: Object.keys(projects).sort(), destinations: [...context.destinations.keys()].sort(), ...(textUnavailable === undefined ? {} : { textUnavailable }) };
}

/** Hashes a typed recipient as `sentcopy ls --recipient` does; a problem names the field, never the value. */
async function hashRecipient(context: ViewerContext, recipient: string, channel: string | undefined): Promise<string[] | FieldProblem> {
  try {
    return await recipientHashes(recipient, knownChannel(channel), context.loaded);
  } catch (error) {
    if (error instanceof CliError && error.code === 'invalid_recipient') return { field: 'recipient', problem: 'is not a recipient address: type it as it was sent to (name@example.com, +15550100100, or a push token).' };
    if (error instanceof CliError && error.code === 'recipient_key_required') {
      return {
        field: 'recipient',
        problem:
          "this deployment hashes recipients with a keyed hash, and the viewer was started without its secret: start it where the configuration's recipient key (SENTCOPY_RECIPIENT_KEY, or the env file beside the configuration) is set.",
      };
    }
    throw error;
  }
}

/** Runs a search and writes it to the access log; field problems are returned, not thrown. */
async function searchAndLog(context: ViewerContext, user: string, query: SearchQuery, via: 'page' | 'api'): Promise<SearchPage | FieldProblem> {
  try {
    const result = await runSearch(context, query);
    await context.audit({ who: user, action: 'search', what: { ...describeSearch(query), results: result.total, via } });
    return result;
  } catch (error) {
    if (error instanceof SearchFieldError) return error.problem;
    throw error;
  }
}

const isProblem = (value: unknown): value is FieldProblem => typeof value === 'object' && value !== null && 'problem' in value && 'field' in value;

/** The form's fields as a query (recipient hashed first). */
async function queryFromForm(context: ViewerContext, form: Record<string, unknown>): Promise<{ query: SearchQuery; problems: FieldProblem[]; typedRecipient?: string }> {
  const text = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : undefined);
  const parameters = new URLSearchParams();
  for (const name of ['campaign', 'channel', 'project', 'destination', 'since', 'until', 'text']) {
    const value = text(name);
    if (value !== undefined) parameters.set(name, value);
  }
  const typedRecipient = text('recipient')?.trim();
  const problems: FieldProblem[] = [];
  if (typedRecipient !== undefined && typedRecipient !== '') {
    const hashes = await hashRecipient(context, typedRecipient, parameters.get('channel') ?? undefined);
    if (isProblem(hashes)) problems.push(hashes);
    else for (const hash of hashes) parameters.append('rh', hash);
  } else {
    const kept = form['rh'];
    for (const hash of Array.isArray(kept) ? kept : kept === undefined ? [] : [kept]) if (typeof hash === 'string') parameters.append('rh', hash);
  }
  const parsed = searchQueryFrom(parameters);
  return { query: parsed.query, problems: [...problems, ...parsed.problems], ...(typedRecipient === undefined || typedRecipient === '' ? {} : { typedRecipient }) };
}

function apiProblem(c: Context<ViewerEnv>, problems: readonly FieldProblem[]) {
  return c.json({ error: { code: 'invalid_search', message: problems.map((problem) => `${problem.field}: ${problem.problem}`).join(' '), fields: problems } }, 400);
}

function apiResult(result: SearchPage) {
  return {
    source: result.source,
    total: result.total,
    page: result.page,
    pageCount: result.pageCount,
    destinations: result.destinations,
    unsearched: result.unsearched,
    objects: result.objects.map((object) => ({
      destination: object.destination,
      key: object.key,
      sentAt: new Date(object.sentAt).toISOString(),
      channel: object.channel,
      messageId: object.messageId,
      projectId: object.projectId,
      campaign: object.campaignId ?? object.canvasStepId ?? null,
      sha256: object.sha256,
      size: object.size,
      version: object.version,
    })),
  };
}

/**
 * The search page (`/`, GET shows, POST hashes the typed recipient and redirects to a URL holding
 * only hashes) and its JSON twin (`/api/search`: GET with `rh=` hashes, or POST a JSON body with
 * `recipient`). Every search is written to the access log before the answer goes out.
 */
export function registerSearchRoutes(app: ViewerApp, context: ViewerContext, options: { /** Problems shown above the form, read at each request. */ readonly notices?: readonly string[] } = {}): void {
  // Read at each request: the owner may add or drop notices while the viewer runs (a ledger that appeared).
  const banner = () => (options.notices === undefined || options.notices.length === 0 ? {} : { banner: options.notices.join(' ') });
  app.get('/', async (c) => {
    const parameters = new URL(c.req.url).searchParams;
    const { query, problems } = searchQueryFrom(parameters);
    const user = c.get('user');
    const choices = { ...formChoices(context), ...banner() };
    if (problems.length > 0) return c.html(<SearchPageView user={user} query={query} problems={problems} {...choices} />, 400);
    if (!hasFilters(query) && !parameters.has('page')) return c.html(<SearchPageView user={user} problems={[]} {...choices} />);
    const result = await searchAndLog(context, user, query, 'page');
    if (isProblem(result)) return c.html(<SearchPageView user={user} query={query} problems={[result]} {...choices} />, 400);
    const details = await resultDetails(context, result.objects);
    return c.html(<SearchPageView user={user} query={query} problems={[]} result={result} details={details} {...choices} />);
  });

  app.post('/', async (c) => {
    const form = await c.req.parseBody({ all: true }).catch(() => undefined);
    if (form === undefined)
      return c.html(<SearchPageView user={c.get('user')} problems={[{ field: 'form', problem: 'the request body is not a form this page sent; search again from the form.' }]} {...formChoices(context)} {...banner()} />, 400);
    const { query, problems, typedRecipient } = await queryFromForm(context, form);
    if (problems.length > 0) {
      return c.html(<SearchPageView user={c.get('user')} query={query} problems={problems} {...(typedRecipient === undefined ? {} : { typedRecipient })} {...formChoices(context)} {...banner()} />, 400);
    }
    const target = searchParameters({ ...query, page: 1 }).toString();
    return c.redirect(`/?${target === '' ? 'page=1' : target}`, 303);
  });

  app.get('/api/search', async (c) => {
    const { query, problems } = searchQueryFrom(new URL(c.req.url).searchParams);
    if (problems.length > 0) return apiProblem(c, problems);
    const result = await searchAndLog(context, c.get('user'), query, 'api');
    return isProblem(result) ? apiProblem(c, [result]) : c.json(apiResult(result));
  });

  app.post('/api/search', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return apiProblem(c, [{ field: 'body', problem: 'is not a JSON object.' }]);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return apiProblem(c, [{ field: 'body', problem: 'is not a JSON object.' }]);
    const fields = body as Record<string, unknown>;
    const wrong = Object.entries(fields).find(
      ([name, value]) => !['recipient', 'campaign', 'channel', 'project', 'destination', 'since', 'until', 'text', 'page'].includes(name) || (typeof value !== 'string' && !(name === 'page' && typeof value === 'number')),
    );
    if (wrong !== undefined) return apiProblem(c, [{ field: wrong[0], problem: 'is not a search field, or is not a string.' }]);
    const { query, problems } = await queryFromForm(context, fields);
    const page = fields['page'] === undefined ? 1 : Number(fields['page']);
    if (!Number.isSafeInteger(page) || page < 1) problems.push({ field: 'page', problem: 'must be a whole number of 1 or more.' });
    if (problems.length > 0) return apiProblem(c, problems);
    const result = await searchAndLog(context, c.get('user'), { ...query, page }, 'api');
    return isProblem(result) ? apiProblem(c, [result]) : c.json(apiResult(result));
  });
}
