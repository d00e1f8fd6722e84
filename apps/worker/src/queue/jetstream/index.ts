export { createJetStreamQueue } from './create-jetstream-queue.js';
export type { JetStreamQueue } from './create-jetstream-queue.js';
export type { JetStreamQueueOptions } from './jetstream-queue-options.js';
export { queueRetentionMs } from './queue-retention.js';
