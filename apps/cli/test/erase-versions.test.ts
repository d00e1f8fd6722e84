import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createArchiver, createHmacRecipientHash, createLedgerWriter, type DestinationV1 } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { createS3Destination } from '@sentcopy/destination-s3';
import { faults, installMemoPackage, memoPackage, s3ErrorResponse, shelfRoot, startFaultProxy, startS3Server, type ProxiedRequest, type S3TestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRecipientKey } from './ingest-fixture.js';
import { bin, runCli } from './run-cli.js';
import { ana, json, s3Entry, s3Env, s3Settings, sampleArchiveMessages, writeConfigFile } from './ls-fixtures.js';

// Issue #16, the erasure's two remaining gaps: bytes kept by versioned stores, and tombstones owed
// after a failed (or killed) tombstone write.
const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-erase-versions-'));
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
const messages = sampleArchiveMessages();
const mentions = (message: Record<string, unknown>, address: string) =>
  [message.to, ...((message.cc as string[] | undefined) ?? []), ...((message.bcc as string[] | undefined) ?? [])].some((value) => typeof value === 'string' && value.toLowerCase() === address.toLowerCase());
const anaMessages = messages.filter((message) => mentions(message, ana));

async function archiveInto(destination: DestinationV1, batch: readonly Record<string, unknown>[], writerId: string): Promise<Map<string, string>> {
  const ledger = createLedgerWriter({ destination, writerId, recipientHash, maxEntries: 4 });
  const archiver = createArchiver({ destination, recipientKey: testRecipientKey, ledger, retry: false });
  const keys = new Map<string, string>();
  for (const message of batch) keys.set(message.message_id as string, (await archiver.archive(message)).key);
  await ledger.close();
  return keys;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface VersionItem {
  version: string;
  type: string;
  current: boolean;
  outcome: string;
  reason?: string;
}
interface Item {
  key: string;
  reason?: string;
  detail?: string;
  versions?: VersionItem[];
}
interface Receipt {
  erased: number;
  held: number;
  missing: number;
  unconfirmed: number;
  resumed: { destination: string; written: number; stillPresent: number; error?: string }[];
  destinations: { destination: string; versions: string; erased: Item[]; held: Item[]; unconfirmed: Item[]; alreadyErased: number; tombstones: { writer: string | null; count: number; error?: string; pending?: string } }[];
}
interface VerifyJson {
  ledger: { erased: number; problems: { kind: string; key: string; reason: string }[]; pendingErasures: { file: string; objects?: number }[] };
}

const versionsOf = (bucket: string, key: string) => server.listVersions(bucket).filter((version) => version.key === key);
const ledgerKeys = (bucket: string, writerPrefix: string) => server.listKeys(bucket).filter((key) => key.startsWith(`.sentcopy-ledger/${writerPrefix}`));
const pendingFolder = (folder: string) => path.join(folder, '.sentcopy', 'erase-pending');
const pendingFiles = (folder: string) => (existsSync(pendingFolder(folder)) ? readdirSync(pendingFolder(folder)).filter((name) => name.endsWith('.json')) : []);
const isTombstoneWrite = (request: ProxiedRequest) => request.method === 'PUT' && decodeURIComponent(request.url).includes('.sentcopy-ledger/e-');

describe('sentcopy erase on stores that keep versions', { timeout: 180_000 }, () => {
  it('an S3 bucket with versioning (no Object Lock): every version of each erased object is deleted, none left behind a delete marker; the receipt lists each version; verify --complete exits 0', async () => {
    const folder = path.join(work, 'versioned');
    mkdirSync(folder, { recursive: true });
    const bucket = server.createBucket(undefined, { versioning: true });
    const destination = createS3Destination(s3Settings(server.endpoint, bucket));
    opened.push(destination);
    const keys = await archiveInto(destination, messages, 'w-versioned');
    writeConfigFile(folder, { destinations: { archive: s3Entry(server.endpoint, bucket) }, projects: { shop: project } });
    const anas = anaMessages.map((message) => keys.get(message.message_id as string)!).sort();
    const others = [...keys.values()].filter((key) => !anas.includes(key));
    const before = new Map(others.map((key) => [key, server.getObject(bucket, key)!.body.toString('base64')]));

    const run = await runCli(['erase', '--recipient', ana, '--yes', '--json'], { cwd: folder, env: s3Env });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    // No bytes and no delete marker of an erased object remain in the bucket.
    for (const key of anas) expect(versionsOf(bucket, key), key).toEqual([]);
    const receipt = json<Receipt>(run);
    const [erasure] = receipt.destinations;
    expect(erasure!.versions).toBe('erased');
    expect(erasure!.erased.map((item) => item.key).sort()).toEqual(anas);
    for (const item of erasure!.erased) expect(item.versions!.map(({ type, current, outcome }) => ({ type, current, outcome }))).toEqual([{ type: 'version', current: true, outcome: 'erased' }]);
    // Everyone else's objects are untouched, one version each.
    for (const [key, body] of before) {
      expect(
        versionsOf(bucket, key).map((version) => [version.deleteMarker, version.body?.toString('base64')]),
        key,
      ).toEqual([[false, body]]);
    }
    expect(erasure!.tombstones.count).toBe(anas.length);
    const verify = await runCli(['verify', '--complete', '--json'], { cwd: folder, env: s3Env });
    expect(verify.code, verify.stdout).toBe(0);
    expect(json<VerifyJson>(verify).ledger).toMatchObject({ erased: anas.length, problems: [] });
  });

  it('versioning with Object Lock: a legal-hold version is held per version with its reason (no delete marker hides it); bytes an older erasure left behind a delete marker are removed too', async () => {
    const folder = path.join(work, 'versioned-locked');
    mkdirSync(folder, { recursive: true });
    const bucket = server.createBucket(undefined, { objectLock: true, versioning: true });
    const plain = createS3Destination(s3Settings(server.endpoint, bucket));
    const hold = createS3Destination({ ...s3Settings(server.endpoint, bucket), objectLock: { legalHold: true } });
    opened.push(plain, hold);
    const heldMessages = anaMessages.slice(0, 2);
    const keys = new Map([
      ...(await archiveInto(
        plain,
        messages.filter((message) => !heldMessages.includes(message)),
        'w-plain',
      )),
      ...(await archiveInto(hold, heldMessages, 'w-hold')),
    ]);
    writeConfigFile(folder, { destinations: { archive: s3Entry(server.endpoint, bucket) }, projects: { shop: project } });
    const heldKeys = heldMessages.map((message) => keys.get(message.message_id as string)!).sort();
    const anas = anaMessages.map((message) => keys.get(message.message_id as string)!).sort();
    // An erasure made before versions were erased: a delete marker and a tombstone, the bytes still in the bucket.
    const older = anas.find((key) => !heldKeys.includes(key))!;
    const olderSha256 = (await plain.head(older))!.sha256!;
    await plain.delete!(older);
    const eraser = createLedgerWriter({ destination: plain, writerId: 'e-older', recipientHash });
    eraser.append({ type: 'tombstone', key: older, sha256: olderSha256, erased_at: Date.now(), reason: 'erasure_request' });
    await eraser.close();
    expect(versionsOf(bucket, older).map((version) => version.deleteMarker)).toEqual([true, false]);
    const heldBodies = new Map(heldKeys.map((key) => [key, server.getObject(bucket, key)!.body.toString('base64')]));

    const run = await runCli(['erase', '--recipient', ana, '--yes', '--json'], { cwd: folder, env: s3Env });
    expect(run.code, run.stderr + run.stdout).toBe(4);
    const receipt = json<Receipt>(run);
    const [erasure] = receipt.destinations;
    expect(erasure!.held.map((item) => [item.key, item.reason]).sort()).toEqual(heldKeys.map((key) => [key, 'object_lock']));
    for (const item of erasure!.held) expect(item.versions!.map(({ current, outcome, reason }) => ({ current, outcome, reason }))).toEqual([{ current: true, outcome: 'held', reason: 'object_lock' }]);
    expect(erasure!.erased.map((item) => item.key).sort()).toEqual(anas.filter((key) => !heldKeys.includes(key)));
    const olderItem = erasure!.erased.find((item) => item.key === older)!;
    expect(olderItem.versions!.map(({ type, outcome }) => [type, outcome]).sort()).toEqual([
      ['delete_marker', 'erased'],
      ['version', 'erased'],
    ]);
    // What the receipt says is what the bucket holds: held objects keep exactly one version, their bytes, no delete marker; the rest have none.
    for (const key of heldKeys) expect(versionsOf(bucket, key).map((version) => [version.deleteMarker, version.body?.toString('base64')])).toEqual([[false, heldBodies.get(key)]]);
    for (const key of anas.filter((entry) => !heldKeys.includes(entry))) expect(versionsOf(bucket, key), key).toEqual([]);
    // The older erasure's object already had its tombstone: none is written twice.
    expect(erasure!.tombstones.count).toBe(anas.length - heldKeys.length - 1);
    const verify = await runCli(['verify', '--complete', '--json'], { cwd: folder, env: s3Env });
    expect(verify.code, verify.stdout).toBe(0);
    expect(json<VerifyJson>(verify).ledger.erased).toBe(anas.length - heldKeys.length);
  });

  it('an S3-compatible store that does not implement ListObjectVersions (501): objects are deleted as before but reported unconfirmed (exit 4), and tombstoned', async () => {
    const folder = path.join(work, 'no-version-listing');
    mkdirSync(folder, { recursive: true });
    const bucket = server.createBucket();
    const destination = createS3Destination(s3Settings(server.endpoint, bucket));
    opened.push(destination);
    const keys = await archiveInto(destination, messages, 'w-no-listing');
    const anas = anaMessages.map((message) => keys.get(message.message_id as string)!).sort();
    const proxy = await startFaultProxy({ target: server.endpoint });
    try {
      writeConfigFile(folder, { destinations: { archive: s3Entry(proxy.url, bucket) }, projects: { shop: project } });
      const isVersionListing = (request: ProxiedRequest) => request.method === 'GET' && /[?&]versions(=|&|$)/.test(request.url);
      proxy.inject(faults.respond(s3ErrorResponse('NotImplemented', { message: 'A header you provided implies functionality that is not implemented' })), { match: isVersionListing });
      const run = await runCli(['erase', '--recipient', ana, '--yes', '--json'], { cwd: folder, env: s3Env });
      expect(run.code, run.stderr + run.stdout).toBe(4);
      expect(proxy.count(isVersionListing)).toBeGreaterThan(0);
      const receipt = json<Receipt>(run);
      expect({ erased: receipt.erased, unconfirmed: receipt.unconfirmed, held: receipt.held }).toEqual({ erased: 0, unconfirmed: anas.length, held: 0 });
      expect(receipt.destinations[0]!.unconfirmed[0]!.detail).toMatch(/does not list versions.*not confirmed erased/);
      for (const key of anas) expect(server.listKeys(bucket)).not.toContain(key);
      expect(receipt.destinations[0]!.tombstones.count).toBe(anas.length);
      expect((await runCli(['verify', '--complete', '--json'], { cwd: folder, env: s3Env })).code).toBe(0);
    } finally {
      await proxy.stop();
    }
  });

  it('a destination that cannot tell whether its store keeps versions: deleted objects are reported unconfirmed, never erased (exit 4), and still tombstoned', async () => {
    const folder = path.join(work, 'versions-unknown');
    mkdirSync(folder, { recursive: true });
    installMemoPackage(folder, fileURLToPath(new URL('../../../packages/destination-fs', import.meta.url)), 'versions-unknown');
    const root = shelfRoot(path.join(folder, 'memos'), 1);
    const keys = await archiveInto(createFsDestination({ root, fsync: false }), messages, 'w-memo');
    writeConfigFile(folder, { destinations: { archive: { type: memoPackage, folder: 'memos', shelf: 1, acknowledge_personal_data: true } }, projects: { shop: project } });
    const anas = anaMessages.map((message) => keys.get(message.message_id as string)!).sort();

    const human = await runCli(['erase', '--recipient', ana, '--yes', '--dry-run'], { cwd: folder });
    expect(human.code, human.stderr).toBe(0);
    const run = await runCli(['erase', '--recipient', ana, '--yes', '--json'], { cwd: folder });
    expect(run.code, run.stderr + run.stdout).toBe(4);
    const receipt = json<Receipt>(run);
    const [erasure] = receipt.destinations;
    expect({ versions: erasure!.versions, erased: receipt.erased, unconfirmed: receipt.unconfirmed }).toEqual({ versions: 'unknown', erased: 0, unconfirmed: anas.length });
    expect(erasure!.unconfirmed.map((item) => item.key).sort()).toEqual(anas);
    expect(erasure!.unconfirmed[0]!.detail).toMatch(/cannot tell whether the store keeps earlier versions.*not confirmed erased/);
    expect(run.stderr).toContain(`${anas.length} object(s) deleted there are not confirmed erased`);
    for (const key of anas) expect(existsSync(path.join(root, key))).toBe(false);
    expect(erasure!.tombstones.count).toBe(anas.length);
    expect((await runCli(['verify', '--complete', '--json'], { cwd: folder })).code).toBe(0);
  });
});

describe('sentcopy erase keeps a local record of the tombstones it owes', { timeout: 180_000 }, () => {
  it('the ledger refuses the tombstone segment: exit 1, a 0600 record (keys and SHA-256s, no recipient) remains; verify --complete names it; erase --resume writes the tombstones, removes the record, and verify exits 0', async () => {
    const folder = path.join(work, 'refused');
    mkdirSync(folder, { recursive: true });
    const bucket = server.createBucket();
    const destination = createS3Destination(s3Settings(server.endpoint, bucket));
    opened.push(destination);
    const keys = await archiveInto(destination, messages, 'w-refused');
    const anas = anaMessages.map((message) => keys.get(message.message_id as string)!).sort();
    const proxy = await startFaultProxy({ target: server.endpoint });
    try {
      writeConfigFile(folder, { destinations: { archive: s3Entry(proxy.url, bucket) }, projects: { shop: project } });
      proxy.inject(faults.respond(s3ErrorResponse('AccessDenied')), { match: isTombstoneWrite });
      const run = await runCli(['erase', '--recipient', ana, '--yes', '--json'], { cwd: folder, env: s3Env });
      expect(run.code, run.stderr + run.stdout).toBe(1);
      const receipt = json<Receipt>(run);
      expect(receipt.destinations[0]!.erased.map((item) => item.key).sort()).toEqual(anas);
      expect(receipt.destinations[0]!.tombstones.error).toBeDefined();
      expect(run.stderr).toMatch(/tombstones of the objects deleted now were not written.*sentcopy erase --resume/);
      expect(proxy.count(isTombstoneWrite)).toBeGreaterThan(0);
      expect(ledgerKeys(bucket, 'e-')).toEqual([]);
      for (const key of anas) expect(server.listKeys(bucket)).not.toContain(key);

      const files = pendingFiles(folder);
      expect(files).toHaveLength(1);
      const file = path.join(pendingFolder(folder), files[0]!);
      expect(receipt.destinations[0]!.tombstones.pending).toBe(file);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const record = JSON.parse(readFileSync(file, 'utf8')) as { destination: string; writer: string; objects: { key: string; sha256: string }[] };
      expect(record.destination).toBe('archive');
      expect(record.writer).toBe(receipt.destinations[0]!.tombstones.writer);
      expect(record.objects.map((object) => object.key).sort()).toEqual(anas);
      expect(readFileSync(file, 'utf8')).not.toMatch(/ana\.garcia|example\.com/i);

      // verify --complete: the objects are missing (no tombstone yet), and it says a pending erasure here owes them.
      const before = await runCli(['verify', '--complete', '--json'], { cwd: folder, env: s3Env });
      expect(before.code).toBe(4);
      const report = json<VerifyJson>(before);
      expect(report.ledger.pendingErasures.map((note) => [note.file, note.objects])).toEqual([[file, anas.length]]);
      expect(report.ledger.problems.map((problem) => [problem.kind, problem.key]).sort()).toEqual(anas.map((key) => ['missing', key]));
      for (const problem of report.ledger.problems) expect(problem.reason).toContain('sentcopy erase --resume');
      expect(before.stderr).toContain('pending erasure');
      const human = await runCli(['verify', '--complete'], { cwd: folder, env: s3Env });
      expect(human.stdout).toContain('Pending erasures: 1 local record(s)');

      proxy.reset();
      const resumed = await runCli(['erase', '--resume', '--json'], { cwd: folder, env: s3Env });
      expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
      expect(json<Receipt>(resumed).resumed.map(({ destination: name, written, stillPresent, error }) => ({ name, written, stillPresent, error }))).toEqual([{ name: 'archive', written: anas.length, stillPresent: 0, error: undefined }]);
      expect(pendingFiles(folder)).toEqual([]);
      expect(ledgerKeys(bucket, record.writer)).toHaveLength(1);
      const after = await runCli(['verify', '--complete', '--json'], { cwd: folder, env: s3Env });
      expect(after.code, after.stdout).toBe(0);
      expect(json<VerifyJson>(after).ledger).toMatchObject({ erased: anas.length, problems: [], pendingErasures: [] });
    } finally {
      await proxy.stop();
    }
  });

  it('kill -9 after the deletes and before the tombstones: the record survives; the next erasure writes the owed tombstones first; verify --complete exits 0 and the record is gone', async () => {
    const folder = path.join(work, 'killed');
    mkdirSync(folder, { recursive: true });
    const bucket = server.createBucket(undefined, { versioning: true });
    const destination = createS3Destination(s3Settings(server.endpoint, bucket));
    opened.push(destination);
    const keys = await archiveInto(destination, messages, 'w-killed');
    const anas = anaMessages.map((message) => keys.get(message.message_id as string)!).sort();
    const proxy = await startFaultProxy({ target: server.endpoint });
    try {
      writeConfigFile(folder, { destinations: { archive: s3Entry(proxy.url, bucket) }, projects: { shop: project } });
      // The tombstone segment's write hangs: the process is killed while it waits.
      proxy.inject(faults.delay(120_000), { match: isTombstoneWrite });
      const child = spawn(process.execPath, [bin, 'erase', '--recipient', ana, '--yes', '--json'], { cwd: folder, env: { ...process.env, ...s3Env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, signal) => resolve(signal)));
      await waitFor(() => proxy.count(isTombstoneWrite) > 0 || child.exitCode !== null, 'the tombstone write');
      expect(child.exitCode, output).toBe(null);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      // Every version of Ana's objects is gone, no tombstone was written, and the record remains.
      for (const key of anas) expect(versionsOf(bucket, key), key).toEqual([]);
      expect(ledgerKeys(bucket, 'e-')).toEqual([]);
      expect(pendingFiles(folder)).toHaveLength(1);
      const killedVerify = await runCli(['verify', '--complete', '--json'], { cwd: folder, env: s3Env });
      expect(killedVerify.code).toBe(4);
      expect(json<VerifyJson>(killedVerify).ledger.pendingErasures).toHaveLength(1);

      // The next erasure (straight to the bucket) writes the owed tombstones before anything else.
      writeConfigFile(folder, { destinations: { archive: s3Entry(server.endpoint, bucket) }, projects: { shop: project } });
      const next = await runCli(['erase', '--recipient', ana, '--yes', '--json'], { cwd: folder, env: s3Env });
      expect(next.code, next.stderr + next.stdout).toBe(0);
      const receipt = json<Receipt>(next);
      expect(receipt.resumed.map(({ written, error }) => ({ written, error }))).toEqual([{ written: anas.length, error: undefined }]);
      expect({ erased: receipt.erased, alreadyErased: receipt.destinations[0]!.alreadyErased, tombstones: receipt.destinations[0]!.tombstones.count }).toEqual({ erased: 0, alreadyErased: anas.length, tombstones: 0 });
      expect(pendingFiles(folder)).toEqual([]);
      const verify = await runCli(['verify', '--complete', '--json'], { cwd: folder, env: s3Env });
      expect(verify.code, verify.stdout).toBe(0);
      expect(json<VerifyJson>(verify).ledger).toMatchObject({ erased: anas.length, problems: [], pendingErasures: [] });
    } finally {
      await proxy.stop();
    }
  });

  it('a record that cannot be written stops the erasure before any delete (exit 1, nothing deleted)', async () => {
    const folder = path.join(work, 'no-record');
    mkdirSync(folder, { recursive: true });
    const root = path.join(folder, 'archive');
    const keys = await archiveInto(createFsDestination({ root, fsync: false }), messages, 'w-fs');
    writeConfigFile(folder, { destinations: { archive: { type: 'fs', root, acknowledge_personal_data: true } }, projects: { shop: project } });
    // A file where the record's folder should be: no record can be written (works as root too, unlike permissions).
    mkdirSync(path.join(folder, '.sentcopy'), { recursive: true });
    writeFileSync(pendingFolder(folder), 'not a folder');
    const run = await runCli(['erase', '--recipient', ana, '--yes', '--json'], { cwd: folder });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(json<{ error: { code: string } }>(run).error.code).toBe('erase_pending_unwritable');
    for (const message of anaMessages) expect(existsSync(path.join(root, keys.get(message.message_id as string)!))).toBe(true);
  });
});
