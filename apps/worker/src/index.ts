export { createJsonLineLogger } from './logging/index.js';
export type { LogEntry, LogLevel, WorkerLogger } from './logging/index.js';
export { createProcessor, decodePayload } from './processor/index.js';
export type { OutcomeMessage, ProcessOutcome, Processor, ProcessorOptions, StopOptions, StopReport } from './processor/index.js';
export { createEmbeddedQueue, deadLetterKinds, QueueError } from './queue/index.js';
export type {
  AttemptRecord,
  ClaimedMessage,
  ClaimOptions,
  DeadLetter,
  DeadLetterFilter,
  DeadLetterKind,
  DeadLetterOptions,
  DeadLetterPage,
  EmbeddedQueue,
  EmbeddedQueueOptions,
  EnqueueResult,
  LeaseRef,
  ListDeadLettersOptions,
  MessageQueue,
  QueueErrorKind,
  QueueMessageInput,
  QueueStats,
  ReplayResult,
  RescheduleOptions,
} from './queue/index.js';
