import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createArchiver, createLedgerWriter, decodeLedgerSegment, encodeLedgerSegment, ledgerSegmentKey, readLedger, sha256Hex, sha256RecipientHash, type DestinationV1 } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { createS3Destination } from '@sentcopy/destination-s3';
import { startS3Server, type S3TestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsEntry, json, s3Entry, s3Env, s3Settings, sampleArchiveMessages, writeConfigFile } from './ls-fixtures.js';
import { runCli } from './run-cli.js';

interface CompleteJson {
  ok: boolean;
  problems: { key: string; kind: string }[];
  ledger: { chains: { writerId: string; segments: number; lastSeq: number; entries: number }[]; entries: number; duplicates: number; problems: { key: string; kind: string; reason: string }[] };
}

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-complete-'));
let server: S3TestServer;
const opened: DestinationV1[] = [];
beforeAll(async () => {
  // Tampering behind the archive's back needs a store that lets a put overwrite, as many S3-compatible servers do.
  server = await startS3Server({ conditionalWrites: 'ignore' });
});
afterAll(async () => {
  for (const destination of opened) await destination.close?.();
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

interface Store {
  /** A fresh, empty destination, and the folder whose config names it. */
  create(name: string): { destination: DestinationV1; folder: string };
  /** Overwrites an object's bytes behind the archive's back. */
  rewrite(destination: DestinationV1, key: string, body: Uint8Array): Promise<void>;
  /** Deletes an object behind the archive's back. */
  remove(destination: DestinationV1, key: string): Promise<void>;
}

const stores: Record<'fs' | 's3', Store> = {
  fs: {
    create(name) {
      const folder = path.join(work, `fs-${name}`);
      mkdirSync(folder, { recursive: true });
      const root = path.join(folder, 'archive');
      writeConfigFile(folder, { destinations: { archive: fsEntry(root) }, projects: { shop: { destination: 'archive', channels: ['email', 'sms', 'push', 'whatsapp'], layout: 'sentcopy-unkeyed', api_keys: [] } } });
      const destination = createFsDestination({ root, fsync: false });
      return { destination, folder };
    },
    async rewrite(destination, key, body) {
      // The file and its recorded SHA-256 both rewritten: only the ledger still knows the original.
      await destination.delete!(key);
      await destination.put({ key, body, sha256: sha256Hex(body), contentType: 'application/json', contentEncoding: 'gzip' });
    },
    async remove(destination, key) {
      await destination.delete!(key);
    },
  },
  s3: {
    create(name) {
      const folder = path.join(work, `s3-${name}`);
      mkdirSync(folder, { recursive: true });
      const bucket = server.createBucket();
      writeConfigFile(folder, { destinations: { archive: s3Entry(server.endpoint, bucket) }, projects: { shop: { destination: 'archive', channels: ['email', 'sms', 'push', 'whatsapp'], layout: 'sentcopy-unkeyed', api_keys: [] } } });
      const destination = createS3Destination(s3Settings(server.endpoint, bucket));
      opened.push(destination);
      return { destination, folder };
    },
    async rewrite(destination, key, body) {
      await destination.put({ key, body, sha256: sha256Hex(body), contentType: 'application/json', contentEncoding: 'gzip' });
    },
    async remove(destination, key) {
      await destination.delete!(key);
    },
  },
};

const messages = sampleArchiveMessages().slice(0, 12);

/** 12 messages archived with the ledger on, 4 entries per segment: segments 0, 1, 2 of chain w-cli. */
async function archived(store: Store, name: string) {
  const { destination, folder } = store.create(name);
  const ledger = createLedgerWriter({ destination, writerId: 'w-cli', recipientHash: sha256RecipientHash, maxEntries: 4 });
  const archiver = createArchiver({ destination, layout: 'sentcopy-unkeyed', ledger, retry: false });
  const keys: string[] = [];
  for (const message of messages) keys.push((await archiver.archive(message)).key);
  await ledger.close();
  return { destination, folder, keys, segment: (seq: number) => ledgerSegmentKey('w-cli', seq) };
}

const complete = async (folder: string) => {
  const run = await runCli(['verify', '--complete', '--json'], { cwd: folder, env: s3Env });
  return { code: run.code, report: json<CompleteJson>(run), stderr: run.stderr };
};
const ledgerProblems = (report: CompleteJson) => report.ledger.problems.map(({ kind, key }) => ({ kind, key }));

describe.each(['fs', 's3'] as const)('sentcopy verify --complete (%s)', (storeName) => {
  const store = stores[storeName];

  it('a whole archive: one chain of 3 segments, 12 objects listed once, exit 0; the segments are neither messages nor listed by ls', { timeout: 60_000 }, async () => {
    const { folder, keys } = await archived(store, 'clean');
    const { code, report } = await complete(folder);
    expect(code).toBe(0);
    expect(report).toMatchObject({ ok: true, problems: [], ledger: { chains: [{ writerId: 'w-cli', segments: 3, lastSeq: 2, entries: 12 }], entries: 12, duplicates: 0, problems: [] } });
    const ls = json<{ objects: { key: string }[] }>(await runCli(['ls', '--all', '--json'], { cwd: folder, env: s3Env }));
    expect(ls.objects.map((object) => object.key).sort()).toEqual([...keys].sort());
    const human = await runCli(['verify', '--complete'], { cwd: folder, env: s3Env });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Ledger: 1 chain(s), 12 object(s) listed.');
    expect(human.stdout).toContain('Complete: every chain is whole');
  });

  it('reports a deleted object as missing, a rewritten one as altered, and a foreign one as unlisted: exit 4', { timeout: 60_000 }, async () => {
    const { destination, folder, keys } = await archived(store, 'objects');
    await store.remove(destination, keys[2]!);
    await store.rewrite(destination, keys[5]!, new Uint8Array(Buffer.from('not the message that was sent')));
    // A real message, stored without the ledger (behind the archive's back).
    const foreign = await createArchiver({ destination, layout: 'sentcopy-unkeyed', retry: false }).archive({ ...messages[0]!, message_id: 'foreign-1' });
    const { code, report } = await complete(folder);
    expect(code).toBe(4);
    expect(ledgerProblems(report)).toEqual([
      { kind: 'missing', key: keys[2] },
      { kind: 'altered', key: keys[5] },
      { kind: 'unlisted', key: foreign.key },
    ]);
    expect(report.ok).toBe(false);
  });

  it('reports a deleted segment as a gap, and the objects only it listed as unlisted', { timeout: 60_000 }, async () => {
    const { destination, folder, keys, segment } = await archived(store, 'gap');
    await store.remove(destination, segment(1));
    const { code, report } = await complete(folder);
    expect(code).toBe(4);
    expect(ledgerProblems(report)).toEqual([
      { kind: 'gap', key: segment(1) },
      ...keys
        .slice(4, 8)
        .sort()
        .map((key) => ({ kind: 'unlisted', key })),
    ]);
  });

  it('reports an edited segment (one field of one entry changed, recompressed) as edited', { timeout: 60_000 }, async () => {
    const { destination, folder, segment } = await archived(store, 'edit');
    const stored = (await destination.get(segment(1)))!;
    const decoded = decodeLedgerSegment(stored.body, segment(1));
    const entries = decoded.entries.map((entry, index) => (index === 0 ? { ...entry, stored_at: entry.stored_at + 1 } : entry));
    const { body } = encodeLedgerSegment(decoded.header, entries);
    await store.rewrite(destination, segment(1), body);
    const { code, report } = await complete(folder);
    expect(code).toBe(4);
    expect(ledgerProblems(report)).toEqual([{ kind: 'edited', key: segment(1) }]);
    expect(report.ledger.problems[0]!.reason).toContain(segment(2));
  });

  it('reports a fork: a second segment claiming the same predecessor', { timeout: 60_000 }, async () => {
    const { destination, folder, segment } = await archived(store, 'fork');
    const predecessor = sha256Hex((await destination.get(segment(1)))!.body);
    const { body, sha256 } = encodeLedgerSegment({ writer: 'w-cli', seq: 3, previous: predecessor, closed_at: Date.now() }, []);
    await destination.put({ key: segment(3), body, sha256, contentType: 'application/x-ndjson', contentEncoding: 'gzip' });
    const { code, report } = await complete(folder);
    expect(code).toBe(4);
    expect(ledgerProblems(report)).toEqual([
      { kind: 'fork', key: segment(2) },
      { kind: 'fork', key: segment(3) },
    ]);
  });

  it('a restarted writer continues its chain, and a second writer keeps its own', { timeout: 60_000 }, async () => {
    const { destination, folder, segment } = await archived(store, 'restart');
    const lastBefore = sha256Hex((await destination.get(segment(2)))!.body);
    const restarted = createLedgerWriter({ destination, writerId: 'w-cli', recipientHash: sha256RecipientHash, maxEntries: 4 });
    const other = createLedgerWriter({ destination, writerId: 'w-other', recipientHash: sha256RecipientHash, maxEntries: 4 });
    const more = sampleArchiveMessages('shop').slice(12, 20);
    await Promise.all(more.map((message, index) => createArchiver({ destination, layout: 'sentcopy-unkeyed', ledger: index % 2 === 0 ? restarted : other, retry: false }).archive(message)));
    await Promise.all([restarted.close(), other.close()]);
    expect(decodeLedgerSegment((await destination.get(segment(3)))!.body, segment(3)).header).toMatchObject({ seq: 3, previous: lastBefore });
    const read = await readLedger(destination);
    expect(read.chains.map((chain) => [chain.writerId, chain.segments, chain.entries])).toEqual([
      ['w-cli', 4, 16],
      ['w-other', 1, 4],
    ]);
    const { code, report } = await complete(folder);
    expect(code).toBe(0);
    expect(report.ledger).toMatchObject({ entries: 20, problems: [] });
  });
});

describe('the ledger in S3 across processes', { timeout: 120_000 }, () => {
  const child = new URL('fixtures/ledger-s3-child.mjs', import.meta.url).pathname;
  const run = (...args: string[]) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
      const started = spawn(process.execPath, [child, ...args], { env: { ...process.env, ...s3Env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      started.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      started.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      started.once('error', reject);
      started.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });

  it('two writers in two processes on one bucket each keep a valid chain; verify --complete is clean', async () => {
    const { destination, folder } = stores.s3.create('two-processes');
    const bucket = (destination.id.match(/^s3:\/\/([^/]+)/) ?? [])[1]!;
    const [first, second] = await Promise.all([run(server.endpoint, bucket, 'w-proc-a', '1', '20', 'flush'), run(server.endpoint, bucket, 'w-proc-b', '2', '20', 'flush')]);
    expect([first.code, second.code], first.stderr + second.stderr).toEqual([0, 0]);
    const { code, report } = await complete(folder);
    expect(code).toBe(0);
    expect(report.ledger).toMatchObject({
      chains: [
        { writerId: 'w-proc-a', segments: 3, lastSeq: 2, entries: 20 },
        { writerId: 'w-proc-b', segments: 3, lastSeq: 2, entries: 20 },
      ],
      entries: 40,
      duplicates: 0,
      problems: [],
    });
  });

  it('after kill -9 with entries still in memory, the objects show as unlisted; re-appending them makes the ledger whole, each object once', async () => {
    const { destination, folder } = stores.s3.create('crash');
    const bucket = (destination.id.match(/^s3:\/\/([^/]+)/) ?? [])[1]!;
    const crashed = await run(server.endpoint, bucket, 'w-crash', '3', '10', 'crash');
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    const { keys, durable } = JSON.parse(crashed.stdout) as { keys: string[]; durable: number };
    expect(durable).toBe(7);
    const before = await complete(folder);
    expect(before.code).toBe(4);
    expect(ledgerProblems(before.report).map((problem) => problem.kind)).toEqual(['unlisted', 'unlisted', 'unlisted']);
    const again = await run(server.endpoint, bucket, 'w-crash', '3', '10', 'flush');
    expect(again.code, again.stderr).toBe(0);
    const after = await complete(folder);
    expect(after.code).toBe(0);
    expect(after.report.ledger).toMatchObject({ chains: [{ writerId: 'w-crash', segments: 3, entries: 17 }], entries: keys.length, duplicates: 7, problems: [] });
  });
});

describe('the ledger on an S3 store that enforces write-once (412 PreconditionFailed)', { timeout: 60_000 }, () => {
  it('two live writers given the same id never fork: the loser of a sequence number (412) re-chains after the winner', async () => {
    const strict = await startS3Server();
    try {
      const bucket = strict.createBucket();
      const destination = createS3Destination(s3Settings(strict.endpoint, bucket));
      opened.push(destination);
      const [first, second] = [0, 1].map(() => createLedgerWriter({ destination, writerId: 'w-shared', recipientHash: sha256RecipientHash, retry: { maxAttempts: 1 } }));
      const [one, two] = [first!, second!].map((ledger) => createArchiver({ destination, layout: 'sentcopy-unkeyed', ledger, retry: false }));
      const batch = sampleArchiveMessages().slice(0, 3);
      // first writes segment 0; second finds it and writes 1; first still believes 1 is next, is refused, and re-chains as 2.
      await one!.archive(batch[0]!);
      await first!.flush();
      await two!.archive(batch[1]!);
      await second!.flush();
      await one!.archive(batch[2]!);
      expect(await first!.flush()).toBe(2);
      const segmentPuts = strict.requests.filter((request) => request.method === 'PUT' && request.key?.startsWith('.sentcopy-ledger/'));
      expect(segmentPuts.map((request) => [request.key, request.status])).toEqual([
        [ledgerSegmentKey('w-shared', 0), 200],
        [ledgerSegmentKey('w-shared', 1), 200],
        [ledgerSegmentKey('w-shared', 1), 412],
        [ledgerSegmentKey('w-shared', 2), 200],
      ]);
      const read = await readLedger(destination);
      expect({ problems: read.problems, entries: read.entries.size, duplicates: read.duplicates, chains: read.chains.map((chain) => [chain.writerId, chain.segments]) }).toEqual({
        problems: [],
        entries: 3,
        duplicates: 0,
        chains: [['w-shared', 3]],
      });
      await Promise.all([first!.close(), second!.close()]);
    } finally {
      await strict.stop();
    }
  });
});
