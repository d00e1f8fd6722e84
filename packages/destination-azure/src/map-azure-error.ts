import { createErrorCodeTable, DestinationError, mapStoreError, networkErrorCodes, parseRetryAfter, redactSecrets, type DestinationErrorKind, type SdkErrorFacts } from '@sentcopy/core';

/** What the destination was doing when an Azure call failed, for the error message. */
export interface AzureErrorContext {
  /** A verb phrase, e.g. `write the object`. */
  readonly operation: string;
  /** The container. */
  readonly container: string;
  /** The full blob name (prefix included), if any. Blob names may appear in messages. */
  readonly key?: string;
}

/** The facts of an error: code, status, redacted detail, request id and Retry-After. */
type ErrorFacts = SdkErrorFacts;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function header(response: unknown, name: string): string | undefined {
  const headers = (response as { headers?: { get?: (name: string) => string | undefined } } | undefined)?.headers;
  return typeof headers?.get === 'function' ? text(headers.get(name)) : undefined;
}

function factsOf(error: unknown): ErrorFacts {
  const record = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const details = (typeof record.details === 'object' && record.details !== null ? record.details : {}) as Record<string, unknown>;
  const status = typeof record.statusCode === 'number' && record.statusCode > 0 ? record.statusCode : undefined;
  const message = text(record.message);
  let code = text(details.errorCode) ?? header(record.response, 'x-ms-error-code') ?? text(record.code);
  // The SDK reports a failed send as REQUEST_SEND_ERROR; the system error code in the message is more telling.
  if (code === undefined || code === 'REQUEST_SEND_ERROR') {
    const cause = record.cause as Record<string, unknown> | undefined;
    const system = text(cause?.code) ?? (message === undefined ? undefined : /\b(E[A-Z]{3,}|UND_ERR_[A-Z_]+)\b/.exec(message)?.[1]);
    if (system !== undefined && (networkErrorCodes.has(system) || code === undefined)) code = system;
    else if (code === undefined && message !== undefined && /socket hang up/i.test(message)) code = 'ECONNRESET';
  }
  const name = text(record.name);
  if (code === undefined && name !== undefined && name !== 'Error' && name !== 'RestError') code = name;
  // Azure appends "RequestId:…\nTime:…" to every message; the request id is kept separately.
  const firstLine = message?.split('\n')[0]?.trim();
  return {
    code,
    status,
    detail: firstLine === undefined || firstLine === '' || firstLine === code ? undefined : redactSecrets(firstLine),
    requestId: header(record.response, 'x-ms-request-id') ?? text(details.requestId) ?? text(details['x-ms-request-id']),
    retryAfterMs: parseRetryAfter(header(record.response, 'retry-after')),
  };
}

