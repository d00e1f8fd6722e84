import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { QueueError, type MessageQueue, type QueueMessageInput } from '../src/index.js';

/**
 * Same message id, different content; and discarding dead letters for good. Every queue runs this
 * next to `describeQueueBehaviour`: the embedded queue (`embedded-queue-versions.test.ts`) and
 * JetStream (`jetstream-queue.test.ts`).
 */
export interface QueueVersionTarget {
  /** Opens a fresh, empty queue. */
  open(): Promise<MessageQueue>;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const input = (messageId: string, payload: string, project = 'acme'): QueueMessageInput => ({ project, messageId, payload });

export function describeQueueVersionBehaviour(name: string, target: QueueVersionTarget): void {
  describe(`MessageQueue versions and discard: ${name}`, () => {
    const opened: MessageQueue[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((queue) => queue.close()));
    });
    const open = async () => {
      const queue = await target.open();
      opened.push(queue);
      return queue;
    };

    it('keeps a different payload under a queued message id as a second version, and answers the same payload duplicate', async () => {
      const queue = await open();
      const results = await queue.enqueue([input('m-1', '{"body":"first"}'), input('m-1', '{"body":"first"}'), input('m-1', '{"body":"second"}')]);
      expect(results.map((result) => [result.status, result.version])).toEqual([
        ['accepted', undefined],
        ['duplicate', undefined],
        ['accepted', true],
      ]);
      expect(results[1]!.id).toBe(results[0]!.id);
      // Again, in later batches, while both are queued: duplicates of their own version.
      expect((await queue.enqueue([input('m-1', '{"body":"second"}'), input('m-1', '{"body":"first"}')])).map((result) => result.status)).toEqual(['duplicate', 'duplicate']);
      const claimed = await queue.claim({ limit: 10 });
      expect(claimed.map((message) => Buffer.from(message.payload).toString('utf8'))).toEqual(['{"body":"first"}', '{"body":"second"}']);
      expect(claimed.map((message) => message.messageId)).toEqual(['m-1', 'm-1']);
      // After both are archived, within the window: a resend of either is a duplicate, a third content a version.
      for (const message of claimed) expect(await queue.ack(message)).toBe(true);
      const later = await queue.enqueue([input('m-1', '{"body":"second"}'), input('m-1', '{"body":"first"}'), input('m-1', '{"body":"third"}'), input('m-1', '{"body":"third"}', 'other-project')]);
      expect(later.map((result) => [result.status, result.version])).toEqual([
        ['duplicate', undefined],
        ['duplicate', undefined],
        ['accepted', true],
        ['accepted', undefined],
      ]);
      expect((await queue.stats()).depth).toBe(2);
    });

    it('keeps versions apart: each has its own id and lease, and settling one leaves the other queued', async () => {
      const queue = await open();
      const [first, second] = await queue.enqueue([input('m-4', '{"n":1}'), input('m-4', '{"n":2}')]);
      expect(first!.id).not.toBe(second!.id);
      const claimed = await queue.claim({ limit: 10 });
      expect(claimed.map((message) => message.id)).toEqual([first!.id, second!.id]);
      expect(await queue.deadLetter(claimed[0]!, { kind: 'invalid', reason: 'bad' })).toBe(true);
      expect(await queue.reschedule(claimed[1]!, { notBefore: Date.now(), attempt: { at: Date.now(), kind: 'unreachable', reason: 'down' } })).toBe(true);
      // The lease of the one settled first belonged to it alone: the other is still queued, a resend of it a duplicate.
      expect((await queue.enqueue([input('m-4', '{"n":2}')])).map((result) => result.status)).toEqual(['duplicate']);
      const again = await queue.claim({ limit: 10, waitMs: 3_000 });
      expect(again.map((message) => [message.id, message.attempts, Buffer.from(message.payload).toString('utf8')])).toEqual([[second!.id, 1, '{"n":2}']]);
      expect(await queue.ack(again[0]!)).toBe(true);
      expect((await queue.listDeadLetters()).items.map((letter) => [letter.id, letter.messageId])).toEqual([[first!.id, 'm-4']]);
      // The dead one's content is no longer queued: sent again, it is queued anew, as a version of the archived one.
      expect(await queue.enqueue([input('m-4', '{"n":1}')])).toEqual([expect.objectContaining({ status: 'accepted', version: true })]);
    });

    it('replays a dead letter unless the same payload is queued again; another version under its id does not stop it', async () => {
      const queue = await open();
      await queue.enqueue([input('m-2', '{"v":1}'), input('m-3', '{"v":1}')]);
      for (const message of await queue.claim({ limit: 2 })) expect(await queue.deadLetter(message, { kind: 'conflict', reason: 'test' })).toBe(true);
      // m-2 is sent again with the same bytes (queued again), m-3 with other bytes (a version).
      expect((await queue.enqueue([input('m-2', '{"v":1}'), input('m-3', '{"v":2}')])).map((result) => result.status)).toEqual(['accepted', 'accepted']);
      expect(await queue.replayDeadLetters({})).toEqual({ replayed: 1, alreadyQueued: 1 });
      const claimed = await queue.claim({ limit: 10 });
      expect(claimed.map((message) => `${message.messageId} ${Buffer.from(message.payload).toString('utf8')}`).sort()).toEqual(['m-2 {"v":1}', 'm-3 {"v":1}', 'm-3 {"v":2}']);
    });

    it('discards dead letters for good only with a reason, scoped by the filter, and keeps a record of each', async () => {
      const queue = await open();
      await queue.enqueue([input('d-1', '{"d":1}'), input('d-2', '{"d":2}'), input('d-3', '{"d":3}', 'other')]);
      const claimed = await queue.claim({ limit: 3 });
      for (const message of claimed) expect(await queue.deadLetter(message, { kind: message.messageId === 'd-2' ? 'invalid' : 'conflict', reason: `dead ${message.messageId}` })).toBe(true);
      const id = (messageId: string) => claimed.find((message) => message.messageId === messageId)!.id;

      for (const reason of ['', '   ', undefined as unknown as string]) {
        const error = await queue.discardDeadLetters({ project: 'acme' }, reason).catch((caught: unknown) => caught);
        expect(QueueError.isInstance(error) && error.kind).toBe('invalid_input');
      }
      expect(await queue.countDeadLetters()).toBe(3);

      const before = Date.now();
      const result = await queue.discardDeadLetters({ project: 'acme', kind: 'conflict' }, '  sent twice by a bug; the first copy is the right one  ');
      expect(result).toEqual({ discarded: 1, ids: [id('d-1')] });
      expect(await queue.countDeadLetters()).toBe(2);
      expect((await queue.listDeadLetters()).items.map((letter) => letter.messageId).sort()).toEqual(['d-2', 'd-3']);
      // Gone for good: a replay of everything cannot bring it back.
      expect(await queue.discardDeadLetters({ ids: [id('d-1')] }, 'again')).toEqual({ discarded: 0, ids: [] });

      const records = await queue.listDiscardedDeadLetters({ project: 'acme' });
      expect(records.items).toEqual([
        expect.objectContaining({
          id: id('d-1'),
          project: 'acme',
          messageId: 'd-1',
          kind: 'conflict',
          reason: 'dead d-1',
          discardReason: 'sent twice by a bug; the first copy is the right one',
          payloadSha256: sha256('{"d":1}'),
          payloadBytes: 7,
          attempts: 0,
        }),
      ]);
      expect(records.items[0]!.discardedAt).toBeGreaterThanOrEqual(before - 15);
      expect((await queue.listDiscardedDeadLetters({ project: 'other' })).items).toEqual([]);

      expect(await queue.discardDeadLetters({ project: 'other' }, 'test data')).toEqual({ discarded: 1, ids: [id('d-3')] });
      const all = await queue.listDiscardedDeadLetters({ limit: 1 });
      expect(all.items.map((record) => record.messageId)).toEqual(['d-1']);
      const next = await queue.listDiscardedDeadLetters({ limit: 1, cursor: all.cursor! });
      expect(next.items.map((record) => record.messageId)).toEqual(['d-3']);
      expect(next.cursor).toBeUndefined();
      expect(await queue.replayDeadLetters({})).toEqual({ replayed: 1, alreadyQueued: 0 });
      expect((await queue.claim({ limit: 10 })).map((message) => message.messageId)).toEqual(['d-2']);
      expect((await queue.stats()).deadLetters).toBe(0);
    });
  });
}
