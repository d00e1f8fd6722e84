import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import {
  ArchiveError,
  createArchiver,
  createLedgerWriter,
  createPreparePool,
  decodeLedgerSegment,
  encodeLedgerSegment,
  LedgerError,
  MessageValidationError,
  normalizeRecipient,
  readLedger,
  sampleMessages,
  sha256RecipientHash,
  type ArchiveResult,
  type LedgerWriter,
} from '@sentcopy/core';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsDestination } from '../src/index.js';
import { quote, runShell, tryMount, unmount } from './child-fixture.js';

const roots: string[] = [];
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));
function newRoot(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'sentcopy-ledger-'));
  roots.push(root);
  return root;
}
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const segmentFiles = (root: string, writerId: string) =>
  readdirSync(path.join(root, '.sentcopy-ledger', writerId))
    .sort()
    .map((name) => path.join(root, '.sentcopy-ledger', writerId, name));

async function archiveAll(root: string, options: { writerId?: string; count: number; seed?: number; maxEntries?: number }): Promise<{ results: ArchiveResult[]; ledger: LedgerWriter }> {
  const destination = createFsDestination({ root, fsync: false });
  const ledger = createLedgerWriter({ destination, recipientHash: sha256RecipientHash, maxEntries: options.maxEntries ?? 7, ...(options.writerId === undefined ? {} : { writerId: options.writerId }) });
  const archiver = createArchiver({ destination, layout: 'sentcopy-unkeyed', ledger });
  const results: ArchiveResult[] = [];
  for (const message of sampleMessages({ projectId: 'acme', count: options.count, seed: options.seed ?? 1 })) results.push(await archiver.archive(message));
  await archiver.close();
  return { results, ledger };
}

