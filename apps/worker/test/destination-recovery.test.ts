import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createArchiver, resolveRetryPolicy, sampleMessages, type ArchiverOptions, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { faults, s3ErrorResponse, type ProxiedRequest } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createEmbeddedQueue, createProcessor, type ProcessOutcome, type WorkerConfig } from '../src/index.js';
import { expectFolderHoldsExactly, queued, sha256, storedKeys, waitFor } from './helpers.js';
import { createS3Destination, goodCredentials, startS3Setup, type S3Setup } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';
import { apiKeyHash, metricValue, startWorker, writeWorkerConfig } from './worker-fixture.js';

const newFolder = tempFolders('recovery');
let s3: S3Setup;
beforeAll(async () => {
  s3 = await startS3Setup();
});
afterAll(() => s3.stop());

const hour = 3_600_000;
const env = { ID: goodCredentials.accessKeyId, SECRET: goodCredentials.secretAccessKey };
// The default schedule with the quick retries shortened: after 3 quick retries (tens of milliseconds), a message waits 8 hours.
const retry: WorkerConfig['retry'] = { outage: { quick_initial_delay_ms: 20, quick_max_delay_ms: 100 } };

// A real S3 answer that maps to kind `unknown`: 409 OperationAborted ("a conflicting conditional operation is in progress").
const operationAborted = () => faults.respond(s3ErrorResponse('OperationAborted', { status: 409, message: 'A conflicting conditional operation is currently in progress against this resource. Please try again.' }));
// Message writes only: the probe's small object under .sentcopy-probe/ still goes through.
const messagePuts = (bucket: string) => (request: ProxiedRequest) => request.method === 'PUT' && request.url.startsWith(`/${bucket}/`) && !request.url.includes('.sentcopy-probe');

function s3Config(bucket: string): WorkerConfig {
  return {
    version: 1,
    destinations: { cloud: { type: 's3', bucket, region: 'us-east-1', endpoint: s3.proxy.url, force_path_style: true, access_key_id: { env: 'ID' }, secret_access_key: { env: 'SECRET' }, acknowledge_personal_data: true } },
    projects: { shop: { destination: 'cloud', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: apiKeyHash }] } },
    retry,
    // A stored message leaves the queue once its ledger entry is written: segments close (and a refused one is retried) quickly here.
    ledger: { segment_max_age_ms: 200, retry_delay_ms: 200 },
  };
}

type Keying = Pick<ArchiverOptions, 'layout' | 'recipientKey'>;
/** How the archivers this file creates key messages. */
const libraryKeying: Keying = { recipientKey: 'sentcopy-test-recipient-key' };
/** How the worker keys them: its configurations have no recipient_hash_key, so it writes the unkeyed layout of earlier versions. */
const workerKeying: Keying = { layout: 'sentcopy-unkeyed' };

/** Checks through the back door (the S3 server's own store) that the bucket holds exactly `messages`, byte for byte, under the keys `keying` gives. */
async function expectBucketHoldsExactly(bucket: string, messages: readonly Message[], keying: Keying): Promise<void> {
  const archiver = createArchiver({ destination: createS3Destination({ ...s3.settings(), bucket }), ...keying });
  const expected = new Map<string, string>();
  for (const message of messages) {
    const prepared = await archiver.prepare(message);
    expected.set(prepared.key, prepared.sha256);
  }
  expect(
    s3.server
      .listKeys(bucket)
      .filter((key) => !key.startsWith('.sentcopy'))
      .sort(),
  ).toEqual([...expected.keys()].sort());
  for (const [key, digest] of expected) expect(sha256(s3.server.getObject(bucket, key)!.body)).toBe(digest);
}

const storedCount = (bucket: string) => s3.server.listKeys(bucket).filter((key) => !key.startsWith('.sentcopy')).length;

