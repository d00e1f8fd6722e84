import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJetStreamQueue, openJetStreamConfigStore, workerPermissions } from '../src/index.js';
import { natsConnectOptions } from '../src/queue/index.js';
import { messageKey, projectToken } from '../src/queue/jetstream/jetstream-names.js';

// A locked-down deployment (#21 item 10): the worker's user has only the permissions docs/cluster.md
// lists, and a producer's user has none of them.
let nats: NatsTestServer;
beforeAll(async () => {
  const worker = workerPermissions('sentcopy');
  nats = await startNatsServer({
    users: [
      { user: 'worker', password: 'worker-secret', publish: worker.publish, subscribe: worker.subscribe },
      { user: 'producer', password: 'producer-secret', publish: ['orders.>'], subscribe: ['_INBOX.>'] },
    ],
  });
});
afterAll(() => nats?.stop());

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (error: unknown) => String((error as Error).message),
  );

describe('NATS URLs with credentials', () => {
  it('passes them to the client as user and password (or token), and keeps them out of the server URLs', () => {
    expect(natsConnectOptions('nats://worker:p%40ss@10.0.0.5:4222')).toEqual({ servers: ['nats://10.0.0.5:4222'], user: 'worker', pass: 'p@ss' });
    expect(natsConnectOptions('nats://s3cr3t@10.0.0.5:4222,nats://10.0.0.6:4222')).toEqual({ servers: ['nats://10.0.0.5:4222', 'nats://10.0.0.6:4222'], token: 's3cr3t' });
    expect(natsConnectOptions(['10.0.0.5:4222'])).toEqual({ servers: ['nats://10.0.0.5:4222'] });
  });
});

describe('a locked-down NATS deployment', () => {
  it('lets a worker with the documented permissions do all of its work', async () => {
    const url = nats.urlFor('worker');
    const queue = await createJetStreamQueue({ servers: url, ackWaitMs: 2_000 });
    const connection = await connect(natsConnectOptions(url));
    try {
      const store = await openJetStreamConfigStore({ connection });
      await store.close();
      const results = await queue.enqueue([1, 2, 3].map((index) => ({ project: 'acme', messageId: `m-${index}`, payload: `{"n":${index}}` })));
      expect(results.map((result) => result.status)).toEqual(['accepted', 'accepted', 'accepted']);
      const claimed = await queue.claim({ limit: 3, waitMs: 3_000 });
      expect(claimed).toHaveLength(3);
      expect(await queue.reschedule(claimed[0]!, { notBefore: Date.now() + 3_600_000, attempt: { at: Date.now(), kind: 'unreachable', reason: 'Down.' } })).toBe(true);
      expect(await queue.deadLetter(claimed[1]!, { kind: 'invalid', reason: 'Bad.' })).toBe(true);
      expect(await queue.ack(claimed[2]!)).toBe(true);
      expect(await queue.hurry(['acme'])).toBe(1);
      const [again] = await queue.claim({ limit: 1, waitMs: 3_000 });
      expect(again).toMatchObject({ messageId: 'm-1', attempts: 1 });
      expect(await queue.ack(again!)).toBe(true);
      expect((await queue.listDeadLetters()).items.map((item) => item.messageId)).toEqual(['m-2']);
      expect(await queue.replayDeadLetters({})).toEqual({ replayed: 1, alreadyQueued: 0 });
      const [replayed] = await queue.claim({ limit: 1, waitMs: 3_000 });
      // A version (other content under m-2) is kept; dead-lettered and discarded, it leaves its record.
      expect((await queue.enqueue([{ project: 'acme', messageId: 'm-2', payload: '{"n":2,"corrected":true}' }]))[0]).toMatchObject({ status: 'accepted', version: true });
      expect(await queue.ack(replayed!)).toBe(true);
      const [version] = await queue.claim({ limit: 1, waitMs: 3_000 });
      expect(await queue.deadLetter(version!, { kind: 'conflict', reason: 'Taken.' })).toBe(true);
      expect(await queue.discardDeadLetters({ project: 'acme' }, 'test')).toEqual({ discarded: 1, ids: [version!.id] });
      expect((await queue.listDiscardedDeadLetters()).items.map((item) => item.messageId)).toEqual(['m-2']);
      expect(await queue.repair()).toBe(0);
      expect(await queue.stats()).toMatchObject({ depth: 0, deadLetters: 0 });
    } finally {
      await connection.close();
      await queue.close();
    }
  }, 60_000);

  it('refuses a producer that tries to forge queued content, a duplicate answer or a dead letter, or to read them', async () => {
    const queue = await createJetStreamQueue({ servers: nats.urlFor('worker') });
    const connection = await connect(natsConnectOptions(nats.urlFor('producer')));
    try {
      const client = jetstream(connection, { timeout: 1_000 });
      const key = messageKey('acme', 'forged');
      expect(await refusal(client.publish(`sentcopy.queue.${projectToken('acme')}`, '{"forged":true}'))).not.toBe('accepted');
      expect(await refusal(client.publish(`$KV.sentcopy-archived.${key}`, ''))).not.toBe('accepted');
      expect(await refusal(client.publish(`$KV.sentcopy-queued.${key}`, '{"g":"x"}'))).not.toBe('accepted');
      expect(await refusal(client.publish(`sentcopy.dead.record.${projectToken('acme')}`, '{}'))).not.toBe('accepted');
      expect(await refusal(client.publish(`sentcopy.discarded.${projectToken('acme')}`, '{}'))).not.toBe('accepted');
      expect(await refusal(new Kvm(connection).open('sentcopy-archived').then((kv) => kv.get(key)))).not.toBe('accepted');
      expect(await refusal(jetstreamManager(connection).then((manager) => manager.streams.info('SENTCOPY_DEAD')))).not.toBe('accepted');
      // None of it reached the queue.
      expect(await queue.stats()).toMatchObject({ depth: 0, deadLetters: 0 });
      expect((await queue.enqueue([{ project: 'acme', messageId: 'forged', payload: '{}' }]))[0]!.status).toBe('accepted');
      const [claimed] = await queue.claim({ limit: 1, waitMs: 3_000 });
      expect(Buffer.from(claimed!.payload).toString()).toBe('{}');
      expect(await queue.ack(claimed!)).toBe(true);
    } finally {
      await connection.close();
      await queue.close();
    }
  }, 60_000);
});