describe('the archive ledger with the fs destination', { timeout: 60_000 }, () => {
  it('lists every stored object once, in write-once hash-chained segments closed by size, with hashed recipients only', async () => {
    const root = newRoot();
    const messages = sampleMessages({ projectId: 'acme', count: 20 });
    const { results, ledger } = await archiveAll(root, { writerId: 'w-one', count: 20 });
    expect(results.map((result) => result.ledgerPosition)).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    expect({ durable: ledger.durablePosition, pending: ledger.pendingEntries }).toEqual({ durable: 20, pending: 0 });

    // 20 entries at 7 per segment: 0, 1, 2; each names its predecessor's SHA-256.
    const files = segmentFiles(root, 'w-one');
    expect(files.map((file) => path.basename(file))).toEqual(['000000000000.jsonl.gz', '000000000001.jsonl.gz', '000000000002.jsonl.gz']);
    const decoded = files.map((file) => decodeLedgerSegment(readFileSync(file), file));
    expect(decoded.map((segment) => [segment.header.seq, segment.header.entries, segment.header.previous])).toEqual([
      [0, 7, null],
      [1, 7, sha256(readFileSync(files[0]!))],
      [2, 6, sha256(readFileSync(files[1]!))],
    ]);
    // The writer keeps entries as JSON lines until a segment closes: what it stored is byte for byte the public encoding of the same entries.
    for (const [index, segment] of decoded.entries()) {
      const { type: _type, format: _format, entries: _count, ...header } = segment.header;
      expect(Buffer.from(encodeLedgerSegment(header, segment.entries).body).equals(readFileSync(files[index]!))).toBe(true);
    }
    // They open with standard tools' format (gzip) and hold the exact facts of each object.
    const entries = decoded.flatMap((segment) => segment.entries);
    expect(entries.map((entry) => [entry.key, entry.sha256, entry.size, entry.message_id, entry.channel, entry.project_id, entry.version])).toEqual(
      results.map((result, index) => [result.key, result.sha256, result.size, messages[index]!.message_id, messages[index]!.channel, 'acme', false]),
    );
    for (const [index, message] of messages.entries()) {
      const expected = [sha256RecipientHash(normalizeRecipient(message.channel, message.to), message.channel)];
      for (const copy of [...((message as { cc?: string[] }).cc ?? []), ...((message as { bcc?: string[] }).bcc ?? [])]) expected.push(sha256RecipientHash(copy.toLowerCase(), message.channel));
      expect(entries[index]!.recipients).toEqual(expected);
      expect(entries[index]!.sent_at).toBe(message.sent_at);
    }
    expect(entries.some((entry) => entry.recipients.length > 1)).toBe(true);
    // No raw recipient in the segments.
    const text = files.map((file) => gunzipSync(readFileSync(file)).toString('utf8')).join('');
    for (const message of messages) expect(text).not.toContain(message.to);
    expect(text).not.toContain('records@shop.example.com');

    const read = await readLedger(createFsDestination({ root }));
    expect({ problems: read.problems, chains: read.chains, entries: read.entries.size, duplicates: read.duplicates }).toEqual({
      problems: [],
      chains: [{ writerId: 'w-one', segments: 3, lastSeq: 2, entries: 20 }],
      entries: 20,
      duplicates: 0,
    });
  });

  it('a repeated archive appends again, and readers still count the object once', async () => {
    const root = newRoot();
    const destination = createFsDestination({ root, fsync: false });
    const ledger = createLedgerWriter({ destination, recipientHash: sha256RecipientHash });
    const archiver = createArchiver({ destination, layout: 'sentcopy-unkeyed', ledger });
    const [message] = sampleMessages({ projectId: 'acme', count: 1 });
    const first = await archiver.archive(message);
    const again = await archiver.archive(structuredClone(message));
    const version = await archiver.archive({ ...message!, subject: 'other content', body: 'other content', html_body: '<p>other</p>' });
    await ledger.close();
    expect([first.created, again.created, version.version]).toEqual([true, false, true]);
    expect([first.ledgerPosition, again.ledgerPosition, version.ledgerPosition]).toEqual([1, 2, 3]);
    const read = await readLedger(destination);
    expect({ size: read.entries.size, duplicates: read.duplicates, problems: read.problems }).toEqual({ size: 2, duplicates: 1, problems: [] });
    expect(read.entries.get(version.key)).toMatchObject({ version: true, original_key: first.key, sha256: version.sha256 });
  });

  it('closes a segment by time: entries become durable without a flush, and onDurable says so', async () => {
    const root = newRoot();
    const destination = createFsDestination({ root, fsync: false });
    const ledger = createLedgerWriter({ destination, writerId: 'w-timed', recipientHash: sha256RecipientHash, maxAgeMs: 50 });
    const archiver = createArchiver({ destination, layout: 'sentcopy-unkeyed', ledger });
    const durable = new Promise<number>((resolve) => ledger.onDurable(resolve));
    for (const message of sampleMessages({ projectId: 'acme', count: 3 })) await archiver.archive(message);
    expect(await durable).toBe(3);
    expect({ durable: ledger.durablePosition, pending: ledger.pendingEntries, files: segmentFiles(root, 'w-timed').length }).toEqual({ durable: 3, pending: 0, files: 1 });
    await ledger.close();
    expect(() => ledger.append({} as never)).toThrow(/closed/);
  });

  it('refuses a malformed entry with a TypeError naming the field, and keeps the good ones', async () => {
    const root = newRoot();
    const destination = createFsDestination({ root, fsync: false });
    const ledger = createLedgerWriter({ destination, writerId: 'w-bad', recipientHash: sha256RecipientHash });
    const archiver = createArchiver({ destination, layout: 'sentcopy-unkeyed', ledger });
    const [message] = sampleMessages({ projectId: 'acme', count: 1 });
    const good = await archiver.archive(message);
    expect(() => ledger.append({ type: 'entry', key: 'k', sha256: 'not hex' } as never)).toThrow(/sha256 must be 64 lower-case hex digits/);
    expect(await ledger.flush()).toBe(1);
    expect([...(await readLedger(destination)).entries.keys()]).toEqual([good.key]);
    await ledger.close();
  });

  it('a restarted writer continues its chain from its last segment', async () => {
    const root = newRoot();
    await archiveAll(root, { writerId: 'w-restart', count: 10, seed: 1 });
    const before = segmentFiles(root, 'w-restart');
    expect(before).toHaveLength(2);
    const lastBytes = readFileSync(before.at(-1)!);
    await archiveAll(root, { writerId: 'w-restart', count: 10, seed: 2 });
    const after = segmentFiles(root, 'w-restart');
    expect(after).toHaveLength(4);
    // The earlier segments are untouched; segment 2 names segment 1's bytes.
    expect(readFileSync(before.at(-1)!).equals(lastBytes)).toBe(true);
    expect(decodeLedgerSegment(readFileSync(after[2]!), after[2]!).header).toMatchObject({ seq: 2, previous: sha256(lastBytes) });
    const read = await readLedger(createFsDestination({ root }));
    expect({ problems: read.problems, entries: read.entries.size, chains: read.chains.map((chain) => [chain.writerId, chain.segments]) }).toEqual({ problems: [], entries: 20, chains: [['w-restart', 4]] });
  });

  it('two live writers given the same id never fork the chain: write-once makes the second re-chain after the first', async () => {
    const root = newRoot();
    const destination = createFsDestination({ root, fsync: false });
    const messages = sampleMessages({ projectId: 'acme', count: 12 });
    const writers = [0, 1].map(() => createLedgerWriter({ destination, writerId: 'w-shared', recipientHash: sha256RecipientHash, maxEntries: 2 }));
    const archivers = writers.map((ledger) => createArchiver({ destination, layout: 'sentcopy-unkeyed', ledger }));
    await Promise.all(messages.map((message, index) => archivers[index % 2]!.archive(message)));
    await Promise.all(writers.map((writer) => writer.close()));
    const read = await readLedger(destination);
    expect({ problems: read.problems, entries: read.entries.size, segments: read.chains[0]?.segments }).toEqual({ problems: [], entries: 12, segments: 6 });
  });

  it('readers report a foreign key in the ledger area, a segment copied to another place, and one key listed with two SHA-256s', async () => {
    const root = newRoot();
    const { results } = await archiveAll(root, { writerId: 'w-src', count: 7 });
    const destination = createFsDestination({ root, fsync: false });
    const put = (key: string, body: Uint8Array) => destination.put({ key, body, sha256: sha256(body), contentType: 'application/octet-stream' });
    await put('.sentcopy-ledger/notes.txt', new Uint8Array(Buffer.from('hello')));
    const copied = readFileSync(segmentFiles(root, 'w-src')[0]!);
    await put('.sentcopy-ledger/w-copy/000000000000.jsonl.gz', new Uint8Array(copied));
    const [entry] = decodeLedgerSegment(copied, 'k').entries;
    const lying = encodeLedgerSegment({ writer: 'w-liar', seq: 0, previous: null, closed_at: 1 }, [{ ...entry!, sha256: 'f'.repeat(64) }]);
    await put('.sentcopy-ledger/w-liar/000000000000.jsonl.gz', lying.body);
    const read = await readLedger(destination);
    expect(read.problems.map(({ kind, key }) => ({ kind, key }))).toEqual([
      { kind: 'edited', key: '.sentcopy-ledger/w-copy/000000000000.jsonl.gz' },
      { kind: 'foreign', key: '.sentcopy-ledger/notes.txt' },
      { kind: 'contradicting', key: results[0]!.key },
    ]);
    expect(read.problems[0]!.reason).toBe('its header claims writer w-src and sequence 0, not its place');
  });

  it('refuses a message whose key would fall under the reserved ledger prefix, and stores nothing', async () => {
    const root = newRoot();
    const destination = createFsDestination({ root, fsync: false });
    const archiver = createArchiver({ destination, layout: '{project_id}/{message_id}.json.gz' });
    const [message] = sampleMessages({ projectId: '.sentcopy-ledger', count: 1 });
    const error = await archiver.archive(message).catch((caught: unknown) => caught);
    expect(ArchiveError.isInstance(error) && { kind: error.kind, reason: error.reason }).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('reserved for the archive ledger') });
    expect(readdirSync(root).filter((name) => name !== '.sentcopy')).toEqual([]);
    // check() (what intake runs before acknowledging) refuses it too, naming the field.
    let refused: unknown;
    try {
      await archiver.check(message);
    } catch (caught) {
      refused = caught;
    }
    expect(MessageValidationError.isInstance(refused) && refused.issues).toEqual([{ path: 'project_id', problem: 'must not make a key under .sentcopy-ledger/, which is reserved for the archive ledger' }]);
  });

  it('a write the destination refuses (full disk) leaves the entries pending, says so, and writes them once there is room', async (context) => {
    const root = newRoot();
    const skip = await tryMount(`-t tmpfs -o size=1m tmpfs ${quote(root)}`);
    if (skip !== undefined) {
      console.log(`skipped: ${skip}`);
      context.skip();
    }
    try {
      const destination = createFsDestination({ root, fsync: false });
      const errors: LedgerError[] = [];
      const ledger = createLedgerWriter({ destination, writerId: 'w-full', recipientHash: sha256RecipientHash, retry: { maxAttempts: 1 }, onError: (error) => errors.push(error) });
      const archiver = createArchiver({ destination, layout: 'sentcopy-unkeyed', ledger });
      const results: ArchiveResult[] = [];
      for (const message of sampleMessages({ projectId: 'acme', count: 6 })) results.push(await archiver.archive(message));
      // Fill the disk so the segment cannot be written.
      await runShell(`dd if=/dev/zero of=${quote(path.join(root, 'filler'))} bs=64k 2>/dev/null; sync`);
      const failed = await ledger.flush().catch((error: unknown) => error);
      expect(LedgerError.isInstance(failed) && failed.kind).toBe('destination');
      expect(errors.length).toBeGreaterThan(0);
      expect({ durable: ledger.durablePosition, pending: ledger.pendingEntries }).toEqual({ durable: 0, pending: 6 });
      expect(readdirSync(root).includes('.sentcopy-ledger') ? readdirSync(path.join(root, '.sentcopy-ledger', 'w-full')) : []).toEqual([]);
      rmSync(path.join(root, 'filler'));
      expect(await ledger.flush()).toBe(6);
      const read = await readLedger(destination);
      expect({ problems: read.problems, keys: [...read.entries.keys()].sort() }).toEqual({ problems: [], keys: results.map((result) => result.key).sort() });
      await ledger.close();
    } finally {
      await unmount(root);
    }
  });
});

