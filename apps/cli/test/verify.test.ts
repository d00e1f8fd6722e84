import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createArchiver, type DestinationV1 } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { createS3Destination } from '@sentcopy/destination-s3';
import { startS3Server, type S3TestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ana, archiveMessages, fsEntry, json, s3Entry, s3Env, s3Settings, sampleArchiveMessages, writeConfigFile, type ArchivedMessage } from './ls-fixtures.js';
import { testRecipientKey } from './ingest-fixture.js';
import { runCli } from './run-cli.js';

interface VerifyJson {
  ok: boolean;
  checked: number;
  intact: number;
  missing: number;
  corrupt: number;
  conflicting: number;
  problems: { key: string; kind: string; reason: string }[];
  unverified: string[];
  unrecognized: string[];
  manifestEntries?: number;
}

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-verify-'));
let server: S3TestServer;
let bucket: string;
const archives: Record<'local' | 'clevertap' | 'braze' | 'conflicts' | 's3', ArchivedMessage[]> = { local: [], clevertap: [], braze: [], conflicts: [], s3: [] };
const destinations: Record<string, DestinationV1> = {};
const messages = sampleArchiveMessages();
const extra = (id: string, to: string) => ({ version: 1, channel: 'sms', project_id: 'shop', message_id: id, sent_at: Date.parse('2026-03-01T10:00:00Z'), to, body: `extra ${id}` });

