import path from 'node:path';
import { createArchiver, sampleMessages, versionKey, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliWorker, tempFolders, testRecipientKey, waitFor, writeWorkerConfig, type CliWorker } from './ingest-fixture.js';
import { runCli } from './run-cli.js';

// `sentcopy dlq discard` and `dlq ls --discarded` end to end: a worker with real dead letters, the
// built CLI talking to it over HTTP; on each queue, the embedded one and a JetStream cluster of one.
const newFolder = tempFolders('dlq-discard');

describe.each(['embedded', 'jetstream'] as const)('sentcopy dlq discard (%s queue)', (queue) => {
  let nats: NatsTestServer | undefined;
  let work: string;
  let keys: Record<string, string>;
  let worker: CliWorker;
  const cli = (args: string[], project = 'shop') => runCli(args, { cwd: work, env: { SENTCOPY_KEY: keys[project], SENTCOPY_WORKER_URL: worker.url } });
  const list = async (args: string[] = []) => JSON.parse((await cli(['dlq', 'ls', '--json', ...args])).stdout) as { total: number; items: { id: string; message_id: string; kind: string }[] };

  beforeAll(async () => {
    work = newFolder();
    keys = writeWorkerConfig(path.join(work, 'sentcopy.config.json'), {
      // Absolute: a cluster's shared configuration refuses relative folders.
      destinations: { local: { type: 'fs', root: path.join(work, 'archive'), acknowledge_personal_data: true } },
      projects: { shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'] }, blog: { destination: 'local', channels: ['sms'] } },
    });
    if (queue === 'jetstream') nats = await startNatsServer();
    worker = await startCliWorker(path.join(work, 'sentcopy.config.json'), nats === undefined ? {} : { SENTCOPY_NATS_URL: nats.url });
  });
  afterAll(async () => {
    await worker?.stop();
    await nats?.stop();
  });

  it('discards by id and by filter only with a reason, keeps the record, and never brings them back', async () => {
    // Three messages whose key and version key already hold other copies: nothing can archive them.
    const messages = sampleMessages({ projectId: 'shop', count: 3, seed: 5 });
    const archive = createFsDestination({ root: path.join(work, 'archive') });
    // The worker's configuration references the test recipient key: the copies sit at the keys it writes.
    const archiver = createArchiver({ destination: archive, recipientKey: testRecipientKey });
    for (const message of messages) {
      const other = { ...message, sent_at: message.sent_at + 1 } as Message;
      await archiver.archive(other);
      const prepared = await archiver.prepare(message);
      await archive.put({ ...(await archiver.prepare({ ...other, sent_at: other.sent_at + 1 })), key: versionKey(prepared.key, prepared.contentSha256)! });
    }
    const sent = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${keys.shop}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) });
    expect(sent.status).toBe(202);
    await waitFor(async () => (await list()).total === 3, 15_000, 'three dead letters');
    const all = await list();

    const noReason = await cli(['dlq', 'discard', all.items[0]!.id]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason is required');
    const unconfirmed = await cli(['dlq', 'discard', '--kind', 'conflict', '--reason', 'bulk']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('--yes');
    expect((await list()).total).toBe(3);

    const one = await cli(['dlq', 'discard', all.items[0]!.id, '--reason', 'load-test message, never really sent']);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain(`Discarded 1 dead letter of project "shop" for good (${all.items[0]!.id}), because: load-test message, never really sent`);
    // Another project's key cannot discard shop's dead letters.
    const foreign = await cli(['dlq', 'discard', all.items[1]!.id, '--reason', 'not mine', '--json'], 'blog');
    expect(foreign.code).toBe(3);
    expect(JSON.parse(foreign.stdout)).toMatchObject({ project: 'blog', discarded: 0 });
    const rest = await cli(['dlq', 'discard', '--kind', 'conflict', '--reason', 'duplicates of a bad deploy', '--yes', '--json']);
    expect(JSON.parse(rest.stdout)).toMatchObject({ project: 'shop', discarded: 2, reason: 'duplicates of a bad deploy' });
    expect((await list()).total).toBe(0);

    const records = JSON.parse((await cli(['dlq', 'ls', '--discarded', '--json'])).stdout) as { items: { id: string; message_id: string; kind: string; discard_reason: string; payload_sha256: string }[] };
    expect(records.items.map((item) => item.message_id).sort()).toEqual(messages.map((message) => message.message_id).sort());
    expect(records.items.find((item) => item.id === all.items[0]!.id)).toMatchObject({ kind: 'conflict', discard_reason: 'load-test message, never really sent', payload_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const table = await cli(['dlq', 'ls', '--discarded']);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+MESSAGE ID\s+KIND\s+DISCARDED AT\s+DISCARDED BECAUSE$/);
    expect(table.stdout).toContain('duplicates of a bad deploy');

    const replay = await cli(['dlq', 'replay', '--all', '--yes', '--json']);
    expect(JSON.parse(replay.stdout)).toMatchObject({ replayed: 0 });
  }, 60_000);
});