describe('the archive ledger with a prepare pool', { timeout: 60_000 }, () => {
  it('lists the same entries as preparing on the calling thread: raw MIME fields, several recipients, numeric ids, and a prepared object copied by hand', async () => {
    const mime = Buffer.from(
      'From: Shop <news@shop.example>\r\nTo: Jane Doe <Jane@Example.com>, joe@example.com\r\nCc: ann@example.com\r\nSubject: Hi\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m-raw-1@shop.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello.\r\n',
    ).toString('base64');
    const email = sampleMessages({ projectId: 'acme', count: 8, seed: 4 }).find((message) => message.channel === 'email') as object;
    const messages: unknown[] = [
      ...sampleMessages({ projectId: 'acme', count: 12, seed: 9 }),
      { version: 1, channel: 'email', project_id: 'acme', campaign_id: 'c-1', raw_mime: mime },
      { ...email, message_id: 77, to: ['Jane Doe <Jane@Example.com>', 'joe@example.com'], cc: 'Ann <ann@example.com>', bcc: ['audit@example.com'], user_id: 42, canvas_id: 'cv-9' },
    ];
    const pool = createPreparePool({ threads: 1 });
    const listed = async (preparePool: typeof pool | undefined, copyLast: boolean) => {
      const root = newRoot();
      const destination = createFsDestination({ root, fsync: false });
      const ledger = createLedgerWriter({ destination, writerId: 'w-pool', recipientHash: sha256RecipientHash });
      const archiver = createArchiver({ destination, layout: 'sentcopy-unkeyed', ledger, ...(preparePool === undefined ? {} : { preparePool }) });
      for (const [index, message] of messages.entries()) {
        const prepared = await archiver.prepare(message);
        await archiver.write(copyLast && index === messages.length - 1 ? { ...prepared } : prepared);
      }
      await archiver.close();
      const report = await readLedger(destination);
      expect(report.problems).toEqual([]);
      return [...report.entries.values()].map(({ stored_at: _storedAt, ...entry }) => entry);
    };
    try {
      const here = await listed(undefined, false);
      expect(here).toHaveLength(messages.length);
      // The raw MIME email's recipients come from its To and Cc headers; the other email's from to, cc and bcc.
      expect(here.slice(-2).map((entry) => [entry.message_id, entry.recipients.length])).toEqual([
        ['m-raw-1@shop.example', 3],
        ['77', 4],
      ]);
      expect(await listed(pool, false)).toEqual(here);
      expect(await listed(pool, true)).toEqual(here);
    } finally {
      await pool.close();
    }
  });
});