beforeAll(async () => {
  // An S3 store without write-once, as many S3-compatible servers are: a raw put overwrites.
  server = await startS3Server({ conditionalWrites: 'ignore' });
  bucket = server.createBucket();
  for (const [name, profile] of [
    ['local', 'sentcopy'],
    ['clevertap', 'clevertap'],
    ['braze', 'braze'],
    ['conflicts', 'sentcopy'],
  ] as const) {
    destinations[name] = createFsDestination({ root: path.join(work, name), fsync: false });
    archives[name] = await archiveMessages(destinations[name]!, profile, name === 'conflicts' ? messages.slice(0, 4) : messages);
  }
  destinations.s3 = createS3Destination(s3Settings(server.endpoint, bucket));
  archives.s3 = await archiveMessages(destinations.s3, 'sentcopy', messages.slice(0, 12));
  writeConfigFile(work, {
    destinations: { local: fsEntry('local'), clevertap: fsEntry('clevertap'), braze: fsEntry('braze'), conflicts: fsEntry('conflicts'), s3: s3Entry(server.endpoint, bucket) },
    projects: { shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [] } },
  });
});
afterAll(async () => {
  await destinations.s3?.close?.();
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

const verify = (...args: string[]) => runCli(['verify', ...args], { cwd: work, env: s3Env });
const problemsOf = (report: VerifyJson) => report.problems.map(({ key, kind }) => ({ key, kind })).sort((a, b) => (a.key < b.key ? -1 : 1));
const flipByte = (file: string, offset: number) => {
  const bytes = readFileSync(file);
  bytes[offset] = bytes[offset]! ^ 0xff;
  writeFileSync(file, bytes);
};

describe('sentcopy verify (local folder)', { timeout: 30_000 }, () => {
  it('reports a clean archive with exit 0, and writes a manifest of every key and SHA-256', async () => {
    const manifest = path.join(work, 'local-manifest.jsonl');
    const run = await verify('--destination', 'local', '--write-manifest', manifest, '--json');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const report = json<VerifyJson>(run);
    expect(report).toMatchObject({ ok: true, checked: 24, intact: 24, missing: 0, corrupt: 0, conflicting: 0, problems: [], unverified: [], unrecognized: [], manifestEntries: 24 });
    const lines = readFileSync(manifest, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { key: string; sha256: string });
    expect(lines.map((line) => [line.key, line.sha256]).sort()).toEqual(archives.local.map((entry) => [entry.key, entry.sha256]).sort());

    const human = await verify('--destination', 'local');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Checked 24 object\(s\) in destination "local"/);
    expect(human.stdout).toMatch(/intact\s+24/);

    const oneRecipient = json<VerifyJson>(await verify(`shop/${createHmac('sha256', testRecipientKey).update(ana.toLowerCase()).digest('hex')}/`, '--json'));
    expect(oneRecipient.checked).toBe(4);
  });

  it('finds a corrupted object, and with the manifest a deleted one: exit 4 listing exactly those', async () => {
    const manifest = path.join(work, 'local-manifest.jsonl');
    const corrupted = archives.local[7]!;
    const deleted = archives.local[12]!;
    const file = path.join(work, 'local', ...corrupted.key.split('/'));
    flipByte(file, 30);
    await destinations.local!.delete!(deleted.key);

    const withManifest = await verify('--destination', 'local', '--manifest', manifest, '--json');
    expect(withManifest.code).toBe(4);
    const report = json<VerifyJson>(withManifest);
    expect(problemsOf(report)).toEqual(
      [
        { key: corrupted.key, kind: 'corrupt' },
        { key: deleted.key, kind: 'missing' },
      ].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    expect(report).toMatchObject({ ok: false, checked: 23, intact: 22, missing: 1, corrupt: 1, conflicting: 0 });
    expect(report.problems.find((problem) => problem.kind === 'corrupt')!.reason).toContain('not the recorded');

    // Without a manifest a store cannot show what was deleted; the corruption is still found.
    const withoutManifest = await verify('--destination', 'local');
    expect(withoutManifest.code).toBe(4);
    expect(withoutManifest.stdout).toMatch(/corrupt\s+1/);
    expect(withoutManifest.stdout).toMatch(/missing\s+0/);
    expect(withoutManifest.stdout).toContain(corrupted.key);
    expect(withoutManifest.stdout).not.toContain(deleted.key);
  });

  it('reports conflicting objects: one message id under two keys, and content stored under a key it does not belong at', async () => {
    const conflicts = destinations.conflicts!;
    const twice = await archiveMessages(conflicts, 'sentcopy', [extra('dup-1', '+15550109999'), extra('dup-1', '+15550108888')]);
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: conflicts, profile: 'sentcopy' });
    const prepared = await archiver.prepare(extra('moved-1', '+15550107777'));
    const wrongKey = prepared.key.replace('/20260301/', '/20260302/');
    expect(wrongKey).not.toBe(prepared.key);
    await conflicts.put({ key: wrongKey, body: prepared.body, sha256: prepared.sha256, contentType: prepared.contentType, contentEncoding: prepared.contentEncoding!, metadata: prepared.metadata });

    const run = await verify('--destination', 'conflicts', '--json');
    expect(run.code).toBe(4);
    const report = json<VerifyJson>(run);
    expect(problemsOf(report)).toEqual(
      [
        { key: twice[0]!.key, kind: 'conflicting' },
        { key: twice[1]!.key, kind: 'conflicting' },
        { key: wrongKey, kind: 'conflicting' },
      ].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    expect(report.problems.find((problem) => problem.key === wrongKey)!.reason).toContain(prepared.key);
    expect(report.problems.find((problem) => problem.key === twice[0]!.key)!.reason).toContain(twice[1]!.key);
    expect(report).toMatchObject({ checked: 7, corrupt: 0, missing: 0, conflicting: 3 });
  });

  it('verifies vendor preset archives (clevertap LZ4, braze) and finds a corrupted LZ4 object', async () => {
    const braze = await verify('--destination', 'braze', '--layout', 'braze', '--json');
    expect(braze.code, braze.stdout).toBe(0);
    expect(json<VerifyJson>(braze)).toMatchObject({ checked: 24, intact: 24, problems: [], unrecognized: [] });

    const clean = await verify('--destination', 'clevertap', '--layout', 'clevertap', '--json');
    expect(clean.code, clean.stdout).toBe(0);
    expect(json<VerifyJson>(clean)).toMatchObject({ checked: 24, intact: 24, problems: [] });

    const victim = archives.clevertap.find((entry) => entry.message.channel === 'email')!;
    flipByte(path.join(work, 'clevertap', ...victim.key.split('/')), 40);
    const run = await verify('sent_messages/Email/', '--destination', 'clevertap', '--layout', 'clevertap', '--json');
    expect(run.code).toBe(4);
    const report = json<VerifyJson>(run);
    expect(problemsOf(report)).toEqual([{ key: victim.key, kind: 'corrupt' }]);
    expect(report.checked).toBe(archives.clevertap.filter((entry) => entry.message.channel === 'email').length);
  });

  it('with the wrong layout, counts keys that do not fit it, and --strict fails on them', async () => {
    const loose = await verify('--destination', 'braze', '--layout', 'iterable', '--json');
    expect(loose.code).toBe(0);
    expect(json<VerifyJson>(loose).unrecognized).toHaveLength(24);
    const strict = await verify('--destination', 'braze', '--layout', 'iterable', '--strict');
    expect(strict.code).toBe(4);
    expect(strict.stdout).toContain('other keys   24');
  });
});

describe('sentcopy verify (S3 test server)', { timeout: 60_000 }, () => {
  it('finds objects overwritten in the backing store, deleted, and rewritten by a raw put', async () => {
    const manifest = path.join(work, 's3-manifest.jsonl');
    const clean = await verify('--destination', 's3', '--write-manifest', manifest, '--json');
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(json<VerifyJson>(clean)).toMatchObject({ checked: 12, intact: 12, problems: [] });

    const [overwritten, deleted, rewritten] = [archives.s3[1]!, archives.s3[4]!, archives.s3[9]!];
    // Flip a byte of the stored body on the server's disk: the recorded SHA-256 stays.
    const body = server.getObject(bucket, overwritten.key)!.body;
    const backing = readdirSync(server.directory)
      .map((name) => path.join(server.directory, name))
      .find((file) => readFileSync(file).equals(body))!;
    expect(backing).toBeDefined();
    flipByte(backing, 25);
    await destinations.s3!.delete!(deleted.key);
    // A store without write-once lets a raw put replace an object (the put records the new SHA-256).
    const other = await createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: destinations.s3!, profile: 'sentcopy' }).prepare(extra('intruder-1', '+15550106666'));
    await destinations.s3!.put({ key: rewritten.key, body: other.body, sha256: other.sha256, contentType: other.contentType, contentEncoding: other.contentEncoding!, metadata: other.metadata });
    expect(server.getObject(bucket, rewritten.key)!.body.equals(Buffer.from(other.body))).toBe(true);

    const withoutManifestRun = await verify('--destination', 's3', '--json');
    const withoutManifest = json<VerifyJson>(withoutManifestRun);
    expect(withoutManifest.problems, withoutManifestRun.stdout).toBeDefined();
    expect(problemsOf(withoutManifest)).toEqual(
      [
        { key: overwritten.key, kind: 'corrupt' },
        { key: rewritten.key, kind: 'conflicting' },
      ].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );

    const run = await verify('--destination', 's3', '--manifest', manifest, '--json');
    expect(run.code).toBe(4);
    const report = json<VerifyJson>(run);
    expect(problemsOf(report)).toEqual(
      [
        { key: overwritten.key, kind: 'corrupt' },
        { key: deleted.key, kind: 'missing' },
        { key: rewritten.key, kind: 'corrupt' },
      ].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    expect(report.problems.find((problem) => problem.key === rewritten.key)!.reason).toContain("manifest's");
    expect(report).toMatchObject({ checked: 11, missing: 1, corrupt: 2, conflicting: 0 });

    // The S3 client itself refuses the overwritten bytes (their checksum no longer matches): show says corrupt, exit 4.
    const shown = await runCli(['show', overwritten.key, '--destination', 's3'], { cwd: work, env: s3Env });
    expect(shown.code).toBe(4);
    expect(shown.stderr).toContain('is corrupt');
  });

  it('refuses a malformed manifest with exit 2', async () => {
    const bad = path.join(work, 'bad-manifest.jsonl');
    writeFileSync(bad, '{"key":"a","sha256":"nothex"}\n');
    const run = await verify('--destination', 's3', '--manifest', bad);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('line 1');
  });
});
