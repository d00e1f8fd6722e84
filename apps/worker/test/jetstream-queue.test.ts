import { randomBytes } from 'node:crypto';
import { startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll } from 'vitest';
import { createJetStreamQueue } from '../src/index.js';
import { describeQueueBehaviour } from './queue-behaviour.js';

let nats: NatsTestServer;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(() => nats?.stop());

describeQueueBehaviour('jetstream', {
  newStore: async () => `t${randomBytes(5).toString('hex')}`,
  open: (store) => createJetStreamQueue({ servers: nats.url, name: store, ackWaitMs: 2_000 }),
});
