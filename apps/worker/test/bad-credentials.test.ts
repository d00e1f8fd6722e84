import { createArchiver, defaultRetryPolicy, sampleMessages, type Archiver } from '@sentcopy/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, createProcessor, type ProcessOutcome } from '../src/index.js';
import { queued, seededRandom, sha256 } from './helpers.js';
import { createS3Destination, startS3Setup, wrongCredentials, type S3Setup } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('credentials');
let s3: S3Setup;
beforeAll(async () => {
  s3 = await startS3Setup();
});
afterAll(() => s3.stop());

const second = 1_000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;

describe('bad credentials', () => {
  it('retries on the default policy (quick retries, then every 8 hours for 7 days), dead-letters as unauthorized, and replay after the fix stores all', async () => {
    const start = Date.UTC(2025, 2, 14, 10, 0, 0);
    let clock = start;
    const now = () => clock;
    const queue = await createEmbeddedQueue({ directory: newFolder(), now });
    const broken = createS3Destination(s3.settings({ credentials: wrongCredentials }));
    let archiver: Archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: broken, retry: false });
    const outcomes: ProcessOutcome[] = [];
    const processor = createProcessor({ queue, archiverFor: () => archiver, now, random: seededRandom(5), onOutcome: (outcome) => outcomes.push(outcome) });
    const messages = sampleMessages({ projectId: 'acme', count: 12 });
    await queue.enqueue(messages.map((message) => queued(message)));

    // Compressed time: process whatever is due, then move the clock on (finely during the quick phase).
    const step = 5 * minute;
    while (clock - start <= 8 * day) {
      await processor.processAvailable();
      if ((await queue.stats()).depth === 0) break;
      clock += clock - start < minute ? 250 : step;
    }
    expect(await queue.stats()).toMatchObject({ depth: 0, deadLetters: messages.length });

    const { quickRetries, quickInitialDelayMs, slowIntervalMs, slowJitterRatio, maxAgeMs } = defaultRetryPolicy.outage;
    const { items } = await queue.listDeadLetters();
    expect(items).toHaveLength(messages.length);
    for (const deadLetter of items) {
      const mine = outcomes.filter((outcome) => outcome.message.id === deadLetter.id);
      const retries = mine.filter((outcome) => outcome.type === 'retry_scheduled');
      const attemptTimes = mine.flatMap((outcome) => (outcome.type === 'retry_scheduled' || outcome.type === 'dead_lettered' ? [outcome.attemptAt] : []));
      expect(mine.at(-1)).toMatchObject({ type: 'dead_lettered', kind: 'unauthorized' });
      expect(retries.map((outcome) => outcome.phase)).toEqual([...Array<string>(quickRetries).fill('quick'), ...Array<string>(retries.length - quickRetries).fill('slow')]);
      expect(retries.every((outcome) => outcome.kind === 'unauthorized')).toBe(true);

      const gaps = attemptTimes.slice(1).map((at, index) => at - attemptTimes[index]!);
      gaps.slice(0, quickRetries).forEach((gap, index) => {
        const base = quickInitialDelayMs * 2 ** index;
        expect(gap).toBeGreaterThanOrEqual(base / 2);
        expect(gap).toBeLessThanOrEqual(base + 250);
      });
      for (const gap of gaps.slice(quickRetries)) {
        expect(gap).toBeGreaterThanOrEqual(slowIntervalMs);
        expect(gap).toBeLessThanOrEqual(slowIntervalMs * (1 + slowJitterRatio) + step);
      }
      const span = attemptTimes.at(-1)! - attemptTimes[0]!;
      expect(span).toBeLessThanOrEqual(maxAgeMs);
      expect(span).toBeGreaterThan(maxAgeMs - slowIntervalMs * (1 + slowJitterRatio) - step);

      expect(deadLetter).toMatchObject({
        kind: 'unauthorized',
        attempts: attemptTimes.length,
        firstAttemptAt: attemptTimes[0],
        lastAttemptAt: attemptTimes.at(-1),
        issues: [],
      });
      expect(deadLetter.attempts).toBeGreaterThanOrEqual(20);
      expect(deadLetter.reason).toMatch(/7d/);
      expect(deadLetter.reason).toMatch(/credentials/);
      expect(deadLetter.history.at(-1)).toMatchObject({ at: attemptTimes.at(-1), kind: 'unauthorized' });
    }
    const refusedPuts = s3.server.requests.filter((request) => request.method === 'PUT' && request.errorCode === 'SignatureDoesNotMatch');
    expect(refusedPuts).toHaveLength(items.reduce((sum, item) => sum + item.attempts, 0));
    expect(s3.server.listKeys(s3.bucket)).toEqual([]);

    // The operator fixes the credentials and replays.
    const fixed = createS3Destination(s3.settings());
    archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: fixed, retry: false });
    expect(await queue.replayDeadLetters({ kind: 'unauthorized' })).toEqual({ replayed: messages.length, alreadyQueued: 0 });
    await processor.processAvailable();
    expect(await queue.stats()).toMatchObject({ depth: 0, deadLetters: 0 });
    expect(s3.server.listKeys(s3.bucket)).toHaveLength(messages.length);
    for (const message of messages) {
      const prepared = await archiver.prepare(message);
      const stored = s3.server.getObject(s3.bucket, prepared.key);
      expect(stored && sha256(stored.body)).toBe(prepared.sha256);
    }
    await queue.close();
    await broken.close?.();
    await fixed.close?.();
  }, 60_000);
});
