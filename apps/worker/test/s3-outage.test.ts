import { createArchiver, resolveRetryPolicy, sampleMessages } from '@sentcopy/core';
import { faults, s3ErrorResponse } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, createProcessor, type ProcessOutcome } from '../src/index.js';
import { queued, sha256, waitFor, waitForEmptyQueue } from './helpers.js';
import { createS3Destination, startS3Setup, type S3Setup } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('outage');
let s3: S3Setup;
beforeAll(async () => {
  s3 = await startS3Setup();
});
afterAll(() => s3.stop());

describe('an S3 outage', () => {
  it('rides out 503s, connection resets and 500s, then recovers: every message stored once, none dead-lettered', async () => {
    const destination = createS3Destination(s3.settings({ through: 'proxy' }));
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, retry: false });
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    const messages = sampleMessages({ projectId: 'acme', count: 120 });
    await queue.enqueue(messages.map((message) => queued(message)));

    // The same policy shape as the default, with time compressed: quick retries in tens of
    // milliseconds, the "slow" cadence every half second.
    const retryPolicy = resolveRetryPolicy({
      rateLimited: { initialDelayMs: 50, maxDelayMs: 400 },
      outage: { quickInitialDelayMs: 50, quickMaxDelayMs: 400, slowIntervalMs: 500, slowJitterRatio: 0.2, maxAgeMs: 60_000 },
    });
    const outcomes: ProcessOutcome[] = [];
    const processor = createProcessor({ queue, archiverFor: () => archiver, retryPolicy, idleWaitMs: 50, onOutcome: (outcome) => outcomes.push(outcome) });
    // Rules apply in order while active: 503 first, then connection resets, then 500s, then recovery.
    const unavailable = s3.proxy.inject(faults.respond(s3ErrorResponse('ServiceUnavailable')), { forMs: 700 });
    const resets = s3.proxy.inject(faults.reset(), { forMs: 1_400 });
    const internal = s3.proxy.inject(faults.respond(s3ErrorResponse('InternalError')), { forMs: 2_000 });
    processor.start();
    await waitForEmptyQueue(queue, 30_000);
    await processor.stop();

    expect(unavailable.hits).toBeGreaterThan(0);
    expect(resets.hits).toBeGreaterThan(0);
    expect(internal.hits).toBeGreaterThan(0);
    const retried = new Set(outcomes.flatMap((outcome) => (outcome.type === 'retry_scheduled' ? [outcome.kind] : [])));
    expect(retried).toEqual(new Set(['rate_limited', 'unreachable']));
    expect(await queue.stats()).toMatchObject({ depth: 0, inFlight: 0, deadLetters: 0 });
    expect(outcomes.filter((outcome) => outcome.type === 'archived')).toHaveLength(messages.length);

    const keys = s3.server.listKeys(s3.bucket);
    expect(keys).toHaveLength(messages.length);
    for (const message of messages) {
      const prepared = await archiver.prepare(message);
      const stored = s3.server.getObject(s3.bucket, prepared.key);
      expect(stored && sha256(stored.body)).toBe(prepared.sha256);
    }
    await queue.close();
    await destination.close?.();
  }, 60_000);

  it('pauses writes after repeated failures (no request per message), probes, and drains at once when the destination is back', async () => {
    const bucket = s3.server.createBucket();
    const destination = createS3Destination({ ...s3.settings({ through: 'proxy' }), bucket });
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, retry: false });
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    const messages = sampleMessages({ projectId: 'paused', count: 300 });
    // Without the breaker's hurry, retries after the first would wait an hour.
    const retryPolicy = resolveRetryPolicy({ outage: { quickRetries: 1, quickInitialDelayMs: 20, quickMaxDelayMs: 40, slowIntervalMs: 3_600_000, slowJitterRatio: 0, maxAgeMs: 86_400_000 } });
    const outcomes: ProcessOutcome[] = [];
    const processor = createProcessor({ queue, archiverFor: () => archiver, retryPolicy, idleWaitMs: 50, breakerFailures: 3, breakerProbeMs: 300, onOutcome: (outcome) => outcomes.push(outcome) });
    const down = s3.proxy.inject(faults.respond(s3ErrorResponse('InternalError')), { match: (request) => request.url.includes(bucket) });
    await queue.enqueue(messages.map((message) => queued(message)));
    processor.start();
    // Every message records its failed attempts while the destination is down…
    await waitFor(() => outcomes.filter((outcome) => outcome.type === 'retry_scheduled').length >= 2 * messages.length, 20_000, 'two failed attempts per message');
    const requestsWhileDown = down.hits;
    // …but only the few writes before the pause, and the probes, reached the destination.
    expect(requestsWhileDown).toBeLessThan(60);
    expect((await queue.stats()).deadLetters).toBe(0);
    down.remove();
    const recoveredAt = Date.now();
    await waitForEmptyQueue(queue, 20_000);
    // Drained within seconds of recovery, not at the next scheduled retry an hour away.
    expect(Date.now() - recoveredAt).toBeLessThan(10_000);
    await processor.stop();
    expect(s3.server.listKeys(bucket)).toHaveLength(messages.length);
    expect(await queue.stats()).toMatchObject({ depth: 0, deadLetters: 0 });
    await queue.close();
    await destination.close?.();
  }, 60_000);
});
