export { createJetStreamQueue } from './create-jetstream-queue.js';
export type { JetStreamQueue } from './create-jetstream-queue.js';
export type { JetStreamQueueOptions } from './jetstream-queue-options.js';
export { queueRetentionMs } from './queue-retention.js';
export { workerPermissions } from './jetstream-permissions.js';
export type { NatsPermissions } from './jetstream-permissions.js';
export { natsConnectOptions } from './nats-connection.js';
export { assertJetStream } from './provisioning.js';
