import type { FieldError } from './results.js';

const marker = Symbol.for('sentcopy.client.error');

/** What kind of client error this is; each value has its own class. */
export type ClientErrorCode = 'message_rejected' | 'worker_refused' | 'worker_unavailable' | 'buffer_full' | 'archive_failed' | 'undelivered' | 'client_closed';

/**
 * The base of every error this library throws or rejects with. Errors never carry the API key or
 * message contents; a message is named by its `message_id` only.
 */
export class SentcopyClientError extends Error {
  /** What kind of error this is. */
  readonly code: ClientErrorCode;

  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SentcopyClientError';
    this.code = code;
    Object.defineProperty(this, marker, { value: true });
  }

  /** Whether `error` is any error of this library, also across duplicate installs. */
  static isInstance(error: unknown): error is SentcopyClientError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}

const hasCode = (error: unknown, code: ClientErrorCode) => SentcopyClientError.isInstance(error) && error.code === code;

const describeErrors = (errors: readonly FieldError[]) => errors.map((error) => (error.field === '' ? error.problem : `${error.field}: ${error.problem}`)).join('; ');

/**
 * The worker refused a message: it cannot be archived as it is (invalid fields, over a size limit,
 * another project, a channel the project does not archive). Sending it again will not help; fix it.
 */
export class MessageRejectedError extends SentcopyClientError {
  /** The message's id, when it had a usable one. */
  readonly messageId: string | undefined;
  /** The worker's reason: `invalid`, `too_large`, `wrong_project`, `channel_disabled`, or another the worker may add. */
  readonly reason: string;
  /** Each field at fault and its problem; `field` is `''` for the message as a whole (its size, say). */
  readonly errors: readonly FieldError[];

  constructor(details: { messageId: string | undefined; reason: string; errors: readonly FieldError[] }) {
    const subject = details.messageId === undefined ? 'A message' : `Message "${details.messageId}"`;
    const described = describeErrors(details.errors) || 'no details given';
    super('message_rejected', `${subject} was rejected (${details.reason}): ${described}${described.endsWith('.') ? '' : '.'}`);
    this.name = 'MessageRejectedError';
    this.messageId = details.messageId;
    this.reason = details.reason;
    this.errors = details.errors;
  }

  static override isInstance(error: unknown): error is MessageRejectedError {
    return hasCode(error, 'message_rejected');
  }
}

/**
 * The worker refused a whole request for a reason that retrying will not fix: a missing or unknown
 * API key (401), a project without a destination (409), a request it cannot read (400, 415).
 */
export class WorkerRefusedError extends SentcopyClientError {
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The worker's error code, e.g. `unauthorized`, `no_destination`; `unknown` when the answer had none. */
  readonly workerCode: string;

  constructor(status: number, workerCode: string, workerMessage: string) {
    super('worker_refused', `The worker refused the request (HTTP ${status} ${workerCode}): ${workerMessage}`);
    this.name = 'WorkerRefusedError';
    this.status = status;
    this.workerCode = workerCode;
  }

  static override isInstance(error: unknown): error is WorkerRefusedError {
    return hasCode(error, 'worker_refused');
  }
}

/**
 * `send()` refused a message because the client's buffer is full while the worker has been failing:
 * the messages already waiting stay buffered and keep being retried, but no more are taken, so
 * memory stays bounded. Hold the message (or stop the pipeline) until `health()` recovers.
 */
export class WorkerUnavailableError extends SentcopyClientError {
  /** How long the worker has been failing, in milliseconds. */
  readonly unavailableForMs: number;
  /** Messages waiting in the client (buffered or in flight). */
  readonly waitingMessages: number;
  /** Bytes of JSON waiting in the client. */
  readonly waitingBytes: number;
  /** The last failure, e.g. `HTTP 503 queue_unavailable` or `network error (ECONNREFUSED)`. */
  readonly lastProblem: string;

  constructor(details: { unavailableForMs: number; waitingMessages: number; waitingBytes: number; lastProblem: string }) {
    super(
      'worker_unavailable',
      `The sentcopy worker has been unavailable for ${Math.round(details.unavailableForMs / 1000)} s (${details.lastProblem}) and ${details.waitingMessages} messages (${details.waitingBytes} bytes) are waiting, the most the client buffers: this message was not taken. Hold it and send it again once the worker recovers.`,
    );
    this.name = 'WorkerUnavailableError';
    this.unavailableForMs = details.unavailableForMs;
    this.waitingMessages = details.waitingMessages;
    this.waitingBytes = details.waitingBytes;
    this.lastProblem = details.lastProblem;
  }

