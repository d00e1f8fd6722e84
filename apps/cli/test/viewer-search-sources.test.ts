// `sentcopy view` search against what can go wrong around it: text search on and off, an object that cannot be read, a
// destination (S3) that stops answering, no ledger at all, and TLS. The built CLI as a real process, archives written by the
// real archiver with its ledger, an S3-compatible test server.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import { createS3Destination } from '@sentcopy/destination-s3';
import { startS3Server, type S3TestServer } from '@sentcopy/test-servers';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshotPath } from './chromium.js';
import { tempFolders, waitFor } from './ingest-fixture.js';
import { fsEntry, json, s3Entry, s3Env, s3Settings, writeConfigFile } from './ls-fixtures.js';
import { runCli } from './run-cli.js';
import { archiveWithLedger, startView, type ViewerProcess } from './viewer-fixture.js';

const folders = tempFolders('viewer-sources');
const project = { destination: 'archive', channels: ['email', 'sms'], api_keys: [] };
const at = (step: number) => Date.parse('2026-06-01T08:00:00Z') + step * 60_000;
const email = (id: string, step: number, subject: string, extra: Record<string, unknown> = {}) => ({
  version: 1,
  message_id: id,
  project_id: 'shop',
  channel: 'email',
  to: 'dana@example.com',
  subject,
  html_body: `<p>${subject}</p>`,
  sent_at: at(step),
  campaign_id: 'june',
  ...extra,
});

let browser: Browser;
let server: S3TestServer;
beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startS3Server()]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop().catch(() => undefined);
});

interface ApiResult {
  source: string;
  total: number;
  unsearched: { destination: string; reason: string }[];
  objects: { destination: string; key: string; messageId: string }[];
}
const api = async (viewer: ViewerProcess, query: string) => {
  const answer = await fetch(`${viewer.origin}/api/search?${query}`, { headers: { Authorization: `Bearer ${viewer.token}` } });
  return { status: answer.status, body: (await answer.json()) as ApiResult & { error?: { fields: { field: string; problem: string }[] } } };
};

async function signedInPage(viewer: ViewerProcess) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  await page.goto(`${viewer.origin}/`);
  await page.fill('#secret', viewer.token!);
  await Promise.all([page.waitForURL(`${viewer.origin}/`), page.click('button[type=submit]')]);
  return { page, close: () => context.close() };
}

describe('sentcopy view: text search, unreadable objects, an unreachable destination', { timeout: 180_000 }, () => {
  const folder = folders();
  const root = path.join(folder, 'archive');
  let viewer: ViewerProcess;
  beforeAll(async () => {
    mkdirSync(root, { recursive: true });
    const bucket = server.createBucket();
    const cloud = createS3Destination(s3Settings(server.endpoint, bucket));
    await archiveWithLedger(root, [email('t-1', 1, 'Your wombat plush shipped'), email('t-2', 2, 'Invoice 2026-06'), email('t-3', 3, 'Password reset')]);
    await archiveWithLedger(cloud, [email('s-1', 4, 'Stored in the cloud'), email('s-2', 5, 'Also in the cloud')], 'w-cloud');
    await cloud.close?.();
    writeConfigFile(folder, { destinations: { archive: fsEntry(root), cloud: s3Entry(server.endpoint, bucket) }, projects: { shop: project } });
    const indexed = await runCli(['index', '--text', '--json'], { cwd: folder, env: s3Env });
    expect(indexed.code, indexed.stderr).toBe(0);
    viewer = await startView(folder, [], s3Env);
  });
  afterAll(async () => {
    await viewer?.stop();
  });

  it('searches subjects and bodies when the index has text, and names the field for a query FTS5 cannot read', async () => {
    const found = await api(viewer, 'text=wombat');
    expect([found.status, found.body.objects.map((object) => object.messageId)]).toEqual([200, ['t-1']]);
    expect((await api(viewer, 'text=cloud')).body.objects.map((object) => object.messageId)).toEqual(['s-2', 's-1']);
    const broken = await api(viewer, `text=${encodeURIComponent('"unclosed')}`);
    expect(broken.status).toBe(400);
    expect(broken.body.error!.fields[0]!.field).toBe('text');
    const { page, close } = await signedInPage(viewer);
    expect(await page.isDisabled('#text')).toBe(false);
    await page.fill('#text', 'wombat');
    await Promise.all([page.waitForURL(/text=wombat/), page.click('form.search button[type=submit]')]);
    expect(await page.textContent('td.summary a')).toBe('Your wombat plush shipped');
    await close();
  });

  it('says which row could not be read (garbage in place of an object) and still shows the others', async () => {
    const { body } = await api(viewer, 'campaign=june&destination=archive');
    const invoice = body.objects.find((object) => object.messageId === 't-2')!;
    writeFileSync(path.join(root, ...invoice.key.split('/')), 'this is not gzip');
    const { page, close } = await signedInPage(viewer);
    await page.goto(`${viewer.origin}/?campaign=june&destination=archive`);
    const rows = await page.$$eval('tbody tr', (trs) => trs.map((tr) => tr.querySelector('td.summary')?.textContent ?? ''));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toBe('Password reset');
    expect(rows[1]).toBe('t-2Could not be read: its bytes do not match the SHA-256 the ledger recorded (run `sentcopy verify`)');
    expect(rows[2]).toBe('Your wombat plush shipped');
    await page.screenshot({ path: screenshotPath('viewer-search-unreadable'), fullPage: true });
    await close();
  });

  it('names the destination that stops answering: its rows on the page, and the ledger search without an index', async () => {
    const ledgerOnly = await startView(folder, ['--no-index-update', '--index', path.join(folder, 'none.sqlite')], s3Env);
    try {
      expect((await api(ledgerOnly, 'campaign=june')).body.total).toBe(5);
      await server.stop();
      const { body } = await api(ledgerOnly, 'campaign=june');
      expect([body.source, body.total]).toEqual(['ledger', 3]);
      expect(body.unsearched).toEqual([{ destination: 'cloud', reason: expect.stringMatching(/^it could not be read: /) }]);
      const { page, close } = await signedInPage(viewer);
      await page.goto(`${viewer.origin}/?campaign=june`);
      const problems = await page.$$eval('td.summary .field-problem', (items) => items.map((item) => item.textContent ?? ''));
      expect(problems.filter((text) => text.startsWith('Could not be read: destination "cloud" could not be read:'))).toHaveLength(2);
      expect(await page.textContent('#results-heading')).toBe('5 messages match');
      await close();
    } finally {
      await ledgerOnly.stop();
    }
  });
});

