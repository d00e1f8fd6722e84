import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { registerAccessLogRoutes } from '../access-log/access-log-routes.js';
import type { AccessLog } from '../access-log/access-log.js';
import { registerSearchRoutes } from '../search/search-routes.js';
import { Layout } from '../ui/layout.js';
import { viewerAssets } from '../ui/viewer-assets.js';
import type { ViewerApp, ViewerContext, ViewerEnv } from '../viewer-context.js';
import { createViewerAuth, type ViewerAuth } from './viewer-auth.js';

/** A viewer asset: its Content-Type and text. */
export interface ViewerAsset {
  readonly type: string;
  readonly body: string;
}

/** A route module (search, message, export): registers its routes and brings its assets, served under `/assets/NAME`. */
export interface ViewerModule {
  register(app: ViewerApp, context: ViewerContext): void;
  /** Static assets by file name (no `/`). */
  readonly assets?: ReadonlyMap<string, ViewerAsset>;
}

/** Options for {@link createViewerApp}. */
export interface ViewerAppOptions {
  /** The start-up token (`Authorization: Bearer …` or typed on the sign-in page). @default none: only accounts sign in */
  readonly token?: string;
  /** The access log the `/access-log` page reads back (the context's `audit` writes it). */
  readonly accessLog: AccessLog;
  /** Served over TLS: session cookies get `Secure` and the `__Host-` prefix. @default false */
  readonly secure?: boolean;
  /**
   * Host names (without port) the `Host` header may carry; any other is refused, so a web page
   * cannot reach the viewer through DNS rebinding. @default 127.0.0.1, localhost and [::1]
   */
  readonly allowedHosts?: readonly string[];
  /** Route modules registered after search and the access log (message pages, export). @default none */
  readonly modules?: readonly ViewerModule[];
  /** How long a session lasts after sign-in, in milliseconds. @default 28_800_000 (8 hours) */
  readonly sessionTtlMs?: number;
  /** Delay before answering the first refused sign-in from a client, in milliseconds; doubles per failure up to 8 s. @default 1000 */
  readonly refusalBaseDelayMs?: number;
  /** Problems found at start (no ledger anywhere, a destination that could not be opened), shown above the search form; read at each request, so the caller may change the array. @default none */
  readonly notices?: readonly string[];
  /** Where the server's own lines go (a failed request); never holds a recipient, token or password. @default stderr */
  readonly log?: (line: string) => void;
}

/** The CSP of every answer; a module may set its own on its pages (the message page's sandboxed frame). */
export const viewerContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

function clientOf(c: Context<ViewerEnv>): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Cookies are shared by every port of a host, so the port is in the name: two viewers on one machine keep their own sessions. */
const sessionCookie = (c: Context<ViewerEnv>, secure: boolean) => `${secure ? '__Host-' : ''}sentcopy_session_${new URL(c.req.url).port || (secure ? '443' : '80')}`;

/** A same-site path to return to after sign-in (never another origin). */
function safeNext(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\') && !value.startsWith('/sign-in') ? value : '/';
}

function SignInPage({ next, problem, tokenOffered }: { next: string; problem?: string; tokenOffered: boolean }) {
  return (
    <Layout title="Sign in">
      <section class="sign-in" aria-labelledby="sign-in-heading">
        <h1 id="sign-in-heading">Sign in to the archive viewer</h1>
        <p class="note">{tokenOffered ? 'Use a viewer account, or leave the account empty and paste the access token sentcopy view printed when it started.' : 'Use your viewer account (sentcopy view accounts add NAME).'}</p>
        {problem === undefined ? null : (
          <p class="banner error" role="alert">
            {problem}
          </p>
        )}
        <form method="post" action="/sign-in">
          <input type="hidden" name="next" value={next} />
          <div class="field">
            <label for="name">Account{tokenOffered ? ' (empty for the token)' : ''}</label>
            <input id="name" name="name" type="text" autocomplete="username" autofocus />
          </div>
          <div class="field">
            <label for="secret">{tokenOffered ? 'Password or access token' : 'Password'}</label>
            <input id="secret" name="secret" type="password" autocomplete="current-password" required />
          </div>
          <button type="submit">Sign in</button>
        </form>
        <p class="note">Every sign-in, search and view is written to the access log.</p>
      </section>
    </Layout>
  );
}

