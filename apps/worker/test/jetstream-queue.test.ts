import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, headers } from '@nats-io/transport-node';
import { resolveRetryPolicy } from '@sentcopy/core';
import { startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJetStreamQueue, QueueError, queueRetentionMs } from '../src/index.js';
import { messageKey } from '../src/queue/jetstream/jetstream-names.js';
import { identify } from '../src/queue/jetstream/message-identity.js';
import { describeQueueBehaviour } from './queue-behaviour.js';
import { describeQueueVersionBehaviour } from './queue-version-behaviour.js';

let nats: NatsTestServer;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(() => nats?.stop());

describeQueueBehaviour('jetstream', {
  newStore: async () => `t${randomBytes(5).toString('hex')}`,
  open: (store) => createJetStreamQueue({ servers: nats.url, name: store, ackWaitMs: 2_000 }),
});

describeQueueVersionBehaviour('jetstream', {
  open: () => createJetStreamQueue({ servers: nats.url, name: `v${randomBytes(5).toString('hex')}`, ackWaitMs: 2_000 }),
});

describe('JetStream queue when the NATS server crashes', () => {
  // JetStream is at-least-once: acks around a kill -9 of the server may not reach its files, so the
  // messages in hand at the crash can come back once; the write-once destination absorbs that.
  it('refuses new messages while the server is down, then loses none, and hands out again only messages in hand at the crash', async () => {
    const server = await startNatsServer();
    const queue = await createJetStreamQueue({ servers: server.url, name: `k${randomBytes(5).toString('hex')}`, ackWaitMs: 1_000 });
    try {
      const total = 500;
      const results = await queue.enqueue(Array.from({ length: total }, (_, index) => ({ project: 'acme', messageId: `m-${index}`, payload: `{"n":${index}}` })));
      expect(results.every((result) => result.status === 'accepted')).toBe(true);
      const settled = new Map<string, number>();
      const settle = async (claimed: Awaited<ReturnType<typeof queue.claim>>) => {
        for (const message of claimed) {
          if (await queue.ack(message)) settled.set(message.messageId, (settled.get(message.messageId) ?? 0) + 1);
        }
      };
      await settle(await queue.claim({ limit: 50 }));
      const ackedBeforeTheCrash = new Set(settled.keys());
      const heldAcrossTheCrash = await queue.claim({ limit: 50 });
      expect(heldAcrossTheCrash).toHaveLength(50);

      await server.kill();
      const refused = await queue.enqueue([{ project: 'acme', messageId: 'during-outage', payload: '{}' }]).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(QueueError.isInstance(refused) && refused.kind).toBe('storage');
      await server.restart();

      await settle(heldAcrossTheCrash);
      const inHand = new Set([...ackedBeforeTheCrash, ...heldAcrossTheCrash.map((message) => message.messageId)]);
      for (let round = 0; round < 120 && (settled.size < total || (await queue.stats()).depth > 0); round++) await settle(await queue.claim({ limit: 100, waitMs: 500 }));
      expect(settled.size).toBe(total);
      const again = [...settled].filter(([, count]) => count > 1);
      expect(again.filter(([messageId, count]) => !inHand.has(messageId) || count > 2)).toEqual([]);
      expect(await queue.stats()).toMatchObject({ depth: 0, deadLetters: 0 });
    } finally {
      await queue.close();
      await server.stop();
    }
  }, 60_000);
});

describe('JetStream retention', () => {
  it('keeps messages at least as long as the retry policy may retry them, and never shorter', async () => {
    const hour = 3_600_000;
    expect(queueRetentionMs(resolveRetryPolicy())).toBe(0);
    const finite = resolveRetryPolicy({ rateLimited: { maxAgeMs: 24 * hour } });
    const horizon = finite.outage.maxAgeMs + finite.outage.slowIntervalMs * (1 + finite.outage.slowJitterRatio);
    expect(queueRetentionMs(finite)).toBeGreaterThanOrEqual(horizon);
    expect(queueRetentionMs(resolveRetryPolicy({ rateLimited: { maxAgeMs: 30 * 24 * hour } }))).toBeGreaterThanOrEqual(30 * 24 * hour);

    const name = `r${randomBytes(5).toString('hex')}`;
    const queue = await createJetStreamQueue({ servers: nats.url, name, retentionMs: queueRetentionMs(finite) });
    const connection = await connect({ servers: nats.url });
    try {
      const manager = await jetstreamManager(connection);
      expect((await manager.streams.info(`${name.toUpperCase()}_QUEUE`)).config.max_age).toBe(queueRetentionMs(finite) * 1_000_000);
    } finally {
      await connection.close();
      await queue.close();
    }
  });
});

