// `sentcopy view` end to end: the built CLI as a real process on an archive the real archiver wrote (with its ledger) into a temp
// folder, indexed by the viewer at start, driven by Debian's Chromium. Screenshots go to apps/cli/test-artifacts/screenshots.
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, recordRequests, screenshotPath } from './chromium.js';
import { tempFolders } from './ingest-fixture.js';
import { fsEntry, json, sampleArchiveMessages, writeConfigFile } from './ls-fixtures.js';
import { runCli } from './run-cli.js';
import { verifyBundle } from '../src/viewer/export/index.js';
import { archiveWithLedger, startView, type ViewerProcess } from './viewer-fixture.js';

const folders = tempFolders('viewer');
const ccAddress = 'Carol.CC@Example.com';
const hostileSubject = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> & "quotes"';
const accountName = 'ana-agent';
const accountPassword = 'correct horse battery staple';
const wrongPassword = 'wrong-password-7f3a91';
const expectedCsp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const at = (date: string, step: number) => Date.parse(`${date}T00:00:00Z`) + step * 60_000;
const bulkSms = Array.from({ length: 120 }, (_, index) => ({
  version: 1,
  message_id: `b-${String(index).padStart(3, '0')}`,
  project_id: 'shop',
  channel: 'sms',
  to: `+1555010${String(index).padStart(4, '0')}`,
  body: `Bulk notice ${index}`,
  campaign_id: 'bulk',
  sent_at: at('2026-04-01', index),
}));
const otherBulk = [
  ...Array.from({ length: 5 }, (_, index) => ({
    version: 1,
    message_id: `be-${index}`,
    project_id: 'shop',
    channel: 'email',
    to: 'eve@example.com',
    subject: `Bulk email ${index}`,
    html_body: '<p>bulk</p>',
    campaign_id: 'bulk',
    sent_at: at('2026-04-10', index),
  })),
  ...Array.from({ length: 3 }, (_, index) => ({ version: 1, message_id: `bm-${index}`, project_id: 'shop', channel: 'sms', to: '+15550109999', body: `May notice ${index}`, campaign_id: 'bulk', sent_at: at('2026-05-02', index) })),
];
const ccMessage = {
  version: 1,
  message_id: 'cc-1',
  project_id: 'shop',
  channel: 'email',
  to: 'zoe@example.com',
  cc: [ccAddress],
  subject: 'Quarterly statement for Zoe',
  html_body: '<p>Your statement</p>',
  campaign_id: 'statements',
  sent_at: at('2026-03-10', 0),
};
const hostileMessage = { version: 1, message_id: 'x-1', project_id: 'shop', channel: 'email', to: 'mallory@example.com', subject: hostileSubject, html_body: '<p>hi</p>', campaign_id: 'hostile', sent_at: at('2026-03-11', 0) };

const folder = folders();
const root = path.join(folder, 'archive');
let browser: Browser;
let viewer: ViewerProcess;
/** Searches the token user made through pages and the API; the access log must hold exactly as many. */
let tokenSearches = 0;

