import { afterEach, describe, expect, it } from 'vitest';
import { QueueError, type ClaimedMessage, type MessageQueue, type QueueMessageInput } from '../src/index.js';

/** What the behaviour suite needs to know about a queue implementation. */
export interface QueueBehaviourTarget {
  /** Creates a fresh, empty store (a folder, a stream name…) and returns its name. */
  newStore(): Promise<string>;
  /** Opens the queue on `store`; opening the same store again must give back its durable contents. */
  open(store: string): Promise<MessageQueue>;
  /** Lease used where a test waits for one to run out, in milliseconds. @default 150 */
  readonly shortLeaseMs?: number;
}

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// Timers and the store's clock may disagree by a few milliseconds; readiness checks allow that much.
const slackMs = 15;

function message(index: number, project = 'acme', extra: Partial<QueueMessageInput> = {}): QueueMessageInput {
  return { project, messageId: `m-${index}`, payload: JSON.stringify({ n: index, text: 'héllo ✓ — 🙂' }), ...extra };
}

function bytesOf(input: QueueMessageInput): Uint8Array {
  return typeof input.payload === 'string' ? encoder.encode(input.payload) : input.payload;
}

function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(Buffer.from(actual).equals(Buffer.from(expected))).toBe(true);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

/**
 * The behaviour every `MessageQueue` implementation must show, run against real time (no injected
 * clock), so a queue whose timing lives in a server (JetStream) runs it unchanged.
 */
