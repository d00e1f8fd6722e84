import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createFsDestination } from '@sentcopy/destination-fs';
import { createS3Destination } from '@sentcopy/destination-s3';
import { startS3Server, type S3TestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ana, archiveMessages, ben, emailHtml, fsEntry, json, phone, s3Entry, s3Env, s3Settings, sampleArchiveMessages, writeConfigFile, type ArchivedMessage } from './ls-fixtures.js';
import { runCli } from './run-cli.js';

interface ShowJson {
  key: string;
  integrity: string;
  sha256: string;
  recordedSha256: string | null;
  profile: string;
  recipientsMasked: boolean;
  message: Record<string, unknown>;
}

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-show-'));
let server: S3TestServer;
let local: ArchivedMessage[] = [];
let braze: ArchivedMessage[] = [];
let s3: ArchivedMessage[] = [];
const messages = sampleArchiveMessages();

beforeAll(async () => {
  server = await startS3Server();
  const bucket = server.createBucket();
  local = await archiveMessages(createFsDestination({ root: path.join(work, 'local'), fsync: false }), 'sentcopy', messages);
  // The same message id twice, to two recipients: two keys, so a lookup by id is ambiguous.
  const twice = { version: 1, channel: 'sms', project_id: 'shop', message_id: 'dup-1', sent_at: Date.parse('2026-03-01T10:00:00Z'), body: 'twice' };
  local.push(
    ...(await archiveMessages(createFsDestination({ root: path.join(work, 'local'), fsync: false }), 'sentcopy', [
      { ...twice, to: '+15550109999' },
      { ...twice, to: '+15550108888' },
    ])),
  );
  braze = await archiveMessages(createFsDestination({ root: path.join(work, 'braze'), fsync: false }), 'braze', messages);
  const s3Destination = createS3Destination(s3Settings(server.endpoint, bucket));
  s3 = await archiveMessages(s3Destination, 'sentcopy', messages.slice(0, 6));
  await s3Destination.close?.();
  writeConfigFile(work, {
    destinations: { local: fsEntry('local'), braze: fsEntry('braze'), s3: s3Entry(server.endpoint, bucket) },
    projects: { shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [] } },
  });
});
afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(args, { cwd: work, env: s3Env });
const firstEmailToAna = () => local.find((entry) => entry.message.to === ana && entry.message.channel === 'email')!;

