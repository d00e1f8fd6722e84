import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { createArchiver, type DestinationV1 } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { createS3Destination } from '@sentcopy/destination-s3';
import { startS3Server } from '@sentcopy/test-servers';
import { createHash, randomBytes } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/cli-kit/index.js';
import { bundleResponse, findForExport, registerExportRoutes } from '../src/viewer/export/bundle-response.js';
import { verifyBundle } from '../src/viewer/export/verify-bundle.js';
import { BundleTooLargeError, writeBundle } from '../src/viewer/export/write-bundle.js';
import type { AccessEvent, ViewerEnv } from '../src/viewer/viewer-context.js';
import { testRecipientKey } from './ingest-fixture.js';
import { fsEntry, json, s3Entry, s3Env, s3Settings, writeConfigFile } from './ls-fixtures.js';
import { launchChromium, screenshotPath } from './chromium.js';
import { runCli } from './run-cli.js';
import { archiveMixed, manifestOf, mixedMessages, readZip } from './viewer-export-fixture.js';

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-export-sources-'));
const opened: DestinationV1[] = [];
afterAll(async () => {
  for (const destination of opened) await destination.close?.();
  rmSync(work, { recursive: true, force: true });
});

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const project = { destination: 'archive', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [] };

function archiveFolder(name: string): { folder: string; root: string; destination: DestinationV1 } {
  const folder = path.join(work, name);
  const root = path.join(folder, 'archive');
  mkdirSync(root, { recursive: true });
  const destination = createFsDestination({ root });
  opened.push(destination);
  writeConfigFile(folder, { destinations: { archive: fsEntry(root) }, projects: { shop: project } });
  return { folder, root, destination };
}

