import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createArchiver, createHmacRecipientHash, createLedgerWriter, type DestinationV1 } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { createS3Destination } from '@sentcopy/destination-s3';
import { faults, startFaultProxy, startS3Server, type S3TestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRecipientKey } from './ingest-fixture.js';
import { bin, runCli } from './run-cli.js';
import { ana, ben, fsEntry, json, s3Entry, s3Env, s3Settings, sampleArchiveMessages, writeConfigFile } from './ls-fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-ledger-search-'));
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

/** The sample messages with user ids (user-0 … user-3) and, for every third, a canvas. */
const messages: Record<string, unknown>[] = sampleArchiveMessages().map((message, index) => ({ ...message, user_id: `user-${index % 4}`, ...(index % 3 === 0 ? { canvas_id: 'canvas-9' } : {}) }));

async function archiveInto(destination: DestinationV1, batch: readonly Record<string, unknown>[], writerId: string) {
  const ledger = createLedgerWriter({ destination, writerId, recipientHash, maxEntries: 4 });
  const archiver = createArchiver({ destination, recipientKey: testRecipientKey, ledger, retry: false });
  const keys = new Map<string, string>();
  for (const message of batch) keys.set(message.message_id as string, (await archiver.archive(message)).key);
  await ledger.close();
  return keys;
}

const idsOf = (objects: { messageId: string }[]) => objects.map((object) => object.messageId).sort();
const expected = (filter: (message: Record<string, unknown>) => boolean) =>
  messages
    .filter(filter)
    .map((message) => message.message_id as string)
    .sort();
const mentions = (message: Record<string, unknown>, address: string) =>
  [message.to, ...((message.cc as string[] | undefined) ?? []), ...((message.bcc as string[] | undefined) ?? [])].some((value) => typeof value === 'string' && value.toLowerCase() === address.toLowerCase());

interface LsJson {
  source: string;
  destinations: string[];
  objects: { destination: string; key: string; messageId: string; channel: string }[];
  total: number;
  cursor: string | null;
}

