export { createDeadlineRunner } from './deadline.js';
export type { DeadlineRunner } from './deadline.js';
export { createErrorCodeTable, destinationErrorKindForStatus, httpStatusError, mapStoreError, networkErrorCodes, parseRetryAfter } from './http-status-kind.js';
export type { ErrorCodeRule, HttpStatusErrorInput } from './http-status-kind.js';
export { ObjectMetadataCodec } from './object-metadata.js';
export { createObjectStoreDestination, defaultCallTimeoutMs, normalizeKeyPrefix, probeFolder } from './object-store-destination.js';
export type { ObjectStoreDestinationOptions } from './object-store-destination.js';
export type {
  DescribeError,
  ObjectStoreBody,
  ObjectStoreDriver,
  ObjectStoreEntry,
  ObjectStoreImmutabilityProbe,
  ObjectStoreListEntry,
  ObjectStoreListPage,
  ObjectStoreListRequest,
  ObjectStoreMetadataRules,
  ObjectStorePublicAccess,
  ObjectStoreWrite,
  ObjectStoreWritePurpose,
} from './object-store-driver.js';
export { redactSecrets } from './redact-secrets.js';
