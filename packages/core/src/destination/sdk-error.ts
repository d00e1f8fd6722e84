import { DestinationError, type DestinationErrorKind } from './destination-error.js';

/** What an adapter's error map reads from an SDK error: never credentials, signatures or bodies. */
export interface SdkErrorFacts {
  /** The store's error code (e.g. `SlowDown`, `BlobAlreadyExists`) or a system error code (e.g. `ECONNRESET`). */
  readonly code?: string;
  /** HTTP status, when there was an answer. */
  readonly status?: number;
  /** The store's own error message, shown unless the kind is `unreachable`. */
  readonly detail?: string;
  /** The store's request id, for support tickets. */
  readonly requestId?: string;
  /** How long the store asked to wait, in milliseconds (from `Retry-After`). */
  readonly retryAfterMs?: number;
}

/** Where and what, for {@link sdkDestinationError}. */
export interface SdkErrorContext {
  /** Provider id, e.g. `s3`; also names the cause (`S3ErrorSummary`). */
  readonly provider: string;
  /** The store as users know it, e.g. `Azure Blob Storage`. */
  readonly service: string;
  /** What was being done, e.g. `write the object`. */
  readonly operation: string;
  /** The container and object, e.g. `bucket "archive", key "a/b.json.gz"`. */
  readonly where: string;
  /** The object key, when one was involved. */
  readonly key?: string | undefined;
}

/**
 * Builds the `DestinationError` an adapter's error map returns, in one shape for every cloud:
 * `Could not <operation> in <service> (<where>): <reason> (<code>, HTTP <status>). Server said: …`.
 * The cause is reduced to the same facts, so logging it cannot leak what the SDK error carried
 * (signed URLs, headers, tokens).
 */
export function sdkDestinationError(context: SdkErrorContext, kind: DestinationErrorKind, reason: string, facts: SdkErrorFacts): DestinationError {
  const label = [facts.code, facts.status === undefined ? undefined : `HTTP ${facts.status}`].filter(Boolean).join(', ');
  const detail = facts.detail !== undefined && kind !== 'unreachable' ? ` Server said: ${facts.detail}` : '';
  const cause = new Error(`${facts.code ?? 'unknown error'}${facts.status === undefined ? '' : ` (HTTP ${facts.status})`}${facts.requestId ? ` request id ${facts.requestId}` : ''}`);
  cause.name = `${context.provider.charAt(0).toUpperCase()}${context.provider.slice(1)}ErrorSummary`;
  return new DestinationError({
    kind,
    provider: context.provider,
    key: context.key,
    status: facts.status,
    code: facts.code,
    retryAfterMs: facts.retryAfterMs,
    message: `Could not ${context.operation} in ${context.service} (${context.where}): ${reason}${label === '' ? '' : ` (${label})`}.${detail}`,
    cause,
  });
}

/** True for the error an aborted `AbortSignal` makes an SDK throw (its reason, or any `AbortError`). */
export function isAbortError(error: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted && error === signal.reason) return true;
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}