describe('sentcopy ls and index from the ledger, across two destinations (S3 and a folder)', { timeout: 120_000 }, () => {
  const folder = path.join(work, 'search');
  let bucket: string;
  let keys: Map<string, string>;
  beforeAll(async () => {
    mkdirSync(folder, { recursive: true });
    bucket = server.createBucket();
    const old = createS3Destination(s3Settings(server.endpoint, bucket));
    opened.push(old);
    const current = createFsDestination({ root: path.join(folder, 'archive'), fsync: false });
    // The project wrote its first half to S3, then moved to the folder.
    keys = new Map([...(await archiveInto(old, messages.slice(0, 12), 'w-old')), ...(await archiveInto(current, messages.slice(12), 'w-new'))]);
    writeConfigFile(folder, { destinations: { archive: fsEntry(path.join(folder, 'archive')), old: s3Entry(server.endpoint, bucket) }, projects: { shop: project } });
  });
  const ls = async (...args: string[]) => {
    const run = await runCli(['ls', '--all', '--json', ...args], { cwd: folder, env: s3Env });
    expect(run.code, run.stderr).toBe(0);
    return json<LsJson>(run);
  };

  it('finds a person by to, cc and bcc, a user id, a campaign in a month, a canvas and a channel, in both destinations, without reading or listing one message object', async () => {
    const before = server.requests.length;
    const byBen = await ls('--recipient', 'Ben <BEN.okafor@example.com>');
    expect(byBen.source).toBe('ledger');
    expect(byBen.destinations).toEqual(['archive', 'old']);
    // Ben is the `to` of some emails and the cc of every email to Ana: the key listing cannot find the second kind.
    expect(idsOf(byBen.objects)).toEqual(expected((message) => mentions(message, ben)));
    expect(byBen.objects.some((object) => object.destination === 'old') && byBen.objects.some((object) => object.destination === 'archive')).toBe(true);
    expect(byBen.total).toBe(byBen.objects.length);
    expect(idsOf((await ls('--user-id', 'user-2')).objects)).toEqual(expected((message) => message.user_id === 'user-2'));
    expect(idsOf((await ls('--campaign', 'spring', '--since', '2026-01', '--until', '2026-01')).objects)).toEqual(expected((message) => message.campaign_id === 'spring' && (message.sent_at as number) < Date.UTC(2026, 1, 1)));
    expect(idsOf((await ls('--canvas', 'canvas-9', '--channel', 'email')).objects)).toEqual(expected((message) => message.canvas_id === 'canvas-9' && message.channel === 'email'));
    expect(idsOf((await ls('--recipient', ana, '--destination', 'old')).objects)).toEqual(expected((message) => mentions(message, ana) && messages.indexOf(message) < 12));
    const touched = server.requests.slice(before).filter((request) => request.bucket === bucket);
    expect(touched.length).toBeGreaterThan(0);
    for (const request of touched) expect(request.key ?? '.sentcopy-ledger/', `${request.method} ${request.key}`).toMatch(/^\.sentcopy-ledger\//);
    expect(touched.filter((request) => request.method === 'GET' && request.key === undefined).every((request) => request.query.includes('prefix'))).toBe(true);
  });

  it('pages with a stable cursor: every match once, in sent order', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const run = await runCli(['ls', '--json', '--limit', '5', ...(cursor === null ? [] : ['--cursor', cursor])], { cwd: folder, env: s3Env });
      const page = json<LsJson>(run);
      expect(page.objects.length).toBeLessThanOrEqual(5);
      seen.push(...page.objects.map((object) => object.messageId));
      cursor = page.cursor;
    } while (cursor !== null);
    expect(seen.sort()).toEqual(messages.map((message) => message.message_id as string).sort());
  });

  it('sentcopy index builds a 0600 index; ls then answers from it after an incremental update that reads nothing when nothing is new', async () => {
    const indexRun = await runCli(['index', '--json'], { cwd: folder, env: s3Env });
    expect(indexRun.code, indexRun.stderr).toBe(0);
    const report = json<{ index: string; updates: { destination: string; segments: number; added: number; problems: unknown[] }[] }>(indexRun);
    expect(report.updates.map(({ destination, segments, added, problems }) => ({ destination, segments, added, problems }))).toEqual([
      { destination: 'archive', segments: 3, added: 12, problems: [] },
      { destination: 'old', segments: 3, added: 12, problems: [] },
    ]);
    expect(statSync(report.index).mode & 0o777).toBe(0o600);
    const again = json<{ updates: { segments: number }[] }>(await runCli(['index', '--json'], { cwd: folder, env: s3Env }));
    expect(again.updates.map((update) => update.segments)).toEqual([0, 0]);
    const before = server.requests.length;
    const byBen = await ls('--recipient', ben);
    expect(byBen.source).toBe('index');
    expect(idsOf(byBen.objects)).toEqual(expected((message) => mentions(message, ben)));
    // Up to date with nothing new: the S3 side saw one listing of the ledger prefix and no reads.
    const touched = server.requests.slice(before).filter((request) => request.bucket === bucket);
    expect(touched.filter((request) => request.key !== undefined)).toEqual([]);
  });

  it('without a ledger, ls lists keys as before, and --user-id says it needs a ledger', async () => {
    const plain = path.join(work, 'plain');
    mkdirSync(plain, { recursive: true });
    const destination = createFsDestination({ root: path.join(plain, 'archive'), fsync: false });
    await createArchiver({ destination, recipientKey: testRecipientKey, retry: false }).archive(messages[0]!);
    writeConfigFile(plain, { destinations: { archive: fsEntry(path.join(plain, 'archive')) }, projects: { shop: project } });
    const listed = json<{ objects: { key: string }[]; prefix: string }>(await runCli(['ls', '--json'], { cwd: plain }));
    expect(listed.objects.map((object) => object.key)).toEqual([keys.get('m-000')]);
    const refused = await runCli(['ls', '--user-id', 'user-0', '--json'], { cwd: plain });
    expect(refused.code).toBe(2);
    expect(json<{ error: { code: string } }>(refused).error.code).toBe('ledger_required');
  });
});

