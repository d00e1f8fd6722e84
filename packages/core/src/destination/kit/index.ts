export { createDeadlineRunner } from './deadline.js';
export type { DeadlineRunner } from './deadline.js';
export { createErrorCodeTable, destinationErrorKindForStatus, httpStatusError, mapStoreError, networkErrorCodes, parseRetryAfter } from './http-status-kind.js';
export type { ErrorCodeRule, HttpStatusErrorInput } from './http-status-kind.js';
export { flattenHeaders, readCappedBody, transportFailure, undiciTransportCodes } from './http-answer.js';
export type { TransportFailure } from './http-answer.js';
export { checkAnonymousAccess, createHttpStoreRequester, fetchErrorCode, HttpStoreResponseError, mapHttpStoreError, parseHttpStoreUrl, parseObjectRecord, serializeObjectRecord } from './http-store.js';
export type { HttpStoreErrorContext, HttpStoreRequester, HttpStoreRequestInit, ObjectRecord } from './http-store.js';
export { compareUtf8, listFolderTree } from './list-folder-tree.js';
export type { FolderTreeEntry, FolderTreeReader } from './list-folder-tree.js';
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
  ObjectStoreVersion,
  ObjectStoreWrite,
  ObjectStoreWritePurpose,
} from './object-store-driver.js';
export { redactSecrets } from './redact-secrets.js';
