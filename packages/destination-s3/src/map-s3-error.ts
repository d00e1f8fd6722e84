import { DestinationError, networkErrorCodes, parseRetryAfter, redactSecrets, sdkDestinationError, type DestinationErrorKind } from '@sentcopy/core';

/** What the destination was doing when an S3 call failed, for the error message. */
export interface S3ErrorContext {
  /** A verb phrase, e.g. `write the object`. */
  readonly operation: string;
  /** The bucket. */
  readonly bucket: string;
  /** The full object key (prefix included), if any. Keys may appear in messages. */
  readonly key?: string;
}

interface ErrorFacts {
  /** S3's error code (`SlowDown`), the SDK's error name, or a Node.js system error code (`ECONNRESET`). */
  code: string | undefined;
  status: number | undefined;
  /** The server's message, redacted. */
  detail: string | undefined;
  requestId: string | undefined;
  retryAfterMs: number | undefined;
}


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

/** The kind and a human reason for an error, from its code first and its HTTP status second. */
function classify(code: string | undefined, status: number | undefined): [DestinationErrorKind, string] {
  switch (code) {
    case 'SlowDown':
    case 'Throttling':
    case 'ThrottlingException':
    case 'ThrottledException':
    case 'RequestThrottled':
    case 'RequestThrottledException':
    case 'RequestLimitExceeded':
    case 'TooManyRequests':
    case 'TooManyRequestsException':
    case 'ProvisionedThroughputExceededException':
    case 'BandwidthLimitExceeded':
    case 'ServiceUnavailable':
      return ['rate_limited', 'the store asked to slow down'];
    case 'ConditionalRequestConflict':
      // Another write of the same key kept racing this one; backing off and retrying resolves it
      // (the next attempt sees the winner's object and compares SHA-256), so it is not a conflict.
      return ['rate_limited', 'another write of the same key kept conflicting with this one'];
    case 'AccessDenied':
    case 'AccessDeniedException':
    case 'AllAccessDisabled':
    case 'AccountProblem':
    case 'InvalidAccessKeyId':
    case 'InvalidClientTokenId':
    case 'InvalidToken':
    case 'ExpiredToken':
    case 'ExpiredTokenException':
    case 'TokenRefreshRequired':
    case 'SignatureDoesNotMatch':
    case 'RequestTimeTooSkewed':
    case 'InvalidSecurity':
    case 'UnrecognizedClientException':
    case 'CredentialsProviderError':
      return ['unauthorized', 'the credentials were rejected or lack permission (check the keys, the role and the bucket policy)'];
    case 'TimeoutError':
    case 'RequestTimeout':
    case 'RequestTimeoutException':
    case 'IncompleteBody':
      return ['unreachable', 'the network connection to the store failed or timed out'];
    case 'InternalError':
    case 'InternalFailure':
      return ['unreachable', 'the store reported an internal error'];
    case 'NoSuchBucket':
      return ['invalid', 'the bucket does not exist'];
    case 'InvalidBucketName':
      return ['invalid', 'the bucket name is not valid'];
    case 'EntityTooLarge':
      return ['invalid', 'the object is larger than the store accepts'];
    case 'KeyTooLong':
    case 'KeyTooLongError':
      return ['invalid', 'the key is longer than the store accepts'];
    case 'MetadataTooLarge':
      return ['invalid', 'the metadata is larger than the store accepts (2 KB)'];
    case 'InvalidArgument':
    case 'InvalidRequest':
    case 'InvalidStorageClass':
    case 'InvalidURI':
    case 'InvalidDigest':
    case 'BadDigest':
    case 'XAmzContentSHA256Mismatch':
    case 'InvalidObjectState':
    case 'InvalidBucketState':
    case 'KMS.NotFoundException':
    case 'KMS.DisabledException':
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
    case 'NotImplemented':
    case 'MethodNotAllowed':
      return ['invalid', 'the store refused the request as invalid for this bucket (check the region, encryption, storage class and Object Lock settings)'];
    case 'PreconditionFailed':
      return ['conflict', 'the key already holds an object'];
    default:
      break;
  }
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
  if (DestinationError.isInstance(error)) return error;
  const facts = factsOf(error);
  const [kind, reason] = classify(facts.code, facts.status);
  return sdkDestinationError({ provider: 's3', service: 'S3', operation: context.operation, where: `bucket "${context.bucket}"${context.key === undefined ? '' : `, key "${context.key}"`}`, key: context.key }, kind, reason, facts);
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