describe('JetStream queue fed garbage', () => {
  it('drops what it did not publish and survives damaged state, without holding up good messages', async () => {
    const name = `g${randomBytes(5).toString('hex')}`;
    const queue = await createJetStreamQueue({ servers: nats.url, name, ackWaitMs: 1_000 });
    const connection = await connect({ servers: nats.url });
    try {
      const [first] = await queue.enqueue([{ project: 'acme', messageId: 'good-1', payload: '{"n":1}' }]);
      // Someone else's messages on the queue's subjects, with and without headers that look like ours.
      const js = jetstream(connection);
      await js.publish(`${name}.queue.x`, new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
      const forged = headers();
      forged.set('Sc-Id', '../../etc/passwd');
      forged.set('Sc-Generation', '0zzz');
      await js.publish(`${name}.queue.eA`, '{}', { headers: forged });
      // A damaged queued-ids entry for a queued message.
      const damaged = await new Kvm(connection).open(`${name}-queued`);
      await damaged.put(messageKey('acme', 'good-1'), 'not json {');
      await queue.enqueue([{ project: 'acme', messageId: 'good-2', payload: '{"n":2}' }]);

      const claimed: string[] = [];
      for (let round = 0; round < 20 && claimed.length < 2; round++) {
        for (const message of await queue.claim({ limit: 10, waitMs: 200 })) {
          claimed.push(message.messageId);
          expect(await queue.ack(message)).toBe(true);
        }
      }
      expect(claimed.sort()).toEqual(['good-1', 'good-2']);
      expect((await queue.enqueue([{ project: 'acme', messageId: 'good-1', payload: '{"n":1}' }]))[0]!.status).toBe('duplicate');
      await expect.poll(async () => (await queue.stats()).depth, { timeout: 5_000 }).toBe(0);
      // Other content under the id of the damaged entry is kept, not refused: the entry is left as it is.
      expect((await queue.enqueue([{ project: 'acme', messageId: 'good-1', payload: '{"n":1,"corrected":true}' }]))[0]!.status).toBe('accepted');
      const [corrected] = await queue.claim({ limit: 1, waitMs: 3_000 });
      expect(Buffer.from(corrected!.payload).toString('utf8')).toBe('{"n":1,"corrected":true}');
      expect(await queue.reschedule(corrected!, { notBefore: Date.now(), attempt: { at: Date.now(), kind: 'unreachable', reason: 'Down.' } })).toBe(true);
      const [retried] = await queue.claim({ limit: 1, waitMs: 3_000 });
      expect(retried).toMatchObject({ id: corrected!.id, attempts: 1 });
      expect(await queue.ack(retried!)).toBe(true);
    } finally {
      await connection.close();
      await queue.close();
    }
  });
});

describe('JetStream queue after a worker died between recording a message and publishing it', () => {
  it('publishes the message when it is submitted again, so the duplicate answer never hides a loss', async () => {
    const name = `u${randomBytes(5).toString('hex')}`;
    const queue = await createJetStreamQueue({ servers: nats.url, name });
    const connection = await connect({ servers: nats.url });
    try {
      const message = { project: 'acme', messageId: 'm-1', payload: '{"n":1,"text":"héllo"}' };
      // Recreate what the dead worker left: the queued-ids entry of m-1, still marked unpublished,
      // and nothing in the stream.
      const template = { project: 'acme', messageId: 'm-0', payload: '{}' };
      await queue.enqueue([template]);
      const entries = await new Kvm(connection).open(`${name}-queued`);
      const shape = (await entries.get(messageKey('acme', 'm-0')))!.json<{ v: Record<string, Record<string, unknown>> }>();
      const versionShape = shape.v[identify('acme', 'm-0', Buffer.from(template.payload)).version]!;
      const first = identify('acme', 'm-1', Buffer.from(message.payload));
      await entries.put(messageKey('acme', 'm-1'), JSON.stringify({ v: { [first.version]: { ...versionShape, g: 'died', u: 1 } } }));
      const [zero] = await queue.claim({ limit: 1 });
      expect(await queue.ack(zero!)).toBe(true);
      expect((await queue.stats()).depth).toBe(0);

      expect((await queue.enqueue([message]))[0]).toEqual({ status: 'duplicate', id: first.id });
      const [claimed] = await queue.claim({ limit: 1, waitMs: 3_000 });
      expect(claimed).toMatchObject({ id: first.id, messageId: 'm-1' });
      expect(Buffer.from(claimed!.payload).toString('utf8')).toBe(message.payload);
      expect(await queue.ack(claimed!)).toBe(true);
      // Submitted once more: published copies are not multiplied.
      expect((await queue.enqueue([message]))[0]!.status).toBe('duplicate');
      expect((await queue.stats()).depth).toBe(0);
    } finally {
      await connection.close();
      await queue.close();
    }
  });
});

describe('JetStream queue on a server without JetStream', () => {
  it('says how to start the server, instead of failing obscurely', async () => {
    const plain = await startNatsServer({ jetstream: false });
    try {
      const error = await createJetStreamQueue({ servers: plain.url, name: 'x' }).then(
        async (queue) => {
          await queue.close();
          return undefined;
        },
        (caught: unknown) => caught,
      );
      expect(QueueError.isInstance(error) && error.kind).toBe('storage');
      expect((error as Error).message).toContain('nats-server -js');
    } finally {
      await plain.stop();
    }
  });
});
