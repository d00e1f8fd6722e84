import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createArchiver, parseVersionKey, serializeJson, type DestinationV1, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { startNatsServer } from '@sentcopy/test-servers';
import { afterAll, describe, expect, it } from 'vitest';
import { hashApiKey, runWorker, type WorkerConfig } from '../src/index.js';
import { sha256, storedKeys, waitFor } from './helpers.js';
import { createS3Destination, goodCredentials, startS3Setup } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';

// Issue #14, item 8: a second, different message under a message id already queued or stored.
// Both were sent, so both are archived — the first untouched, the second as a version next to it —
// and the producer hears which. Through the whole worker (HTTP intake, queue, processor), against a
// local folder and the S3 test server on the embedded queue, and a local folder on JetStream.
const newFolder = tempFolders('message-versions');
const [s3, nats] = await Promise.all([startS3Setup(), startNatsServer()]);
afterAll(() => Promise.all([s3.stop(), nats.stop()]));

const apiKey = 'sc_versions_test_key_0000000000000000000000000';

const sms = (id: string, body: string): Message => ({ version: 1, channel: 'sms', message_id: id, project_id: 'shop', sent_at: 1767225600000, to: '+15550100000', body, campaign_id: 'spring' }) as unknown as Message;

interface Store {
  readonly destination: DestinationV1;
  keys(): string[];
  bytes(key: string): Buffer;
  config: WorkerConfig['destinations'][string];
}

function fsStore(folder: string): Store {
  const root = path.join(folder, 'archive');
  return {
    destination: createFsDestination({ root }),
    keys: () => storedKeys(root),
    bytes: (key) => readFileSync(path.join(root, ...key.split('/'))),
    // Absolute: a cluster's shared configuration refuses relative folders.
    config: { type: 'fs', root, acknowledge_personal_data: true },
  };
}

function s3Store(): Store {
  const bucket = s3.server.createBucket();
  return {
    destination: createS3Destination({ ...s3.settings(), bucket }),
    // The archive's objects: the ledger's segments beside them are not messages.
    keys: () =>
      s3.server
        .listKeys(bucket)
        .filter((key) => !key.startsWith('.sentcopy-ledger/'))
        .sort(),
    bytes: (key) => Buffer.from(s3.server.getObject(bucket, key)!.body),
    config: { type: 's3', bucket, region: 'us-east-1', endpoint: s3.server.endpoint, force_path_style: true, access_key_id: { env: 'ID' }, secret_access_key: { env: 'SECRET' }, acknowledge_personal_data: true },
  };
}

type QueueKind = 'embedded' | 'jetstream';

/** A worker on a fresh queue: a new folder for the embedded queue, a new deployment name on the NATS server for JetStream. */
async function startWorker(folder: string, store: Store, queue: QueueKind = 'embedded') {
  const config: WorkerConfig = { version: 1, destinations: { archive: store.config }, projects: { shop: { destination: 'archive', channels: ['sms'], api_keys: [{ sha256: hashApiKey(apiKey) }] } } };
  writeFileSync(path.join(folder, 'sentcopy.config.json'), JSON.stringify(config));
  const logs: Record<string, unknown>[] = [];
  const worker = await runWorker({
    configFile: path.join(folder, 'sentcopy.config.json'),
    ...(queue === 'jetstream' ? { nats: { url: nats.url, name: `v${randomBytes(5).toString('hex')}` } } : { queueDirectory: newFolder() }),
    port: 0,
    prepareThreads: 1,
    env: { ID: goodCredentials.accessKeyId, SECRET: goodCredentials.secretAccessKey },
    logger: (entry) => logs.push(entry as Record<string, unknown>),
  });
  const send = async (messages: Message[]) => {
    const response = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) });
    return { status: response.status, body: (await response.json()) as { accepted: number; duplicates: number; versions?: number; results: Record<string, unknown>[] } };
  };
  const metric = async (name: string) => {
    const text = await (await fetch(`${worker.url}/metrics`)).text();
    return Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  };
  const deadLetters = async () => ((await (await fetch(`${worker.url}/v1/dead-letters`, { headers: { authorization: `Bearer ${apiKey}` } })).json()) as { total: number }).total;
  return { worker, send, metric, deadLetters, logs };
}

