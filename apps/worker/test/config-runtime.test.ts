import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { sampleMessages, type Archiver, type Message } from '@sentcopy/core';
import { startS3Server } from '@sentcopy/test-servers';
import { afterAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, createProcessor, type EmbeddedQueue, type ProcessOutcome, type WorkerConfig } from '../src/index.js';
import { hashApiKey } from '../src/projects/index.js';
import { baseConfig, configRuntimes, eventually, keyA, keyB, keyC, writeConfig } from './config-fixture.js';
import { queued, storedKeys } from './helpers.js';
import { goodCredentials } from './s3-fixture.js';

const { newFolder, start } = configRuntimes('config-runtime');
const s3 = await startS3Server({ credentials: [goodCredentials] });
const queues: EmbeddedQueue[] = [];
afterAll(async () => {
  await Promise.all(queues.map((queue) => queue.close().catch(() => undefined)));
  await s3.stop();
});

const env = { SC_S3_ID: goodCredentials.accessKeyId, SC_S3_SECRET: goodCredentials.secretAccessKey };
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** An S3 destination on the test server, with its keys given as `{ env }` references. */
function s3Destination(bucket: string, extra: Record<string, unknown> = {}) {
  return {
    type: 's3' as const,
    bucket,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    force_path_style: true,
    access_key_id: { env: 'SC_S3_ID' },
    secret_access_key: { env: 'SC_S3_SECRET' },
    acknowledge_personal_data: true as const,
    ...extra,
  };
}

async function openQueue(): Promise<EmbeddedQueue> {
  const queue = await createEmbeddedQueue({ directory: newFolder() });
  queues.push(queue);
  return queue;
}

/** Checks through the back door that the bucket holds exactly `messages`, byte for byte as `archive()` would store them. */
async function expectBucketHolds(bucket: string, reference: Archiver, messages: readonly Message[]): Promise<void> {
  const expected = new Map<string, string>();
  for (const message of messages) {
    const prepared = await reference.prepare(message);
    expected.set(prepared.key, prepared.sha256);
  }
  expect(s3.listKeys(bucket).sort()).toEqual([...expected.keys()].sort());
  for (const [key, digest] of expected) expect({ key, sha256: sha256(s3.getObject(bucket, key)!.body) }).toEqual({ key, sha256: digest });
}