const wantsPage = (c: Context<ViewerEnv>) => (c.req.method === 'GET' || c.req.method === 'HEAD') && !c.req.path.startsWith('/api/') && (c.req.header('accept') ?? '').includes('text/html');

/** The request's own host, from the URL the server saw (the Host header, already checked). */
const ownHost = (c: Context<ViewerEnv>) => new URL(c.req.url).host;

/**
 * The viewer's Hono app: security headers on every answer, Host check, sign-in (token or accounts,
 * session cookie or `Authorization: Bearer`), CSRF check (Origin) on every POST, the assets, the
 * search and access-log pages, then `options.modules`.
 */
export function createViewerApp(context: ViewerContext, options: ViewerAppOptions): ViewerApp {
  const app: ViewerApp = new Hono<ViewerEnv>();
  const secure = options.secure === true;
  const auth: ViewerAuth = createViewerAuth({
    ...(options.token === undefined ? {} : { token: options.token }),
    accounts: context.loaded.config.viewer?.accounts ?? [],
    sessionTtlMs: options.sessionTtlMs ?? 8 * 3_600_000,
    refusalBaseDelayMs: options.refusalBaseDelayMs ?? 1000,
  });
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const allowedHosts = new Set((options.allowedHosts ?? ['127.0.0.1', 'localhost', '[::1]']).map((host) => host.toLowerCase()));
  const assets = new Map<string, ViewerAsset>(viewerAssets);
  for (const module of options.modules ?? []) for (const [name, asset] of module.assets ?? []) assets.set(name, asset);

  app.use(async (c, next) => {
    await next();
    const headers = c.res.headers;
    if (!headers.has('Content-Security-Policy')) headers.set('Content-Security-Policy', viewerContentSecurityPolicy);
    headers.set('X-Content-Type-Options', 'nosniff');
    headers.set('Referrer-Policy', 'no-referrer');
    headers.set('Cache-Control', 'no-store');
    headers.set('X-Frame-Options', 'DENY');
    headers.set('Cross-Origin-Opener-Policy', 'same-origin');
    headers.set('Cross-Origin-Resource-Policy', 'same-origin');
    if (secure) headers.set('Strict-Transport-Security', 'max-age=31536000');
  });

  app.use(async (c, next) => {
    const host = (c.req.header('host') ?? '').toLowerCase().replace(/:\d+$/, '');
    if (!allowedHosts.has(host)) return c.text('This host name is not one the viewer answers to (see --allow-host in `sentcopy view --help`).\n', 421);
    await next();
  });

  app.get('/assets/:name', (c) => {
    const asset = assets.get(c.req.param('name'));
    if (asset === undefined) return c.text('No such asset.\n', 404);
    return c.body(asset.body, 200, { 'Content-Type': asset.type });
  });

  // Under `Referrer-Policy: no-referrer` Chromium sends `Origin: null` on form posts; Sec-Fetch-Site then says whether the post came from this origin.
  const originRefused = (c: Context<ViewerEnv>) => {
    const origin = c.req.header('origin');
    if (origin !== undefined && origin !== 'null') {
      // Host, not scheme: behind a TLS proxy the browser's origin is https while the viewer itself is reached over http.
      try {
        return new URL(origin).host !== ownHost(c);
      } catch {
        return true;
      }
    }
    return c.req.header('sec-fetch-site') !== 'same-origin';
  };
  const csrfAnswer = (c: Context<ViewerEnv>) => c.json({ error: { code: 'cross_site_request', message: 'The request came from another site (its Origin header is missing or not this viewer), so it was refused.' } }, 403);

  app.get('/sign-in', (c) => c.html(<SignInPage next={safeNext(c.req.query('next'))} tokenOffered={options.token !== undefined} />));

  app.post('/sign-in', async (c) => {
    if (originRefused(c)) return csrfAnswer(c);
    const form = await c.req.parseBody().catch(() => undefined);
    if (form === undefined) return c.html(<SignInPage next="/" problem="The sign-in form could not be read; try again." tokenOffered={options.token !== undefined} />, 400);
    const name = typeof form['name'] === 'string' ? form['name'].trim() : '';
    const secret = typeof form['secret'] === 'string' ? form['secret'] : '';
    const next = safeNext(form['next']);
    const client = clientOf(c);
    const outcome = await auth.signIn(name, secret);
    if ('refused' in outcome) {
      const delay = auth.refusalDelayMs(client);
      await context.audit({ who: outcome.who, action: 'sign-in-refused', what: { reason: outcome.refused } });
      await new Promise((resolve) => setTimeout(resolve, delay));
      return c.html(<SignInPage next={next} problem="Sign-in refused: the account, password or token is not right." tokenOffered={options.token !== undefined} />, 401);
    }
    auth.clearFailures(client);
    await context.audit({ who: outcome.user, action: 'sign-in', what: { method: outcome.user === 'token' && name === '' ? 'token' : 'password' } });
    const session = auth.openSession(outcome.user);
    setCookie(c, sessionCookie(c, secure), session.id, { path: '/', httpOnly: true, sameSite: 'Strict', secure, maxAge: session.maxAgeSeconds });
    return c.redirect(next, 303);
  });

  app.use(async (c, next) => {
    const authorization = c.req.header('authorization');
    let bearer = false;
    let user: string | undefined;
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (match !== null && auth.isToken(match[1]!)) {
        user = 'token';
        bearer = true;
      }
    } else user = auth.sessionUser(getCookie(c, sessionCookie(c, secure)));
    if (user === undefined) {
      if (wantsPage(c)) return c.redirect(`/sign-in?next=${encodeURIComponent(c.req.path + new URL(c.req.url).search)}`, 303);
      return c.json({ error: { code: 'unauthorized', message: 'Sign in first: send `Authorization: Bearer TOKEN` (the token sentcopy view printed) or a session cookie from the sign-in page.' } }, 401);
    }
    // A bearer token is never sent by a browser on its own, so only cookie-authenticated POSTs need the Origin check.
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !bearer && originRefused(c)) return csrfAnswer(c);
    c.set('user', user);
    await next();
  });

  app.post('/sign-out', (c) => {
    auth.closeSession(getCookie(c, sessionCookie(c, secure)));
    deleteCookie(c, sessionCookie(c, secure), { path: '/', secure });
    return c.redirect('/sign-in', 303);
  });

  registerSearchRoutes(app, context, { notices: options.notices ?? [] });
  registerAccessLogRoutes(app, context, options.accessLog);
  for (const module of options.modules ?? []) module.register(app, context);

  app.notFound((c) =>
    wantsPage(c)
      ? c.html(
          <Layout title="Not found" user={c.get('user')}>
            <h1>Not found</h1>
            <p>
              There is no page here. <a href="/">Back to search</a>
            </p>
          </Layout>,
          404,
        )
      : c.json({ error: { code: 'not_found', message: 'No such page or API.' } }, 404),
  );
  app.onError((error, c) => {
    log(`viewer: ${c.req.method} ${c.req.path} failed: ${error.name}: ${error.message}`);
    const message = 'The viewer could not answer this request; the error was written to its output. Try again, or look at the terminal running sentcopy view.';
    return wantsPage(c)
      ? c.html(
          <Layout title="Error" user={c.get('user')}>
            <h1>Something went wrong</h1>
            <p class="banner error" role="alert">
              {message}
            </p>
          </Layout>,
          500,
        )
      : c.json({ error: { code: 'failed', message } }, 500);
  });
  return app;
}