describe('sentcopy index is resumable after Ctrl-C', { timeout: 180_000 }, () => {
  it('an interrupted run keeps what it indexed (exit 130) and the next run completes it, each object once', async () => {
    const folder = path.join(work, 'interrupt');
    mkdirSync(folder, { recursive: true });
    const root = path.join(folder, 'archive');
    mkdirSync(root, { recursive: true });
    const destination = createFsDestination({ root, fsync: false });
    // 10,000 entries in 1,000 segments, written directly (no objects needed to index).
    const ledger = createLedgerWriter({ destination, writerId: 'w-many', recipientHash, maxEntries: 10 });
    for (let index = 0; index < 10_000; index += 1) {
      ledger.append({
        type: 'entry',
        key: `shop/x/email/20260101/m-${index}.json.gz`,
        sha256: '0'.repeat(64),
        size: 10,
        message_id: `m-${index}`,
        channel: 'email',
        project_id: 'shop',
        recipients: ['a'.repeat(64)],
        sent_at: 1_767_225_600_000 + index,
        stored_at: 1_767_225_600_000 + index,
        version: false,
      });
    }
    await ledger.close();
    writeConfigFile(folder, { destinations: { archive: fsEntry(root) }, projects: { shop: project } });
    const child = spawn(process.execPath, [bin, 'index'], { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    let interrupted = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (!interrupted && /index: archive: [1-9]\d* segment/.test(stderr)) {
          interrupted = true;
          child.kill('SIGINT');
        }
      });
      child.once('close', resolve);
    });
    expect(code, stderr + stdout).toBe(130);
    expect(stdout).toContain('Interrupted');
    const partial = Number(/archive: (\d+) object\(s\)/.exec(stdout)?.[1]);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(10_000);
    const second = json<{ updates: { added: number; duplicates: number }[]; destinations: { objects: number }[] }>(await runCli(['index', '--json'], { cwd: folder }));
    expect(second.updates[0]).toMatchObject({ added: 10_000 - partial, duplicates: 0 });
    expect(second.destinations[0]!.objects).toBe(10_000);
  });
});

