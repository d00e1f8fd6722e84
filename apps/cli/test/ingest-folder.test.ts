// sentcopy ingest DIR / 'PATTERN': every message file of a folder, past bad and unrelated files, into a real worker.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliWorker, tempFolders, writeWorkerConfig, type CliWorker } from './ingest-fixture.js';
import { runCli } from './run-cli.js';

const newFolder = tempFolders('ingest-folder');
let work: string;
let root: string;
let key: string;
let worker: CliWorker;

function email(id: string, headers: Record<string, string> = {}): Buffer {
  const head = {
    From: 'Shop <shop@example.com>',
    To: `Ana <ana.${id}@example.net>`,
    Subject: `Receipt ${id}`,
    Date: 'Fri, 04 Dec 2026 21:29:40 +0000',
    'Message-ID': `<${id}@mail.example.com>`,
    'Content-Type': 'text/plain; charset=iso-8859-1',
    ...headers,
  };
  const lines = Object.entries(head)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `${name}: ${value}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\nMerci ${id}, caf`, 'latin1'), Buffer.from([0xe9]), Buffer.from('\r\n')]);
}
const sms = (id: string, project = 'shop') => ({ version: 1, channel: 'sms', message_id: id, project_id: project, sent_at: 1_764_883_780_000, to: '+15550100100', body: `Code ${id}` });

/** Every stored document, by message id (the back door: the folder's files). */
function storedById(): Map<string, Record<string, unknown>> {
  const found = new Map<string, Record<string, unknown>>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.sentcopy') walk(file);
      } else if (entry.name.endsWith('.json.gz')) {
        const document = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Record<string, unknown>;
        found.set(String(document['message_id']), document);
      }
    }
  };
  try {
    walk(root);
  } catch {
    // Not created yet.
  }
  return found;
}