export function describeQueueBehaviour(name: string, target: QueueBehaviourTarget): void {
  const shortLeaseMs = target.shortLeaseMs ?? 150;

  describe(`MessageQueue behaviour: ${name}`, () => {
    const opened: MessageQueue[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((queue) => queue.close()));
    });
    const open = async (store?: string) => {
      const queue = await target.open(store ?? (await target.newStore()));
      opened.push(queue);
      return queue;
    };
    const openFresh = async () => {
      const store = await target.newStore();
      return { store, queue: await open(store) };
    };
    const reopen = async (queue: MessageQueue, store: string) => {
      await queue.close();
      return open(store);
    };
    const claimAll = async (queue: MessageQueue, expected: number, waitMs = 3_000): Promise<ClaimedMessage[]> => {
      const claimed: ClaimedMessage[] = [];
      const deadline = Date.now() + waitMs;
      while (claimed.length < expected && Date.now() < deadline) {
        claimed.push(...(await queue.claim({ limit: Math.min(1000, expected - claimed.length), waitMs: Math.max(1, deadline - Date.now()) })));
      }
      return claimed;
    };

    it('stores each message of a batch and hands them out in enqueue order, bytes unchanged', async () => {
      const queue = await open();
      const inputs = [message(0), message(1, 'acme', { payload: new Uint8Array([0xff, 0xfe, 0x00, 0x7b]) }), message(2, 'acme', { payload: '' }), message(3, 'other'), message(4)];
      const before = Date.now();
      const results = await queue.enqueue(inputs);
      expect(results.map((result) => result.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'accepted']);
      expect(new Set(results.map((result) => result.id)).size).toBe(5);
      const stats = await queue.stats();
      expect(stats).toMatchObject({ depth: 5, inFlight: 0, deadLetters: 0 });
      expect(stats.oldestEnqueuedAt).toBeGreaterThanOrEqual(before - slackMs);
      expect(stats.oldestEnqueuedAt).toBeLessThanOrEqual(Date.now() + slackMs);

      const first = await queue.claim({ limit: 3 });
      expect(first.map((claimed) => claimed.messageId)).toEqual(['m-0', 'm-1', 'm-2']);
      first.forEach((claimed, index) => {
        expectBytes(claimed.payload, bytesOf(inputs[index]!));
        expect(claimed).toMatchObject({ id: results[index]!.id, project: inputs[index]!.project, deliveries: 1, attempts: 0, history: [] });
        expect(claimed.firstAttemptAt).toBeUndefined();
        expect(claimed.leaseExpiresAt).toBeGreaterThan(Date.now() - slackMs);
      });
      expect((await queue.stats()).inFlight).toBe(3);
      const rest = await queue.claim({ limit: 10 });
      expect(rest.map((claimed) => [claimed.project, claimed.messageId])).toEqual([
        ['other', 'm-3'],
        ['acme', 'm-4'],
      ]);
      expect(await queue.claim({ limit: 10 })).toEqual([]);
      expect(await queue.stats()).toMatchObject({ depth: 5, inFlight: 5 });
    });

    it('takes a batch all or nothing: one malformed entry stores none of it', async () => {
      const queue = await open();
      const bad: QueueMessageInput[][] = [
        [message(0), { project: '', messageId: 'x', payload: '{}' }],
        [message(0), { project: 'acme', messageId: '', payload: '{}' }],
        [message(0), { project: 'acme', messageId: 'x', payload: 42 as unknown as string }],
        [message(0), { project: 'acme', messageId: 'x', payload: '{}', notBefore: Number.NaN }],
      ];
      for (const batch of bad) {
        const error = await rejection(queue.enqueue(batch));
        expect(QueueError.isInstance(error) && error.kind).toBe('invalid_input');
      }
      expect(await queue.enqueue([])).toEqual([]);
      expect((await queue.stats()).depth).toBe(0);
      expect(await queue.claim({ limit: 10 })).toEqual([]);
    });

    it('de-duplicates by project and message id: in a batch, across batches, while claimed, and after ack', async () => {
      const queue = await open();
      // The same payload again; a different payload under the same id is a version (queue-version-behaviour.ts).
      const results = await queue.enqueue([message(1), message(1), message(1, 'second-project')]);
      expect(results.map((result) => result.status)).toEqual(['accepted', 'duplicate', 'accepted']);
      expect(results[1]!.id).toBe(results[0]!.id);
      expect((await queue.enqueue([message(1)]))[0]!.status).toBe('duplicate');

      const [claimed] = await queue.claim({ limit: 1 });
      expect(claimed!.messageId).toBe('m-1');
      expectBytes(claimed!.payload, bytesOf(message(1)));
      expect((await queue.enqueue([message(1)]))[0]!.status).toBe('duplicate');
      expect(await queue.ack(claimed!)).toBe(true);
      expect((await queue.enqueue([message(1)]))[0]!.status).toBe('duplicate');
      expect((await queue.stats()).depth).toBe(1);
      const [remaining] = await queue.claim({ limit: 10 });
      expect([remaining!.project, remaining!.messageId]).toEqual(['second-project', 'm-1']);
    });

    it('removes a message for good on ack; a wrong or used lease changes nothing', async () => {
      const queue = await open();
      await queue.enqueue([message(1)]);
      const [claimed] = await queue.claim({ limit: 1 });
      expect(await queue.ack({ id: claimed!.id, leaseId: 'not-the-lease' })).toBe(false);
      expect((await queue.stats()).depth).toBe(1);
      expect(await queue.ack(claimed!)).toBe(true);
      expect(await queue.ack(claimed!)).toBe(false);
      expect(await queue.release(claimed!)).toBe(false);
      expect(await queue.stats()).toMatchObject({ depth: 0, inFlight: 0 });
      expect((await queue.stats()).oldestEnqueuedAt).toBeUndefined();
      expect(await queue.claim({ limit: 10 })).toEqual([]);
    });

    it('holds a stored message until ackStored removes it: not handed out again, even past its lease; releaseStored makes it ready; after close and reopen it comes back', async () => {
      const { store, queue } = await openFresh();
      await queue.enqueue([message(1), message(2), message(3)]);
      const claimed: ClaimedMessage[] = [];
      const deadline = Date.now() + 3_000;
      while (claimed.length < 3 && Date.now() < deadline) claimed.push(...(await queue.claim({ limit: 3 - claimed.length, leaseMs: shortLeaseMs, waitMs: 500 })));
      const [first, second, third] = claimed.sort((left, right) => left.messageId.localeCompare(right.messageId));
      expect(await queue.holdStored(first!)).toBe(true);
      // The lease went with the hold: no settling call applies any more.
      expect(await queue.holdStored(first!)).toBe(false);
      expect(await queue.ack(first!)).toBe(false);
      expect(await queue.holdStored(second!)).toBe(true);
      expect(await queue.holdStored(third!)).toBe(true);
      expect(await queue.stats()).toMatchObject({ depth: 3, inFlight: 0 });
      // Held past the lease they were claimed with: still not handed out.
      expect(await queue.claim({ limit: 10, waitMs: shortLeaseMs * 3 })).toEqual([]);
      expect(await queue.ackStored([first!.id])).toBe(1);
      expect(await queue.ackStored([first!.id])).toBe(0);
      expect((await queue.stats()).depth).toBe(2);
      expect(await queue.releaseStored([second!.id])).toBe(1);
      const again = await queue.claim({ limit: 1, leaseMs: shortLeaseMs, waitMs: 3_000 });
      expect(again.map((entry) => entry.messageId)).toEqual(['m-2']);
      // Removed by ackStored as by ack: a resend is a duplicate.
      expect((await queue.enqueue([message(1)]))[0]!.status).toBe('duplicate');
      // The third is still held when the queue closes (a stop whose ledger could not be written): it comes back.
      const reopened = await reopen(queue, store);
      const back = await claimAll(reopened, 2, 5_000);
      expect(back.map((entry) => entry.messageId).sort()).toEqual(['m-2', 'm-3']);
      expect((await reopened.stats()).depth).toBe(2);
    }, 30_000);

    it('records a message stored outside the queue as held (enqueueStored): never handed out, removed by ackStored, made ready by releaseStored; after close and reopen it comes back', async () => {
      const { store, queue } = await openFresh();
      // A record is durable and held at once: nothing to claim, but it counts in the depth.
      const first = await queue.enqueueStored(message(1), { recoverAfterMs: 60_000 });
      const second = await queue.enqueueStored(message(2), { recoverAfterMs: 60_000 });
      expect([first, second].every((id) => typeof id === 'string')).toBe(true);
      expect(first).not.toBe(second);
      expect(await queue.stats()).toMatchObject({ depth: 2, inFlight: 0 });
      expect(await queue.claim({ limit: 10, waitMs: shortLeaseMs * 3 })).toEqual([]);
      // The same message again is covered by the record already there; a submission of it is a duplicate.
      expect(await queue.enqueueStored(message(1), { recoverAfterMs: 60_000 })).toBeUndefined();
      expect((await queue.enqueue([message(2)]))[0]!.status).toBe('duplicate');
      expect(await queue.ackStored([first!])).toBe(1);
      expect(await queue.ackStored([first!])).toBe(0);
      expect(await queue.releaseStored([second!])).toBe(1);
      const [again] = await queue.claim({ limit: 1, leaseMs: shortLeaseMs, waitMs: 3_000 });
      expect(again?.messageId).toBe('m-2');
      expectBytes(again!.payload, bytesOf(message(2)));
      expect(await queue.ack(again!)).toBe(true);
      // Removed by ackStored as by ack: a resend is a duplicate.
      expect((await queue.enqueue([message(1)]))[0]!.status).toBe('duplicate');
      // A malformed record is refused before anything is stored.
      expect(await rejection(queue.enqueueStored({ project: '', messageId: 'm-9', payload: '{}' }))).toMatchObject({ kind: 'invalid_input' });
      // A third is still held when the queue closes (a crash before its entry was written): it comes
      // back, bytes unchanged (JetStream once it is due: the ack wait, as a dead worker's claims).
      expect(typeof (await queue.enqueueStored(message(3)))).toBe('string');
      const reopened = await reopen(queue, store);
      const back = await claimAll(reopened, 1, 10_000);
      expect(back.map((entry) => entry.messageId)).toEqual(['m-3']);
      expectBytes(back[0]!.payload, bytesOf(message(3)));
      // JetStream removes the held copy it moved a moment after publishing the ready one.
      const deadline = Date.now() + 5_000;
      while ((await reopened.stats()).depth !== 1 && Date.now() < deadline) await sleep(50);
      expect((await reopened.stats()).depth).toBe(1);
    }, 30_000);

    it('discards a record whose object was not stored (discardStored): gone for good, not remembered as archived, not back after close and reopen', async () => {
      const { store, queue } = await openFresh();
      const first = await queue.enqueueStored(message(1), { recoverAfterMs: 60_000 });
      const second = await queue.enqueueStored(message(2));
      expect(await queue.discardStored([first!])).toBe(1);
      expect(await queue.discardStored([first!])).toBe(0);
      expect((await queue.stats()).depth).toBe(1);
      // Unlike ackStored, the message is not taken as archived: a submission of it is new, and handed out.
      expect((await queue.enqueue([message(1)]))[0]!.status).toBe('accepted');
      const [again] = await queue.claim({ limit: 10, leaseMs: shortLeaseMs, waitMs: 3_000 });
      expect(again?.messageId).toBe('m-1');
      expectBytes(again!.payload, bytesOf(message(1)));
      expect(await queue.ack(again!)).toBe(true);
      // Only the record still held comes back after a reopen (JetStream once it is due).
      const reopened = await reopen(queue, store);
      const back = await claimAll(reopened, 1, 10_000);
      expect(back.map((entry) => entry.messageId)).toEqual(['m-2']);
      expect(await reopened.claim({ limit: 10, waitMs: shortLeaseMs * 3 })).toEqual([]);
      expect(typeof second).toBe('string');
    }, 30_000);

    it('hands nothing out before its not-before time, and whatever is ready earliest first', async () => {
      const queue = await open();
      const start = Date.now();
      const late = start + 700;
      const sooner = start + 400;
      await queue.enqueue([message(1, 'acme', { notBefore: late }), message(2), message(3, 'acme', { notBefore: sooner })]);
      expect((await queue.claim({ limit: 10 })).map((claimed) => claimed.messageId)).toEqual(['m-2']);
      const second = await queue.claim({ limit: 10, waitMs: 3_000 });
      expect(second.map((claimed) => claimed.messageId)).toEqual(['m-3']);
      expect(Date.now()).toBeGreaterThanOrEqual(sooner - slackMs);
      const third = await queue.claim({ limit: 10, waitMs: 3_000 });
      expect(third.map((claimed) => claimed.messageId)).toEqual(['m-1']);
      expect(Date.now()).toBeGreaterThanOrEqual(late - slackMs);
    });

    it('wakes a waiting claim as soon as a message arrives, and gives up after waitMs otherwise', async () => {
      const queue = await open();
      let started = performance.now();
      expect(await queue.claim({ limit: 1, waitMs: 120 })).toEqual([]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(100);

      started = performance.now();
      const waiting = queue.claim({ limit: 5, waitMs: 10_000 });
      await sleep(50);
      await queue.enqueue([message(7)]);
      expect((await waiting).map((claimed) => claimed.messageId)).toEqual(['m-7']);
      expect(performance.now() - started).toBeLessThan(3_000);

      const controller = new AbortController();
      started = performance.now();
      const aborted = queue.claim({ limit: 1, waitMs: 10_000, signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      expect(await aborted).toEqual([]);
      expect(performance.now() - started).toBeLessThan(3_000);
    });

    it('with maxBytes, returns only as many messages as fit in that many payload bytes, in order, and at least one', async () => {
      const queue = await open();
      // A 5,000-byte message among 1,000-byte ones: larger than the budget, it comes alone.
      const sizes = [1_000, 1_000, 1_000, 5_000, 1_000, 1_000];
      const inputs = sizes.map((size, index) => message(index, 'acme', { payload: `${index}`.padEnd(size, 'x') }));
      expect(inputs.map((input) => bytesOf(input).byteLength)).toEqual(sizes);
      await queue.enqueue(inputs);
      const batches: ClaimedMessage[][] = [];
      for (let round = 0; round < 20 && batches.flat().length < inputs.length; round++) {
        const batch = await queue.claim({ limit: 10, maxBytes: 2_500, waitMs: 2_000 });
        if (batch.length > 0) batches.push(batch);
      }
      expect(batches.flat().map((claimed) => claimed.messageId)).toEqual(inputs.map((input) => input.messageId));
      batches.flat().forEach((claimed, index) => expectBytes(claimed.payload, bytesOf(inputs[index]!)));
      for (const batch of batches) {
        const bytes = batch.reduce((total, claimed) => total + claimed.payload.byteLength, 0);
        // Within the budget, or one message alone.
        expect(bytes <= 2_500 || batch.length === 1).toBe(true);
      }
      expect(batches.find((batch) => batch.some((claimed) => claimed.messageId === 'm-3'))).toHaveLength(1);
      expect(await queue.stats()).toMatchObject({ depth: 6, inFlight: 6 });

      // The count limit still holds, and a budget smaller than any message still gets one.
      await queue.enqueue([message(10), message(11), message(12)]);
      const tiny = await queue.claim({ limit: 10, maxBytes: 1, waitMs: 2_000 });
      expect(tiny.map((claimed) => claimed.messageId)).toEqual(['m-10']);
      const counted = await queue.claim({ limit: 1, maxBytes: 1_000_000, waitMs: 2_000 });
      expect(counted.map((claimed) => claimed.messageId)).toEqual(['m-11']);

      for (const maxBytes of [0, -5, 1.5, Number.NaN, '100']) {
        const error = await rejection(queue.claim({ limit: 1, maxBytes: maxBytes as number }));
        expect(QueueError.isInstance(error) && error.kind).toBe('invalid_input');
        expect((error as Error).message).toContain('maxBytes');
      }
    });

    it('hands a message out again once its lease runs out, and only the newest lease settles it', async () => {
      const queue = await open();
      await queue.enqueue([message(1)]);
      const [first] = await queue.claim({ limit: 1, leaseMs: shortLeaseMs });
      expect(await queue.claim({ limit: 1 })).toEqual([]);
      const [second] = await queue.claim({ limit: 1, waitMs: 5_000 });
      expect(second).toMatchObject({ id: first!.id, deliveries: 2, attempts: 0 });
      expect(second!.leaseId).not.toBe(first!.leaseId);
      expectBytes(second!.payload, bytesOf(message(1)));

      const attempt = { at: Date.now(), kind: 'unreachable' as const, reason: 'stale' };
      expect(await queue.ack(first!)).toBe(false);
      expect(await queue.release(first!)).toBe(false);
      expect(await queue.extendLease(first!, 60_000)).toBe(false);
      expect(await queue.reschedule(first!, { notBefore: Date.now(), attempt })).toBe(false);
      expect(await queue.deadLetter(first!, { kind: 'invalid', reason: 'stale' })).toBe(false);
      expect(await queue.stats()).toMatchObject({ depth: 1, deadLetters: 0 });
      expect(await queue.ack(second!)).toBe(true);
      expect((await queue.stats()).depth).toBe(0);
    });

    it('keeps an extended lease from running out', async () => {
      const queue = await open();
      await queue.enqueue([message(1)]);
      // Extended six times a quarter-lease apart: held well past the original lease.
      const leaseMs = shortLeaseMs * 4;
      const [claimed] = await queue.claim({ limit: 1, leaseMs });
      for (let round = 0; round < 6; round++) {
        await sleep(leaseMs / 4);
        expect(await queue.extendLease(claimed!, leaseMs)).toBe(true);
        expect(await queue.claim({ limit: 1 })).toEqual([]);
      }
      const [again] = await queue.claim({ limit: 1, waitMs: 5_000 });
      expect(again).toMatchObject({ id: claimed!.id, deliveries: 2 });
    });

    it('returns a released message at once without counting an attempt, or at its notBefore', async () => {
      const queue = await open();
      await queue.enqueue([message(1)]);
      const [claimed] = await queue.claim({ limit: 1 });
      expect(await queue.release(claimed!)).toBe(true);
      const [again] = await queue.claim({ limit: 1 });
      expect(again).toMatchObject({ id: claimed!.id, deliveries: 2, attempts: 0, history: [] });

      const notBefore = Date.now() + 400;
      expect(await queue.release(again!, { notBefore })).toBe(true);
      expect(await queue.claim({ limit: 1 })).toEqual([]);
      const [third] = await queue.claim({ limit: 1, waitMs: 3_000 });
      expect(third).toMatchObject({ id: claimed!.id, deliveries: 3 });
      expect(Date.now()).toBeGreaterThanOrEqual(notBefore - slackMs);
    });

    it('hurries the waiting messages of the given projects only, leaving claimed ones and other projects alone', async () => {
      const queue = await open();
      const later = Date.now() + 3_600_000;
      await queue.enqueue([message(1, 'acme', { notBefore: later }), message(2, 'acme', { notBefore: later }), message(3, 'other', { notBefore: later }), message(4, 'acme')]);
      const [held] = await queue.claim({ limit: 1 });
      expect(held).toMatchObject({ messageId: 'm-4' });
      expect(await queue.claim({ limit: 10 })).toEqual([]);
      const waiting = claimAll(queue, 2, 2_000);
      await sleep(50);
      expect(await queue.hurry(['acme', 'nobody'])).toBe(2);
      expect((await waiting).map((claimed) => claimed.messageId).sort()).toEqual(['m-1', 'm-2']);
      expect(await queue.claim({ limit: 10 })).toEqual([]);
      expect(await queue.ack(held!)).toBe(true);
      expect(await queue.hurry([])).toBe(0);
    });

    it('records a reschedule (attempts, history, not-before) durably: it survives close and reopen', async () => {
      const { store, queue } = await openFresh();
      await queue.enqueue([message(1), message(2)]);
      const [claimed] = await queue.claim({ limit: 1 });
      const firstAttempt = { at: Date.now() - 10, kind: 'unreachable' as const, reason: 'The connection to the store was reset.' };
      const notBefore = Date.now() + 1_000;
      expect(await queue.reschedule(claimed!, { notBefore, attempt: firstAttempt })).toBe(true);
      expect(await queue.stats()).toMatchObject({ depth: 2, inFlight: 0 });

      const reopened = await reopen(queue, store);
      expect((await reopened.stats()).depth).toBe(2);
      expect((await reopened.claim({ limit: 10 })).map((next) => next.messageId)).toEqual(['m-2']);
      const [retried] = await reopened.claim({ limit: 1, waitMs: 5_000 });
      expect(Date.now()).toBeGreaterThanOrEqual(notBefore - slackMs);
      expect(retried).toMatchObject({ id: claimed!.id, messageId: 'm-1', attempts: 1, firstAttemptAt: firstAttempt.at, history: [firstAttempt] });
      expectBytes(retried!.payload, bytesOf(message(1)));

      const secondAttempt = { at: Date.now(), kind: 'rate_limited' as const, reason: 'Slow down.' };
      expect(await reopened.reschedule(retried!, { notBefore: Date.now(), attempt: secondAttempt })).toBe(true);
      const [third] = await reopened.claim({ limit: 1, waitMs: 3_000 });
      expect(third).toMatchObject({ attempts: 2, firstAttemptAt: firstAttempt.at, history: [firstAttempt, secondAttempt] });
    });

    it('keeps dead letters with kind, reason, issues, attempts and times across reopen; counts, filters and replays them', async () => {
      const { store, queue } = await openFresh();
      const inputs = [message(1), message(2), message(3), message(4, 'second-project')];
      await queue.enqueue(inputs);
      const claimed = await claimAll(queue, 4);
      const byId = new Map(claimed.map((entry) => [entry.messageId, entry]));
      const t0 = Date.now() - 1_000;
      const firstAttempt = { at: t0, kind: 'unauthorized' as const, reason: 'The credentials were rejected.' };
      expect(await queue.reschedule(byId.get('m-1')!, { notBefore: Date.now(), attempt: firstAttempt })).toBe(true);
      const [m1] = await queue.claim({ limit: 1, waitMs: 3_000 });
      const lastAttempt = { at: t0 + 500, kind: 'unauthorized' as const, reason: 'The credentials were rejected.' };
      const issues = [{ path: 'to', problem: 'must be a valid email address' }];
      const deadBefore = Date.now();
      expect(await queue.deadLetter(m1!, { kind: 'unauthorized', reason: 'Gave up after 2 attempts.', attempt: lastAttempt })).toBe(true);
      expect(await queue.deadLetter(byId.get('m-2')!, { kind: 'invalid', reason: 'Invalid message: to: must be a valid email address', issues })).toBe(true);
      expect(await queue.deadLetter(byId.get('m-3')!, { kind: 'conflict', reason: 'Different content.', attempt: { at: t0, kind: 'conflict', reason: 'x' } })).toBe(true);
      expect(await queue.deadLetter(byId.get('m-4')!, { kind: 'no_destination', reason: 'No destination.' })).toBe(true);
      expect(await queue.stats()).toMatchObject({ depth: 0, inFlight: 0, deadLetters: 4 });
      expect(await queue.countDeadLetters()).toBe(4);
      expect(await queue.countDeadLetters({ kind: 'invalid' })).toBe(1);
      expect(await queue.countDeadLetters({ project: 'second-project' })).toBe(1);
      expect(await queue.countDeadLetters({ ids: [m1!.id, byId.get('m-3')!.id] })).toBe(2);

      const { items } = await queue.listDeadLetters();
      expect(items.map((item) => item.messageId)).toEqual(['m-1', 'm-2', 'm-3', 'm-4']);
      expect(items[0]).toMatchObject({
        id: m1!.id,
        project: 'acme',
        kind: 'unauthorized',
        reason: 'Gave up after 2 attempts.',
        issues: [],
        attempts: 2,
        deliveries: 2,
        firstAttemptAt: t0,
        lastAttemptAt: t0 + 500,
        history: [firstAttempt, lastAttempt],
        payloadBytes: bytesOf(inputs[0]!).byteLength,
      });
      expect(items[0]!.deadAt).toBeGreaterThanOrEqual(deadBefore - slackMs);
      expect(items[0]!.enqueuedAt).toBeLessThanOrEqual(items[0]!.deadAt);
      expect(items[1]).toMatchObject({ kind: 'invalid', issues, attempts: 0, deliveries: 1, history: [] });
      expect(items[1]!.firstAttemptAt).toBeUndefined();
      expect(items[3]).toMatchObject({ project: 'second-project', kind: 'no_destination' });
      for (const item of items) expect(Object.keys(item)).not.toContain('payload');

      const reopened = await reopen(queue, store);
      expect((await reopened.listDeadLetters()).items).toEqual(items);
      expect(await reopened.stats()).toMatchObject({ depth: 0, deadLetters: 4 });

      expect(await reopened.replayDeadLetters({ ids: [items[1]!.id] })).toEqual({ replayed: 1, alreadyQueued: 0 });
      expect(await reopened.countDeadLetters()).toBe(3);
      const [replayed] = await reopened.claim({ limit: 10, waitMs: 3_000 });
      expect(replayed).toMatchObject({ id: items[1]!.id, messageId: 'm-2', attempts: 0, history: [] });
      expectBytes(replayed!.payload, bytesOf(inputs[1]!));
      expect(await reopened.ack(replayed!)).toBe(true);

      expect(await reopened.replayDeadLetters({ kind: 'conflict' })).toEqual({ replayed: 1, alreadyQueued: 0 });
      expect(await reopened.replayDeadLetters({})).toEqual({ replayed: 2, alreadyQueued: 0 });
      expect(await reopened.replayDeadLetters({})).toEqual({ replayed: 0, alreadyQueued: 0 });
      expect(await reopened.stats()).toMatchObject({ depth: 3, deadLetters: 0 });
      const back = await claimAll(reopened, 3);
      expect(back.map((entry) => entry.messageId).sort()).toEqual(['m-1', 'm-3', 'm-4']);
      for (const entry of back) {
        expect(entry.attempts).toBe(0);
        expectBytes(entry.payload, bytesOf(inputs.find((input) => input.messageId === entry.messageId && input.project === entry.project)!));
      }
    });

    it('keeps one copy when a dead letter is replayed after the same message was submitted again', async () => {
      const queue = await open();
      await queue.enqueue([message(1)]);
      const [claimed] = await queue.claim({ limit: 1 });
      await queue.deadLetter(claimed!, { kind: 'unreachable', reason: 'Down for a week.' });
      expect((await queue.enqueue([message(1)]))[0]!.status).toBe('accepted');
      expect(await queue.replayDeadLetters({})).toEqual({ replayed: 0, alreadyQueued: 1 });
      expect(await queue.stats()).toMatchObject({ depth: 1, deadLetters: 0 });
      expect(await claimAll(queue, 2, 300)).toHaveLength(1);
    });

    it('lists dead letters a page at a time, and filters them by time', async () => {
      const queue = await open();
      await queue.enqueue(Array.from({ length: 25 }, (_, index) => message(index)));
      const claimed = await claimAll(queue, 25);
      let middle = 0;
      for (const [index, entry] of claimed.entries()) {
        if (index === 12) {
          await sleep(20);
          middle = Date.now();
          await sleep(20);
        }
        expect(await queue.deadLetter(entry, { kind: 'unreachable', reason: `r${index}` })).toBe(true);
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await queue.listDeadLetters({ limit: 10, ...(cursor === undefined ? {} : { cursor }) });
        seen.push(...page.items.map((item) => item.messageId));
        cursor = page.cursor;
        pages++;
      } while (cursor !== undefined);
      expect(pages).toBe(3);
      expect(seen).toEqual(claimed.map((entry) => entry.messageId));
      expect(await queue.countDeadLetters({ deadBefore: middle })).toBe(12);
      expect(await queue.countDeadLetters({ deadFrom: middle })).toBe(13);
      const late = await queue.listDeadLetters({ filter: { deadFrom: middle }, limit: 100 });
      expect(late.items.map((item) => item.messageId)).toEqual(seen.slice(12));
      const error = await rejection(queue.listDeadLetters({ cursor: 'not-a-cursor' }));
      expect(QueueError.isInstance(error) && error.kind).toBe('invalid_input');
    });

    it('keeps every accepted message of many batches across close and reopen, byte for byte', async () => {
      const { store, queue } = await openFresh();
      const big = 'x'.repeat(200_000);
      const inputs = Array.from({ length: 300 }, (_, index) => message(index, index % 2 === 0 ? 'acme' : 'other', { payload: index === 7 ? JSON.stringify({ big }) : JSON.stringify({ index, body: 'ü'.repeat(index) }) }));
      for (let start = 0; start < inputs.length; start += 100) await queue.enqueue(inputs.slice(start, start + 100));
      const oldest = (await queue.stats()).oldestEnqueuedAt;
      const reopened = await reopen(queue, store);
      expect(await reopened.stats()).toMatchObject({ depth: 300, inFlight: 0, oldestEnqueuedAt: oldest });
      const claimed = await claimAll(reopened, 300);
      expect(claimed).toHaveLength(300);
      const byKey = new Map(inputs.map((input) => [`${input.project}/${input.messageId}`, input]));
      for (const entry of claimed) expectBytes(entry.payload, bytesOf(byKey.get(`${entry.project}/${entry.messageId}`)!));
      expect(new Set(claimed.map((entry) => `${entry.project}/${entry.messageId}`)).size).toBe(300);
    });

    it('gives back claims still held when the queue was closed', async () => {
      const { store, queue } = await openFresh();
      await queue.enqueue([message(1), message(2)]);
      expect(await queue.claim({ limit: 2, leaseMs: shortLeaseMs })).toHaveLength(2);
      const reopened = await reopen(queue, store);
      const back = await claimAll(reopened, 2, 5_000);
      expect(back.map((entry) => entry.messageId).sort()).toEqual(['m-1', 'm-2']);
      expect(back.every((entry) => entry.deliveries === 2)).toBe(true);
    });

    it('refuses calls after close with kind closed, and ends a waiting claim with nothing', async () => {
      const queue = await open();
      const waiting = queue.claim({ limit: 1, waitMs: 10_000 });
      await sleep(20);
      const started = performance.now();
      await queue.close();
      expect(await waiting).toEqual([]);
      expect(performance.now() - started).toBeLessThan(3_000);
      for (const call of [() => queue.enqueue([message(1)]), () => queue.claim({ limit: 1 }), () => queue.stats(), () => queue.countDeadLetters()]) {
        const error = await rejection(call());
        expect(QueueError.isInstance(error) && error.kind).toBe('closed');
      }
      await queue.close();
    });
  });
}
