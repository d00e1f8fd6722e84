import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DestinationV1 } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { zipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, recordRequests, screenshotPath } from './chromium.js';
import { fsEntry, json, writeConfigFile } from './ls-fixtures.js';
import { runCli, type CliRun } from './run-cli.js';
import { archiveMixed, hostileSubject, inFolder, manifestOf, mixedMessages, readZip, type ArchivedObject } from './viewer-export-fixture.js';

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-export-'));
const root = path.join(work, 'archive');
let destination: DestinationV1;
let archived: ArchivedObject[];
let browser: Browser | undefined;
const bundle = path.join(work, 'bundle.zip');
let firstExport: CliRun;

// A tracking server the emails' remote images and stylesheets point at: it must never be hit.
const trackerHits: string[] = [];
const tracker = createServer((request, response) => {
  trackerHits.push(request.url ?? '');
  response.end();
});

beforeAll(async () => {
  await new Promise<void>((resolve) => tracker.listen(0, '127.0.0.1', resolve));
  mkdirSync(root, { recursive: true });
  destination = createFsDestination({ root });
  archived = await archiveMixed(destination, mixedMessages(`http://127.0.0.1:${(tracker.address() as AddressInfo).port}`));
  writeConfigFile(work, { destinations: { archive: fsEntry(root) }, projects: { shop: { destination: 'archive', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [] } } });
  // The bundle every test reads (each test may run alone with -t).
  firstExport = await runCli(['export', '--out', bundle, '--json'], { cwd: work });
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => tracker.close(resolve));
  await browser?.close();
  await destination?.close?.();
  rmSync(work, { recursive: true, force: true });
});

