import { sampleMessages } from '@sentcopy/core';
import { describe, expect, it } from 'vitest';
import { createSentcopyClient, MessageRejectedError, WorkerRefusedError, type ClientMessage, type SentcopyClientError } from '../src/index.js';
import { apiKey, startWorker, storedKeys, storedMessages, waitFor } from './worker-fixture.js';

const byId = (messages: readonly Record<string, unknown>[]) => new Map(messages.map((message) => [String(message.message_id), message]));

describe('send()', () => {
  it('delivers 2,000 messages: each is accepted once and lands in the archive exactly once, decoding to what was sent', async () => {
    const target = await startWorker();
    const client = createSentcopyClient({ url: target.url, apiKey });
    try {
      const messages = sampleMessages({ projectId: 'shop', count: 2000 }) as unknown as ClientMessage[];
      const results = await Promise.all(client.send(messages));
      expect(results.map((result) => result.status)).toEqual(messages.map(() => 'accepted'));
      expect(results.map((result) => result.messageId)).toEqual(messages.map((message) => message.message_id));
      await waitFor(() => storedKeys(target.root).length >= 2000, 'the 2,000 copies');
      const stored = storedMessages(target.root);
      expect(stored).toHaveLength(2000);
      const storedById = byId(stored);
      expect(storedById.size).toBe(2000);
      for (const message of messages) expect(storedById.get(String(message.message_id))).toEqual(message);
      expect(client.health()).toMatchObject({ state: 'ok', waitingMessages: 0, waitingBytes: 0 });
      expect(await client.close()).toEqual({ delivered: 2000, rejected: 0, undelivered: [] });
    } finally {
      await target.worker.stop();
    }
  }, 120_000);

  it('gives the caller the field errors of a rejected message while the rest of its batch is stored', async () => {
    const target = await startWorker();
    const reported: SentcopyClientError[] = [];
    const client = createSentcopyClient({ url: target.url, apiKey, onRejected: (error) => reported.push(error) });
    try {
      const messages = sampleMessages({ projectId: 'shop', count: 10 }) as unknown as Record<string, unknown>[];
      const { to: _dropped, ...withoutRecipient } = messages[4]!;
      const batch = [...messages.slice(0, 4), { ...withoutRecipient, message_id: 'bad-1' }, ...messages.slice(5)] as ClientMessage[];
      const settled = await Promise.allSettled(client.send(batch));
      const rejected = settled[4];
      expect(rejected?.status).toBe('rejected');
      const error = (rejected as PromiseRejectedResult).reason as MessageRejectedError;
      expect(MessageRejectedError.isInstance(error)).toBe(true);
      expect(error.messageId).toBe('bad-1');
      expect(error.reason).toBe('invalid');
      expect(error.errors.map((fieldError) => fieldError.field)).toContain('to');
      expect(error.message).toContain('to:');
      expect(reported).toEqual([error]);
      const others = settled.filter((_, index) => index !== 4);
      expect(others.map((result) => (result.status === 'fulfilled' ? result.value.status : 'failed'))).toEqual(new Array(9).fill('accepted'));
      await waitFor(() => storedKeys(target.root).length >= 9, 'the nine good copies');
      const stored = byId(storedMessages(target.root));
      expect([...stored.keys()].sort()).toEqual(
        batch
          .filter((_, index) => index !== 4)
          .map((message) => message.message_id)
          .sort(),
      );
      expect(await client.close()).toEqual({ delivered: 9, rejected: 1, undelivered: [] });
    } finally {
      await target.worker.stop();
    }
  }, 60_000);

  it('rejects every message of a request the worker refuses (an unknown API key) with WorkerRefusedError, and reports each to onRejected', async () => {
    const target = await startWorker();
    const wrongKey = 'sc_wrong_key_for_this_worker_00000000000000000';
    const reported: string[] = [];
    const client = createSentcopyClient({ url: target.url, apiKey: wrongKey, onRejected: (error, message) => reported.push(`${error.code} ${(message as ClientMessage).message_id}`) });
    try {
      const messages = sampleMessages({ projectId: 'shop', count: 3 }) as unknown as ClientMessage[];
      const settled = await Promise.allSettled(client.send(messages));
      for (const outcome of settled) {
        expect(outcome.status).toBe('rejected');
        const error = (outcome as PromiseRejectedResult).reason as WorkerRefusedError;
        expect(WorkerRefusedError.isInstance(error)).toBe(true);
        expect({ status: error.status, workerCode: error.workerCode }).toEqual({ status: 401, workerCode: 'unauthorized' });
        expect(`${error.message} ${error.stack}`).not.toContain(wrongKey);
      }
      expect(reported).toEqual(messages.map((message) => `worker_refused ${message.message_id}`));
      expect(storedKeys(target.root)).toEqual([]);
      expect(await client.close()).toEqual({ delivered: 0, rejected: 3, undelivered: [] });
    } finally {
      await target.worker.stop();
    }
  }, 60_000);

  it('refuses at once what cannot be JSON (a cycle, a BigInt, not an object) while the good messages beside it are stored', async () => {
    const target = await startWorker();
    const client = createSentcopyClient({ url: target.url, apiKey });
    try {
      const good = sampleMessages({ projectId: 'shop', count: 2, seed: 21 }) as unknown as ClientMessage[];
      const cyclic: Record<string, unknown> = { ...good[0]!, message_id: 'cyclic' };
      cyclic.extras = cyclic;
      const big = { ...good[0]!, message_id: 'bigint', extras: { count: 10n } };
      const settled = await Promise.allSettled(client.send([good[0]!, cyclic as ClientMessage, big as unknown as ClientMessage, 42 as unknown as ClientMessage, good[1]!]));
      expect(settled.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.status : (outcome.reason as MessageRejectedError).message))).toEqual([
        'accepted',
        'Message "cyclic" was rejected (invalid): cannot be serialized as JSON (TypeError).',
        'Message "bigint" was rejected (invalid): cannot be serialized as JSON (TypeError).',
        'A message was rejected (invalid): must be a JSON object.',
        'accepted',
      ]);
      await waitFor(() => storedKeys(target.root).length >= 2, 'the two good copies');
      expect([...byId(storedMessages(target.root)).keys()].sort()).toEqual(good.map((message) => String(message.message_id)).sort());
      expect(await client.close()).toEqual({ delivered: 2, rejected: 3, undelivered: [] });
    } finally {
      await target.worker.stop();
    }
  }, 60_000);
});
