import { DestinationError, type DestinationErrorKind } from '../destination-error.js';
import { sdkDestinationError, type SdkErrorContext, type SdkErrorFacts } from '../sdk-error.js';
import { redactSecrets } from './redact-secrets.js';

/**
 * The `DestinationError` kind an HTTP status means for a store that speaks plain HTTP (WebDAV, a
 * REST API, a gateway): 429 and 503 `rate_limited`; 401, 403 and 407 `unauthorized`; 408, 5xx and
 * a missing answer `unreachable`; 409 and 412 `conflict`; other 4xx `invalid`; anything else
 * `unknown`. Stores with their own error codes check those first and fall back to this.
 */
export function destinationErrorKindForStatus(status: number | undefined): DestinationErrorKind {
  if (status === undefined) return 'unreachable';
  if (status === 429 || status === 503) return 'rate_limited';
  if (status === 401 || status === 403 || status === 407) return 'unauthorized';
  if (status === 408 || status >= 500) return 'unreachable';
  if (status === 409 || status === 412) return 'conflict';
  if (status >= 400) return 'invalid';
  return 'unknown';
}

/** Reasons the kit gives for each kind when a store says no more than its HTTP status. */
const reasons: Readonly<Record<DestinationErrorKind, string>> = {
  rate_limited: 'the store asked to slow down',
  unauthorized: 'the credentials were rejected or lack permission',
  unreachable: 'the store could not be reached or reported a server error',
  conflict: 'the key already holds an object',
  invalid: 'the store refused the request as invalid',
  unknown: 'the store answered with an unexpected status',
};

/** What {@link httpStatusError} needs. */
export interface HttpStatusErrorInput {
  /** Provider id, e.g. `webdav`. */
  readonly provider: string;
  /** What was being done, e.g. `write the object`. */
  readonly operation: string;
  /** The HTTP status, or `undefined` when no answer came (network failure). */
  readonly status: number | undefined;
  /** The object key involved, if any. */
  readonly key?: string;
  /** The store's own message or a system error code; redacted with {@link redactSecrets} before use. */
  readonly detail?: string;
  /** The `Retry-After` header as received (seconds or an HTTP date). */
  readonly retryAfter?: string | null;
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds from now; `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * A `DestinationError` for an HTTP answer (or its absence), classified by
 * {@link destinationErrorKindForStatus}, with a redacted detail and `retryAfterMs` from `Retry-After`.
 */
export function httpStatusError(input: HttpStatusErrorInput): DestinationError {
  const kind = destinationErrorKindForStatus(input.status);
  const status = input.status === undefined ? 'no answer' : `HTTP ${input.status}`;
  const detail = input.detail === undefined || input.detail === '' ? '' : ` (${redactSecrets(input.detail)})`;
  return new DestinationError({
    kind,
    provider: input.provider,
    key: input.key,
    status: input.status,
    retryAfterMs: parseRetryAfter(input.retryAfter),
    message: `Could not ${input.operation}${input.key === undefined ? '' : ` "${input.key}"`}: ${reasons[kind]} (${status})${detail}.`,
  });
}

/** Node.js, undici and stream error codes that mean the network failed, not the store: `unreachable` whatever the store. */
export const networkErrorCodes: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** One row of a store's error table: the kind, the reason users read, and the store's error codes that mean it. */
export type ErrorCodeRule = readonly [kind: DestinationErrorKind, reason: string, codes: readonly string[]];

/**
 * Turns a store's error table into a lookup: the kind and reason of the first row listing `code`,
 * or `undefined` for a code the table does not know (then classify by HTTP status).
 */
export function createErrorCodeTable(rules: readonly ErrorCodeRule[]): (code: string | undefined) => readonly [DestinationErrorKind, string] | undefined {
  const byCode = new Map<string, readonly [DestinationErrorKind, string]>();
  for (const [kind, reason, codes] of rules) for (const code of codes) if (!byCode.has(code)) byCode.set(code, [kind, reason]);
  return (code) => (code === undefined ? undefined : byCode.get(code));
}

/**
 * A store's error map in one call: an error already mapped passes through; anything else is read
 * into facts by `read`, classified by `classify`, and worded by `sdkDestinationError()`.
 */
export function mapStoreError<F extends SdkErrorFacts>(error: unknown, context: SdkErrorContext, read: (error: unknown) => F, classify: (facts: F) => readonly [DestinationErrorKind, string]): DestinationError {
  if (DestinationError.isInstance(error)) return error;
  const facts = read(error);
  const [kind, reason] = classify(facts);
  return sdkDestinationError(context, kind, reason, facts);
}
