export { backoffDelay, retryAfterMs } from './backoff.js';
export type { ArchiveOptions, ClientHealth, CloseOptions, CloseReport, SentcopyClientOptions, UndeliveredMessage } from './client-options.js';
export {
  ArchiveFailedError,
  BufferFullError,
  ClientClosedError,
  MessageRejectedError,
  SentcopyClientError,
  UndeliveredError,
  WorkerRefusedError,
  WorkerUnavailableError,
} from './errors.js';
export type { ArchiveFailureKind, ClientErrorCode } from './errors.js';
export type { ArchiveResult, ClientMessage, FieldError, MessageInput, SendResult } from './results.js';
export { createSentcopyClient, SentcopyClient } from './sentcopy-client.js';