describe('sentcopy show', { timeout: 30_000 }, () => {
  it('pretty-prints an email by key: headers, masked recipients, the HTML size and a text rendering', async () => {
    const target = firstEmailToAna();
    const run = await cli('show', target.key);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Key`);
    expect(run.stdout).toMatch(/Integrity\s+ok, the bytes match the recorded SHA-256/);
    expect(run.stdout).toMatch(/Subject\s+Order SC-0 shipped/);
    expect(run.stdout).toMatch(/From\s+Example Shop <orders@shop\.example\.com>/);
    expect(run.stdout).toMatch(/To\s+A\*\*\*@Example\.com/);
    expect(run.stdout).toMatch(/Cc\s+b\*\*\*@example\.com/);
    expect(run.stdout).toContain(`HTML body    ${Buffer.byteLength(emailHtml)} B`);
    expect(run.stdout).toContain('Your order SC-1 has shipped & is on its way.');
    expect(run.stdout).toContain('Track it (https://shop.example.com/track/1)');
    expect(run.stdout).not.toContain('p{color:red}');
    expect(run.stdout.toLowerCase()).not.toContain(ana.toLowerCase());
    expect(run.stdout).not.toContain(ben);
  });

  it('finds a message by id under --project, and prints the stored JSON with --json', async () => {
    const target = local.find((entry) => entry.message.channel === 'sms' && entry.message.to === phone)!;
    const run = await cli('show', target.message.message_id as string, '--project', 'shop', '--json');
    expect(run.code, run.stderr).toBe(0);
    const shown = json<ShowJson>(run);
    expect(shown.key).toBe(target.key);
    expect(shown.integrity).toBe('ok');
    expect(shown.sha256).toBe(target.sha256);
    expect(shown.recordedSha256).toBe(target.sha256);
    expect(shown.message).toEqual({ ...target.message, to: '+1555***0100' });

    const revealed = json<ShowJson>(await cli('show', target.key, '--reveal-recipients', '--json'));
    expect(revealed.recipientsMasked).toBe(false);
    expect(revealed.message).toEqual(target.message);
  });

  it('shows a message from a braze archive (dispatch_id, sent_at in seconds) by its id', async () => {
    const target = braze.find((entry) => entry.message.channel === 'email' && entry.message.to === ben)!;
    const run = await cli('show', target.message.message_id as string, '--destination', 'braze', '--layout', 'braze');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(target.key);
    expect(run.stdout).toMatch(/Stored\s+.*gzip, braze profile/);
    expect(run.stdout).toMatch(new RegExp(`Message id\\s+${target.message.message_id as string}`));
    expect(run.stdout).toMatch(new RegExp(`Sent at\\s+${new Date(target.message.sent_at as number).toISOString()}`));
    expect(run.stdout).toContain(`Hello Ben, message`);
    const stored = json<ShowJson>(await cli('show', target.key, '--destination', 'braze', '--layout', 'braze', '--json'));
    expect(stored.message['dispatch_id']).toBe(target.message.message_id);
    expect(stored.message['sent_at']).toBe((target.message.sent_at as number) / 1000);
  });

  it('reads from the S3 test server', async () => {
    const target = s3.find((entry) => entry.message.channel === 'push')!;
    const run = await cli('show', target.message.message_id as string, '--destination', 's3', '--project', 'shop');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(target.key);
    expect(run.stdout).toMatch(/Platform\s+ios/);
    expect(run.stdout).toContain('"alert": "Push 5"');
  });

  it('exits 3 when no object or several match, and 4 when the object is corrupt', async () => {
    const missing = await cli('show', 'no-such-message', '--project', 'shop');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('No message with that id');
    expect(missing.stderr).toContain('--project');
    const missingKey = await cli('show', 'shop/nothing/here.json.gz', '--json');
    expect(missingKey.code).toBe(3);
    expect(json<{ error: { code: string } }>(missingKey).error.code).toBe('message_not_found');

    const ambiguous = await cli('show', 'dup-1', '--project', 'shop');
    expect(ambiguous.code).toBe(3);
    const duplicates = local.filter((entry) => entry.message.message_id === 'dup-1').map((entry) => entry.key);
    expect(duplicates).toHaveLength(2);
    for (const key of duplicates) expect(ambiguous.stderr).toContain(key);
    expect(ambiguous.stderr).not.toContain('5550109999');

    const victim = local.find((entry) => entry.message.channel === 'whatsapp')!;
    const file = path.join(work, 'local', ...victim.key.split('/'));
    const bytes = readFileSync(file);
    bytes[bytes.length - 6] = bytes[bytes.length - 6]! ^ 0xff;
    writeFileSync(file, bytes);
    const corrupt = await cli('show', victim.key);
    expect(corrupt.code).toBe(4);
    expect(corrupt.stderr + corrupt.stdout).toContain('corrupt');
  });
});

describe('sentcopy open', { timeout: 30_000 }, () => {
  it('writes the stored HTML byte for byte to --out, readable by the owner only', async () => {
    const target = firstEmailToAna();
    const out = path.join(work, 'email.html');
    const run = await cli('open', target.key, '--out', out, '--no-open', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(json(run)).toEqual({ key: target.key, file: out, bytes: Buffer.byteLength(emailHtml), opened: false });
    expect(readFileSync(out, 'utf8')).toBe(emailHtml);
    expect(statSync(out).mode & 0o777).toBe(0o600);

    const blocked = path.join(work, 'blocked.html');
    const byId = await cli('open', target.message.message_id as string, '--project', 'shop', '--out', blocked, '--no-open', '--block-remote');
    expect(byId.code, byId.stderr).toBe(0);
    const html = readFileSync(blocked, 'utf8');
    expect(html.startsWith('<meta http-equiv="Content-Security-Policy"')).toBe(true);
    expect(html.endsWith(emailHtml)).toBe(true);
  });

  it('writes to a new temp file by default, and refuses messages that are not emails', async () => {
    const target = local.find((entry) => entry.message.to === ben && entry.message.channel === 'email')!;
    const run = await cli('open', target.key, '--no-open', '--json');
    expect(run.code, run.stderr).toBe(0);
    const file = json<{ file: string }>(run).file;
    expect(path.dirname(file)).toBe(tmpdir());
    expect(readFileSync(file, 'utf8')).toBe(target.message.html_body);
    rmSync(file);

    const sms = local.find((entry) => entry.message.channel === 'sms')!;
    const refused = await cli('open', sms.key, '--no-open');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('only emails have an HTML body');
  });

  it('says "Opened" only when a browser took the file, and fails with the file\'s path on a machine without one', async () => {
    const target = firstEmailToAna();
    // The system's opener (xdg-open on Linux) with no desktop: it consults BROWSER, which names a program here.
    const desktopless = { ...s3Env, DISPLAY: '', WAYLAND_DISPLAY: '', XDG_CURRENT_DESKTOP: '' };
    const none = await runCli(['open', target.key, '--out', path.join(work, 'none.html')], { cwd: work, env: { ...desktopless, BROWSER: 'false' } });
    expect(none.code).not.toBe(0);
    expect(none.stdout).not.toContain('Opened');
    expect(none.stderr).toContain(`Wrote ${path.join(work, 'none.html')}, but could not open a browser`);
    expect(readFileSync(path.join(work, 'none.html'), 'utf8')).toBe(emailHtml);

    const seen = path.join(work, 'browser-saw.txt');
    const browser = path.join(work, 'browser.sh');
    writeFileSync(browser, `#!/bin/sh\necho "$1" > '${seen}'\n`, { mode: 0o700 });
    const opened = await runCli(['open', target.key, '--out', path.join(work, 'shown.html'), '--json'], { cwd: work, env: { ...desktopless, BROWSER: browser } });
    expect(opened.code, opened.stderr).toBe(0);
    expect(json(opened)).toMatchObject({ file: path.join(work, 'shown.html'), opened: true });
    expect(readFileSync(seen, 'utf8').trim()).toBe(path.join(work, 'shown.html'));
  });
});