describe('sentcopy export without a ledger, with objects gone or damaged, and from the viewer', { timeout: 120_000 }, () => {
  it('without a ledger, the key listing finds the objects (same filters as ls)', async () => {
    const { folder, destination } = archiveFolder('no-ledger');
    const archiver = createArchiver({ destination, recipientKey: testRecipientKey, retry: false });
    const messages = mixedMessages().filter(({ codec }) => codec === 'gzip');
    for (const { message } of messages) await archiver.archive(message);
    const out = path.join(folder, 'bundle.zip');
    const run = await runCli(['export', '--project', 'shop', '--out', out, '--json'], { cwd: folder });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(json(run)).toMatchObject({ source: 'listing', objects: messages.length });
    expect(manifestOf(out).objects.map((object) => object.sha256_source)).toEqual(messages.map(() => 'store'));
    const verified = await runCli(['verify-bundle', out], { cwd: folder });
    expect(verified.code, verified.stdout).toBe(0);
    const none = await runCli(['export', '--project', 'shop', '--channel', 'sms', '--out', path.join(folder, 'none.zip'), '--json'], { cwd: folder });
    expect(none.code).toBe(3);
    expect(json<{ error: { code: string } }>(none).error.code).toBe('nothing_to_export');
    expect(existsSync(path.join(folder, 'none.zip'))).toBe(false);
  });

  it('from S3: each object in the bundle is the stored bytes (gzip objects are not decoded on the way)', async () => {
    const server = await startS3Server();
    try {
      const bucket = server.createBucket();
      const destination = createS3Destination(s3Settings(server.endpoint, bucket));
      opened.push(destination);
      const archived = await archiveMixed(destination, mixedMessages());
      const folder = path.join(work, 's3');
      mkdirSync(folder, { recursive: true });
      writeConfigFile(folder, { destinations: { archive: s3Entry(server.endpoint, bucket) }, projects: { shop: project } });
      const out = path.join(folder, 'bundle.zip');
      const run = await runCli(['export', '--out', out, '--json'], { cwd: folder, env: s3Env });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const files = readZip(out);
      const manifest = manifestOf(out);
      expect(manifest.objects).toHaveLength(archived.length);
      for (const object of archived) {
        const entry = manifest.objects.find((candidate) => candidate.key === object.key)!;
        // The SHA-256 the archiver computed over the bytes it stored, at write time.
        expect(createHash('sha256').update(files[entry.path]!).digest('hex'), object.key).toBe(object.sha256);
      }
      const verified = await runCli(['verify-bundle', out], { cwd: folder });
      expect(verified.code, verified.stdout).toBe(0);
    } finally {
      await server.stop();
    }
  });

  it('an object the ledger lists but the store lost, and one whose bytes changed in the store: both said, exit 4', async () => {
    const { folder, root, destination } = archiveFolder('damaged');
    const archived = await archiveMixed(destination, mixedMessages());
    const gone = archived[1]!;
    const damaged = archived[2]!;
    rmSync(path.join(root, ...gone.key.split('/')));
    const damagedFile = path.join(root, ...damaged.key.split('/'));
    const bytes = readFileSync(damagedFile);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x20;
    writeFileSync(damagedFile, bytes);

    const out = path.join(folder, 'bundle.zip');
    const run = await runCli(['export', '--out', out, '--json'], { cwd: folder });
    expect(run.code, run.stdout + run.stderr).toBe(4);
    const summary = json<{ objects: number; missing: { key: string }[]; problems: { key: string }[] }>(run);
    expect(summary.objects).toBe(archived.length - 1);
    expect(summary.missing.map((entry) => entry.key)).toEqual([gone.key]);
    expect(summary.problems.map((entry) => entry.key)).toEqual([damaged.key]);
    expect(run.stderr).toContain(`${gone.key} is not in the bundle`);
    expect(run.stderr).toContain(`${damaged.key} is in the bundle as stored, but`);
    const manifest = manifestOf(out);
    expect(manifest.missing).toHaveLength(1);
    // The bundle carries the damaged bytes against the SHA-256 the ledger recorded, so every check flags them.
    const check = await runCli(['verify-bundle', out, '--json'], { cwd: folder });
    expect(check.code).toBe(4);
    const problems = json<{ problems: { kind: string; path: string }[] }>(check).problems;
    expect(problems.map((problem) => problem.kind)).toEqual(['altered', 'missing']);
    expect(problems[1]?.path).toBe(`objects/archive/${gone.key}`);

    // The offline viewer says both too: the damaged object ALTERED, the lost one under "Not included".
    if (!existsSync(process.env.SENTCOPY_CHROMIUM ?? '/usr/bin/chromium')) {
      console.log('skipping the browser part: Chromium is not installed (scripts/ensure-tools.mjs installs it)');
      return;
    }
    const viewer = path.join(folder, 'viewer.html');
    writeFileSync(viewer, readZip(out)['viewer.html']!);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
      await page.goto(pathToFileURL(viewer).href);
      await page.waitForSelector('body[data-ready="true"]');
      const damagedIndex = manifest.objects.findIndex((object) => object.key === damaged.key);
      expect(await page.locator(`tr[data-index="${damagedIndex}"]`).getAttribute('data-status')).toBe('ALTERED');
      expect(await page.locator('#messages tbody tr[data-status="verified"]').count()).toBe(archived.length - 2);
      expect(await page.locator('.missing li').allTextContents()).toEqual([`archive: ${gone.key}: it is not in the store (deleted or never stored)`]);
      await page.screenshot({ path: screenshotPath('offline-viewer-damaged-archive'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('a bundle past the ZIP limit fails with BundleTooLargeError, and leaves no spooled copy behind', async () => {
    const { folder, destination } = archiveFolder('limit');
    const archived = await archiveMixed(destination, mixedMessages());
    const spool = path.join(folder, 'spool');
    mkdirSync(spool);
    const output = createWriteStream(path.join(folder, 'limit.zip'));
    const writing = writeBundle({
      items: archived.map(({ key }) => ({ destination: 'archive', key })),
      destinations: new Map([['archive', destination]]),
      query: { who: 'test', tool: 'sentcopy test', kind: 'search', filters: {}, source: 'listing', destinations: ['archive'] },
      output,
      temporaryDirectory: spool,
      maxBytes: 2_000,
    });
    await expect(writing).rejects.toBeInstanceOf(BundleTooLargeError);
    await expect(writing).rejects.toThrow(/export fewer messages at once/);
    output.destroy();
    expect(readdirSync(spool)).toEqual([]);
  });

  it('a full disk under --out, or under the temporary folder: exit 1 naming the problem, nothing left behind, no crash', async (context) => {
    const { folder, destination } = archiveFolder('full-disk');
    const large = Array.from({ length: 4 }, (_, index) => ({
      codec: 'gzip' as const,
      message: {
        version: 1,
        channel: 'email',
        message_id: `large-${index}`,
        project_id: 'shop',
        sent_at: Date.parse('2026-03-04T00:00:00Z') + index,
        to: 'large@example.com',
        subject: 'Large',
        attachments: [{ file_name: 'a.bin', content_type: 'application/octet-stream', bytes: randomBytes(64 * 1024).toString('base64') }],
      },
    }));
    await archiveMixed(destination, [...mixedMessages(), ...large]);
    const tiny = path.join(folder, 'tiny');
    mkdirSync(tiny);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=128k,mode=0700', 'tmpfs', tiny], { encoding: 'utf8' });
    if (mounted.status !== 0) {
      console.log(`skipping the full-disk test: this machine does not let it mount a tmpfs (${mounted.stderr.trim() || mounted.error?.message})`);
      context.skip();
    }
    try {
      const full = await runCli(['export', '--out', path.join(tiny, 'bundle.zip'), '--json'], { cwd: folder });
      expect(full.code, full.stdout + full.stderr).toBe(1);
      const error = json<{ error: { code: string; message: string } }>(full).error;
      expect(error.code).toBe('bundle_write_failed');
      expect(error.message).toContain('ENOSPC');
      expect(readdirSync(tiny)).toEqual([]);
      expect(full.stderr).not.toMatch(/^\s+at /m);

      // The spool (the page's copy of the objects) on the full disk instead.
      const out = path.join(folder, 'bundle.zip');
      const spoolFull = await runCli(['export', '--out', out, '--json'], { cwd: folder, env: { TMPDIR: tiny } });
      expect(spoolFull.code, spoolFull.stdout + spoolFull.stderr).toBe(1);
      expect(json<{ error: { code: string } }>(spoolFull).error.code).toBe('bundle_write_failed');
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(folder).filter((name) => name.startsWith('bundle.zip'))).toEqual([]);
      expect(readdirSync(tiny)).toEqual([]);
    } finally {
      spawnSync('umount', [tiny]);
    }
  });

  it('POST /export.zip streams a bundle of the search, logs the export with hashes only, and names a bad field', async () => {
    const { folder, destination } = archiveFolder('route');
    const archived = await archiveMixed(destination, mixedMessages());
    const loaded = await readConfig(path.join(folder, 'sentcopy.config.json'));
    const events: AccessEvent[] = [];
    const app = new Hono<ViewerEnv>();
    app.use(async (c, next) => {
      c.set('user', 'auditor');
      await next();
    });
    registerExportRoutes(app, { loaded, destinations: new Map([['archive', destination]]), index: undefined, audit: async (event) => void events.push(event) });
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const answer = await fetch(`${base}/export.zip`, { method: 'POST', body: new URLSearchParams({ recipient: '+1 (555) 010-0100', channel: 'sms' }) });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe('application/zip');
      expect(answer.headers.get('content-disposition')).toMatch(/^attachment; filename="sentcopy-export-[\d-]+\.zip"$/);
      const check = await verifyBundle(new Uint8Array(await answer.arrayBuffer()));
      expect(check.problems).toEqual([]);
      const expected = archived.filter(({ message }) => message.channel === 'sms').map(({ key }) => key);
      expect(check.manifest?.objects.map((object) => object.key).sort()).toEqual(expected.sort());
      expect(check.manifest?.query).toMatchObject({ who: 'auditor', kind: 'search', source: 'ledger' });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ who: 'auditor', action: 'export', what: { objects: expected.length, channel: 'sms' } });
      const logged = JSON.stringify(events);
      expect(logged).toContain('recipient_hashes');
      for (const raw of ['555', '010-0100']) expect(logged).not.toContain(raw);
      // The search page's own form posts the results URL's fields: hashes (rh), not the address, and the same bundle comes back.
      const hashes = check.manifest?.query.filters['recipient_hashes'] as string[];
      const fromPage = await fetch(`${base}/export.zip`, { method: 'POST', body: new URLSearchParams([...hashes.map((hash) => ['rh', hash]), ['channel', 'sms']]) });
      expect(fromPage.status).toBe(200);
      const pageCheck = await verifyBundle(new Uint8Array(await fromPage.arrayBuffer()));
      expect(pageCheck.manifest?.objects.map((object) => object.key).sort()).toEqual(expected.sort());
      events.pop();

      const bad = await fetch(`${base}/export.zip`, { method: 'POST', body: new URLSearchParams({ since: '2026-13' }) });
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain('since: the month must be 01 to 12');
      const notAnAddress = await fetch(`${base}/export.zip`, { method: 'POST', body: new URLSearchParams({ recipient: 'not an address <x>', channel: 'email' }) });
      expect(notAnAddress.status).toBe(400);
      const refusal = await notAnAddress.text();
      expect(refusal).toContain('recipient: it is not a recipient address');
      expect(refusal).not.toContain('not an address <x>');
      expect(events).toHaveLength(1);

      // A download cancelled after its first bytes: the writer stops and deletes its spooled copy (TMPDIR is this test's folder).
      const archiver = createArchiver({ destination, recipientKey: testRecipientKey, retry: false });
      for (let index = 0; index < 40; index += 1) {
        await archiver.archive({
          version: 1,
          channel: 'email',
          message_id: `big-${index}`,
          project_id: 'shop',
          sent_at: Date.parse('2026-03-03T00:00:00Z') + index,
          to: 'big@example.com',
          subject: 'Big',
          attachments: [{ file_name: 'a.bin', content_type: 'application/octet-stream', bytes: randomBytes(128 * 1024).toString('base64') }],
        });
      }
      const spoolParent = path.join(folder, 'tmp');
      mkdirSync(spoolParent);
      const previousTmp = process.env.TMPDIR;
      process.env.TMPDIR = spoolParent;
      try {
        const big = new Map([['archive', destination]]);
        const { found } = await findForExport({ loaded, destinations: big, index: undefined, audit: async () => undefined }, {});
        const answer = await bundleResponse({ loaded, destinations: big, index: undefined, audit: async () => undefined }, found, 'auditor');
        const reader = answer.body!.getReader();
        expect((await reader.read()).done).toBe(false);
        expect(readdirSync(spoolParent)).toHaveLength(1);
        await reader.cancel();
        await waitFor(() => readdirSync(spoolParent).length === 0, 20_000, 'the cancelled bundle to delete its spool');
      } finally {
        if (previousTmp === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = previousTmp;
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