/** Azure error codes by kind; the first row listing a code wins. */
const azureErrors = createErrorCodeTable([
  ['rate_limited', 'the storage account asked to slow down', ['ServerBusy', 'OperationTimedOut', 'TooManyRequests', 'IngressOverAccountLimit', 'EgressOverAccountLimit', 'TpsOverAccountLimit', 'ServiceUnavailable']],
  [
    'unauthorized',
    'the credentials were rejected or lack permission (check the key, SAS token or role assignment, e.g. Storage Blob Data Contributor)',
    [
      'AuthenticationFailed',
      'AuthorizationFailure',
      'AuthorizationPermissionMismatch',
      'AuthorizationProtocolMismatch',
      'AuthorizationResourceTypeMismatch',
      'AuthorizationServiceMismatch',
      'AuthorizationSourceIPMismatch',
      'InvalidAuthenticationInfo',
      'InsufficientAccountPermissions',
      'AccountIsDisabled',
      'NoAuthenticationInformation',
      'KeyBasedAuthenticationNotPermitted',
      'CredentialUnavailableError',
      'AuthenticationRequiredError',
      'AuthenticationError',
      'ClientAuthenticationError',
    ],
  ],
  ['unreachable', 'the storage service reported an internal error', ['InternalError']],
  ['unreachable', 'the request to the storage account timed out', ['TimeoutError', 'RequestTimeout']],
  ['invalid', 'the container does not exist (create it first, or check the container name and the account)', ['ContainerNotFound']],
  ['invalid', 'the container is being deleted or is disabled', ['ContainerBeingDeleted', 'ContainerDisabled']],
  ['invalid', 'the container or blob name is not valid for Azure', ['InvalidResourceName', 'OutOfRangeInput']],
  ['invalid', 'the object is larger than one request may store', ['RequestBodyTooLarge']],
  ['invalid', 'the metadata is not valid for Azure (names must be C# identifiers, at most 8 KB in total)', ['InvalidMetadata', 'MetadataTooLarge']],
  ['invalid', 'the body did not match its checksum on arrival', ['Md5Mismatch', 'InvalidMd5', 'Crc64Mismatch']],
  ['invalid', 'the encryption scope does not exist or is disabled', ['EncryptionScopeNotFound', 'EncryptionScopeDisabled']],
  [
    'invalid',
    'the storage account refused the request as invalid (check the access tier, immutability, legal hold and encryption scope settings against the account)',
    ['ImmutabilityPolicyNotSupported', 'InvalidBlobTier', 'FeatureVersionMismatch', 'InvalidHeaderValue', 'InvalidInput', 'InvalidQueryParameterValue', 'InvalidUri', 'MissingRequiredHeader', 'UnsupportedHeader', 'InvalidOperation'],
  ],
  ['conflict', 'the key already holds an object', ['BlobAlreadyExists', 'ConditionNotMet']],
  ['invalid', 'the blob is protected by an immutability policy or legal hold', ['BlobImmutableDueToPolicy', 'BlobImmutableDueToLegalHold']],
]);

/** The kind and a human reason for an error, from its code first and its HTTP status second. */
function classify(code: string | undefined, status: number | undefined): [DestinationErrorKind, string] {
  const known = azureErrors(code);
  if (known !== undefined) return [...known];
  // Immutability errors vary by account setup (version-level immutability off, a locked policy); none can succeed on retry.
  if (code !== undefined && /immutab|legalhold/i.test(code))
    return ['invalid', 'the container does not accept the immutability policy or legal hold as configured, or the blob is protected by one (check version-level immutability support)'];
  if (code !== undefined && networkErrorCodes.has(code)) return ['unreachable', 'the network connection to the storage account failed or timed out'];
  if (status === 429 || status === 503) return ['rate_limited', 'the storage account asked to slow down'];
  if (status === 401 || status === 403) return ['unauthorized', 'the credentials were rejected or lack permission'];
  if (status === 400 || status === 404 || status === 413) return ['invalid', 'the storage account refused the request as invalid'];
  if (status !== undefined && status >= 500) return ['unreachable', 'the storage service reported a server error'];
  if (code === 'REQUEST_SEND_ERROR') return ['unreachable', 'the request could not be sent to the storage account'];
  return ['unknown', 'the storage account answered with an unexpected error'];
}

/**
 * Maps anything an Azure SDK call throws to a `DestinationError`: the one place where Azure error
 * codes, HTTP statuses and network errors become kinds. Messages name the operation, container,
 * blob, code and status; never the account key, SAS token, bearer token or connection string. The
 * cause is reduced to the same facts (the SDK's error carries the request, SAS URL and headers
 * included), so logging it cannot leak a credential either.
 */
export function mapAzureError(error: unknown, context: AzureErrorContext): DestinationError {
  return mapStoreError(
    error,
    { provider: 'azure', service: 'Azure Blob Storage', operation: context.operation, where: `container "${context.container}"${context.key === undefined ? '' : `, blob "${context.key}"`}`, key: context.key },
    factsOf,
    (facts) => classify(facts.code, facts.status),
  );
}

/** The Azure error code (or system error code) and HTTP status of `error`. */
export function azureErrorFacts(error: unknown): { code: string | undefined; status: number | undefined } {
  const { code, status } = factsOf(error);
  return { code, status };
}

/** True when `error` is Azure's answer that the blob does not exist (404 BlobNotFound, or a bodiless 404 to a HEAD). */
export function isBlobNotFound(error: unknown): boolean {
  const { code, status } = factsOf(error);
  return code === 'BlobNotFound' || (status === 404 && code !== 'ContainerNotFound' && code !== 'ResourceNotFound');
}
