export { deadLetterKinds } from './message-queue.js';
export type {
  AttemptRecord,
  ClaimedMessage,
  ClaimOptions,
  DeadLetter,
  DeadLetterFilter,
  DeadLetterKind,
  DeadLetterOptions,
  DeadLetterPage,
  EnqueueResult,
  LeaseRef,
  ListDeadLettersOptions,
  MessageQueue,
  QueueMessageInput,
  QueueStats,
  ReplayResult,
  RescheduleOptions,
} from './message-queue.js';
export { QueueError } from './queue-error.js';
export type { QueueErrorKind } from './queue-error.js';
export { createEmbeddedQueue } from './embedded/index.js';
export type { EmbeddedQueue, EmbeddedQueueOptions } from './embedded/index.js';
export { assertJetStream, createJetStreamQueue, natsConnectOptions, queueRetentionMs, workerPermissions } from './jetstream/index.js';
export type { JetStreamQueue, JetStreamQueueOptions, NatsPermissions } from './jetstream/index.js';