  static override isInstance(error: unknown): error is WorkerUnavailableError {
    return hasCode(error, 'worker_unavailable');
  }
}

/**
 * `send()` refused a message because the client's buffer is full while the worker is answering:
 * the pipeline produces faster than the worker takes messages. Wait for earlier sends to settle
 * (or raise `maxBufferedMessages` / `maxBufferedBytes`).
 */
export class BufferFullError extends SentcopyClientError {
  /** Messages waiting in the client (buffered or in flight). */
  readonly waitingMessages: number;
  /** Bytes of JSON waiting in the client. */
  readonly waitingBytes: number;

  constructor(details: { waitingMessages: number; waitingBytes: number; maxBufferedMessages: number; maxBufferedBytes: number }) {
    super(
      'buffer_full',
      `The client's buffer is full (${details.waitingMessages} of maxBufferedMessages ${details.maxBufferedMessages}, ${details.waitingBytes} of maxBufferedBytes ${details.maxBufferedBytes} bytes): this message was not taken. Wait for earlier sends to settle, or raise those options.`,
    );
    this.name = 'BufferFullError';
    this.waitingMessages = details.waitingMessages;
    this.waitingBytes = details.waitingBytes;
  }

  static override isInstance(error: unknown): error is BufferFullError {
    return hasCode(error, 'buffer_full');
  }
}

/** The kinds of archive failure, as the worker's destinations report them, plus `unreachable` when the worker itself could not be reached. */
export type ArchiveFailureKind = 'rate_limited' | 'unauthorized' | 'unreachable' | 'conflict' | 'invalid' | 'unknown' | (string & {});

/**
 * `archive()` could not store the copy: hold the send. `kind` says why (`unreachable`: the worker
 * or its destination could not be reached; `unauthorized`: the destination refused its credentials; …).
 */
export class ArchiveFailedError extends SentcopyClientError {
  /** Why, as a destination error kind. */
  readonly kind: ArchiveFailureKind;
  /** The worker's explanation. */
  readonly reason: string;
  /** The HTTP status of the worker's answer; `undefined` when no answer came. */
  readonly status: number | undefined;

  constructor(details: { kind: ArchiveFailureKind; reason: string; status: number | undefined }, options?: { cause?: unknown }) {
    super('archive_failed', `Failed to archive the message (${details.kind}): ${details.reason}`, options);
    this.name = 'ArchiveFailedError';
    this.kind = details.kind;
    this.reason = details.reason;
    this.status = details.status;
  }

  static override isInstance(error: unknown): error is ArchiveFailedError {
    return hasCode(error, 'archive_failed');
  }
}

/**
 * A message the client took was not delivered to the worker before `close()`'s deadline (or before
 * its signal aborted). It is not archived: it is listed in `close()`'s report, with the message, so
 * the caller can keep it.
 */
export class UndeliveredError extends SentcopyClientError {
  /** The message's id, when it had a string one. */
  readonly messageId: string | undefined;
  /** The last failure while trying, if there was one. */
  readonly lastProblem: string | undefined;

  constructor(messageId: string | undefined, lastProblem: string | undefined) {
    super(
      'undelivered',
      `${messageId === undefined ? 'A message' : `Message "${messageId}"`} was not delivered to the worker before the client closed${lastProblem === undefined ? '' : ` (last problem: ${lastProblem})`}; it is not archived.`,
    );
    this.name = 'UndeliveredError';
    this.messageId = messageId;
    this.lastProblem = lastProblem;
  }

  static override isInstance(error: unknown): error is UndeliveredError {
    return hasCode(error, 'undelivered');
  }
}

/** `send()` or `archive()` was called after `close()`. */
export class ClientClosedError extends SentcopyClientError {
  constructor() {
    super('client_closed', 'The sentcopy client is closed: create a new one to send more messages.');
    this.name = 'ClientClosedError';
  }

  static override isInstance(error: unknown): error is ClientClosedError {
    return hasCode(error, 'client_closed');
  }
}