describe('messages set back by a short outage are archived as soon as the destination takes writes again', () => {
  it('processor: `unknown` failures (S3 409 OperationAborted) park every message for 8 hours; the next stored write makes them all ready at once', async () => {
    const bucket = s3.server.createBucket();
    const destination = createS3Destination({ ...s3.settings({ through: 'proxy' }), bucket });
    const archiver = createArchiver({ destination, retry: false, ...libraryKeying });
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    const outcomes: ProcessOutcome[] = [];
    const processor = createProcessor({ queue, archiverFor: () => archiver, retryPolicy: resolveRetryPolicy({ outage: { quickInitialDelayMs: 20, quickMaxDelayMs: 100 } }), idleWaitMs: 20, onOutcome: (outcome) => outcomes.push(outcome) });
    const messages = sampleMessages({ projectId: 'shop', count: 20, seed: 51 });
    const fault = s3.proxy.inject(operationAborted(), { match: messagePuts(bucket) });
    await queue.enqueue(messages.map((message) => queued(message)));
    processor.start();
    try {
      const parked = () =>
        new Set(outcomes.flatMap((outcome) => (outcome.type === 'retry_scheduled' && outcome.kind === 'unknown' && outcome.phase === 'slow' && outcome.retryAt - outcome.attemptAt > 7 * hour ? [outcome.message.messageId] : [])));
      await waitFor(() => parked().size === messages.length, 30_000, 'every message to wait for the slow cadence');
      fault.remove();
      // One fresh message is stored: the destination demonstrably takes writes again.
      const fresh = sampleMessages({ projectId: 'shop', count: 1, seed: 52 });
      await queue.enqueue(fresh.map((message) => queued(message)));
      await waitFor(() => storedCount(bucket) === messages.length + 1, 20_000, 'every parked message to be stored');
      await waitFor(async () => (await queue.stats()).depth === 0, 10_000, 'an empty queue');
    } finally {
      fault.remove();
      await processor.stop();
    }
    await expectBucketHoldsExactly(bucket, [...messages, ...sampleMessages({ projectId: 'shop', count: 1, seed: 52 })], libraryKeying);
    expect(await queue.stats()).toMatchObject({ depth: 0, deadLetters: 0 });
    expect(outcomes.filter((outcome) => outcome.type === 'archived')).toHaveLength(messages.length + 1);
    await queue.close();
    await destination.close?.();
  }, 60_000);

  it('worker: `unknown` write failures while the probe passes, then recovery: every acknowledged message is stored within seconds, none left waiting', async () => {
    const bucket = s3.server.createBucket();
    const file = writeWorkerConfig(newFolder(), s3Config(bucket));
    const fault = s3.proxy.inject(operationAborted(), { match: messagePuts(bucket) });
    const started = await startWorker(file, { env });
    try {
      const messages = sampleMessages({ projectId: 'shop', count: 20, seed: 53 });
      expect(await started.send(messages)).toBe(202);
      await waitFor(() => started.parked(7 * hour).size === messages.length, 30_000, 'every message to be parked for 8 hours');
      const down = await started.readiness();
      expect(down.status).toBe(200);
      expect(down.body.checks['destination cloud']).toMatch(/^unhealthy: writes fail with unknown since .*OperationAborted|^unhealthy: writes fail with unknown since .*unexpected error/);
      expect(metricValue(await started.metrics(), 'sentcopy_destination_healthy{destination="cloud"}')).toBe(0);
      // The probe still passes: only the writes of messages fail.
      const probe = createS3Destination({ ...s3.settings({ through: 'proxy' }), bucket });
      expect((await probe.probe()).ok).toBe(true);
      await probe.close?.();
      fault.remove();
      await waitFor(() => storedCount(bucket) === messages.length, 30_000, 'every message to be stored after recovery');
      await expectBucketHoldsExactly(bucket, messages, workerKeying);
      await waitFor(async () => metricValue(await started.metrics(), 'sentcopy_queue_depth') === 0, 10_000, 'an empty queue');
      const metrics = await started.metrics();
      expect(metricValue(metrics, 'sentcopy_dead_letters')).toBe(0);
      expect(metricValue(metrics, 'sentcopy_messages_hurried_total{destination="cloud"}')).toBeGreaterThan(0);
      expect(metricValue(metrics, 'sentcopy_destination_healthy{destination="cloud"}')).toBe(1);
      expect((await started.readiness()).body.checks['destination cloud']).toBe('ok');
    } finally {
      fault.remove();
      await started.worker.stop();
    }
  }, 90_000);

  it('worker restart: messages parked for 8 hours by a finished outage are made ready when the new worker finds the destination healthy', async () => {
    const bucket = s3.server.createBucket();
    const file = writeWorkerConfig(newFolder(), s3Config(bucket));
    const messages = sampleMessages({ projectId: 'shop', count: 20, seed: 54 });
    const fault = s3.proxy.inject(operationAborted(), { match: messagePuts(bucket) });
    const first = await startWorker(file, { env });
    try {
      expect(await first.send(messages)).toBe(202);
      await waitFor(() => first.parked(7 * hour).size === messages.length, 30_000, 'every message to be parked for 8 hours');
    } finally {
      await first.worker.stop();
      fault.remove();
    }
    expect(storedCount(bucket)).toBe(0);
    const second = await startWorker(file, { env });
    try {
      await waitFor(() => storedCount(bucket) === messages.length, 20_000, 'every parked message to be stored by the new worker');
      await expectBucketHoldsExactly(bucket, messages, workerKeying);
      await waitFor(async () => metricValue(await second.metrics(), 'sentcopy_queue_depth') === 0, 10_000, 'an empty queue');
      expect(metricValue(await second.metrics(), 'sentcopy_dead_letters')).toBe(0);
    } finally {
      await second.worker.stop();
    }
  }, 90_000);
});