describe('the archive ledger across processes', { timeout: 120_000 }, () => {
  let child: string;
  const cacheFolder = path.join(fileURLToPath(new URL('..', import.meta.url)), 'node_modules', '.cache', 'sentcopy-fs-fixtures');
  beforeAll(async () => {
    mkdirSync(cacheFolder, { recursive: true });
    child = path.join(cacheFolder, `ledger-child-${process.pid}-${randomBytes(4).toString('hex')}.mjs`);
    await build({ entryPoints: [fileURLToPath(new URL('fixtures/ledger-child.ts', import.meta.url))], outfile: child, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'silent' });
  });
  afterAll(() => rmSync(child, { force: true }));
  const run = (...args: string[]) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
      const process_ = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      process_.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      process_.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      process_.once('error', reject);
      process_.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });

  it('two writers in two processes on one destination each keep a valid chain', async () => {
    const root = newRoot();
    const [first, second] = await Promise.all([run(root, 'w-proc-a', '1', '30', 'flush'), run(root, 'w-proc-b', '2', '30', 'flush')]);
    expect([first.code, second.code], first.stderr + second.stderr).toEqual([0, 0]);
    const read = await readLedger(createFsDestination({ root }));
    expect({ problems: read.problems, chains: read.chains.map((chain) => [chain.writerId, chain.segments, chain.entries]), entries: read.entries.size }).toEqual({
      problems: [],
      chains: [
        ['w-proc-a', 5, 30],
        ['w-proc-b', 5, 30],
      ],
      entries: 60,
    });
    const keys = [...JSON.parse(first.stdout).keys, ...JSON.parse(second.stdout).keys].sort();
    expect([...read.entries.keys()].sort()).toEqual(keys);
  });

  it('after kill -9 between a write and the segment close, re-appending the stored objects puts each in the ledger exactly once', async () => {
    const root = newRoot();
    const crashed = await run(root, 'w-crash', '3', '10', 'crash');
    expect(crashed.signal).toBe('SIGKILL');
    const { keys, durable } = JSON.parse(crashed.stdout) as { keys: string[]; durable: number };
    // One full segment of 7 was written; the other 3 entries died in memory with the process.
    expect(durable).toBe(7);
    const lost = await readLedger(createFsDestination({ root }));
    expect({ entries: lost.entries.size, problems: lost.problems }).toEqual({ entries: 7, problems: [] });
    expect(keys.filter((key) => !lost.entries.has(key))).toHaveLength(3);

    // Recovery, as the queue will do it: every object stored but not known durable in the ledger is
    // appended again (here all 10, because the process died before reporting which were durable).
    const again = await run(root, 'w-crash', '3', '10', 'flush');
    expect(again.code, again.stderr).toBe(0);
    const read = await readLedger(createFsDestination({ root }));
    expect({ problems: read.problems, entries: [...read.entries.keys()].sort(), duplicates: read.duplicates, chains: read.chains.map((chain) => [chain.writerId, chain.segments]) }).toEqual({
      problems: [],
      entries: [...keys].sort(),
      duplicates: 7,
      chains: [['w-crash', 3]],
    });
  });
});