describe('sentcopy view with no ledger, and over TLS', { timeout: 120_000 }, () => {
  it('says there is no ledger and how to get one; with --refresh, finds the messages archived after it started', async () => {
    const folder = folders();
    const root = path.join(folder, 'archive');
    mkdirSync(root);
    writeConfigFile(folder, { destinations: { archive: fsEntry(root) }, projects: { shop: project } });
    const viewer = await startView(folder, ['--refresh', '1']);
    try {
      const { page, close } = await signedInPage(viewer);
      expect(await page.textContent('main .banner.error')).toContain('No destination holds a ledger yet');
      expect(await page.textContent('main .banner.error')).toContain('docs/ledger.md');
      await close();
      expect(viewer.output()).toContain('warning: No destination holds a ledger yet');
      expect((await api(viewer, 'campaign=june')).body.total).toBe(0);
      await archiveWithLedger(root, [email('n-1', 1, 'Archived later'), email('n-2', 2, 'Archived later too')]);
      await waitFor(async () => (await api(viewer, 'campaign=june')).body.total === 2, 30_000, 'the viewer to index the messages archived after it started');
      expect((await api(viewer, 'campaign=june')).body.objects.map((object) => object.messageId)).toEqual(['n-2', 'n-1']);
      // The banner goes once the refresh that found them has finished.
      const searchPage = async () => (await fetch(`${viewer.origin}/`, { headers: { Authorization: `Bearer ${viewer.token}`, Accept: 'text/html' } })).text();
      await waitFor(async () => !(await searchPage()).includes('No destination holds a ledger yet'), 30_000, 'the no-ledger banner to go');
      expect(await searchPage()).toContain('Search the archive');
    } finally {
      expect(await viewer.stop()).toBe(0);
    }
  });

  it('serves HTTPS with --tls-cert/--tls-key, and its session cookie is Secure with the __Host- prefix', async (context) => {
    const folder = folders();
    mkdirSync(path.join(folder, 'archive'));
    writeConfigFile(folder, { destinations: { archive: fsEntry(path.join(folder, 'archive')) }, projects: { shop: project } });
    const cert = path.join(folder, 'cert.pem');
    const key = path.join(folder, 'key.pem');
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], {
        stdio: 'ignore',
      });
    } catch {
      console.log('skipped: openssl is not installed, so no certificate could be made');
      context.skip();
    }
    const viewer = await startView(folder, ['--tls-cert', cert, '--tls-key', key]);
    try {
      expect(viewer.origin).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const answer = await new Promise<{ status?: number; cookie?: string[] }>((resolve, reject) => {
        const body = `name=&secret=${encodeURIComponent(viewer.token!)}`;
        const call = request(`${viewer.origin}/sign-in`, { method: 'POST', ca: readFileSync(cert), headers: { Origin: viewer.origin, 'Content-Type': 'application/x-www-form-urlencoded' } }, (response) => {
          response.resume();
          resolve({ status: response.statusCode, cookie: response.headers['set-cookie'] });
        });
        call.once('error', reject);
        call.end(body);
      });
      expect(answer.status).toBe(303);
      expect(answer.cookie?.[0]).toMatch(new RegExp(`^__Host-sentcopy_session_${new URL(viewer.origin).port}=[\\w-]{43}; Max-Age=28800; Path=/; HttpOnly; Secure; SameSite=Strict$`));
    } finally {
      await viewer.stop();
    }
  });

  it('view log on a configuration whose viewer never ran says there is nothing (text and JSON)', async () => {
    const folder = folders();
    writeConfigFile(folder, { destinations: { archive: fsEntry(path.join(folder, 'archive')) }, projects: { shop: project } });
    const empty = await runCli(['view', 'log'], { cwd: folder });
    expect([empty.code, empty.stdout.trim()]).toEqual([0, `No access recorded (${path.join(folder, '.sentcopy', 'viewer-access.log')}).`]);
    expect(json<{ total: number }>(await runCli(['view', 'log', '--json'], { cwd: folder })).total).toBe(0);
  });
});
