import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createArchiver, createHmacRecipientHash, createLedgerWriter, type DestinationV1 } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { createS3Destination } from '@sentcopy/destination-s3';
import { startS3Server, type S3TestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRecipientKey } from './ingest-fixture.js';
import { bin, runCli } from './run-cli.js';
import { fsEntry, json, s3Entry, s3Env, s3Settings, sampleArchiveMessages, writeConfigFile } from './ls-fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-ledger-text-'));
let server: S3TestServer;
const opened: DestinationV1[] = [];
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => {
  for (const destination of opened) await destination.close?.();
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

const recipientHash = createHmacRecipientHash(testRecipientKey);
const project = { destination: 'archive', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [] };
const base = (id: string, extra: Record<string, unknown>) => ({ version: 1, message_id: id, project_id: 'shop', sent_at: Date.parse('2026-03-02T10:00:00Z') + Number(id.replace(/\D/g, '')) * 1000, ...extra });
const rawMime = [
  'From: Shop <orders@shop.example.com>',
  'To: dana@example.com',
  'Subject: Your quokka plush is ready',
  'Message-ID: <t-raw@shop.example.com>',
  'Date: Mon, 02 Mar 2026 10:00:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: multipart/alternative; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Collect it at the wombatgate counter.',
  '--b1',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>Collect it at the <b>wombatgate</b> counter.</p>',
  '--b1--',
  '',
].join('\r\n');

/** Messages with words found nowhere else: in a subject, an HTML body, a raw MIME body, an SMS, a WhatsApp body, a push title. */
const textMessages: Record<string, unknown>[] = [
  base('t-1', { channel: 'email', to: 'carl@example.com', subject: 'Zanzibar trip confirmed', html_body: '<p>See you soon</p>', campaign_id: 'travel' }),
  base('t-2', { channel: 'email', to: 'carl@example.com', subject: 'Breakfast', html_body: '<html><head><title>x</title></head><body><p>Fresh <em>marmalade</em> &amp; toast</p></body></html>', campaign_id: 'food' }),
  base('t-3', { channel: 'email', to: 'dana@example.com', subject: 'Breakfast again', plaintext_body: 'More marmalade for you', campaign_id: 'travel' }),
  base('t-4', { channel: 'sms', to: '+15550100177', body: 'Your pineapple order is out for delivery' }),
  base('t-5', { channel: 'whatsapp', to: '+15550100177', body: 'Señor, your guacamole kit shipped' }),
  base('t-6', { channel: 'push', to: 'tok-123456789', platform: 'ios', payload: { aps: { alert: { title: 'Lighthouse tour', body: 'Starts at noon' } } } }),
  base('t-7', { channel: 'email', to: 'dana@example.com', raw_mime: Buffer.from(rawMime).toString('base64') }),
];

async function archiveInto(destination: DestinationV1, batch: readonly Record<string, unknown>[], writerId: string) {
  const ledger = createLedgerWriter({ destination, writerId, recipientHash, maxEntries: 4 });
  const archiver = createArchiver({ destination, recipientKey: testRecipientKey, ledger, retry: false });
  for (const message of batch) await archiver.archive(message);
  await ledger.close();
}

interface LsJson {
  source: string;
  objects: { destination: string; messageId: string }[];
  total: number;
  textPending?: number;
}
interface IndexJson {
  index: string;
  text: { enabled: boolean; updates: { destination: string; indexed: number; pending: number; problems: unknown[] }[] };
  destinations: { destination: string; textIndexed: number; textPending: number }[];
}

/** The index file and its write-ahead log, as bytes: what is on this disk. */
const fileBytes = (file: string) => Buffer.concat([readFileSync(file), ...(existsSync(`${file}-wal`) ? [readFileSync(`${file}-wal`)] : [])]);

describe('sentcopy index --text and ls --text, on an archive in S3 and a folder', { timeout: 180_000 }, () => {
  const folder = path.join(work, 'text');
  const root = path.join(folder, 'archive');
  const sample = sampleArchiveMessages();
  beforeAll(async () => {
    mkdirSync(folder, { recursive: true });
    const bucket = server.createBucket();
    const old = createS3Destination(s3Settings(server.endpoint, bucket));
    opened.push(old);
    // The S3 destination holds the sample and the subject/SMS messages; the folder the rest.
    await archiveInto(old, [...sample.slice(0, 12), ...textMessages.slice(0, 4)], 'w-old');
    await archiveInto(createFsDestination({ root, fsync: false }), [...sample.slice(12), ...textMessages.slice(4)], 'w-new');
    writeConfigFile(folder, { destinations: { archive: fsEntry(root), old: s3Entry(server.endpoint, bucket) }, projects: { shop: project } });
  });
  const cli = (...args: string[]) => runCli(args, { cwd: folder, env: s3Env });
  const found = async (...args: string[]) => {
    const run = await cli('ls', '--all', '--json', ...args);
    expect(run.code, run.stderr).toBe(0);
    return json<LsJson>(run)
      .objects.map((object) => object.messageId)
      .sort();
  };

  it('--text is refused with a clear error while the index has no full-text table', async () => {
    for (const setup of [[], ['index']]) {
      if (setup.length > 0) expect((await cli(...setup)).code).toBe(0);
      const run = await cli('ls', '--text', 'marmalade', '--json');
      expect(run.code).toBe(2);
      const { error } = json<{ error: { code: string; message: string } }>(run);
      expect(error.code).toBe('text_index_required');
      expect(error.message).toContain('run `sentcopy index --text` first; it copies message content to this disk');
    }
  });

  it('index --text reads every object once; ls --text finds by a word of the subject, the HTML or plain body, raw MIME, SMS, WhatsApp and push, and never by a word only another message has', async () => {
    const run = await cli('index', '--text', '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = json<IndexJson>(run);
    expect(report.text.enabled).toBe(true);
    expect(report.text.updates.map(({ destination, indexed, pending, problems }) => ({ destination, indexed, pending, problems }))).toEqual([
      { destination: 'archive', indexed: 15, pending: 0, problems: [] },
      { destination: 'old', indexed: 16, pending: 0, problems: [] },
    ]);
    expect(statSync(report.index).mode & 0o777).toBe(0o600);

    expect(await found('--text', 'zanzibar')).toEqual(['t-1']);
    expect(await found('--text', 'marmalade')).toEqual(['t-2', 't-3']);
    expect(await found('--text', 'subject:breakfast')).toEqual(['t-2', 't-3']);
    expect(await found('--text', 'subject:marmalade')).toEqual([]);
    expect(await found('--text', 'toast')).toEqual(['t-2']);
    expect(await found('--text', 'pineapple')).toEqual(['t-4']);
    expect(await found('--text', 'senor guacamole')).toEqual(['t-5']);
    expect(await found('--text', 'lighthouse')).toEqual(['t-6']);
    expect(await found('--text', 'noon')).toEqual(['t-6']);
    expect(await found('--text', 'quokka')).toEqual(['t-7']);
    expect(await found('--text', 'wombatgate')).toEqual(['t-7']);
    expect(await found('--text', 'push')).toEqual(
      sample
        .filter((message) => message.channel === 'push')
        .map((message) => message.message_id as string)
        .sort(),
    );
    expect(await found('--text', '"has shipped"')).toEqual(
      sample
        .filter((message) => typeof message.html_body === 'string' && message.html_body.includes('has shipped'))
        .map((message) => message.message_id as string)
        .sort(),
    );
    expect(await found('--text', 'ZANZIBAR OR pineapple')).toEqual(['t-1', 't-4']);
    expect(await found('--text', 'marmalade NOT toast')).toEqual(['t-3']);
    expect(await found('--text', 'nowhere')).toEqual([]);
    // Addresses and headers are not content: not indexed.
    expect(await found('--text', 'carl')).toEqual([]);
  });

  it('--text combines with --campaign, --channel, --recipient and --destination', async () => {
    expect(await found('--text', 'marmalade', '--campaign', 'travel')).toEqual(['t-3']);
    expect(await found('--text', 'marmalade', '--campaign', 'food')).toEqual(['t-2']);
    expect(await found('--text', 'marmalade', '--recipient', 'dana@example.com')).toEqual(['t-3']);
    expect(await found('--text', 'pineapple', '--channel', 'email')).toEqual([]);
    expect(await found('--text', 'quokka', '--destination', 'old')).toEqual([]);
    expect(await found('--text', 'quokka', '--destination', 'archive')).toEqual(['t-7']);
  });

  it('a bad query is a clear error naming --text', async () => {
    const run = await cli('ls', '--text', 'marmalade AND (', '--json');
    expect(run.code).toBe(2);
    const { error } = json<{ error: { code: string; message: string } }>(run);
    expect(error.code).toBe('invalid_text_query');
    expect(error.message).toMatch(/^--text: not a valid full-text query/);
  });

  it('later index runs (without --text) index only the new objects; ls --text warns about objects not indexed yet', async () => {
    await archiveInto(createFsDestination({ root, fsync: false }), [base('t-8', { channel: 'sms', to: '+15550100188', body: 'A flamingo arrived' })], 'w-later');
    const before = await cli('ls', '--all', '--json', '--text', 'flamingo');
    expect(json<LsJson>(before)).toMatchObject({ total: 0, textPending: 1 });
    expect(before.stderr).toContain('1 message(s) have no text indexed yet');
    const run = await cli('index');
    expect(run.code, run.stderr).toBe(0);
    // Progress on stderr; the one new object is the only one read.
    expect(run.stderr).toContain('index: archive: text of 1/1 object(s)');
    expect(run.stdout).toContain('archive: text of 1 object(s) indexed.');
    expect(run.stdout).toContain('old: text of 0 object(s) indexed.');
    expect(await found('--text', 'flamingo')).toEqual(['t-8']);
  });

  it("an erased message's words leave the search and the index file", async () => {
    const file = path.join(folder, '.sentcopy', 'ledger-index.sqlite');
    // The positive control: the word is in the file before the erasure.
    expect(fileBytes(file).includes('wombatgate')).toBe(true);
    const erase = await cli('erase', '--recipient', 'dana@example.com', '--yes', '--json');
    expect(erase.code, erase.stderr).toBe(0);
    expect(await found('--text', 'wombatgate')).toEqual([]);
    expect(await found('--text', 'marmalade')).toEqual(['t-2']);
    const bytes = fileBytes(file);
    for (const word of ['wombatgate', 'quokka']) expect(bytes.includes(word), word).toBe(false);
    const status = json<IndexJson>(await cli('index', '--json'));
    expect(status.destinations.find((entry) => entry.destination === 'archive')).toMatchObject({ textPending: 0 });
  });

  it('index --no-text drops the copied text: no word stays in the file, ls --text is refused again, the file stays 0600', async () => {
    const file = path.join(folder, '.sentcopy', 'ledger-index.sqlite');
    const words = ['zanzibar', 'marmalade', 'pineapple', 'guacamole', 'lighthouse', 'flamingo'];
    for (const word of words) expect(fileBytes(file).includes(word), word).toBe(true);
    const run = await cli('index', '--no-text', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(json<IndexJson>(run).text.enabled).toBe(false);
    const bytes = fileBytes(file);
    for (const word of words) expect(bytes.includes(word), word).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(json<{ error: { code: string } }>(await cli('ls', '--text', 'marmalade', '--json')).error.code).toBe('text_index_required');
    // The rest of the index is intact and later runs keep text off.
    expect(await found('--campaign', 'travel')).toEqual(['t-1']);
    expect(json<IndexJson>(await cli('index', '--json')).text).toEqual({ enabled: false, updates: [] });
  });
});

describe('sentcopy index --text is resumable after Ctrl-C', { timeout: 180_000 }, () => {
  it('an interrupted run keeps the text it indexed (exit 130); the next run reads only the rest, each object once', async () => {
    const folder = path.join(work, 'interrupt');
    const root = path.join(folder, 'archive');
    mkdirSync(root, { recursive: true });
    const total = 1000;
    await archiveInto(
      createFsDestination({ root, fsync: false }),
      Array.from({ length: total }, (_, index) => base(`r-${index}`, { channel: 'sms', to: '+15550100100', body: `Parcel ${index} is waiting` })),
      'w-many',
    );
    writeConfigFile(folder, { destinations: { archive: fsEntry(root) }, projects: { shop: project } });
    const child = spawn(process.execPath, [bin, 'index', '--text'], { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    let interrupted = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (!interrupted && /index: archive: text of [1-9]\d*\//.test(stderr)) {
          interrupted = true;
          child.kill('SIGINT');
        }
      });
      child.once('close', resolve);
    });
    expect(code, stderr + stdout).toBe(130);
    const partial = Number(/archive: text of (\d+) object\(s\) indexed/.exec(stdout)?.[1]);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(total);
    const second = json<IndexJson>(await runCli(['index', '--json'], { cwd: folder }));
    expect(second.text.updates[0]).toMatchObject({ indexed: total - partial, pending: 0 });
    expect(second.destinations[0]).toMatchObject({ textIndexed: total, textPending: 0 });
    const listed = json<LsJson>(await runCli(['ls', '--all', '--json', '--text', 'parcel waiting'], { cwd: folder }));
    expect(listed.total).toBe(total);
    expect(new Set(listed.objects.map((object) => object.messageId)).size).toBe(total);
  });
});
