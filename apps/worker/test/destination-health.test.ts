import { sampleMessages } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { describe, expect, it } from 'vitest';
import { createDestinationHealth, createEmbeddedQueue, createProcessor, type DestinationHealthEvent, type MessageQueue } from '../src/index.js';
import { queued, waitFor } from './helpers.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('destination-health');
const hour = 3_600_000;
const unknownFailure = { kind: 'unknown' as const, reason: 'Could not write the object in the local folder: an unexpected file-system error occurred (EMFILE).' };

/** Claims every ready message and reschedules it 8 hours ahead, as a failed attempt in the slow phase would. */
async function parkAll(queue: MessageQueue): Promise<string[]> {
  const claimed = await queue.claim({ limit: 100, leaseMs: 60_000 });
  for (const message of claimed) await queue.reschedule(message, { notBefore: Date.now() + 8 * hour, attempt: { at: Date.now(), ...unknownFailure } });
  return claimed.map((message) => message.messageId);
}

const readyIds = async (queue: MessageQueue) => {
  const claimed = await queue.claim({ limit: 100, leaseMs: 60_000 });
  for (const message of claimed) await queue.release(message);
  return claimed.map((message) => message.messageId).sort();
};

describe('createDestinationHealth', () => {
  it('hurries parked messages when a write started after the failures is stored, hurries a failure that settles late too, and never while writes still fail', async () => {
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    const destination = createFsDestination({ root: newFolder() });
    const health = createDestinationHealth({ queue, hurryIntervalMs: 200 });
    const messages = sampleMessages({ projectId: 'shop', count: 3, seed: 81 });
    await queue.enqueue(messages.map((message) => queued(message)));
    const t0 = Date.now();
    const ids = await parkAll(queue);
    for (const [index] of ids.entries()) health.recordWrite(destination, { project: 'shop', startedAt: t0 + index, failure: unknownFailure });
    expect(await readyIds(queue)).toEqual([]);

    // A write that started after the failures is stored: the destination takes writes again.
    health.recordWrite(destination, { project: 'shop', startedAt: t0 + 100 });
    await waitFor(async () => (await readyIds(queue)).length === 3, 5_000, 'the parked messages to be ready');
    expect(health.state(destination.id)).toMatchObject({ consecutiveFailures: 0, hurried: 3 });

    // One of them had been tried before the recovery, and its failure settles only now: it is hurried as well.
    expect(await parkAll(queue)).toHaveLength(3);
    health.recordWrite(destination, { project: 'shop', startedAt: t0 + 50, failure: unknownFailure });
    await waitFor(async () => (await readyIds(queue)).length === 3, 5_000, 'the late failure to be hurried');

    // A failure of an attempt started after the last stored write: the destination is failing, nothing is hurried.
    await parkAll(queue);
    health.recordWrite(destination, { project: 'shop', startedAt: Date.now() + 1, failure: unknownFailure });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await readyIds(queue)).toEqual([]);
    health.close();
    await queue.close();
  });

  it('tells probe trouble from write trouble: a passing probe ends a failed probe, but only a stored write ends failing writes', () => {
    const events: DestinationHealthEvent[] = [];
    let clock = 1_700_000_000_000;
    const health = createDestinationHealth({ unhealthyAfterFailures: 3, now: () => clock });
    health.subscribe((event) => events.push(event));
    const destination = createFsDestination({ root: newFolder() });
    health.track(destination, { name: 'local', projects: ['shop'] });
    expect(health.state('local')).toMatchObject({ healthy: false, awaitingProbe: true });

    health.recordProbe(destination, { ok: false, reason: 'write: Could not write a probe object in the local folder: the file system is mounted read-only (EROFS).' });
    expect(health.state('local')).toMatchObject({ healthy: false, kind: 'probe_failed', since: clock });
    clock += 1_000;
    health.recordProbe(destination, { ok: true });
    expect(health.state('local')).toMatchObject({ healthy: true, consecutiveFailures: 0 });

    clock += 1_000;
    for (let attempt = 0; attempt < 3; attempt++) health.recordWrite(destination, { project: 'shop', startedAt: clock + attempt, failure: unknownFailure });
    expect(health.state('local')).toMatchObject({ healthy: false, kind: 'unknown', consecutiveFailures: 3, since: clock });
    clock += 1_000;
    // The probe's tiny object fits where messages do not: still unhealthy.
    health.recordProbe(destination, { ok: true });
    expect(health.state('local')).toMatchObject({ healthy: false, kind: 'unknown' });
    health.recordWrite(destination, { project: 'shop', startedAt: clock + 1 });
    expect(health.state('local')).toMatchObject({ healthy: true, consecutiveFailures: 0 });

    expect(events.map((event) => [event.type, 'kind' in event ? event.kind : undefined])).toEqual([
      ['unhealthy', 'probe_failed'],
      ['recovered', 'probe_failed'],
      ['unhealthy', 'unknown'],
      ['recovered', 'unknown'],
    ]);
    // Reasons leave the tracker redacted.
    health.recordWrite(destination, { project: 'shop', startedAt: clock + 10, failure: { kind: 'unauthorized', reason: 'Denied for ana@example.com' } });
    expect(health.state('local')?.reason).toBe('Denied for [redacted address]');
    health.close();
  });

  it("keeps a replaced instance out of the new one's record, and forgets a removed destination", () => {
    const events: DestinationHealthEvent[] = [];
    const health = createDestinationHealth({ unhealthyAfterFailures: 2 });
    health.subscribe((event) => events.push(event));
    const root = newFolder();
    const before = createFsDestination({ root });
    const after = createFsDestination({ root });
    health.track(before, { name: 'local', projects: ['shop'] });
    health.recordProbe(before, { ok: true });
    health.track(after, { name: 'local', projects: ['shop'] });
    health.untrack(before);
    health.recordProbe(after, { ok: true });
    for (let attempt = 0; attempt < 5; attempt++) health.recordWrite(before, { project: 'shop', startedAt: Date.now(), failure: unknownFailure });
    expect(health.state('local')).toMatchObject({ healthy: true, consecutiveFailures: 0 });
    expect(health.pausedError(before)).toBeUndefined();
    health.untrack(after);
    expect(health.state('local')).toBeUndefined();
    expect(events).toEqual([{ type: 'removed', destination: 'local' }]);
  });

  it('refuses bad options with the field named', async () => {
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    expect(() => createProcessor({ queue, archiverFor: () => undefined, health: createDestinationHealth(), breakerFailures: 5 })).toThrow(/breakerFailures and breakerProbeMs configure the processor's own destination health/);
    await queue.close();
    expect(() => createDestinationHealth({ unhealthyAfterFailures: 0 })).toThrow(/unhealthyAfterFailures must be a positive integer/);
    expect(() => createDestinationHealth({ pauseAfterFailures: -1 })).toThrow(/pauseAfterFailures must be a whole number, 0 or more/);
    expect(() => createDestinationHealth({ hurryIntervalMs: Number.NaN })).toThrow(/hurryIntervalMs must be a finite number of milliseconds, 0 or more/);
  });
});