describe('createConfigRuntime: following the file', () => {
  it('applies an edit within a second through fs.watch, without a restart: new project, channels and API key; removed key refused', async () => {
    // The poll is an hour out: only the watch can pick this edit up in time.
    const { file, runtime, reloads } = await start(baseConfig(), { pollIntervalMs: 3_600_000 });
    expect(runtime.version()).toBe(1);
    expect(runtime.authenticate(keyA)?.id).toBe('shop');
    expect(runtime.authenticate(keyB)).toBeUndefined();
    expect(runtime.authenticate('')).toBeUndefined();
    expect(runtime.project('shop')).toMatchObject({ id: 'shop', channels: ['email', 'sms'], ready: true, destinationId: expect.stringMatching(/^file:/) });

    writeConfig(
      file,
      baseConfig({
        projects: {
          shop: { destination: 'local', channels: ['sms'], api_keys: [{ sha256: hashApiKey(keyC) }] },
          blog: { destination: 'local', channels: ['push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(keyB), label: 'blog' }] },
        },
      }),
    );
    const started = Date.now();
    await eventually(() => runtime.authenticate(keyB), 'the new key');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(runtime.authenticate(keyB)).toMatchObject({ id: 'blog', channels: ['push', 'whatsapp'], ready: true });
    expect(runtime.authenticate(keyC)?.id).toBe('shop');
    expect(runtime.authenticate(keyA)).toBeUndefined();
    expect(runtime.project('shop')?.channels).toEqual(['sms']);
    expect(reloads.map((event) => event.version)).toEqual([1, 2]);
    expect(reloads[1]?.changes).toEqual({
      destinationsAdded: [],
      destinationsChanged: [],
      destinationsRemoved: [],
      destinationsUnchanged: ['local'],
      projectsAdded: ['blog'],
      projectsChanged: ['shop'],
      projectsRemoved: [],
      projectsDetached: [],
    });
  });

  it('picks up an edit by polling alone when watching is off', async () => {
    const { file, runtime } = await start(baseConfig(), { watch: false, pollIntervalMs: 100 });
    writeConfig(file, baseConfig({ projects: { shop: { destination: 'local', channels: ['push'], api_keys: [{ sha256: hashApiKey(keyA) }] } } }));
    await eventually(() => runtime.project('shop')?.channels[0] === 'push', 'the polled edit', 2_000);
    expect(runtime.version()).toBe(2);
  });

  it('refuses an invalid edit as a whole, reports it once with paths, and keeps running the previous configuration', async () => {
    const logged: unknown[] = [];
    const { file, runtime, refused } = await start(baseConfig(), { logger: (entry) => logged.push(entry) });
    writeConfig(file, baseConfig({ projects: { shop: { destination: 'local', channels: ['FAX' as never], api_keys: [] }, blog: { destination: 'local', channels: ['sms'], api_keys: [{ sha256: hashApiKey(keyB) }] } } }));
    const error = await eventually(() => refused[0], 'the refusal');
    expect(error.issues).toEqual([{ path: 'projects.shop.channels[0]', problem: 'must match ^[a-z][a-z0-9_-]{0,31}$' }]);
    expect(runtime.authenticate(keyA)?.channels).toEqual(['email', 'sms']);
    expect(runtime.authenticate(keyB)).toBeUndefined();
    expect(runtime.version()).toBe(1);
    expect(logged).toContainEqual(expect.objectContaining({ level: 'error', event: 'config.refused', issues: error.issues }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(refused).toHaveLength(1);
    // A file that is fixed again applies.
    writeConfig(file, baseConfig({ projects: { shop: { destination: 'local', channels: ['whatsapp'], api_keys: [{ sha256: hashApiKey(keyA) }] } } }));
    await eventually(() => runtime.project('shop')?.channels[0] === 'whatsapp', 'the fixed file');
  });

  it('refuses to start on an unset variable, naming the field and the variable, never a value', async () => {
    const config = baseConfig({ destinations: { cloud: s3Destination(s3.createBucket()) }, projects: { shop: { destination: 'cloud', channels: ['sms'], api_keys: [] } } });
    const error = await start(config, { env: { SC_S3_ID: goodCredentials.accessKeyId } }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ name: 'ConfigError', issues: [{ path: 'destinations.cloud.secret_access_key', problem: 'reads the environment variable SC_S3_SECRET, which is not set (or empty)' }] });
    expect(String((error as Error).message)).not.toContain(goodCredentials.accessKeyId);
  });

  it('refuses a reload that adds a destination whose package is not installed, saying which one to install', async () => {
    const { file, runtime, refused } = await start(baseConfig(), {
      // A real failed import, as Node reports it when the package is not installed.
      importPackage: (name) => import(name === '@sentcopy/destination-azure' ? `${name}-not-installed` : name),
      env: { SC_AZURE: 'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/a' },
    });
    writeConfig(
      file,
      baseConfig({
        destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true }, blob: { type: 'azure', container: 'sent-messages', connection_string: { env: 'SC_AZURE' }, acknowledge_personal_data: true } },
        projects: { shop: { destination: 'blob', channels: ['sms'], api_keys: [{ sha256: hashApiKey(keyA) }] } },
      }),
    );
    const error = await eventually(() => refused[0], 'the refusal');
    expect(error.issues).toEqual([
      { path: 'destinations.blob.type', problem: '"azure" needs the package @sentcopy/destination-azure: install @sentcopy/destination-azure next to @sentcopy/worker (npm install @sentcopy/destination-azure)' },
    ]);
    expect(runtime.project('shop')).toMatchObject({ channels: ['email', 'sms'], ready: true });
  });

  it('exposes the start-time settings with relative paths resolved against the file', async () => {
    const { folder, runtime } = await start(baseConfig({ queue: { path: 'state/queue' }, http: { host: '0.0.0.0', port: 9000, limits: { max_batch_messages: 10 } }, retry: { outage: { quick_retries: 1 } } }));
    expect(runtime.settings()).toMatchObject({
      queueDirectory: path.join(folder, 'state', 'queue'),
      host: '0.0.0.0',
      port: 9000,
      limits: { maxBatchMessages: 10 },
      retryPolicy: { outage: { quickRetries: 1, slowIntervalMs: 28_800_000 } },
    });
  });
});

describe('createConfigRuntime: destinations', () => {
  it('keeps an unchanged destination instance across reloads, and rebuilds a changed one while the old one finishes the writes it was given', async () => {
    const bucket = s3.createBucket();
    const { file, runtime, reloads } = await start(baseConfig({ destinations: { cloud: s3Destination(bucket) }, projects: { shop: { destination: 'cloud', channels: ['sms'], api_keys: [] } } }), { env, retiredCloseDelayMs: 10_000 });
    const first = runtime.archiverFor('shop', 'queued');
    expect(first).toBeDefined();
    expect(runtime.archiverFor('shop', 'queued')).toBe(first);
    const gate = runtime.archiverFor('shop', 'gate');
    expect(gate).not.toBe(first);
    expect(gate?.destination).toBe(first?.destination);

    writeConfig(file, baseConfig({ destinations: { cloud: s3Destination(bucket) }, projects: { shop: { destination: 'cloud', channels: ['sms', 'email'], api_keys: [] }, blog: { destination: 'cloud', channels: ['sms'], api_keys: [] } } }));
    await eventually(() => runtime.version() === 2, 'the project edit');
    expect(runtime.archiverFor('blog', 'queued')?.destination).toBe(first?.destination);
    expect(runtime.archiverFor('shop', 'queued')).toBe(first);

    writeConfig(file, baseConfig({ destinations: { cloud: s3Destination(bucket, { key_prefix: 'v2/' }) }, projects: { shop: { destination: 'cloud', channels: ['sms'], api_keys: [] } } }));
    await eventually(() => runtime.version() === 3 && runtime.project('shop')?.ready, 'the rebuilt destination');
    expect(reloads[2]?.changes).toMatchObject({ destinationsChanged: ['cloud'], destinationsUnchanged: [], projectsRemoved: ['blog'] });
    const rebuilt = runtime.archiverFor('shop', 'queued');
    expect(rebuilt?.destination).not.toBe(first?.destination);
    // The old instance still finishes a write it was given, then is closed.
    const message = sampleMessages({ projectId: 'shop', count: 1 })[0] as Message;
    const stored = await first!.archive(message);
    expect(s3.getObject(bucket, stored.key)).toBeDefined();
    const again = await rebuilt!.archive(message);
    // Keys are relative to the destination's prefix.
    expect(again.key).toBe(stored.key);
    expect(s3.listKeys(bucket).sort()).toEqual([stored.key, `v2/${stored.key}`].sort());
  });

  it('activates a new destination only after its probe passes: a public bucket is refused unless overridden, and a missing acknowledgement refuses the file', async () => {
    const bucket = s3.createBucket(undefined, { policyStatus: { isPublic: true } });
    const projects = { shop: { destination: 'cloud', channels: ['sms' as const], api_keys: [{ sha256: hashApiKey(keyA) }] } };
    const { file, runtime, probes, refused } = await start(baseConfig(), { env });

    const { acknowledge_personal_data: _, ...unacknowledged } = s3Destination(bucket);
    writeConfig(file, baseConfig({ destinations: { cloud: unacknowledged as never }, projects }));
    const error = await eventually(() => refused[0], 'the refusal of the unacknowledged destination');
    expect(error.issues).toEqual([{ path: 'destinations.cloud.acknowledge_personal_data', problem: 'is required' }]);
    expect(runtime.project('shop')?.destinationId).toMatch(/^file:/);

    writeConfig(file, baseConfig({ destinations: { cloud: s3Destination(bucket) }, projects }));
    const failed = await eventually(() => probes.find((event) => event.destination === 'cloud'), 'the probe');
    expect(failed).toMatchObject({ ok: false, reason: expect.stringMatching(/public/i), retryAt: expect.any(Number) });
    expect(failed.checks).toContainEqual(expect.objectContaining({ status: 'failed' }));
    expect(runtime.project('shop')).toMatchObject({ destinationId: `s3://${bucket}/`, ready: false });
    expect(runtime.destinations()).toEqual([{ name: 'cloud', type: 's3', id: `s3://${bucket}/`, ready: false, problem: expect.stringMatching(/probe failed.*public/i) }]);
    expect(() => runtime.archiverFor('shop', 'queued')).toThrow(/Destination "cloud" of project "shop" is not ready/);
    expect(() => runtime.archiverFor('shop', 'gate')).toThrow(/not ready/);

    writeConfig(file, baseConfig({ destinations: { cloud: s3Destination(bucket, { allow_public_bucket: true }) }, projects }));
    await eventually(() => runtime.project('shop')?.ready, 'the overridden destination');
    expect(probes.filter((event) => event.destination === 'cloud').map((event) => event.ok)).toEqual([false, true]);
    const stored = await runtime.archiverFor('shop', 'gate')!.archive(sampleMessages({ projectId: 'shop', count: 1 })[0] as Message);
    expect(s3.getObject(bucket, stored.key)?.body.length).toBe(stored.size);
  });

  it('repeats a failed probe and activates the destination once it passes, without an edit', async () => {
    const bucket = s3.createBucket(undefined, { policyStatus: { isPublic: true } });
    const { runtime, probes } = await start(baseConfig({ destinations: { cloud: s3Destination(bucket) }, projects: { shop: { destination: 'cloud', channels: ['sms'], api_keys: [] } } }), { env, probeRetryMs: 150 });
    expect(runtime.project('shop')?.ready).toBe(false);
    s3.configureBucket(bucket, { policyStatus: { isPublic: false } });
    await eventually(() => runtime.project('shop')?.ready, 'the repeated probe', 3_000);
    expect(probes.at(-1)).toMatchObject({ destination: 'cloud', ok: true });
    expect(probes.length).toBeGreaterThanOrEqual(2);
  });

  it('lets messages queued while a new destination was not ready flow to it once its probe passes, byte for byte', async () => {
    const bucket = s3.createBucket(undefined, { policyStatus: { isPublic: true } });
    const queue = await openQueue();
    const logged: Record<string, unknown>[] = [];
    const { file, runtime, folder } = await start(baseConfig(), { env, queue, logger: (entry) => logged.push(entry) });
    const outcomes: ProcessOutcome[] = [];
    const processor = createProcessor({ queue, archiverFor: (project) => runtime.archiverFor(project, 'queued'), idleWaitMs: 50, onOutcome: (outcome) => outcomes.push(outcome) });
    processor.start();
    try {
      const projects: WorkerConfig['projects'] = { shop: { destination: 'cloud', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [] } };
      writeConfig(file, baseConfig({ destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true }, cloud: s3Destination(bucket) }, projects }));
      await eventually(() => runtime.version() === 2 && runtime.destinations().find((status) => status.name === 'cloud')?.problem, 'the failed probe');

      const messages = sampleMessages({ projectId: 'shop', count: 12 });
      await queue.enqueue(messages.map((message) => queued(message)));
      await eventually(() => outcomes.length >= messages.length, 'the processor to try every message');
      expect(new Set(outcomes.map((outcome) => outcome.type))).toEqual(new Set(['returned']));
      expect(s3.listKeys(bucket)).toEqual([]);
      expect(await queue.stats()).toMatchObject({ depth: messages.length, deadLetters: 0 });

      writeConfig(file, baseConfig({ destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true }, cloud: s3Destination(bucket, { allow_public_bucket: true }) }, projects }));
      await eventually(async () => (await queue.stats()).depth === 0, 'the queue to drain', 10_000);
      // Made ready at once when the probe passed, rather than at the processor's 5-second route retry.
      expect(logged).toContainEqual(expect.objectContaining({ event: 'destination.queue_hurried', destination: 'cloud', projects: ['shop'], moved: messages.length }));
      await expectBucketHolds(bucket, runtime.archiverFor('shop', 'queued')!, messages);
      expect(await queue.countDeadLetters()).toBe(0);
      expect(storedKeys(path.join(folder, 'archive'))).toEqual([]);
    } finally {
      await processor.stop();
    }
  });

  it('dead-letters the queued messages of a deleted destination with the reason, even those waiting hours for a retry; nothing is dropped', async () => {
    const queue = await openQueue();
    const twoDestinations = baseConfig({
      destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true }, second: { type: 'fs', root: 'second', acknowledge_personal_data: true } },
      projects: { shop: { destination: 'local', channels: ['sms'], api_keys: [] }, blog: { destination: 'second', channels: ['sms'], api_keys: [{ sha256: hashApiKey(keyB) }] } },
    });
    const { folder, file, runtime, reloads } = await start(twoDestinations, { queue });
    const shop = sampleMessages({ projectId: 'shop', count: 20 });
    const blog = sampleMessages({ projectId: 'blog', count: 8, seed: 2 });
    const inAnHour = Date.now() + 3_600_000;
    await queue.enqueue([...shop.map((message) => queued(message)), ...blog.slice(0, 5).map((message) => queued(message)), ...blog.slice(5).map((message) => ({ ...queued(message), notBefore: inAnHour }))]);

    writeConfig(
      file,
      baseConfig({
        destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
        projects: { shop: { destination: 'local', channels: ['sms'], api_keys: [] }, blog: { channels: ['sms'], api_keys: [{ sha256: hashApiKey(keyB) }] } },
      }),
    );
    await eventually(() => runtime.version() === 2, 'the deletion');
    expect(reloads[1]?.changes).toMatchObject({ destinationsRemoved: ['second'], projectsDetached: ['blog'], projectsChanged: ['blog'] });
    expect(runtime.authenticate(keyB)).toMatchObject({ id: 'blog', ready: true });
    expect(runtime.authenticate(keyB)?.destinationId).toBeUndefined();
    expect(runtime.archiverFor('blog', 'queued')).toBeUndefined();
    expect(runtime.missingDestinationReason('blog')).toBe('Destination "second" of project "blog" was deleted from the configuration (version 2); the project has no destination now.');
    expect(runtime.missingDestinationReason('shop')).toBeUndefined();

    const processor = createProcessor({ queue, archiverFor: (project) => runtime.archiverFor(project, 'queued'), idleWaitMs: 50 });
    processor.start();
    try {
      // The three scheduled an hour out were made ready when the destination went, so they are dead-lettered now too.
      await eventually(async () => (await queue.stats()).depth === 0, 'the queue to drain', 10_000);
    } finally {
      await processor.stop();
    }
    const deadLetters = (await queue.listDeadLetters({ limit: 100 })).items;
    expect(deadLetters.map((item) => item.messageId).sort()).toEqual(blog.map((message) => message.message_id).sort());
    for (const item of deadLetters) expect(item).toMatchObject({ kind: 'no_destination', project: 'blog', reason: expect.stringContaining('"blog"') });
    const stored = storedKeys(path.join(folder, 'archive'));
    expect(stored).toHaveLength(shop.length);
    expect(existsSync(path.join(folder, 'second')) ? storedKeys(path.join(folder, 'second')) : []).toEqual([]);
    // Nothing silently dropped: queued + dead letters + stored = everything submitted.
    expect((await queue.stats()).depth + deadLetters.length + stored.length).toBe(shop.length + blog.length);
  });
});
