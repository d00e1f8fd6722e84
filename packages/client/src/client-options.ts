import type { SentcopyClientError } from './errors.js';
import type { MessageInput } from './results.js';

/** What the client is doing, as `health()` and `onBackpressure` report it. */
export interface ClientHealth {
  /**
   * - `ok`: the last request to the worker succeeded (or none was needed yet);
   * - `retrying`: the worker is failing and the waiting messages are being retried;
   * - `unavailable`: the worker has been failing for `unavailableAfterMs` or more;
   * - `closed`: `close()` was called.
   */
  readonly state: 'ok' | 'retrying' | 'unavailable' | 'closed';
  /** Whether the buffer is full, so `send()` refuses new messages. */
  readonly full: boolean;
  /** Messages the client holds: buffered, waiting to retry, or in flight. */
  readonly waitingMessages: number;
  /** Bytes of JSON the client holds. */
  readonly waitingBytes: number;
  /** Requests to the worker in flight. */
  readonly inFlightRequests: number;
  /** How long the worker has been failing, in milliseconds; 0 when it is not. */
  readonly failingForMs: number;
  /** The last failure (status and worker code, or the network error's code); no message contents, no key. */
  readonly lastProblem: string | undefined;
}

/** Options of {@link createSentcopyClient}. */
export interface SentcopyClientOptions {
  /** Base URL of the worker, e.g. `http://127.0.0.1:8787` (or of a load balancer in front of several). */
  readonly url: string;
  /** The project's API key, sent as `Authorization: Bearer <key>`. It is never logged nor put into errors. */
  readonly apiKey: string;
  /** Most messages in one batch; the worker takes at most 1,000 by default. @default 100 */
  readonly maxBatchMessages?: number;
  /** Most bytes of JSON in one batch's body; the worker takes at most 10 MiB by default. @default 1048576 (1 MiB) */
  readonly maxBatchBytes?: number;
  /** How long a message may wait for its batch to fill before the batch is sent anyway, in milliseconds. @default 20 */
  readonly lingerMs?: number;
  /** Most batch requests in flight at once. @default 4 */
  readonly maxInFlightRequests?: number;
  /** Most messages held (buffered, retrying or in flight); beyond it `send()` refuses at once. @default 10000 */
  readonly maxBufferedMessages?: number;
  /** Most bytes of JSON held; beyond it `send()` refuses at once. @default 67108864 (64 MiB) */
  readonly maxBufferedBytes?: number;
  /** First retry delay after a failure, in milliseconds; it doubles per failure, with full jitter. @default 100 */
  readonly retryBaseDelayMs?: number;
  /** Longest retry delay, in milliseconds (a longer `Retry-After` is capped to it). @default 30000 */
  readonly retryMaxDelayMs?: number;
  /** After failing this long, in milliseconds, the worker counts as `unavailable` in `health()`. @default 30000 */
  readonly unavailableAfterMs?: number;
  /** How long one request may take before it is abandoned and retried, in milliseconds. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Tries of one `archive()` call on network errors, 429 and 503 answers other than `failed_to_archive`. @default 3 */
  readonly archiveAttempts?: number;
  /** The `fetch` to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Called once for every message this client will not deliver: refused by the worker
   * ({@link MessageRejectedError}, {@link WorkerRefusedError}), not taken by `send()`
   * ({@link WorkerUnavailableError}, {@link BufferFullError}), or left when `close()` gave up
   * ({@link UndeliveredError}). With it set, the promises `send()` returns may be ignored (their
   * rejections are marked handled); without it, an ignored rejection is an unhandled rejection.
   * @default none
   */
  readonly onRejected?: (error: SentcopyClientError, message: MessageInput) => void;
  /** Called whenever `health()`'s `state` or `full` changes. @default none */
  readonly onBackpressure?: (health: ClientHealth) => void;
  /** Source of randomness in [0, 1) for the jitter. @default Math.random */
  readonly random?: () => number;
}

/** Options of one `archive()` call. */
export interface ArchiveOptions {
  /** Aborts the call; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Options of `close()`. */
export interface CloseOptions {
  /** How long to keep delivering what is buffered, in milliseconds; then in-flight requests are aborted and what is left is reported undelivered. @default 10000 */
  readonly deadlineMs?: number;
}

/** A message that `close()` gave up on, with why. */
export interface UndeliveredMessage {
  /** The message, read back from the JSON the client held: equal to what was given to `send()` (the same text, when text was given). */
  readonly message: MessageInput;
  /** Why it was not delivered. */
  readonly error: SentcopyClientError;
}

/** What `close()` reports. */
export interface CloseReport {
  /** Messages the worker took (accepted, duplicate or another non-rejected status) during this client's life. */
  readonly delivered: number;
  /** Messages the worker refused during this client's life (each was reported when it happened). */
  readonly rejected: number;
  /** Messages still held when the deadline passed: not archived, handed back here. */
  readonly undelivered: readonly UndeliveredMessage[];
}
