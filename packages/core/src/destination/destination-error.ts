const marker = Symbol.for('sentcopy.destination-error');

/**
 * What went wrong, in the terms the retry engine decides on.
 * - `rate_limited`: the store asked us to slow down (S3 SlowDown, HTTP 429/503 throttling).
 * - `unauthorized`: credentials missing, expired or lacking permission.
 * - `unreachable`: network failure, timeout, DNS, or a 5xx outage.
 * - `conflict`: the key already holds different content; write-once refuses to overwrite.
 * - `invalid`: the request can never succeed as is (bad key, object too large, bad settings).
 * - `unknown`: anything not yet classified; retried like an outage.
 */
export type DestinationErrorKind = 'rate_limited' | 'unauthorized' | 'unreachable' | 'conflict' | 'invalid' | 'unknown';

/** Every kind, in a stable order (useful for metrics and validation). */
export const destinationErrorKinds: readonly DestinationErrorKind[] = ['rate_limited', 'unauthorized', 'unreachable', 'conflict', 'invalid', 'unknown'];

/** Options for {@link DestinationError}. */
export interface DestinationErrorOptions {
  /** The classification the retry engine acts on. */
  kind: DestinationErrorKind;
  /** A human sentence: what failed and, where possible, what to do. Never contains secrets or raw recipients. */
  message: string;
  /** The destination's provider name, e.g. `fs`, `s3`. */
  provider?: string;
  /** The object key involved, if any. Keys never contain raw recipients unless the layout asks for them. */
  key?: string;
  /** The HTTP status the store answered with, if any. */
  status?: number;
  /** The store's own error code, e.g. `SlowDown`, `EACCES`. */
  code?: string;
  /** How long the store asked us to wait before retrying, in milliseconds (from `Retry-After`). */
  retryAfterMs?: number;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * The one error type every destination throws. Destinations map each SDK or system error to a
 * {@link DestinationErrorKind} in a single place.
 */
export class DestinationError extends Error {
  private readonly [marker] = true;
  readonly kind: DestinationErrorKind;
  readonly provider: string | undefined;
  readonly key: string | undefined;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(options: DestinationErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DestinationError';
    this.kind = options.kind;
    this.provider = options.provider;
    this.key = options.key;
    this.status = options.status;
    this.code = options.code;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** True for a `DestinationError` from any copy of this package (works across duplicate installs). */
  static isInstance(error: unknown): error is DestinationError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }

  /** Whether the retry engine may try again for this kind. */
  get isRetryable(): boolean {
    return this.kind !== 'conflict' && this.kind !== 'invalid';
  }
}
