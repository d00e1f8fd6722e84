import { randomBytes } from 'node:crypto';
import { createArchiver, sampleMessages } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, createJetStreamQueue, createProcessor, type ClaimOptions, type LeaseRef, type MessageQueue, type ProcessOutcome } from '../src/index.js';
import { abortableDelay, expectFolderHoldsExactly, instrumentDestination, queued, waitFor } from './helpers.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('processor-bytes');

let nats: NatsTestServer;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(() => nats?.stop());

/**
 * The real queue, with a count kept outside the processor of the payload bytes it holds: claimed
 * and not yet handed back by a settling call. Sampled right after every claim, when it is highest.
 */
function measuredQueue(queue: MessageQueue) {
  const held = new Map<string, number>();
  const claims: { maxBytes: number | undefined; bytes: number }[] = [];
  let bytes = 0;
  let peakBytes = 0;
  let peakCount = 0;
  const settled = (lease: LeaseRef) => {
    const size = held.get(lease.leaseId);
    if (size === undefined) return;
    held.delete(lease.leaseId);
    bytes -= size;
  };
  const settling = new Set(['ack', 'release', 'reschedule', 'deadLetter', 'holdStored']);
  const proxy = new Proxy(queue, {
    get(target, property, receiver) {
      if (property === 'claim') {
        return async (options: ClaimOptions) => {
          const claimed = await target.claim(options);
          const claimBytes = claimed.reduce((total, message) => total + message.payload.byteLength, 0);
          claims.push({ maxBytes: options.maxBytes, bytes: claimBytes });
          for (const message of claimed) held.set(message.leaseId, message.payload.byteLength);
          bytes += claimBytes;
          peakBytes = Math.max(peakBytes, bytes);
          peakCount = Math.max(peakCount, held.size);
          return claimed;
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (typeof property === 'string' && settling.has(property)) {
        return (lease: LeaseRef, ...rest: unknown[]) => {
          settled(lease);
          return (value as (...args: unknown[]) => unknown).call(target, lease, ...rest);
        };
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
  return { queue: proxy, claims, peakBytes: () => peakBytes, peakCount: () => peakCount, heldBytes: () => bytes };
}

const queues = {
  embedded: () => createEmbeddedQueue({ directory: newFolder() }),
  jetstream: () => createJetStreamQueue({ servers: nats.url, name: `b${randomBytes(5).toString('hex')}`, ackWaitMs: 5_000 }),
};

describe.each(Object.keys(queues) as (keyof typeof queues)[])('processor byte budget (%s queue)', (kind) => {
  it('never holds more payload bytes than maxBytesInFlight plus one message, while a slow destination stores every message once', async () => {
    const root = newFolder();
    // A slow destination: claimed messages pile up behind its 4 writes at a time.
    const destination = instrumentDestination(createFsDestination({ root }), { beforePut: (_input, signal) => abortableDelay(20, signal) });
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, retry: false });
    // 40 messages of 100–140 KB each: 64 of them (maxInFlight) would be far over the 600 KB budget.
    const messages = sampleMessages({ projectId: 'acme', count: 40, seed: 7 }).map((message, index) => ({ ...message, extras: { pad: 'x'.repeat(100_000 + (index % 5) * 10_000) } }));
    const inputs = messages.map((message) => queued(message));
    const sizes = inputs.map((input) => Buffer.byteLength(input.payload as string));
    const largest = Math.max(...sizes);
    const budget = 600_000;
    const raw = await queues[kind]();
    const measured = measuredQueue(raw);
    const outcomes: ProcessOutcome[] = [];
    const processor = createProcessor({
      queue: measured.queue,
      archiverFor: () => archiver,
      concurrencyPerDestination: 4,
      maxBytesInFlight: budget,
      idleWaitMs: 50,
      onOutcome: (outcome) => outcomes.push(outcome),
    });
    let processorPeak = 0;
    const watcher = setInterval(() => (processorPeak = Math.max(processorPeak, processor.bytesInFlight)), 2);
    try {
      await raw.enqueue(inputs);
      processor.start();
      await waitFor(() => outcomes.length >= messages.length, 60_000, 'every message settled');
      expect(await processor.stop()).toEqual({ finished: 0, returned: 0, abandoned: 0 });
    } finally {
      clearInterval(watcher);
      if (processor.running) await processor.stop({ timeoutMs: 100 });
      await raw.close();
    }
    expect(outcomes.map((outcome) => outcome.type)).toEqual(messages.map(() => 'archived'));
    expect(destination.puts).toHaveLength(messages.length);
    await expectFolderHoldsExactly(root, archiver, messages);

    // Held by the processor, as the queue saw it: within the budget plus one message, never 40 at once.
    expect(measured.peakBytes()).toBeLessThanOrEqual(budget + largest);
    expect(processorPeak).toBeLessThanOrEqual(budget + largest);
    expect(measured.peakCount()).toBeLessThan(Math.floor((budget + largest) / Math.min(...sizes)) + 1);
    // The budget was used: several messages were held at once, not one at a time.
    expect(measured.peakBytes()).toBeGreaterThan(budget / 2);
    // Every claim asked for what was left of the budget and, beyond one message, took no more.
    for (const claim of measured.claims) {
      expect(claim.maxBytes).toBeGreaterThan(0);
      expect(claim.maxBytes).toBeLessThanOrEqual(budget);
      if (claim.bytes > claim.maxBytes!) expect(claim.bytes).toBeLessThanOrEqual(largest);
    }
    expect(measured.heldBytes()).toBe(0);
    expect(processor.bytesInFlight).toBe(0);
  });

  it('still archives a message larger than the whole budget, alone', async () => {
    const root = newFolder();
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root }), retry: false });
    const messages = sampleMessages({ projectId: 'acme', count: 3, seed: 9 }).map((message, index) => ({ ...message, extras: { pad: 'y'.repeat(index === 1 ? 300_000 : 1_000) } }));
    const raw = await queues[kind]();
    const measured = measuredQueue(raw);
    try {
      await raw.enqueue(messages.map((message) => queued(message)));
      await createProcessor({ queue: measured.queue, archiverFor: () => archiver, maxBytesInFlight: 100_000 }).processAvailable();
      if (kind === 'jetstream') await waitFor(async () => (await raw.stats()).depth === 0, 10_000, 'the queue drained');
      expect((await raw.stats()).depth).toBe(0);
    } finally {
      await raw.close();
    }
    await expectFolderHoldsExactly(root, archiver, messages);
    expect(measured.claims.some((claim) => claim.bytes > 300_000 && claim.maxBytes! <= 100_000)).toBe(true);
  });

  it('refuses a maxBytesInFlight that is not a whole number of bytes above 0, naming it', () => {
    for (const maxBytesInFlight of [0, -1, 1.5, Number.NaN]) {
      expect(() => createProcessor({ queue: {} as MessageQueue, archiverFor: () => undefined, maxBytesInFlight })).toThrow(/maxBytesInFlight must be a positive integer/);
    }
  });
});
