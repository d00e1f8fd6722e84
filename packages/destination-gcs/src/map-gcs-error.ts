import { createErrorCodeTable, DestinationError, mapStoreError, networkErrorCodes, parseRetryAfter, redactSecrets, type DestinationErrorKind } from '@sentcopy/core';

/** What the destination was doing when a GCS call failed, for the error message. */
export interface GcsErrorContext {
  /** A verb phrase, e.g. `write the object`. */
  readonly operation: string;
  /** The bucket. */
  readonly bucket: string;
  /** The full object name (prefix included), if any. Names may appear in messages. */
  readonly key?: string;
}

/** The facts of an error, whatever layer of the SDK threw it. */
export interface GcsErrorFacts {
  /** The JSON API's first error `reason` (`conditionNotMet`, `rateLimitExceeded`, `notFound`), a Node.js system error code (`ECONNRESET`), or an SDK code (`FILE_NO_UPLOAD`). */
  readonly code: string | undefined;
  /** The HTTP status. */
  readonly status: number | undefined;
  /** The server's message, redacted. */
  readonly detail: string | undefined;
  /** From `Retry-After`, in milliseconds. */
  readonly retryAfterMs: number | undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The JSON API error object inside a body or a message the SDK filled with the raw body (downloads do that). */
function jsonError(value: unknown): { code?: unknown; message?: unknown; errors?: unknown } | undefined {
  if (typeof value !== 'string' || !value.trimStart().startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(value) as { error?: unknown };
    return typeof parsed.error === 'object' && parsed.error !== null ? (parsed.error as { code?: unknown; message?: unknown; errors?: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

function header(headers: unknown, name: string): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') return text((headers as { get(name: string): unknown }).get(name));
  const value = (headers as Record<string, unknown>)[name];
  return text(Array.isArray(value) ? value[0] : value);
}

/** Code, status, redacted detail and Retry-After of anything a `@google-cloud/storage` call throws. */
export function gcsErrorFacts(error: unknown): GcsErrorFacts {
  const record = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const response = (record.response ?? {}) as { statusCode?: unknown; status?: unknown; headers?: unknown; body?: unknown; data?: unknown };
  const rawMessage = text(record.message);
  const body = jsonError(rawMessage) ?? jsonError(response.body) ?? (typeof response.data === 'object' && response.data !== null ? ((response.data as { error?: unknown }).error as ReturnType<typeof jsonError>) : undefined);
  const errors = Array.isArray(body?.errors) ? body.errors : Array.isArray(record.errors) ? record.errors : [];
  const firstReason = text((errors[0] as { reason?: unknown } | undefined)?.reason);

  let status: number | undefined;
  for (const candidate of [record.code, record.status, body?.code, response.statusCode, response.status]) {
    if (typeof candidate === 'number' && candidate >= 100 && candidate < 600) {
      status = candidate;
      break;
    }
  }
  let code = firstReason;
  if (code === undefined && typeof record.code === 'string') code = record.code;
  const cause = record.cause as Record<string, unknown> | undefined;
  if (code === undefined && cause && typeof cause === 'object' && typeof cause.code === 'string') code = cause.code;
  if (code === undefined && typeof record.errno === 'string') code = record.errno;
  if (code === undefined && record.type === 'request-timeout') code = 'ETIMEDOUT';
  if (code === undefined && rawMessage !== undefined && /socket hang up|ECONNRESET/i.test(rawMessage)) code = 'ECONNRESET';
  if (code === undefined && rawMessage !== undefined && /ECONNREFUSED/.test(rawMessage)) code = 'ECONNREFUSED';
  if (code === undefined && rawMessage !== undefined && /Could not load the default credentials|Could not refresh access token|invalid_grant|unauthorized_client/i.test(rawMessage)) code = 'CredentialsError';

  const message = text(body?.message) ?? rawMessage;
  return {
    code,
    status,
    detail: message === undefined || message === code ? undefined : redactSecrets(message),
    retryAfterMs: parseRetryAfter(header(response.headers, 'retry-after')),
  };
}

const slowDown = 'GCS asked to slow down';
const credentials = 'the credentials were rejected or lack permission (check the service account, its key and its roles on the bucket)';
const network = 'the network connection to GCS failed or timed out';

/** GCS JSON API reasons and SDK codes by kind; the first row listing a code wins. */
const gcsErrors = createErrorCodeTable([
  ['rate_limited', slowDown, ['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded', 'dailyLimitExceeded', 'tooManyRequests']],
  ['unauthorized', credentials, ['required', 'authError', 'forbidden', 'insufficientPermissions', 'accessNotConfigured', 'accountDisabled', 'userProjectAccountProblem', 'userProjectMissing', 'CredentialsError']],
  ['unreachable', 'the bytes were corrupted in transit (the CRC32C/MD5 GCS reported differs from the one computed here)', ['FILE_NO_UPLOAD', 'FILE_NO_UPLOAD_DELETE', 'CONTENT_DOWNLOAD_MISMATCH']],
  [
    'invalid',
    'GCS refused the request as invalid for this bucket (check the retention, hold, KMS key and storage class settings)',
    ['invalid', 'badRequest', 'invalidArgument', 'parseError', 'uploadTooLarge', 'retentionPolicyNotMet', 'notImplemented'],
  ],
  ['conflict', 'the object already exists', ['conditionNotMet']],
]);

/** The kind and a human reason for an error, from its reason or code first and its HTTP status second. */
function classify(code: string | undefined, status: number | undefined, detail: string | undefined): [DestinationErrorKind, string] {
  // GCS answers 401 `required` to anonymous callers and 400 `required` for a missing parameter.
  if (code === 'required' && status === 400) return ['invalid', 'GCS refused the request: a required parameter is missing'];
  const known = gcsErrors(code);
  if (known !== undefined) return [...known];
  if (code !== undefined && networkErrorCodes.has(code)) return ['unreachable', network];
  if (status === 404) {
    if (detail !== undefined && /bucket does not exist/i.test(detail)) return ['invalid', 'the bucket does not exist; create it first, or check its name'];
    return ['invalid', 'GCS answered 404 Not Found'];
  }
  if (status === 412) return ['conflict', 'the object already exists'];
  if (status === 429) return ['rate_limited', slowDown];
  if (status === 401 || status === 403) return ['unauthorized', credentials];
  if (status === 408) return ['unreachable', network];
  if (status !== undefined && status >= 500) return ['unreachable', 'GCS reported a server error'];
  if (status === 400 || status === 413) return ['invalid', 'GCS refused the request as invalid'];
  return ['unknown', 'GCS answered with an unexpected error'];
}

/**
 * Maps anything a `@google-cloud/storage` call throws to a `DestinationError`: the one place where
 * JSON API reasons, HTTP statuses, network and credential errors become kinds. Messages name the
 * operation, bucket, object, reason and status; never credentials, tokens or the object body. The
 * cause is reduced to the same facts, so logging it cannot leak a request dump either.
 */
export function mapGcsError(error: unknown, context: GcsErrorContext): DestinationError {
  return mapStoreError(error, { provider: 'gcs', service: 'GCS', operation: context.operation, where: `bucket "${context.bucket}"${context.key === undefined ? '' : `, object "${context.key}"`}`, key: context.key }, gcsErrorFacts, (facts) =>
    classify(facts.code, facts.status, facts.detail),
  );
}

/** True when `error` is GCS's answer that the object does not exist (404, not a missing bucket). */
export function isObjectNotFound(error: unknown): boolean {
  const facts = gcsErrorFacts(error);
  return facts.status === 404 && !(facts.detail !== undefined && /bucket does not exist/i.test(facts.detail));
}

/** True for a failed precondition (412 `conditionNotMet`): the object already exists. */
export function isPreconditionFailed(error: unknown): boolean {
  const facts = gcsErrorFacts(error);
  return facts.status === 412 || facts.code === 'conditionNotMet';
}