describe.each([
  ['a local folder', (folder: string) => fsStore(folder), 'embedded'],
  ['the S3 test server', () => s3Store(), 'embedded'],
  ['a local folder, on a JetStream queue', (folder: string) => fsStore(folder), 'jetstream'],
] as const)('same message id, different content, through the worker into %s', (_name, makeStore, queue) => {
  it('keeps both: the first untouched, the second as a version next to it, answered and counted; a resend stores nothing', async () => {
    const folder = newFolder();
    const store = makeStore(folder);
    // The keys and bytes the worker's archiver must produce, computed here with the library (the
    // configuration has no recipient_hash_key, so the worker writes the unkeyed layout of earlier versions).
    const archiver = createArchiver({ destination: store.destination, layout: 'sentcopy-unkeyed', retry: false });
    const prefixOf = (key: string) => store.keys().find((stored) => stored.endsWith(key)) ?? key;
    const first = { a: sms('m-a', 'Your code is 111111'), b: sms('m-b', 'Your order shipped') };
    const second = { a: sms('m-a', 'Your code is 222222'), b: sms('m-b', 'Your order shipped (corrected)') };

    const firstB = await archiver.prepare(first.b);
    let firstBBytes: Buffer = Buffer.alloc(0);
    const one = await startWorker(folder, store, queue);
    try {
      // Within the de-duplication window, both still queued: one batch holds both contents and a resend.
      const batch = await one.send([first.a, second.a, first.a]);
      expect(batch.status).toBe(202);
      expect(batch.body).toMatchObject({ accepted: 2, duplicates: 1, versions: 1 });
      expect(batch.body.results).toEqual([
        { index: 0, message_id: 'm-a', status: 'accepted' },
        { index: 1, message_id: 'm-a', status: 'accepted', version: true },
        { index: 2, message_id: 'm-a', status: 'duplicate' },
      ]);
      // After the first was stored (still within the window): the second is still kept.
      expect((await one.send([first.b])).body.results).toEqual([{ index: 0, message_id: 'm-b', status: 'accepted' }]);
      await waitFor(() => store.keys().some((key) => key.endsWith(firstB.key)), 20_000, 'the first copy of m-b');
      firstBBytes = store.bytes(prefixOf(firstB.key));
      expect((await one.send([second.b])).body.results).toEqual([{ index: 0, message_id: 'm-b', status: 'accepted', version: true }]);
      expect((await one.send([second.b, first.b])).body.results.map((result) => result.status)).toEqual(['duplicate', 'duplicate']);

      await waitFor(() => store.keys().length === 4, 20_000, 'four objects');
      for (const id of ['a', 'b'] as const) {
        // Both contents of m-a were queued together and are archived concurrently: whichever lands
        // first is the first copy. m-b's first copy was stored before its second was sent.
        let original = await archiver.prepare(first[id]);
        let version = await archiver.prepare(second[id]);
        const keys = store.keys().filter((key) => key.includes(`/m-${id}`));
        if (id === 'a' && sha256(store.bytes(keys.find((key) => parseVersionKey(key) === undefined)!)) === version.sha256) [original, version] = [version, original];
        expect(keys).toHaveLength(2);
        const versionKey = keys.find((key) => parseVersionKey(key) !== undefined)!;
        const originalKey = keys.find((key) => key !== versionKey)!;
        expect(originalKey.endsWith(original.key)).toBe(true);
        expect(parseVersionKey(versionKey)).toEqual({ originalKey, versionId: version.contentSha256.slice(0, 16) });
        expect(sha256(store.bytes(originalKey))).toBe(original.sha256);
        expect(gunzipSync(store.bytes(versionKey)).equals(Buffer.from(serializeJson(archiver.profile.render(version.message))))).toBe(true);
      }
      expect(store.bytes(prefixOf(firstB.key)).equals(firstBBytes)).toBe(true);
      await waitFor(async () => (await one.metric('sentcopy_message_versions_total{project="shop",channel="sms",stage="archive"}')) === 2, 10_000, 'the archive count');
      expect(await one.metric('sentcopy_message_versions_total{project="shop",channel="sms",stage="intake"}')).toBe(2);
      expect(await one.deadLetters()).toBe(0);
      expect(one.logs.filter((entry) => entry['event'] === 'message.version_stored')).toHaveLength(2);
      expect(JSON.stringify(one.logs)).not.toContain('+15550100000');
    } finally {
      await one.worker.stop();
    }

    // Past the window (a queue that no longer remembers m-b): the archive itself tells the versions apart.
    const two = await startWorker(folder, store, queue);
    try {
      const third = sms('m-b', 'Your order shipped (third time)');
      // The queue no longer knows m-b: the resend of the second version is accepted again, the third is a version of it.
      expect((await two.send([second.b, third])).body.results.map((result) => [result.status, result.version])).toEqual([
        ['accepted', undefined],
        ['accepted', true],
      ]);
      await waitFor(() => store.keys().length === 5, 20_000, 'the third version');
      const thirdPrepared = await archiver.prepare(third);
      expect(store.keys().filter((key) => parseVersionKey(key)?.originalKey.endsWith(firstB.key))).toHaveLength(2);
      expect(store.keys().some((key) => parseVersionKey(key)?.versionId === thirdPrepared.contentSha256.slice(0, 16))).toBe(true);
      expect(await two.deadLetters()).toBe(0);
      // Only the third was new to the archive; the resend found its own version already stored.
      await waitFor(async () => (await two.metric('sentcopy_message_versions_total{project="shop",channel="sms",stage="archive"}')) === 1, 10_000, 'the archive count');
      // The two messages settle in either order (on JetStream, on different claims): wait for both log entries.
      await waitFor(() => two.logs.filter((entry) => entry['event'] === 'message.version_stored').length >= 2, 10_000, 'both version log entries');
      expect(
        two.logs
          .filter((entry) => entry['event'] === 'message.version_stored')
          .map((entry) => entry['created'])
          .sort(),
      ).toEqual([false, true]);
      expect(store.bytes(prefixOf(firstB.key)).equals(firstBBytes)).toBe(true);
    } finally {
      await two.worker.stop();
    }
  }, 90_000);
});