/** Mounts a small tmpfs for the running test, unmounted when it ends; `undefined`, with the reason printed, where the machine forbids it. */
function mountTinyDisk(bytes: number): string | undefined {
  const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-worker-tinydisk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', folder], { stdio: 'pipe' });
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    console.warn(`Skipping the full-disk test: cannot mount a tmpfs here (${(error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message}).`);
    return undefined;
  }
  onTestFinished(() => {
    execFileSync('umount', [folder], { stdio: 'pipe' });
    rmSync(folder, { recursive: true, force: true });
  });
  return folder;
}

/** Emails with a 256 KiB attachment of random bytes: each compressed object is far larger than what the full disk has left. */
function bigEmails(count: number, seed: number): Message[] {
  return sampleMessages({ projectId: 'shop', count: count * 4, seed })
    .filter((message) => message.channel === 'email')
    .slice(0, count)
    .map((message, index) => ({ ...message, message_id: `big-${seed}-${index}`, attachments: [{ file_name: `scan-${index}.bin`, content_type: 'application/octet-stream', bytes: randomBytes(256 * 1024).toString('base64') }] }) as Message);
}

describe('a local-folder destination on a full disk whose probe still fits', () => {
  it('reports the failing writes in /readyz and the metrics, and after the disk is freed and the worker restarted stores every message byte for byte', async (context) => {
    const disk = mountTinyDisk(4 * 1024 * 1024);
    if (disk === undefined) return context.skip();
    const root = path.join(disk, 'archive');
    const folder = newFolder();
    const file = writeWorkerConfig(folder, {
      version: 1,
      destinations: { local: { type: 'fs', root, acknowledge_personal_data: true } },
      projects: { shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: apiKeyHash }] } },
      retry,
      ledger: { segment_max_age_ms: 200, retry_delay_ms: 200 },
    });
    // Fill the disk, leaving 48 KiB: enough for the probe's tiny object, far too little for a message.
    const filler = path.join(disk, 'filler');
    const { bavail, bsize } = statfsSync(disk);
    writeFileSync(filler, Buffer.alloc(Number(bavail) * Number(bsize) - 48 * 1024));
    expect((await createFsDestination({ root }).probe()).ok).toBe(true);

    const messages = bigEmails(6, 61);
    expect(messages).toHaveLength(6);
    const first = await startWorker(file);
    try {
      expect(await first.send(messages)).toBe(202);
      // Readiness tells the truth: intake stays open (messages wait in the queue), the check says why.
      const readiness = await waitFor(async () => (await first.readiness()).body.checks['destination local']?.startsWith('unhealthy: writes fail with unreachable') === true, 30_000, 'the destination to be reported unhealthy').then(() =>
        first.readiness(),
      );
      expect(readiness.status).toBe(200);
      expect(readiness.body.checks['destination local']).toMatch(/disk is full/);
      expect(readiness.body.checks['destination local']).not.toContain(root);
      const metrics = await first.metrics();
      expect(metricValue(metrics, 'sentcopy_destination_healthy{destination="local"}')).toBe(0);
      expect(metricValue(metrics, 'sentcopy_destination_consecutive_failures{destination="local"}')).toBeGreaterThanOrEqual(5);
      await waitFor(() => first.parked(7 * hour).size === messages.length, 30_000, 'every message to be parked for 8 hours');
      expect(storedKeys(root)).toEqual([]);
    } finally {
      await first.worker.stop();
    }

    rmSync(filler);
    const second = await startWorker(file);
    try {
      await waitFor(() => storedKeys(root).length === messages.length, 20_000, 'every message to be stored after the restart');
      await expectFolderHoldsExactly(root, createArchiver({ destination: createFsDestination({ root }), ...workerKeying }), messages);
      await waitFor(async () => metricValue(await second.metrics(), 'sentcopy_queue_depth') === 0, 10_000, 'an empty queue');
      const metrics = await second.metrics();
      expect(metricValue(metrics, 'sentcopy_destination_healthy{destination="local"}')).toBe(1);
      expect(metricValue(metrics, 'sentcopy_dead_letters')).toBe(0);
      expect(await second.readiness()).toEqual({ status: 200, body: { ready: true, checks: { queue: 'ok', 'destination local': 'ok', 'ledger local': 'ok' } } });
    } finally {
      await second.worker.stop();
    }
  }, 120_000);
});
