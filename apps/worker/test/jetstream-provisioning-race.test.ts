import { randomBytes } from 'node:crypto';
import { startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJetStreamQueue } from '../src/index.js';

// Workers started together (an orchestrator rolling out a fresh deployment) race to create the
// same streams, consumers and buckets; none of them may fail to start over it.
let nats: NatsTestServer;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats?.stop();
});

describe('JetStream provisioning', () => {
  it('lets four workers start at once on a fresh deployment, round after round, and share one queue', async () => {
    for (let round = 0; round < 60; round++) {
      const name = `race${randomBytes(5).toString('hex')}`;
      const started = await Promise.allSettled(Array.from({ length: 4 }, () => createJetStreamQueue({ servers: nats.url, name, ackWaitMs: 2_000 })));
      const queues = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      try {
        expect(started.filter((result) => result.status === 'rejected').map((result) => String((result as PromiseRejectedResult).reason))).toEqual([]);
        // One queue: what one worker enqueues, another claims.
        await queues[0]!.enqueue([{ project: 'shop', messageId: `m-${round}`, payload: new TextEncoder().encode(`{"n":${round}}`) }]);
        const claimed = await queues[3]!.claim({ limit: 10, leaseMs: 5_000, waitMs: 2_000 });
        expect(claimed.map((message) => message.messageId)).toEqual([`m-${round}`]);
      } finally {
        await Promise.all(queues.map((queue) => queue.close()));
      }
    }
  }, 90_000);
});