const hasTool = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** Unzips with the system's unzip into a new folder. */
function unzipInto(file: string, folder: string): void {
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(path.dirname(folder), { recursive: true });
  const run = spawnSync('unzip', ['-q', file, '-d', folder], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
}

/** A copy of `file` with one object's bytes changed (a rebuilt ZIP, as someone editing the bundle would make). */
function alterObject(file: string, objectPath: string, out: string): void {
  const files = readZip(file);
  const bytes = new Uint8Array(files[objectPath]!);
  const middle = Math.floor(bytes.length / 2);
  bytes[middle] = bytes[middle]! ^ 0x01;
  files[objectPath] = bytes;
  writeFileSync(out, zipSync(files, { level: 0 }));
}

/** How each request a viewer page announced ended: `finished` (a response came back) or the failure's text. */
const outcomes = new Map<string, string>();

/** Announced requests other than the viewer files (file://) and the blob: URLs a page made for saves. */
const remote = (requests: readonly string[]) => requests.filter((url) => !url.startsWith('file://') && !url.startsWith('blob:'));

/**
 * Proves nothing left the page: every remote request it announced ended without a response (the
 * browser refused it; Chromium may announce a resource its policy then blocks), and the tracking
 * server they point at was never reached.
 */
async function expectNothingLeft(requests: readonly string[]): Promise<void> {
  const announced = remote(requests);
  const deadline = Date.now() + 10_000;
  while (announced.some((url) => !outcomes.has(url)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(trackerHits).toEqual([]);
  expect(announced.map((url) => `${url}: ${outcomes.get(url) ?? 'still pending'}`).filter((line) => /: (finished|still pending)$/.test(line))).toEqual([]);
  if (announced.length > 0) console.log(`announced but refused by the browser (never reached the tracker): ${announced.map((url) => `${url} (${outcomes.get(url)})`).join(', ')}`);
}

async function openViewer(page: Page, file: string): Promise<string[]> {
  const requests = recordRequests(page);
  page.on('requestfinished', (request) => outcomes.set(request.url(), 'finished'));
  page.on('requestfailed', (request) => outcomes.set(request.url(), request.failure()?.errorText ?? 'failed'));
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  return requests;
}

describe('sentcopy export, verify-bundle and the offline viewer', { timeout: 180_000 }, () => {
  it('exports every message of a mixed archive (ledger search): sha256sum -c says OK, each object is byte for byte the stored one', async () => {
    const run = firstExport;
    expect(run.code, run.stderr).toBe(0);
    const summary = json<{ objects: number; source: string; missing: unknown[]; sha256: string }>(run);
    expect(summary).toMatchObject({ objects: archived.length, source: 'ledger', missing: [] });
    expect(run.stderr).toContain(`exported ${archived.length}/${archived.length} object(s)`);
    expect(statSync(bundle).mode & 0o077).toBe(0);

    const manifest = manifestOf(bundle);
    expect(manifest.objects.map((object) => object.key).sort()).toEqual(archived.map((object) => object.key).sort());
    expect(new Set(manifest.objects.map((object) => object.codec))).toEqual(new Set(['gzip', 'lz4', 'none']));
    expect(manifest.query).toMatchObject({ kind: 'search', source: 'ledger', destinations: ['archive'] });
    // Raw recipients are nowhere in the manifest; masked ones are.
    const manifestText = Buffer.from(readZip(bundle)['manifest.json']!).toString('utf8');
    for (const raw of ['ana.garcia@example.com', 'ben.okafor@example.com', '010-0100', '7946 0000', 'f3c1a9e0d7b84c2e9a6b5d4c3b2a1f0e9d8c7b6a']) expect(manifestText).not.toContain(raw);
    expect(manifest.objects.find((object) => object.message_id === 'e-1')?.summary).toMatchObject({ to: 'a***@example.com', title: hostileSubject });

    if (!hasTool('unzip') || !hasTool('sha256sum')) {
      console.log('skipping the unzip + sha256sum -c part: unzip or sha256sum is not installed here');
      return;
    }
    const folder = path.join(work, 'unzipped');
    unzipInto(bundle, folder);
    const check = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: folder, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const lines = check.stdout.trim().split('\n');
    expect(lines).toHaveLength(archived.length + 3);
    for (const line of lines) expect(line).toMatch(/: OK$/);
    for (const object of archived) {
      const entry = manifest.objects.find((candidate) => candidate.key === object.key)!;
      const stored = await destination.get(object.key);
      expect(Buffer.from(readFileSync(inFolder(folder, entry.path))).equals(Buffer.from(stored!.body)), object.key).toBe(true);
      expect(entry.sha256).toBe(object.sha256);
    }
    const readme = readFileSync(path.join(folder, 'README.txt'), 'utf8');
    expect(readme).toContain('unzip bundle.zip -d b && cd b && sha256sum -c SHA256SUMS');
    expect(readme).toContain('sentcopy verify-bundle bundle.zip');

    const intact = await runCli(['verify-bundle', bundle, '--json'], { cwd: work });
    expect(intact.code, intact.stdout).toBe(0);
    expect(json(intact)).toMatchObject({ intact: true, objects: archived.length, verified: archived.length, problems: [] });
  });

  it("answers from the local index when there is one, and records each object's ledger chain", async () => {
    const indexFile = path.join(work, 'index.sqlite');
    const indexed = await runCli(['index', '--index', indexFile, '--json'], { cwd: work });
    expect(indexed.code, indexed.stdout + indexed.stderr).toBe(0);
    const out = path.join(work, 'from-index.zip');
    const run = await runCli(['export', '--index', indexFile, '--recipient', '+1 555 010 0100', '--out', out, '--json'], { cwd: work });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(json<{ source: string; objects: number }>(run)).toMatchObject({ source: 'index', objects: 2 });
    const manifest = manifestOf(out);
    expect(manifest.objects.map((object) => object.ledger)).toEqual([{ chain: 'w-export' }, { chain: 'w-export' }]);
    // The recipient is recorded only as hashes.
    const filters = manifest.query.filters as Record<string, unknown>;
    expect(Object.keys(filters)).toEqual(['recipient_hashes']);
    for (const raw of ['5550100100', '010-0100', '(555)']) expect(JSON.stringify(manifest)).not.toContain(raw);
  });

  it('refuses to overwrite without --force, and overwrites with it', async () => {
    const before = readFileSync(bundle);
    const refused = await runCli(['export', '--out', bundle, '--json'], { cwd: work });
    expect(refused.code).toBe(2);
    expect(json<{ error: { code: string } }>(refused).error.code).toBe('output_exists');
    expect(readFileSync(bundle).equals(before)).toBe(true);
    const forced = await runCli(['export', '--out', bundle, '--force', '--channel', 'sms', '--json'], { cwd: work });
    expect(forced.code, forced.stderr).toBe(0);
    expect(json<{ objects: number }>(forced).objects).toBe(archived.filter((object) => object.message.channel === 'sms').length);
    const again = await runCli(['export', '--out', bundle, '--force'], { cwd: work });
    expect(again.code, again.stderr).toBe(0);
    expect(manifestOf(bundle).objects).toHaveLength(archived.length);
  });

  it('exports one message by id, and by its key with unusual characters', async () => {
    const byId = path.join(work, 'one.zip');
    const run = await runCli(['export', 'w-1', '--project', 'shop', '--out', byId, '--json'], { cwd: work });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const manifest = manifestOf(byId);
    expect(manifest.objects.map((object) => object.message_id)).toEqual(['w-1']);
    expect(manifest.query).toMatchObject({ kind: 'message', source: 'ledger', filters: { reference: 'w-1', project: 'shop' } });

    const unusual = archived.find((object) => String(object.message.message_id).startsWith('ünï'))!;
    const byKey = path.join(work, 'unusual.zip');
    const keyed = await runCli(['export', unusual.key, '--out', byKey, '--json'], { cwd: work });
    expect(keyed.code, keyed.stdout + keyed.stderr).toBe(0);
    const [entry] = manifestOf(byKey).objects;
    expect(entry).toMatchObject({ key: unusual.key, sha256: unusual.sha256 });
    expect(Buffer.from(readZip(byKey)[entry!.path]!).equals(Buffer.from((await destination.get(unusual.key))!.body))).toBe(true);
    const verified = await runCli(['verify-bundle', byKey], { cwd: work });
    expect(verified.code, verified.stdout).toBe(0);
  });

  it('an object altered in the ZIP: verify-bundle exits 4 naming it, and sha256sum -c fails on it', async () => {
    const manifest = manifestOf(bundle);
    const target = manifest.objects.find((object) => object.codec === 'gzip' && object.channel === 'email')!;
    const altered = path.join(work, 'altered.zip');
    alterObject(bundle, target.path, altered);

    const run = await runCli(['verify-bundle', altered, '--json'], { cwd: work });
    expect(run.code, run.stdout).toBe(4);
    const result = json<{ intact: boolean; verified: number; problems: { kind: string; path: string }[] }>(run);
    expect(result.intact).toBe(false);
    expect(result.verified).toBe(archived.length - 1);
    expect(result.problems.map(({ kind, path: problemPath }) => ({ kind, path: problemPath }))).toEqual([{ kind: 'altered', path: target.path }]);
    const human = await runCli(['verify-bundle', altered], { cwd: work });
    expect(human.code).toBe(4);
    expect(human.stdout).toContain(`ALTERED  ${target.path}`);

    if (!hasTool('unzip') || !hasTool('sha256sum')) {
      console.log('skipping sha256sum -c on the altered bundle: unzip or sha256sum is not installed here');
      return;
    }
    const folder = path.join(work, 'altered-unzipped');
    unzipInto(altered, folder);
    const check = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: folder, encoding: 'utf8' });
    expect(check.status).not.toBe(0);
    expect(check.stdout).toContain(`${target.path}: FAILED`);
    expect(check.stdout.split('\n').filter((line) => line.endsWith(': FAILED'))).toHaveLength(1);
  });

  it('an extra file and a missing object are named too', async () => {
    const files = readZip(bundle);
    const manifest = manifestOf(bundle);
    const dropped = manifest.objects[0]!.path;
    delete files[dropped];
    files['objects/archive/smuggled.json'] = new TextEncoder().encode('{}');
    const changed = path.join(work, 'changed.zip');
    writeFileSync(changed, zipSync(files, { level: 0 }));
    const run = await runCli(['verify-bundle', changed, '--json'], { cwd: work });
    expect(run.code).toBe(4);
    const kinds = json<{ problems: { kind: string; path: string }[] }>(run).problems.map(({ kind, path: problemPath }) => `${kind} ${problemPath}`);
    expect(kinds).toContain(`missing ${dropped}`);
    expect(kinds).toContain('extra objects/archive/smuggled.json');
    // A byte flipped in place in the ZIP file itself (its CRC no longer matches either): still read, and named as altered.
    const raw = readFileSync(bundle);
    const target = manifest.objects.find((object) => object.codec === 'none')!;
    const objectBytes = Buffer.from(readZip(bundle)[target.path]!);
    const at = raw.indexOf(objectBytes);
    expect(at).toBeGreaterThan(0);
    raw[at + 10] = raw[at + 10]! ^ 0x01;
    const flipped = path.join(work, 'flipped.zip');
    writeFileSync(flipped, raw);
    const flippedRun = await runCli(['verify-bundle', flipped, '--json'], { cwd: work });
    expect(flippedRun.code, flippedRun.stdout).toBe(4);
    expect(json<{ problems: { kind: string; path: string }[] }>(flippedRun).problems.map(({ kind, path: problemPath }) => `${kind} ${problemPath}`)).toEqual([`altered ${target.path}`]);

    const notZip = path.join(work, 'not-a-zip.zip');
    writeFileSync(notZip, 'garbage');
    const garbage = await runCli(['verify-bundle', notZip, '--json'], { cwd: work });
    expect(garbage.code).toBe(4);
    expect(json<{ problems: { kind: string }[] }>(garbage).problems[0]?.kind).toBe('invalid');
  });

  it('viewer.html from a file:// URL lists and verifies every message, shows one, and makes no request', async (context) => {
    if (!existsSync(process.env.SENTCOPY_CHROMIUM ?? '/usr/bin/chromium')) {
      console.log('skipping the browser test: Chromium is not installed (scripts/ensure-tools.mjs installs it)');
      context.skip();
    }
    browser ??= await launchChromium();
    const folder = path.join(work, 'viewer');
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    const files = readZip(bundle);
    const viewer = path.join(folder, 'viewer.html');
    writeFileSync(viewer, files['viewer.html']!);
    const manifest = manifestOf(bundle);
    // One inline script, allowed by its hash alone; nothing in the page's own code or style points anywhere.
    const html = Buffer.from(files['viewer.html']!).toString('utf8');
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1]?.replaceAll('&#39;', "'");
    expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; /);
    const code = html.replace(/<script type="application\/(json|octet-stream)"[^>]*>[^<]*<\/script>/g, '');
    expect(code.match(/<script>/g)).toHaveLength(1);
    expect(code).not.toMatch(/https?:\/\/|<link|\ssrc=/);

    const page = await browser.newPage({ viewport: { width: 1366, height: 768 }, acceptDownloads: true });
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const requests = await openViewer(page, viewer);
    const rows = page.locator('#messages tbody tr');
    expect(await rows.count()).toBe(archived.length);
    expect(await page.locator('#messages tbody tr[data-status="verified"]').count()).toBe(archived.length);
    expect(await page.locator('#summary').textContent()).toContain(`${archived.length} verified`);
    // The hostile subject is text: no element came from it.
    const email = manifest.objects.findIndex((object) => object.message_id === 'e-1');
    expect(await page.locator(`tr[data-index="${email}"] td:nth-child(4)`).textContent()).toBe(hostileSubject);
    expect(await page.locator('#messages b, #messages img, #messages script').count()).toBe(0);
    expect(await page.locator(`tr[data-index="${email}"] td:nth-child(3)`).textContent()).toBe('a***@example.com');
    await page.screenshot({ path: screenshotPath('offline-viewer-list'), fullPage: true });

    // Keyboard: Tab reaches the first message's link, and Enter opens it.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('href'))).toBe('#m-0');
    await page.locator(`tr[data-index="${email}"] a`).focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector(`section[data-message="${email}"]`);
    expect(await page.locator('#message-title').textContent()).toBe(hostileSubject);
    expect(await page.locator('#integrity').textContent()).toContain('verified');
    const frame = page.locator('iframe');
    expect(await frame.getAttribute('sandbox')).toBe('');
    // The HTML handed to the frame already names nothing to load: the pixel, the stylesheet and the script are gone.
    const srcdoc = (await frame.getAttribute('srcdoc')) ?? '';
    expect(srcdoc).toContain('Your refund of');
    expect(srcdoc).not.toMatch(/127\.0\.0\.1|<script|<link|<img[^>]+src=/);
    const inner = page.frameLocator('iframe');
    await inner.locator('strong').waitFor();
    expect(await inner.locator('body').textContent()).toContain('Your refund of €42 is on its way.');
    expect(await page.locator('main').textContent()).toContain('<b>invoice</b>.pdf');
    await page.screenshot({ path: screenshotPath('offline-viewer-email'), fullPage: true });
    // The attachment and the stored object save as their exact bytes.
    const [attachment] = await Promise.all([page.waitForEvent('download'), page.locator('button[data-attachment="0"]').click()]);
    expect(readFileSync((await attachment.path())!).toString('utf8')).toBe('%PDF-1.4 not really a pdf');
    expect(attachment.suggestedFilename()).toBe('_b_invoice__b_.pdf');
    const [object] = await Promise.all([page.waitForEvent('download'), page.locator('#save-object').click()]);
    const stored = await destination.get(manifest.objects[email]!.key);
    expect(readFileSync((await object.path())!).equals(Buffer.from(stored!.body))).toBe(true);

    // Every channel's body is shown from the decoded bytes (gzip, LZ4 and none).
    for (const [index, object] of manifest.objects.entries()) {
      await page.goto(`${pathToFileURL(viewer).href}#m-${index}`);
      // The previous message's view has a title too: wait for this one's.
      await page.waitForSelector(`section[data-message="${index}"]`);
      const text = (await page.locator('main').textContent()) ?? '';
      const message = archived.find((candidate) => candidate.key === object.key)!.message;
      if (message.raw_mime !== undefined) {
        // Parsed in the page: the HTML part in the sandboxed frame, the attachment saveable; the source (with addresses) only on request.
        await page.frameLocator('iframe').locator('b').waitFor();
        expect(await page.frameLocator('iframe').locator('body').textContent()).toContain('Receipt R-9 is attached.');
        expect(await page.locator('#raw-mime-parts').textContent()).toContain('note.txt');
        expect(await page.locator('details').getAttribute('open')).toBeNull();
        await page.screenshot({ path: screenshotPath('offline-viewer-raw-mime'), fullPage: true });
        // Chromium holds back a page's third download for permission: the save is checked on a page of its own.
        const fresh = await browser.newPage({ acceptDownloads: true });
        const freshRequests = await openViewer(fresh, viewer);
        await fresh.goto(`${pathToFileURL(viewer).href}#m-${index}`);
        await fresh.waitForSelector(`section[data-message="${index}"]`);
        await fresh.locator('button[data-mime-attachment="0"]').waitFor();
        const [saved] = await Promise.all([fresh.waitForEvent('download'), fresh.locator('button[data-mime-attachment="0"]').click()]);
        // postal-mime keeps the line break before the closing boundary.
        expect(readFileSync((await saved.path())!).toString('utf8')).toMatch(/^hello from the attachment\r?\n?$/);
        await expectNothingLeft(freshRequests);
        await fresh.close();
        continue;
      }
      const expected = message.channel === 'push' ? 'The blue kettle is back.' : String(message.body ?? message.plaintext_body);
      expect(text, `${object.channel} ${object.codec}`).toContain(expected);
      expect(text).not.toContain('cannot be shown');
    }
    expect(dialogs).toEqual([]);
    // The saves above are blob: URLs the page made from its own bytes; nothing else leaves the page, and the tracker saw nothing.
    await expectNothingLeft(requests);
    await page.close();
  });

  it('the viewer marks ALTERED an object altered in the picked ZIP, and one altered in its own copy', async (context) => {
    if (!existsSync(process.env.SENTCOPY_CHROMIUM ?? '/usr/bin/chromium')) {
      console.log('skipping the browser test: Chromium is not installed (scripts/ensure-tools.mjs installs it)');
      context.skip();
    }
    browser ??= await launchChromium();
    const manifest = manifestOf(bundle);
    const targetIndex = manifest.objects.findIndex((object) => object.codec === 'lz4');
    const altered = path.join(work, 'altered-for-viewer.zip');
    alterObject(bundle, manifest.objects[targetIndex]!.path, altered);
    const folder = path.join(work, 'viewer-altered');
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    const viewer = path.join(folder, 'viewer.html');
    writeFileSync(viewer, readZip(altered)['viewer.html']!);

    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    const requests = await openViewer(page, viewer);
    // The page's own copies are intact; picking the altered ZIP checks the files themselves.
    expect(await page.locator('#messages tbody tr[data-status="verified"]').count()).toBe(archived.length);
    await page.setInputFiles('#pick-zip', altered);
    await page.waitForFunction(() => (document.getElementById('file-check')?.textContent ?? '') !== '');
    expect(await page.locator(`tr[data-index="${targetIndex}"]`).getAttribute('data-status')).toBe('ALTERED');
    expect(await page.locator('#messages tbody tr[data-status="verified"]').count()).toBe(archived.length - 1);
    expect(await page.locator('#file-check').textContent()).toContain('1 ALTERED or missing');
    await page.screenshot({ path: screenshotPath('offline-viewer-altered-file'), fullPage: true });

    // The unzipped folder, picked as a folder, says the same.
    if (hasTool('unzip')) {
      const unzipped = path.join(work, 'altered-folder', 'bundle');
      unzipInto(altered, unzipped);
      const byFolder = await browser.newPage({ viewport: { width: 1366, height: 768 } });
      const folderRequests = await openViewer(byFolder, path.join(unzipped, 'viewer.html'));
      await byFolder.setInputFiles('#pick-folder', unzipped);
      await byFolder.waitForFunction(() => (document.getElementById('file-check')?.textContent ?? '') !== '');
      expect(await byFolder.locator(`tr[data-index="${targetIndex}"]`).getAttribute('data-status')).toBe('ALTERED');
      expect(await byFolder.locator('#messages tbody tr[data-status="verified"]').count()).toBe(archived.length - 1);
      expect(await byFolder.locator('#file-check').textContent()).toContain('1 ALTERED or missing');
      requests.push(...folderRequests);
      await byFolder.close();
    }

    // The page's own copy altered: one base64 character of one object changed.
    const html = readFileSync(viewer, 'utf8');
    const marker = `data-object="${targetIndex}">`;
    const at = html.indexOf(marker) + marker.length + 40;
    const swapped = `${html.slice(0, at)}${html[at] === 'A' ? 'B' : 'A'}${html.slice(at + 1)}`;
    const alteredPage = path.join(folder, 'viewer-edited.html');
    writeFileSync(alteredPage, swapped);
    const second = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    const secondRequests = await openViewer(second, alteredPage);
    expect(await second.locator(`tr[data-index="${targetIndex}"]`).getAttribute('data-status')).toBe('ALTERED');
    expect(await second.locator('#messages tbody tr[data-status="verified"]').count()).toBe(archived.length - 1);
    expect(await second.locator('#summary').textContent()).toContain('1 ALTERED');
    await expectNothingLeft([...requests, ...secondRequests]);
    await page.close();
    await second.close();
  });
});
