import { createErrorCodeTable, DestinationError, mapStoreError, networkErrorCodes, parseRetryAfter, redactSecrets, type DestinationErrorKind, type SdkErrorFacts } from '@sentcopy/core';

/** What the destination was doing when an S3 call failed, for the error message. */
export interface S3ErrorContext {
  /** A verb phrase, e.g. `write the object`. */
  readonly operation: string;
  /** The bucket. */
  readonly bucket: string;
  /** The full object key (prefix included), if any. Keys may appear in messages. */
  readonly key?: string;
}

/** The facts of an error: code, status, redacted detail, request id and Retry-After. */
type ErrorFacts = SdkErrorFacts;

/** Names the SDK gives errors it builds from a bare HTTP status (HEAD answers have no body). */
const statusNames = new Set(['NotFound', 'Forbidden', 'BadRequest', 'Unknown', 'UnknownError', 'S3ServiceException', 'Error']);

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function factsOf(error: unknown): ErrorFacts {
  const record = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const metadata = (record.$metadata ?? {}) as Record<string, unknown>;
  const response = (record.$response ?? {}) as { statusCode?: unknown; headers?: Record<string, unknown> };
  const status = typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : typeof response.statusCode === 'number' ? response.statusCode : undefined;
  const name = text(record.name);
  let code = text(record.Code) ?? text(record.code) ?? (name && !statusNames.has(name) ? name : undefined);
  const cause = record.cause as Record<string, unknown> | undefined;
  if ((code === undefined || code === 'Error') && cause && typeof cause === 'object') code = text(cause.code) ?? code;
  if (code === undefined && name !== undefined && name !== 'Error') code = name;
  const message = text(record.message);
  if ((code === undefined || code === 'Error') && message !== undefined && /socket hang up/i.test(message)) code = 'ECONNRESET';
  return {
    code,
    status,
    detail: message === undefined || message === code ? undefined : redactSecrets(message),
    requestId: text(metadata.requestId),
    retryAfterMs: parseRetryAfter(text(response.headers?.['retry-after'])),
  };
}

/** S3 error codes by kind; the first row listing a code wins. */
const s3Errors = createErrorCodeTable([
  [
    'rate_limited',
    'the store asked to slow down',
    [
      'SlowDown',
      'Throttling',
      'ThrottlingException',
      'ThrottledException',
      'RequestThrottled',
      'RequestThrottledException',
      'RequestLimitExceeded',
      'TooManyRequests',
      'TooManyRequestsException',
      'ProvisionedThroughputExceededException',
      'BandwidthLimitExceeded',
      'ServiceUnavailable',
    ],
  ],
  // Another write of the same key kept racing this one; backing off and retrying resolves it
  // (the next attempt sees the winner's object and compares SHA-256), so it is not a conflict.
  ['rate_limited', 'another write of the same key kept conflicting with this one', ['ConditionalRequestConflict']],
  [
    'unauthorized',
    'the credentials were rejected or lack permission (check the keys, the role and the bucket policy)',
    [
      'AccessDenied',
      'AccessDeniedException',
      'AllAccessDisabled',
      'AccountProblem',
      'InvalidAccessKeyId',
      'InvalidClientTokenId',
      'InvalidToken',
      'ExpiredToken',
      'ExpiredTokenException',
      'TokenRefreshRequired',
      'SignatureDoesNotMatch',
      'RequestTimeTooSkewed',
      'InvalidSecurity',
      'UnrecognizedClientException',
      'CredentialsProviderError',
    ],
  ],
  ['unreachable', 'the network connection to the store failed or timed out', ['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'IncompleteBody']],
  ['unreachable', 'the store reported an internal error', ['InternalError', 'InternalFailure']],
  ['invalid', 'the bucket does not exist', ['NoSuchBucket']],
  ['invalid', 'the bucket name is not valid', ['InvalidBucketName']],
  ['invalid', 'the object is larger than the store accepts', ['EntityTooLarge']],
  ['invalid', 'the key is longer than the store accepts', ['KeyTooLong', 'KeyTooLongError']],
  ['invalid', 'the metadata is larger than the store accepts (2 KB)', ['MetadataTooLarge']],
  [
    'invalid',
    'the store refused the request as invalid for this bucket (check the region, encryption, storage class and Object Lock settings)',
    [
      'InvalidArgument',
      'InvalidRequest',
      'InvalidStorageClass',
      'InvalidURI',
      'InvalidDigest',
      'BadDigest',
      'XAmzContentSHA256Mismatch',
      'InvalidObjectState',
      'InvalidBucketState',
      'KMS.NotFoundException',
      'KMS.DisabledException',
      'PermanentRedirect',
      'AuthorizationHeaderMalformed',
      'IllegalLocationConstraintException',
      'NotImplemented',
      'MethodNotAllowed',
    ],
  ],
  ['conflict', 'the key already holds an object', ['PreconditionFailed']],
]);

/** The kind and a human reason for an error, from its code first and its HTTP status second. */
function classify(code: string | undefined, status: number | undefined): [DestinationErrorKind, string] {
  const known = s3Errors(code);
  if (known !== undefined) return [...known];
  if (code !== undefined && networkErrorCodes.has(code)) return ['unreachable', 'the network connection to the store failed or timed out'];
  if (status === 429 || status === 503) return ['rate_limited', 'the store asked to slow down'];
  if (status === 401 || status === 403) return ['unauthorized', 'the credentials were rejected or lack permission (check the keys, the role and the bucket policy)'];
  if (status !== undefined && status >= 500) return ['unreachable', 'the store reported a server error'];
  if (status === 301 || status === 307) return ['invalid', 'the bucket is in another region than the one configured'];
  return ['unknown', 'the store answered with an unexpected error'];
}

/**
 * Maps anything an S3 call throws to a `DestinationError`: the one place where S3 error codes,
 * HTTP statuses and network errors become kinds. Messages name the operation, bucket, key, code
 * and status; never credentials or the object body. The cause is reduced to the same facts, so
 * logging it cannot leak a signature dump either.
 */
export function mapS3Error(error: unknown, context: S3ErrorContext): DestinationError {
  return mapStoreError(error, { provider: 's3', service: 'S3', operation: context.operation, where: `bucket "${context.bucket}"${context.key === undefined ? '' : `, key "${context.key}"`}`, key: context.key }, factsOf, (facts) =>
    classify(facts.code, facts.status),
  );
}

/** True when `error` is S3's answer that the object does not exist (404 NoSuchKey / NotFound). */
export function isNotFound(error: unknown): boolean {
  const facts = factsOf(error);
  return facts.code === 'NoSuchKey' || facts.code === 'NotFound' || (facts.status === 404 && facts.code !== 'NoSuchBucket');
}

/** The S3 error code (or SDK error name) and HTTP status of `error`. */
export function s3ErrorFacts(error: unknown): { code: string | undefined; status: number | undefined } {
  const { code, status } = factsOf(error);
  return { code, status };
}
