export { deadLetterKinds, queueProblems } from './message-queue.js';
export type {
  AttemptRecord,
  ClaimedMessage,
  ClaimOptions,
  DeadLetter,
  DeadLetterFilter,
  DeadLetterKind,
  DeadLetterOptions,
  DeadLetterPage,
  DiscardedDeadLetter,
  DiscardedPage,
  DiscardResult,
  EnqueueResult,
  EnqueueStoredOptions,
  LeaseRef,
  ListDeadLettersOptions,
  ListDiscardedOptions,
  MessageQueue,
  QueueHealth,
  QueueMessageInput,
  QueueProblem,
  QueueStats,
  ReplayResult,
  RescheduleOptions,
} from './message-queue.js';
export { QueueError } from './queue-error.js';
export type { QueueErrorKind } from './queue-error.js';
export { createEmbeddedQueue, salvageEmbeddedQueue } from './embedded/index.js';
export type { EmbeddedQueue, EmbeddedQueueOptions, SalvageDamagedRange, SalvageEmbeddedQueueOptions, SalvageLostMessage, SalvageReport } from './embedded/index.js';
export { assertJetStream, createJetStreamQueue, natsConnectOptions, queueRetentionMs, workerPermissions } from './jetstream/index.js';
export type { JetStreamQueue, JetStreamQueueOptions, NatsPermissions } from './jetstream/index.js';
