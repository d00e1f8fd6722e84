import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createArchiver, type ArchiveResult, type DestinationV1 } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { createS3Destination } from '@sentcopy/destination-s3';
import { startS3Server, type S3TestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRecipientKey } from './ingest-fixture.js';
import { fsEntry, json, s3Entry, s3Env, s3Settings, writeConfigFile } from './ls-fixtures.js';
import { runCli } from './run-cli.js';

// A message id sent three times with different content: the archive keeps all three (the first
// under its key, the others as versions next to it); ls, show and verify show every one, and
// verify counts them as versions, never as conflicts. Against a local folder and the S3 test server.
const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-versions-'));
let server: S3TestServer;
const destinations: Record<string, DestinationV1> = {};
const stored: Record<string, ArchiveResult[]> = {};
const sms = (body: string) => ({ version: 1, channel: 'sms', project_id: 'shop', message_id: 'm-dup', sent_at: Date.parse('2026-03-01T10:00:00Z'), to: '+15550100000', body });
const bodies = ['Your code is 111111', 'Your code is 222222', 'Your code is 333333'];

beforeAll(async () => {
  server = await startS3Server();
  const bucket = server.createBucket();
  destinations.local = createFsDestination({ root: path.join(work, 'local'), fsync: false });
  destinations.s3 = createS3Destination(s3Settings(server.endpoint, bucket));
  for (const name of ['local', 's3']) {
    const archiver = createArchiver({ destination: destinations[name]!, recipientKey: testRecipientKey, retry: false });
    stored[name] = [];
    for (const body of bodies) stored[name].push(await archiver.archive(sms(body)));
    // Another message, so the listing holds more than the one id.
    await archiver.archive({ ...sms('other'), message_id: 'm-other' });
  }
  writeConfigFile(work, {
    destinations: { local: fsEntry('local'), s3: s3Entry(server.endpoint, bucket) },
    projects: { shop: { destination: 'local', channels: ['sms'], api_keys: [] } },
  });
});
afterAll(async () => {
  await destinations.s3?.close?.();
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(args, { cwd: work, env: s3Env });

describe.each(['local', 's3'])('a message id stored in three versions, in the %s destination', { timeout: 30_000 }, (name) => {
  it('the archiver kept the first under its key and the others as versions next to it', () => {
    const [first, second, third] = stored[name]!;
    expect(first).toMatchObject({ created: true, version: false });
    expect(second).toMatchObject({ created: true, version: true, originalKey: first!.key });
    expect(third).toMatchObject({ created: true, version: true, originalKey: first!.key });
  });

  it('ls lists all three and marks the versions', async () => {
    const run = await cli('ls', '--destination', name, '--json');
    expect(run.code).toBe(0);
    const objects = json<{ objects: { key: string; messageId: string; version: string | null; originalKey: string | null }[] }>(run).objects;
    const copies = objects.filter((object) => object.messageId === 'm-dup');
    const [first, second, third] = stored[name]!;
    expect(copies.map((object) => object.key).sort()).toEqual([first!.key, second!.key, third!.key].sort());
    expect(copies.find((object) => object.key === first!.key)).toMatchObject({ version: null, originalKey: null });
    for (const version of [second!, third!]) expect(copies.find((object) => object.key === version.key)).toMatchObject({ version: expect.stringMatching(/^[0-9a-f]{16}$/), originalKey: first!.key });
    const human = await cli('ls', '--destination', name);
    expect(human.stdout.match(/m-dup \(version [0-9a-f]{16}\)/g)).toHaveLength(2);
    expect(human.stdout).toContain('2 of them are versions');
  });

  it('show <message id> shows every copy, the first first, each with its own content', async () => {
    const run = await cli('show', 'm-dup', '--destination', name, '--json');
    expect(run.code).toBe(0);
    const shown = json<{ key: string; version: string | null; versions: number; integrity: string; message: { body: string }; otherVersions: { key: string; version: string; integrity: string; message: { body: string } }[] }>(run);
    expect(shown).toMatchObject({ key: stored[name]![0]!.key, version: null, versions: 3, integrity: 'ok', message: { body: bodies[0] } });
    expect(shown.otherVersions.map((entry) => entry.message.body).sort()).toEqual([bodies[1], bodies[2]]);
    expect(shown.otherVersions.every((entry) => entry.integrity === 'ok')).toBe(true);
    const human = await cli('show', 'm-dup', '--destination', name);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('sent 3 times with different content');
    for (const body of bodies) expect(human.stdout).toContain(body);
    // A version's own key still shows just that copy.
    const one = json<{ key: string; version: string; message: { body: string } }>(await cli('show', stored[name]![1]!.key, '--destination', name, '--json'));
    expect(one).toMatchObject({ key: stored[name]![1]!.key, version: expect.any(String), message: { body: bodies[1] } });
  });

  it('verify checks all of them and counts the versions, with no conflict', async () => {
    const run = await cli('verify', '--destination', name, '--json');
    const report = json<{ ok: boolean; checked: number; intact: number; conflicting: number; problems: unknown[]; versions: { key: string; originalKey: string }[] }>(run);
    expect(run.code).toBe(0);
    expect(report).toMatchObject({ ok: true, checked: 4, intact: 4, conflicting: 0, problems: [] });
    expect(report.versions.map((version) => version.key).sort()).toEqual([stored[name]![1]!.key, stored[name]![2]!.key].sort());
    expect(report.versions.every((version) => version.originalKey === stored[name]![0]!.key)).toBe(true);
    expect((await cli('verify', '--destination', name)).stdout).toMatch(/versions +2 /);
  });
});

describe('verify and versions that do not add up', { timeout: 30_000 }, () => {
  it('reports a first copy that is gone while its version is stored, and a version whose id is not its hash', async () => {
    const folder = path.join(work, 'broken-work');
    mkdirSync(folder);
    const root = path.join(folder, 'broken');
    const destination = createFsDestination({ root, fsync: false });
    const archiver = createArchiver({ destination, recipientKey: testRecipientKey, retry: false });
    const first = await archiver.archive({ ...sms('a'), message_id: 'm-gone' });
    const second = await archiver.archive({ ...sms('b'), message_id: 'm-gone' });
    rmSync(path.join(root, ...first.key.split('/')));
    // A copy of the second version under a version id that is not its content's hash.
    const forged = second.key.replace(/~v-[0-9a-f]{16}/, '~v-0000000000000000');
    const prepared = await archiver.prepare({ ...sms('b'), message_id: 'm-gone' });
    await destination.put({ ...prepared, key: forged });
    writeConfigFile(folder, { destinations: { broken: fsEntry('broken') }, projects: {} });
    const run = await runCli(['verify', '--destination', 'broken', '--json'], { cwd: folder });
    expect(run.code).toBe(4);
    const report = json<{ problems: { key: string; kind: string; reason: string }[] }>(run);
    expect(report.problems.map(({ key, kind }) => ({ key, kind }))).toEqual([
      { key: first.key, kind: 'missing' },
      { key: forged, kind: 'conflicting' },
    ]);
  });
});