describe('sentcopy erase', { timeout: 180_000 }, () => {
  interface Receipt {
    erased: number;
    held: number;
    missing: number;
    recipient: string;
    destinations: { destination: string; erased: { key: string }[]; held: { key: string; reason: string }[]; tombstones: { writer: string; count: number } }[];
  }

  it('on S3 with Object Lock: erases what the bucket allows, holds the legal-hold objects with the reason, writes tombstones; verify --complete exits 0; nobody else is touched', async () => {
    const folder = path.join(work, 'erase-s3');
    mkdirSync(folder, { recursive: true });
    const bucket = server.createBucket(undefined, { objectLock: true });
    const plain = createS3Destination(s3Settings(server.endpoint, bucket));
    const held = createS3Destination({ ...s3Settings(server.endpoint, bucket), objectLock: { legalHold: true } });
    opened.push(plain, held);
    // Every twelfth message (among them some of Ana's) goes to the legal-hold writer, the rest to the plain one.
    const january = (message: Record<string, unknown>) => Number((message.message_id as string).slice(2)) % 12 === 0;
    const keys = new Map([
      ...(await archiveInto(held, messages.filter(january), 'w-held')),
      ...(await archiveInto(
        plain,
        messages.filter((message) => !january(message)),
        'w-plain',
      )),
    ]);
    writeConfigFile(folder, { destinations: { archive: s3Entry(server.endpoint, bucket) }, projects: { shop: project } });
    const before = new Map(server.listKeys(bucket).map((key) => [key, Buffer.from(server.getObject(bucket, key)!.body).toString('base64')]));

    // No terminal and no --yes: nothing is erased.
    const unconfirmed = await runCli(['erase', '--recipient', ana, '--json'], { cwd: folder, env: s3Env });
    expect(unconfirmed.code).toBe(2);
    expect(json<{ error: { code: string } }>(unconfirmed).error.code).toBe('confirmation_required');
    const dry = json<Receipt>(await runCli(['erase', '--recipient', ana, '--dry-run', '--json'], { cwd: folder, env: s3Env }));
    expect(server.listKeys(bucket)).toEqual([...before.keys()]);

    const receiptFile = path.join(folder, 'receipt.json');
    const run = await runCli(['erase', '--recipient', 'ANA.garcia@example.com', '--yes', '--json', '--receipt', receiptFile], { cwd: folder, env: s3Env });
    expect(run.code, run.stderr).toBe(4);
    const receipt = json<Receipt>(run);
    expect(JSON.parse(readFileSync(receiptFile, 'utf8'))).toEqual(receipt);
    expect(statSync(receiptFile).mode & 0o777).toBe(0o600);
    expect(run.stdout + run.stderr + readFileSync(receiptFile, 'utf8')).not.toMatch(/ana\.garcia/i);

    const anas = messages.filter((message) => mentions(message, ana));
    const anaHeld = anas
      .filter(january)
      .map((message) => keys.get(message.message_id as string)!)
      .sort();
    const anaErased = anas
      .filter((message) => !january(message))
      .map((message) => keys.get(message.message_id as string)!)
      .sort();
    expect(anaHeld.length).toBeGreaterThan(0);
    expect(anaErased.length).toBeGreaterThan(0);
    const [destination] = receipt.destinations;
    expect(destination!.erased.map((item) => item.key).sort()).toEqual(anaErased);
    expect(destination!.held.map((item) => item.key).sort()).toEqual(anaHeld);
    expect(new Set(destination!.held.map((item) => item.reason))).toEqual(new Set(['object_lock']));
    expect({ erased: receipt.erased, held: receipt.held, missing: receipt.missing }).toEqual({ erased: anaErased.length, held: anaHeld.length, missing: 0 });
    expect(destination!.tombstones.count).toBe(anaErased.length);
    expect(dry.erased).toBe(anaErased.length + anaHeld.length);

    // The receipt matches the bucket: erased keys gone, held keys and every other object there with the same bytes.
    const after = new Set(server.listKeys(bucket));
    for (const key of anaErased) expect(after.has(key), key).toBe(false);
    for (const [key, body] of before) {
      if (anaErased.includes(key)) continue;
      expect(Buffer.from(server.getObject(bucket, key)!.body).toString('base64'), key).toBe(body);
    }
    const verify = await runCli(['verify', '--complete', '--json'], { cwd: folder, env: s3Env });
    expect(verify.code, verify.stdout).toBe(0);
    expect(json<{ ledger: { erased: number; problems: unknown[] } }>(verify).ledger).toMatchObject({ erased: anaErased.length, problems: [] });
    // Erased messages are no longer listed; the held ones still are.
    const listed = json<LsJson>(await runCli(['ls', '--all', '--json', '--recipient', ana], { cwd: folder, env: s3Env }));
    expect(listed.objects.map((object) => object.key).sort()).toEqual(anaHeld);
    // A second run finds only the held ones again, and erases nothing twice.
    const second = json<Receipt>(await runCli(['erase', '--recipient', ana, '--yes', '--json'], { cwd: folder, env: s3Env }));
    expect({ erased: second.erased, held: second.held }).toEqual({ erased: 0, held: anaHeld.length });
  });

  it('on a folder with immutable files (chattr +i): those are held as immutable_file, the rest erased; verify --complete exits 0', async () => {
    const folder = path.join(work, 'erase-fs');
    mkdirSync(folder, { recursive: true });
    const root = path.join(folder, 'archive');
    const destination = createFsDestination({ root, fsync: false });
    const keys = await archiveInto(destination, messages, 'w-fs');
    writeConfigFile(folder, { destinations: { archive: fsEntry(root) }, projects: { shop: project } });
    const anas = messages.filter((message) => mentions(message, ana)).map((message) => keys.get(message.message_id as string)!);
    const immutable = anas.slice(0, 2);
    const files = immutable.flatMap((key) => [path.join(root, key), path.join(root, '.sentcopy', 'meta', key)]).filter((file) => existsSync(file));
    const locked = spawnSync('chattr', ['+i', ...files]);
    if (locked.status !== 0) {
      console.warn(`skipped: chattr +i is not available here (${locked.error?.message ?? locked.stderr.toString().trim()})`);
      return;
    }
    try {
      const run = await runCli(['erase', '--recipient', ana, '--yes', '--json'], { cwd: folder });
      expect(run.code, run.stderr).toBe(4);
      const receipt = json<Receipt>(run);
      expect(receipt.destinations[0]!.held.map((item) => [item.key, item.reason]).sort()).toEqual(immutable.map((key) => [key, 'immutable_file']).sort());
      expect(receipt.destinations[0]!.erased.map((item) => item.key).sort()).toEqual(anas.slice(2).sort());
      for (const key of immutable) expect(existsSync(path.join(root, key))).toBe(true);
      for (const key of anas.slice(2)) expect(existsSync(path.join(root, key))).toBe(false);
      for (const [, key] of keys) if (!anas.includes(key)) expect(existsSync(path.join(root, key)), key).toBe(true);
      const verify = await runCli(['verify', '--complete', '--json'], { cwd: folder });
      expect(verify.code, verify.stdout).toBe(0);
    } finally {
      spawnSync('chattr', ['-i', ...files]);
    }
  });

  it('an erasure interrupted after its tombstone: verify --complete reports the object unerased (exit 4); erase run again deletes it, writes no second tombstone, and verify exits 0', async () => {
    const folder = path.join(work, 'erase-unerased');
    mkdirSync(folder, { recursive: true });
    const root = path.join(folder, 'archive');
    const destination = createFsDestination({ root, fsync: false });
    const keys = await archiveInto(destination, messages, 'w-fs');
    writeConfigFile(folder, { destinations: { archive: fsEntry(root) }, projects: { shop: project } });
    const key = keys.get('m-000')!;
    const stored = (await destination.head(key))!;
    // The tombstone was written, the delete never happened.
    const eraser = createLedgerWriter({ destination, writerId: 'e-interrupted', recipientHash });
    eraser.append({ type: 'tombstone', key, sha256: stored.sha256!, erased_at: Date.now(), reason: 'erasure_request' });
    await eraser.close();
    const before = await runCli(['verify', '--complete', '--json'], { cwd: folder });
    expect(before.code).toBe(4);
    expect(json<{ ledger: { problems: { kind: string; key: string }[] } }>(before).ledger.problems.map(({ kind, key: problemKey }) => ({ kind, key: problemKey }))).toEqual([{ kind: 'unerased', key }]);
    const run = await runCli(['erase', '--recipient', ana, '--yes', '--json', '--until', '2026-01-05'], { cwd: folder });
    expect(run.code, run.stderr).toBe(0);
    const receipt = json<Receipt>(run);
    const january5 = messages.filter((message) => mentions(message, ana) && (message.sent_at as number) < Date.UTC(2026, 0, 6)).map((message) => keys.get(message.message_id as string)!);
    expect(receipt.destinations[0]!.erased.map((item) => item.key).sort()).toEqual([...january5].sort());
    expect(receipt.destinations[0]!.tombstones.count).toBe(january5.length - 1);
    expect(existsSync(path.join(root, key))).toBe(false);
    const after = await runCli(['verify', '--complete', '--json'], { cwd: folder });
    expect(after.code, after.stdout).toBe(0);
    expect(json<{ ledger: { erased: number } }>(after).ledger.erased).toBe(january5.length);
  });

  it('a store that drops the connection on one delete: that object is reported not reached (exit 5), kept and not tombstoned; the rest erased; a second run finishes it', async () => {
    const folder = path.join(work, 'erase-outage');
    mkdirSync(folder, { recursive: true });
    const bucket = server.createBucket();
    const destination = createS3Destination(s3Settings(server.endpoint, bucket));
    opened.push(destination);
    const keys = await archiveInto(destination, messages, 'w-outage');
    const proxy = await startFaultProxy({ target: server.endpoint });
    try {
      writeConfigFile(folder, { destinations: { archive: s3Entry(proxy.url, bucket) }, projects: { shop: project } });
      const anas = messages.filter((message) => mentions(message, ana)).map((message) => keys.get(message.message_id as string)!);
      const unlucky = anas[1]!;
      proxy.inject(faults.reset(), { match: (request) => request.method === 'DELETE' && decodeURIComponent(request.url).includes(unlucky) });
      const run = await runCli(['erase', '--recipient', ana, '--yes', '--json'], { cwd: folder, env: s3Env });
      expect(run.code, run.stderr).toBe(5);
      const receipt = json<Receipt & { failed: number; destinations: { failed: { key: string; reason: string }[] }[] }>(run);
      expect(receipt.destinations[0]!.failed.map((item) => [item.key, item.reason])).toEqual([[unlucky, 'unavailable']]);
      expect(receipt.destinations[0]!.erased.map((item) => item.key).sort()).toEqual(anas.filter((key) => key !== unlucky).sort());
      expect(receipt.destinations[0]!.tombstones.count).toBe(anas.length - 1);
      expect(server.listKeys(bucket)).toContain(unlucky);
      expect((await runCli(['verify', '--complete', '--json'], { cwd: folder, env: s3Env })).code).toBe(0);
      proxy.reset();
      const again = json<Receipt>(await runCli(['erase', '--recipient', ana, '--yes', '--json'], { cwd: folder, env: s3Env }));
      expect({ erased: again.destinations[0]!.erased.map((item) => item.key), tombstones: again.destinations[0]!.tombstones.count }).toEqual({ erased: [unlucky], tombstones: 1 });
      expect(server.listKeys(bucket)).not.toContain(unlucky);
      expect((await runCli(['verify', '--complete', '--json'], { cwd: folder, env: s3Env })).code).toBe(0);
    } finally {
      await proxy.stop();
    }
  });
});
