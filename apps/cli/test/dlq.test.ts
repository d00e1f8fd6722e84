import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createArchiver, sampleMessages, versionKey, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliWorker, storedKeys, tempFolders, waitFor, writeWorkerConfig, type CliWorker } from './ingest-fixture.js';
import { runCli } from './run-cli.js';

const newFolder = tempFolders('dlq');

interface DeadLetterJson {
  id: string;
  message_id: string;
  kind: string;
  reason: string;
  attempts: number;
  dead_at: string;
}

// The same commands against a worker on each queue: the embedded one, and a JetStream cluster of one.
describe.each(['embedded', 'jetstream'] as const)('sentcopy dlq (%s queue)', (queue) => {
  let nats: NatsTestServer | undefined;
  let work: string;
  let keys: Record<string, string>;
  let worker: CliWorker;
  const cli = (args: string[], project = 'shop') => runCli(args, { cwd: work, env: { SENTCOPY_KEY: keys[project], SENTCOPY_WORKER_URL: worker.url } });
  const list = async (args: string[] = [], project = 'shop') => {
    const run = await cli(['dlq', 'ls', '--json', ...args], project);
    expect(run.code).toBe(0);
    return JSON.parse(run.stdout) as { project: string; total: number; items: DeadLetterJson[]; cursor?: string };
  };

  beforeAll(async () => {
    work = newFolder();
    keys = writeWorkerConfig(path.join(work, 'sentcopy.config.json'), {
      // Absolute: a cluster's shared configuration refuses relative folders.
      destinations: { local: { type: 'fs', root: path.join(work, 'archive'), acknowledge_personal_data: true } },
      projects: { shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'] }, blog: { destination: 'local', channels: ['sms', 'email', 'push', 'whatsapp'] } },
    });
    if (queue === 'jetstream') nats = await startNatsServer();
    worker = await startCliWorker(path.join(work, 'sentcopy.config.json'), nats === undefined ? {} : { SENTCOPY_NATS_URL: nats.url });
  });
  afterAll(async () => {
    await worker?.stop();
    await nats?.stop();
  });

  it('lists real dead letters with their reasons, and replays them once the cause is fixed', async () => {
    const root = path.join(work, 'archive');
    // Earlier, different copies under the keys of five messages (written with --direct, as another tool would have),
    // and other copies under the version keys the later messages would take (as a 64-bit hash-prefix collision
    // would): the worker can store the later messages neither at their keys nor next to them, write-once, and
    // gives up on them as conflicts.
    const messages = sampleMessages({ projectId: 'shop', count: 5, seed: 21 });
    const earlier = messages.map((message) => ({ ...message, sent_at: message.sent_at + 1 }) as Message);
    writeFileSync(path.join(work, 'earlier.jsonl'), earlier.map((message) => JSON.stringify(message)).join('\n'));
    expect((await cli(['ingest', 'earlier.jsonl', '--direct'])).code).toBe(0);
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root: newFolder() }) });
    const prepared = await Promise.all(messages.map((message) => archiver.prepare(message)));
    const earlierPrepared = await Promise.all(earlier.map((message) => archiver.prepare(message)));
    expect(prepared.map((entry) => entry.key)).toEqual(earlierPrepared.map((entry) => entry.key));
    const archive = createFsDestination({ root });
    for (const [index, entry] of prepared.entries()) await archive.put({ ...earlierPrepared[index]!, key: versionKey(entry.key, entry.contentSha256)! });

    writeFileSync(path.join(work, 'later.jsonl'), messages.map((message) => JSON.stringify(message)).join('\n'));
    const sent = await cli(['ingest', 'later.jsonl', '--json']);
    expect(JSON.parse(sent.stdout)).toMatchObject({ accepted: 5, rejected: 0 });
    await waitFor(async () => (await list()).total === 5, 15_000, 'five dead letters');

    const all = await list();
    expect(all.project).toBe('shop');
    expect(all.items.map((item) => item.message_id).sort()).toEqual(messages.map((message) => message.message_id).sort());
    for (const item of all.items) {
      expect(item).toMatchObject({ kind: 'conflict', attempts: 1 });
      expect(item.reason).toMatch(/conflict|different|exists/i);
      expect(Number.isNaN(Date.parse(item.dead_at))).toBe(false);
    }
    // Another project's key sees none of them.
    expect((await list([], 'blog')).total).toBe(0);

    // The human table, a page at a time.
    const table = await cli(['dlq', 'ls', '--limit', '2']);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.split('\n');
    expect(header).toMatch(/^ID\s+MESSAGE ID\s+KIND\s+ATTEMPTS\s+DEAD AT\s+REASON$/);
    expect(rows.filter((row) => row.includes(' conflict '))).toHaveLength(2);
    // Each reason whole, to its useful end (the key), never clipped.
    const shown = (await list(['--limit', '2'])).items;
    for (const item of shown) expect(rows.some((row) => row.startsWith(item.id) && row.endsWith(item.reason.replace(/\s+/g, ' ').trim()))).toBe(true);
    expect(Math.max(...shown.map((item) => item.reason.length))).toBeGreaterThan(70);
    expect(table.stdout).toContain('2 shown of 5 dead letters of project "shop"');
    const next = /--cursor (\S+)/.exec(table.stdout)?.[1] as string;
    const second = await list(['--limit', '2', '--cursor', next]);
    expect(second.items).toHaveLength(2);
    expect(second.items.map((item) => item.id)).toEqual(all.items.slice(2, 4).map((item) => item.id));
    expect((await list(['--all', '--limit', '1'])).items).toHaveLength(5);
    expect((await list(['--kind', 'invalid'])).total).toBe(0);

    // --all asks first; without a terminal it needs --yes.
    const unconfirmed = await cli(['dlq', 'replay', '--all']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('--yes');
    const unknownId = await cli(['dlq', 'replay', '999999999']);
    expect(unknownId.code).toBe(3);
    expect(unknownId.stdout).toContain('Nothing to replay');

    // Fix the cause for two of them (remove the earlier copies), replay those by id: they are stored.
    const fixed = all.items.slice(0, 2);
    for (const item of fixed) {
      const entry = prepared[messages.findIndex((message) => message.message_id === item.message_id)];
      rmSync(path.join(root, ...(entry?.key as string).split('/')));
      rmSync(path.join(root, '.sentcopy', 'meta', ...(entry?.key as string).split('/')), { force: true });
    }
    const replayed = await cli(['dlq', 'replay', ...fixed.map((item) => item.id), '--json']);
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.stdout)).toEqual({ project: 'shop', replayed: 2, alreadyQueued: 0 });
    await waitFor(async () => (await list()).total === 3, 15_000, 'the two replayed messages to leave the dead letters');
    for (const item of fixed) {
      const index = messages.findIndex((message) => message.message_id === item.message_id);
      const stored = readFileSync(path.join(root, ...(prepared[index]?.key as string).split('/')));
      expect(JSON.parse(gunzipSync(stored).toString('utf8'))).toMatchObject({ message_id: item.message_id, sent_at: messages[index]?.sent_at });
    }

    // The rest, by filter, without fixing them: they come back as conflicts.
    const byKind = await cli(['dlq', 'replay', '--kind', 'conflict']);
    expect(byKind.code).toBe(0);
    expect(byKind.stdout).toContain('Replayed 3 dead letters of project "shop"');
    await waitFor(
      async () => {
        const again = await list();
        return again.total === 3 && again.items.every((item) => !all.items.slice(2).some((old) => old.id === item.id && old.dead_at === item.dead_at));
      },
      15_000,
      'the three to be dead letters again',
    );
    expect(storedKeys(root)).toHaveLength(10);

    const everything = await cli(['dlq', 'replay', '--all', '--yes', '--json']);
    expect(JSON.parse(everything.stdout)).toMatchObject({ replayed: 3 });
  }, 60_000);

  it('refuses bad arguments with what to do next', async () => {
    const none = await cli(['dlq', 'replay']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('sentcopy dlq ls');
    const both = await cli(['dlq', 'replay', '1', '--kind', 'conflict']);
    expect(both.code).toBe(2);
    const kind = await cli(['dlq', 'ls', '--kind', 'exploded']);
    expect(kind.code).toBe(2);
    expect(kind.stderr).toMatch(/Allowed choices are .*conflict/);
    const from = await cli(['dlq', 'ls', '--from', 'last tuesday']);
    expect(from.code).toBe(2);
    expect(from.stderr).toContain('--from must be an ISO 8601 date');
    const badKey = await runCli(['dlq', 'ls', '--json'], { cwd: work, env: { SENTCOPY_KEY: 'sc_wrong', SENTCOPY_WORKER_URL: worker.url } });
    expect(badKey.code).toBe(1);
    expect(JSON.parse(badKey.stdout).error.code).toBe('unauthorized');
  }, 20_000);
});