beforeAll(async () => {
  mkdirSync(root, { recursive: true });
  await archiveWithLedger(root, [...sampleArchiveMessages(), ccMessage, hostileMessage, ...bulkSms, ...otherBulk]);
  writeConfigFile(folder, { destinations: { archive: fsEntry(root) }, projects: { shop: { destination: 'archive', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [] } } });
  [browser, viewer] = await Promise.all([launchChromium(), startView(folder, ['--allow-host', 'archive.example.com'])]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await viewer?.stop();
});

const bearer = () => ({ Authorization: `Bearer ${viewer.token}` });

async function signInWithToken(page: Page, origin = viewer.origin, token = viewer.token!): Promise<void> {
  await page.goto(`${origin}/`);
  await page.fill('#secret', token);
  await Promise.all([page.waitForURL(`${origin}/`), page.click('button[type=submit]')]);
}

/** The result rows' message ids, from the link texts' message pages (the key ends with the message id). */
async function resultIds(page: Page): Promise<string[]> {
  const hrefs = await page.$$eval('td.summary a', (links) => links.map((link) => link.getAttribute('href') ?? ''));
  return hrefs.map((href) => /([^/]+?)\.json(?:\.gz|\.lz4)?$/.exec(decodeURIComponent(href))?.[1] ?? href);
}

describe('sentcopy view: access', { timeout: 120_000 }, () => {
  it('answers nothing without a token or cookie: a page redirects to sign-in, the API and a POST get 401; every answer carries the security headers', async () => {
    const page = await fetch(`${viewer.origin}/?campaign=bulk`, { headers: { Accept: 'text/html' }, redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/sign-in?next=%2F%3Fcampaign%3Dbulk');
    for (const [method, url] of [
      ['GET', '/api/search?campaign=bulk'],
      ['GET', '/api/access-log'],
      ['POST', '/'],
    ] as const) {
      const answer = await fetch(`${viewer.origin}${url}`, { method, redirect: 'manual', headers: { Origin: viewer.origin } });
      expect(answer.status, `${method} ${url}`).toBe(401);
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    const wrongToken = await fetch(`${viewer.origin}/api/search?campaign=bulk`, { headers: { Authorization: 'Bearer not-the-token' } });
    expect(wrongToken.status).toBe(401);
    const signIn = await fetch(`${viewer.origin}/sign-in`);
    expect(signIn.status).toBe(200);
    for (const answer of [page, signIn, wrongToken]) {
      expect(answer.headers.get('content-security-policy')).toBe(expectedCsp);
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
      expect(answer.headers.get('cache-control')).toBe('no-store');
    }
    // A host name other than the viewer's (DNS rebinding) is refused before anything else.
    const rebound = await new Promise<number | undefined>((resolve, reject) => {
      request(`${viewer.origin}/sign-in`, { headers: { Host: 'attacker.example' } }, (response) => {
        response.resume();
        resolve(response.statusCode);
      })
        .once('error', reject)
        .end();
    });
    expect(rebound).toBe(421);
  });

  it('signs in with the start-up token (page and Bearer), and refuses a cross-site POST from a signed-in browser', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const page = await context.newPage();
    await page.goto(`${viewer.origin}/`);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await page.screenshot({ path: screenshotPath('viewer-sign-in'), fullPage: true });
    await page.fill('#secret', viewer.token!);
    await Promise.all([page.waitForURL(`${viewer.origin}/`), page.click('button[type=submit]')]);
    expect(await page.textContent('header .user')).toContain('Signed in as token');
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: `sentcopy_session_${new URL(viewer.origin).port}`, httpOnly: true, sameSite: 'Strict' });
    expect(cookies[0]!.expires).toBeGreaterThan(Date.now() / 1000);
    const cookie = `${cookies[0]!.name}=${cookies[0]!.value}`;
    const crossSite = await fetch(`${viewer.origin}/`, { method: 'POST', headers: { Cookie: cookie, Origin: 'http://attacker.example', 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'campaign=bulk', redirect: 'manual' });
    expect(crossSite.status).toBe(403);
    const noOrigin = await fetch(`${viewer.origin}/`, { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'campaign=bulk', redirect: 'manual' });
    expect(noOrigin.status).toBe(403);
    const sameSite = await fetch(`${viewer.origin}/`, { method: 'POST', headers: { Cookie: cookie, Origin: viewer.origin, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'campaign=bulk', redirect: 'manual' });
    expect(sameSite.status).toBe(303);
    expect(sameSite.headers.get('location')).toBe('/?campaign=bulk');
    // Behind a TLS proxy (--allow-host): the browser's origin is https://NAME while the viewer is reached over http (its
    // cookie is named after the port the proxy's Host header names: none, so 80).
    const proxied = await new Promise<{ status?: number; location?: string }>((resolve, reject) => {
      const call = request(
        `${viewer.origin}/`,
        { method: 'POST', headers: { Host: 'archive.example.com', Cookie: `sentcopy_session_80=${cookies[0]!.value}`, Origin: 'https://archive.example.com', 'Content-Type': 'application/x-www-form-urlencoded' } },
        (response) => {
          response.resume();
          resolve({ status: response.statusCode, location: response.headers.location });
        },
      );
      call.once('error', reject);
      call.end('campaign=bulk');
    });
    expect(proxied).toEqual({ status: 303, location: '/?campaign=bulk' });
    const api = await fetch(`${viewer.origin}/api/search?campaign=bulk&channel=sms`, { headers: bearer() });
    tokenSearches += 1;
    expect(api.status).toBe(200);
    expect(((await api.json()) as { total: number }).total).toBe(123);
    await context.close();
  });

  it('with accounts: no token is printed, a wrong password is refused and logged (without the password), the right one signs in', async () => {
    const accounts = folders();
    writeConfigFile(accounts, { destinations: { archive: fsEntry(root) }, projects: { shop: { destination: 'archive', channels: ['email', 'sms'], api_keys: [] } } });
    const add = await runCli(['view', 'accounts', 'add', accountName, '--password-stdin'], { cwd: accounts, input: `${accountPassword}\n` });
    expect(add.code, add.stderr).toBe(0);
    const config = readFileSync(path.join(accounts, 'sentcopy.config.json'), 'utf8');
    expect(config).toContain('"password_hash": "scrypt$32768$8$1$');
    expect(config).not.toContain(accountPassword);
    const listed = json<{ accounts: { name: string }[] }>(await runCli(['view', 'accounts', 'ls', '--json'], { cwd: accounts }));
    expect(listed.accounts.map((account) => account.name)).toEqual([accountName]);
    const duplicate = await runCli(['view', 'accounts', 'add', accountName, '--password-stdin'], { cwd: accounts, input: `${accountPassword}\n` });
    expect(duplicate.code).toBe(2);

    const withAccounts = await startView(accounts);
    try {
      expect(withAccounts.token).toBeNull();
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${withAccounts.origin}/`);
      await page.fill('#name', accountName);
      await page.fill('#secret', wrongPassword);
      const [refused] = await Promise.all([page.waitForResponse((response) => response.url().endsWith('/sign-in') && response.request().method() === 'POST'), page.click('button[type=submit]')]);
      expect(refused.status()).toBe(401);
      expect(await page.textContent('.banner.error')).toContain('Sign-in refused');
      expect(await context.cookies()).toEqual([]);
      // The refused sign-in is on disk before the answer went out.
      const log = json<{ lines: { who: string; action: string; what: Record<string, unknown> }[] }>(await runCli(['view', 'log', '--action', 'sign-in-refused', '--json'], { cwd: accounts }));
      expect(log.lines).toEqual([expect.objectContaining({ who: accountName, action: 'sign-in-refused', what: { reason: 'wrong password' } })]);
      await page.fill('#name', accountName);
      await page.fill('#secret', accountPassword);
      await Promise.all([page.waitForURL(`${withAccounts.origin}/`), page.click('button[type=submit]')]);
      expect(await page.textContent('header .user')).toContain(`Signed in as ${accountName}`);
      const signIns = json<{ lines: { who: string }[] }>(await runCli(['view', 'log', '--action', 'sign-in', '--json'], { cwd: accounts }));
      expect(signIns.lines.map((line) => line.who)).toEqual([accountName]);
      const logFile = path.join(accounts, '.sentcopy', 'viewer-access.log');
      expect(statSync(logFile).mode & 0o777).toBe(0o600);
      const logText = readFileSync(logFile, 'utf8');
      expect(logText).not.toContain(wrongPassword);
      expect(logText).not.toContain(accountPassword);
      await context.close();
      const removed = await runCli(['view', 'accounts', 'rm', accountName], { cwd: accounts });
      expect(removed.code, removed.stderr).toBe(0);
      expect(readFileSync(path.join(accounts, 'sentcopy.config.json'), 'utf8')).not.toContain(accountName);
    } finally {
      expect(await withAccounts.stop()).toBe(0);
    }
  });

  it('refuses plain HTTP on a non-loopback address unless --insecure-bind, saying why', async () => {
    const run = await runCli(['view', '--host', '0.0.0.0', '--port', '0', '--json'], { cwd: folder });
    expect(run.code).toBe(2);
    const { error } = json<{ error: { code: string; message: string } }>(run);
    expect(error.code).toBe('insecure_bind');
    expect(error.message).toContain('without TLS');
    expect(error.message).toContain('--insecure-bind');
  });
});

describe('sentcopy view: search', { timeout: 180_000 }, () => {
  let page: Page;
  let requests: string[];
  beforeAll(async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    page = await context.newPage();
    requests = recordRequests(page);
    await signInWithToken(page);
  });

  it('finds a message by an address that is only a cc recipient; the address is in no URL, no access-log line and no server output', async () => {
    await page.fill('#recipient', ccAddress);
    await Promise.all([page.waitForURL(/\/\?rh=/), page.click('form.search button[type=submit]')]);
    tokenSearches += 1;
    expect(await resultIds(page)).toEqual(['cc-1']);
    expect(await page.textContent('td.summary a')).toBe('Quarterly statement for Zoe');
    expect(await page.textContent('tbody td.mono')).toBe('z***@example.com');
    expect(await page.textContent('#results-heading')).toBe('1 message match');
    await page.screenshot({ path: screenshotPath('viewer-search-recipient'), fullPage: true });
    const needle = /carol/i;
    expect(requests.filter((url) => needle.test(decodeURIComponent(url)))).toEqual([]);
    expect(page.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?(rh=[0-9a-f]{64}&?)+$/);
    const logText = readFileSync(path.join(folder, '.sentcopy', 'viewer-access.log'), 'utf8');
    expect(logText).toContain('"action":"search"');
    expect(logText).not.toMatch(needle);
    expect(viewer.output()).not.toMatch(needle);
  });

  it('goes from the address to the message page as the customer saw it, and exports the results as a bundle and the message as .eml and as its stored JSON; each step is in the access log', async () => {
    await page.goto(`${viewer.origin}/`);
    await page.fill('#recipient', ccAddress);
    await Promise.all([page.waitForURL(/\/\?rh=/), page.click('form.search button[type=submit]')]);
    tokenSearches += 1;
    // The results export as a bundle that verifies offline.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('form.export button')]);
    const check = await verifyBundle(readFileSync((await download.path())!));
    expect(check.problems).toEqual([]);
    expect(check.manifest?.objects.map((object) => object.message_id)).toEqual(['cc-1']);
    await Promise.all([page.waitForURL(/\/messages\//), page.click('td.summary a')]);
    expect(await page.textContent('h1')).toBe('Quarterly statement for Zoe');
    const frame = page.frameLocator('iframe');
    expect(await frame.locator('p').first().textContent()).toBe('Your statement');
    await page.screenshot({ path: screenshotPath('viewer-search-to-message'), fullPage: true });
    const eml = await page.request.get(`${page.url().split('?')[0]}/eml`);
    expect(eml.status()).toBe(200);
    expect((await eml.body()).toString('utf8')).toMatch(/^Subject: Quarterly statement for Zoe\r?$/m);
    const stored = await page.request.get(`${page.url().split('?')[0]}/json`);
    expect(JSON.parse((await stored.body()).toString('utf8'))).toMatchObject({ message_id: 'cc-1', subject: 'Quarterly statement for Zoe' });
    const actions = readFileSync(path.join(folder, '.sentcopy', 'viewer-access.log'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { action: string }).action);
    expect(actions.slice(-5)).toEqual(['search', 'export', 'view', 'download', 'download']);
  });

  it('filters by campaign, channel and month and pages newest first: 120 messages on 3 pages of 50, 50 and 20, none twice', async () => {
    await page.goto(`${viewer.origin}/`);
    await page.fill('#campaign', 'bulk');
    await page.selectOption('#channel', 'sms');
    await page.fill('#since', '2026-04');
    await page.fill('#until', '2026-04');
    await Promise.all([page.waitForURL(/campaign=bulk/), page.click('form.search button[type=submit]')]);
    tokenSearches += 1;
    expect(await page.textContent('#results-heading')).toBe('120 messages match');
    const pages: string[][] = [await resultIds(page)];
    await page.screenshot({ path: screenshotPath('viewer-search-results'), fullPage: false });
    while ((await page.$('a[rel=next]')) !== null) {
      await Promise.all([page.waitForURL(/page=/), page.click('a[rel=next]')]);
      tokenSearches += 1;
      pages.push(await resultIds(page));
    }
    expect(pages.map((ids) => ids.length)).toEqual([50, 50, 20]);
    const all = pages.flat();
    expect(new Set(all).size).toBe(120);
    // Newest first: b-119 … b-000.
    expect(all).toEqual(bulkSms.map((message) => message.message_id).reverse());
    expect(await page.textContent('nav.pages span')).toBe('Page 3 of 3');
    await Promise.all([page.waitForURL(/page=2/), page.click('a[rel=prev]')]);
    tokenSearches += 1;
    expect(await resultIds(page)).toEqual(pages[1]);

    // The same through the API, and the date and channel filters leave out what they should.
    const api = async (query: string) => {
      const answer = await fetch(`${viewer.origin}/api/search?${query}`, { headers: bearer() });
      tokenSearches += 1;
      expect(answer.status, query).toBe(200);
      return (await answer.json()) as { total: number; pageCount: number; objects: { messageId: string; sentAt: string; channel: string }[] };
    };
    expect((await api('campaign=bulk')).total).toBe(128);
    expect((await api('campaign=bulk&channel=sms')).total).toBe(123);
    expect((await api('campaign=bulk&since=2026-05')).total).toBe(3);
    expect((await api('campaign=bulk&until=2026-03')).total).toBe(0);
    const third = await api('campaign=bulk&channel=sms&since=2026-04&until=2026-04&page=3');
    expect([third.total, third.pageCount, third.objects.length]).toEqual([120, 3, 20]);
    expect(third.objects.at(-1)).toMatchObject({ messageId: 'b-000', channel: 'sms', sentAt: '2026-04-01T00:00:00.000Z' });
    const byPost = await fetch(`${viewer.origin}/api/search`, { method: 'POST', headers: { ...bearer(), 'Content-Type': 'application/json' }, body: JSON.stringify({ recipient: ccAddress }) });
    tokenSearches += 1;
    expect(((await byPost.json()) as { objects: { messageId: string }[] }).objects.map((object) => object.messageId)).toEqual(['cc-1']);
  });

  it('names the field and the problem for bad input, and says text search needs the text index', async () => {
    await page.goto(`${viewer.origin}/`);
    expect(await page.isDisabled('#text')).toBe(true);
    expect(await page.textContent('#text-note')).toContain('sentcopy index --text');
    // Any other text is a push token; with the email channel chosen it must be an email address.
    await page.selectOption('#channel', 'email');
    await page.fill('#recipient', 'ana.garcia@@example');
    await page.fill('#since', '2026-13');
    await page.click('form.search button[type=submit]');
    await page.waitForSelector('#recipient-problem');
    expect(await page.textContent('#recipient-problem')).toBe('Recipient: is not a recipient address: type it as it was sent to (name@example.com, +15550100100, or a push token).');
    expect(await page.textContent('#since-problem')).toBe('Since: the month must be 01 to 12.');
    const text = await fetch(`${viewer.origin}/api/search?text=refund`, { headers: bearer() });
    expect(text.status).toBe(400);
    expect(((await text.json()) as { error: { fields: { field: string; problem: string }[] } }).error.fields[0]).toMatchObject({ field: 'text', problem: expect.stringContaining('sentcopy index --text') });
    const unknown = await fetch(`${viewer.origin}/api/search`, { method: 'POST', headers: { ...bearer(), 'Content-Type': 'application/json' }, body: JSON.stringify({ recipient: 42 }) });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toBe('recipient: is not a search field, or is not a string.');
    const nothing = await page.goto(`${viewer.origin}/?campaign=no-such-campaign`);
    tokenSearches += 1;
    expect(nothing?.status()).toBe(200);
    expect(await page.textContent('#results-heading')).toBe('No messages match');
    expect(await page.textContent('.empty')).toContain('Nothing in archive matches these filters.');
  });

  it('answers malformed requests with the field and the problem, and keeps answering', async () => {
    const call = async (url: string, init: RequestInit = {}) => {
      const answer = await fetch(`${viewer.origin}${url}`, { ...init, headers: { ...bearer(), ...(init.headers as Record<string, string> | undefined) } });
      return { status: answer.status, text: await answer.text() };
    };
    const html = { Accept: 'text/html' };
    const past = await call('/?campaign=bulk&page=99', { headers: html });
    tokenSearches += 1;
    expect([past.status, past.text.includes('This page is past the last one: these filters match 128 messages on 3 pages.')]).toEqual([200, true]);
    const badPage = await call('/?page=abc', { headers: html });
    expect([badPage.status, badPage.text.includes('Page: must be a whole number of 1 or more.')]).toEqual([400, true]);
    const badHash = await call('/api/search?rh=not-a-hash');
    expect([badHash.status, JSON.parse(badHash.text).error.fields[0].field]).toEqual([400, 'recipient']);
    const notJson = await call('/api/search', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"recipient":' });
    expect([notJson.status, JSON.parse(notJson.text).error.message]).toEqual([400, 'body: is not a JSON object.']);
    const badAction = await call('/api/access-log?action=bogus');
    expect([badAction.status, JSON.parse(badAction.text).error.message]).toEqual([400, 'action: "bogus" is not one of sign-in, sign-in-refused, search, view, view-images, download, export, access-log.']);
    const badMultipart = await call('/', { method: 'POST', headers: { 'Content-Type': 'multipart/form-data; boundary=x' }, body: '--y\r\ngarbage' });
    expect([badMultipart.status, badMultipart.text.includes('Form: the request body is not a form this page sent; search again from the form.')]).toEqual([400, true]);
    const badCookie = await fetch(`${viewer.origin}/api/search`, { headers: { Cookie: `sentcopy_session_${new URL(viewer.origin).port}=%%%; other="unclosed; ;;=` } });
    expect(badCookie.status).toBe(401);
    const still = await call('/api/search?campaign=bulk');
    tokenSearches += 1;
    expect([still.status, JSON.parse(still.text).total]).toEqual([200, 128]);
  });

  it('shows a subject carrying <img onerror> and <script> as literal text, and runs no script', async () => {
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const before = requests.length;
    await page.goto(`${viewer.origin}/?campaign=hostile`);
    tokenSearches += 1;
    expect(await page.textContent('td.summary a')).toBe(hostileSubject);
    expect(await page.$$('td.summary img, td.summary script, main script')).toEqual([]);
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(dialogs).toEqual([]);
    expect(requests.slice(before).filter((url) => !url.startsWith(viewer.origin))).toEqual([]);
    expect(requests.slice(before).filter((url) => new URL(url).pathname === '/x')).toEqual([]);
  });

  it('keyboard: Tab reaches every search field, the search button and the result links, with a visible focus', async () => {
    await page.goto(`${viewer.origin}/?campaign=statements`);
    tokenSearches += 1;
    const reached: string[] = [];
    for (let step = 0; step < 40; step += 1) {
      await page.keyboard.press('Tab');
      // A string, so this file needs no DOM types: the focused element's id (or tag and link/label) and its outline style.
      reached.push(
        await page.evaluate<string>(`(() => {
          const element = document.activeElement;
          if (element === null) return '';
          const label = element.id || element.tagName.toLowerCase() + ':' + (element.getAttribute('href') ?? element.textContent.trim());
          return label + '|' + getComputedStyle(element).outlineStyle;
        })()`),
      );
    }
    const ids = reached.map((entry) => entry.split('|')[0]!);
    for (const field of ['recipient', 'campaign', 'channel', 'project', 'destination', 'since', 'until']) expect(ids, field).toContain(field);
    expect(ids).toContain('button:Search');
    const link = reached.find((entry) => entry.startsWith('a:/messages/'));
    expect(link, reached.join('\n')).toBeDefined();
    expect(link!.split('|')[1]).toBe('solid');
  });

  it('writes every search to the access log, which the access-log page shows newest first and filters by who and action', async () => {
    const api = await fetch(`${viewer.origin}/api/access-log?who=token&action=search`, { headers: bearer() });
    const log = (await api.json()) as { total: number; lines: { who: string; action: string; what: Record<string, unknown> }[] };
    expect(log.total).toBe(tokenSearches);
    expect(log.lines.every((line) => line.who === 'token' && line.action === 'search')).toBe(true);
    expect(log.lines.filter((line) => line.what['campaign'] === 'bulk' && line.what['channel'] === 'sms' && line.what['since'] === '2026-04').map((line) => line.what['page'])).toEqual([3, 2, 3, 2, 1]);
    expect(log.lines.filter((line) => typeof line.what['recipient'] === 'string').map((line) => line.what['via'])).toEqual(['api', 'page', 'page']);

    await page.goto(`${viewer.origin}/access-log?who=token&action=search`);
    expect(await page.textContent('nav.pages span')).toBe(`Page 1 of 1 (${tokenSearches} lines)`);
    expect(await page.$$eval('tbody tr', (rows) => rows.length)).toBe(tokenSearches);
    expect(await page.textContent('tbody tr:first-child td:nth-child(4)')).toContain('campaign=statements');
    await page.goto(`${viewer.origin}/access-log`);
    await page.screenshot({ path: screenshotPath('viewer-access-log'), fullPage: false });
    // The page view itself is logged too.
    const cli = json<{ lines: { action: string }[] }>(await runCli(['view', 'log', '--json', '--limit', '1'], { cwd: folder }));
    expect(cli.lines[0]!.action).toBe('access-log');
  });
});

describe('sentcopy view --no-index-update without an index file', { timeout: 120_000 }, () => {
  it('answers from the ledger segments, like ls without an index, and stops cleanly on SIGINT (Ctrl-C)', async () => {
    const ledgerOnly = await startView(folder, ['--no-index-update', '--index', path.join(folder, 'no-index.sqlite')]);
    try {
      const answer = await fetch(`${ledgerOnly.origin}/api/search?campaign=bulk&channel=sms&page=3`, { headers: { Authorization: `Bearer ${ledgerOnly.token}` } });
      const result = (await answer.json()) as { source: string; total: number; objects: { messageId: string }[] };
      expect([result.source, result.total, result.objects.length, result.objects.at(-1)?.messageId]).toEqual(['ledger', 123, 23, 'b-000']);
    } finally {
      expect(await ledgerOnly.stop('SIGINT')).toBe(0);
    }
  });
});