async function waitForStored(ids: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const stored = storedById();
    if (ids.every((id) => stored.has(id))) return stored;
    if (Date.now() > deadline) throw new Error(`not stored within 60 s: ${ids.filter((id) => !stored.has(id)).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const receipt = email('receipt');
const sentA = email('sent-a');
const sentB = email('sent-b');
const deeper = email('deeper');

beforeAll(async () => {
  work = newFolder();
  root = path.join(work, 'archive');
  const keys = writeWorkerConfig(path.join(work, 'sentcopy.config.json'), {
    destinations: { local: { type: 'fs', root, acknowledge_personal_data: true } },
    projects: { shop: { destination: 'local', channels: ['email', 'sms'] }, other: { destination: 'local', channels: ['sms'] } },
  });
  key = keys['shop'] as string;
  const folder = path.join(work, 'export');
  mkdirSync(path.join(folder, 'sub'), { recursive: true });
  // Good, bad and unrelated files side by side.
  writeFileSync(path.join(folder, 'a.jsonl'), [JSON.stringify(sms('a-1')), '{"version":1,', JSON.stringify(sms('a-2')), JSON.stringify({ ...sms('a-3'), to: undefined }), ''].join('\n'));
  writeFileSync(path.join(folder, 'one.json'), JSON.stringify(sms('one-1'), null, 2));
  writeFileSync(path.join(folder, 'many.json'), JSON.stringify([sms('many-1'), sms('many-2')]));
  writeFileSync(path.join(folder, 'receipt.eml'), receipt);
  writeFileSync(path.join(folder, 'nobody.eml'), email('nobody', { To: 'undisclosed-recipients:;' }));
  writeFileSync(path.join(folder, 'Sent'), Buffer.concat([Buffer.from('From shop@example.com Fri Dec  4 21:29:40 2026\n'), sentA, Buffer.from('\nFrom shop@example.com Fri Dec  4 21:29:41 2026\n'), sentB, Buffer.from('\n')]));
  writeFileSync(path.join(folder, 'broken.mbox'), 'Subject: not an mbox\n\nhello\n');
  writeFileSync(path.join(folder, 'wrong-project.jsonl'), `${JSON.stringify(sms('wp-1', 'other'))}\n`);
  writeFileSync(path.join(folder, 'notes.txt'), 'not a message');
  writeFileSync(path.join(folder, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(path.join(folder, 'old.rejects.jsonl'), `${JSON.stringify({ line: 1, reason: 'invalid' })}\n`);
  writeFileSync(path.join(folder, 'sub', 'deeper.eml'), deeper);
  worker = await startCliWorker(path.join(work, 'sentcopy.config.json'));
}, 120_000);
afterAll(async () => {
  await worker?.stop();
});

interface FolderSummary {
  lines: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  rejectsFile?: string;
  files: { file: string; format: string; messages: number; accepted: number; duplicates: number; rejected: number; error?: string }[];
  refused: Record<string, { messages: number; files: string[] }>;
  unreadable: { file: string; error: string }[];
  skipped: { file: string; reason: string }[];
}

const ingest = (...args: string[]) => runCli(['ingest', ...args, '--project', 'shop', '--worker', worker.url], { cwd: work, env: { SENTCOPY_KEY: key } });
const file = (name: string) => path.join('export', name);

describe('sentcopy ingest of a folder', () => {
  it('takes every .eml, mbox, .json and .jsonl file, continues past bad ones, reports refusals by reason with their files and the files skipped, and exits 4', async () => {
    const run = await ingest('export', '--json');
    expect(run.code, run.stderr).toBe(4);
    const summary = JSON.parse(run.stdout) as FolderSummary;
    expect(summary.files.map((entry) => [entry.file, entry.format, entry.messages, entry.accepted, entry.rejected])).toEqual([
      [file('Sent'), 'mbox', 2, 2, 0],
      [file('a.jsonl'), 'jsonl', 4, 2, 2],
      [file('broken.mbox'), 'mbox', 0, 0, 0],
      [file('many.json'), 'json', 2, 2, 0],
      [file('nobody.eml'), 'eml', 1, 0, 1],
      [file('one.json'), 'json', 1, 1, 0],
      [file('receipt.eml'), 'eml', 1, 1, 0],
      [file('wrong-project.jsonl'), 'jsonl', 1, 0, 1],
    ]);
    expect(summary).toMatchObject({ lines: 12, accepted: 8, duplicates: 0, rejected: 4 });
    expect(summary.refused).toEqual({
      invalid: { messages: 2, files: [file('a.jsonl'), file('nobody.eml')] },
      invalid_json: { messages: 1, files: [file('a.jsonl')] },
      unreadable_file: { messages: 0, files: [file('broken.mbox')] },
      wrong_project: { messages: 1, files: [file('wrong-project.jsonl')] },
    });
    expect(summary.unreadable).toEqual([{ file: file('broken.mbox'), error: 'cannot be read as mbox: it does not start with a "From " line, so it is not an mbox file' }]);
    expect(summary.skipped.map((entry) => entry.file)).toEqual([file('logo.png'), file('notes.txt'), file('old.rejects.jsonl'), file('sub')]);
    expect(summary.skipped.find((entry) => entry.file === file('sub'))!.reason).toMatch(/--recursive/);
    // Every rejected message is in the rejects file with its file and line; no message text without --rejects-include-message.
    const rejects = readFileSync(summary.rejectsFile!, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { file: string; line: number; reason: string; message?: string });
    expect(rejects.map((record) => [record.file, record.line, record.reason]).sort()).toEqual(
      [
        [file('a.jsonl'), 2, 'invalid_json'],
        [file('a.jsonl'), 4, 'invalid'],
        [file('broken.mbox'), 0, 'unreadable_file'],
        [file('nobody.eml'), 1, 'invalid'],
        [file('wrong-project.jsonl'), 1, 'wrong_project'],
      ].sort(),
    );
    expect(rejects.every((record) => record.message === undefined)).toBe(true);
    // The good messages of every file are stored; the emails byte for byte.
    const stored = await waitForStored(['sent-a@mail.example.com', 'sent-b@mail.example.com', 'a-1', 'a-2', 'many-1', 'many-2', 'one-1', 'receipt@mail.example.com']);
    expect(stored.size).toBe(8);
    expect(Buffer.from(stored.get('receipt@mail.example.com')!['raw_mime'] as string, 'base64').equals(receipt)).toBe(true);
    expect(Buffer.from(stored.get('sent-b@mail.example.com')!['raw_mime'] as string, 'base64').equals(sentB)).toBe(true);
    expect(stored.get('one-1')).toMatchObject({ body: 'Code one-1', to: '+15550100100' });
  }, 120_000);

  it('--recursive reads the folders inside; messages already taken come back as duplicates; progress and the summary are readable', async () => {
    const run = await ingest('export', '--recursive');
    expect(run.code).toBe(4);
    // Progress on stderr, one line per file without a terminal.
    expect(run.stderr).toContain(`sentcopy: ingest [1/9] ${file('Sent')}`);
    expect(run.stderr).toContain(`sentcopy: ingest [8/9] ${file(path.join('sub', 'deeper.eml'))}`);
    expect(run.stderr).toContain(`sentcopy: ingest [9/9] ${file('wrong-project.jsonl')}`);
    expect(run.stdout).toMatch(/Ingested 13 messages from 9 files/);
    expect(run.stdout).toMatch(/\s1 accepted by the worker/);
    expect(run.stdout).toMatch(/\s8 duplicates/);
    expect(run.stdout).toContain(`refused: 1 unreadable file in ${file('broken.mbox')}`);
    expect(run.stdout).toContain(`refused: 1 wrong_project in ${file('wrong-project.jsonl')}`);
    expect(run.stdout).toContain(`cannot read ${file('broken.mbox')}: cannot be read as mbox`);
    expect(run.stdout).toMatch(/Skipped 3 files:/);
    const stored = await waitForStored(['deeper@mail.example.com']);
    expect(Buffer.from(stored.get('deeper@mail.example.com')!['raw_mime'] as string, 'base64').equals(deeper)).toBe(true);
    expect(stored.size).toBe(9);
  }, 120_000);

  it('takes a quoted glob pattern, and exits 0 when every message was taken', async () => {
    const run = await ingest('export/**/*.eml', '--json');
    const summary = JSON.parse(run.stdout) as FolderSummary;
    expect(summary.files.map((entry) => entry.file)).toEqual([file('nobody.eml'), file('receipt.eml'), file(path.join('sub', 'deeper.eml'))]);
    expect(summary).toMatchObject({ accepted: 0, duplicates: 2, rejected: 1 });
    const clean = await ingest('export/*.json', '--json');
    expect(clean.code, clean.stderr).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ lines: 3, duplicates: 3, rejected: 0, refused: {}, unreadable: [] });
    // --direct goes through the same files: the identical copies the worker stored are duplicates, and the message of
    // project "other" (refused by the worker for shop's API key) is stored in that project's destination.
    const direct = await runCli(['ingest', 'export', '--project', 'shop', '--direct', '--threads', '0', '--json'], { cwd: work });
    expect(direct.code).toBe(4);
    expect(JSON.parse(direct.stdout)).toMatchObject({
      mode: 'direct',
      lines: 12,
      stored: 1,
      duplicates: 8,
      rejected: 3,
      refused: { invalid: { messages: 2 }, invalid_json: { messages: 1 }, unreadable_file: { files: [file('broken.mbox')] } },
    });
    const none = await ingest('export/*.nothing');
    expect(none.code).toBe(4);
    expect(none.stderr + none.stdout).toContain('the pattern matches no file');
  }, 120_000);
});