describe('same message id, different content, through the before-send gate (POST /v1/archive)', () => {
  it('stores the second as a version and says so; a repeat stores nothing', async () => {
    const folder = newFolder();
    const store = fsStore(folder);
    const { worker, metric } = await startWorker(folder, store);
    try {
      const archive = async (message: Message) => {
        const response = await fetch(`${worker.url}/v1/archive`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(message) });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      const first = await archive(sms('gate-1', 'Your code is 111111'));
      expect(first).toMatchObject({ status: 201, body: { created: true } });
      expect(first.body['version']).toBeUndefined();
      const second = await archive(sms('gate-1', 'Your code is 222222'));
      expect(second).toMatchObject({ status: 201, body: { created: true, version: true, original_key: first.body['key'] } });
      expect(parseVersionKey(String(second.body['key']))?.originalKey).toBe(first.body['key']);
      expect(await archive(sms('gate-1', 'Your code is 222222'))).toMatchObject({ status: 201, body: { created: false, version: true, key: second.body['key'] } });
      expect(store.keys()).toEqual([String(first.body['key']), String(second.body['key'])].sort());
      expect(sha256(store.bytes(String(first.body['key'])))).toBe(first.body['sha256']);
      expect(await metric('sentcopy_message_versions_total{project="shop",channel="sms",stage="archive"}')).toBe(1);
    } finally {
      await worker.stop();
    }
  }, 60_000);
});
