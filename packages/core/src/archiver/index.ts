export { ArchiveError, createArchiver } from './create-archiver.js';
export type { Archiver, ArchiverOptions, ArchiveResult } from './create-archiver.js';
export { archiveMetadataKeys } from './prepare-object.js';
export type { CheckedMessage, PreparedObject } from './prepare-object.js';
export { createPreparePool, prepareThreadRetryMs } from './prepare-pool.js';
export type { PreparePool, PreparePoolOptions, PrepareSettings } from './prepare-pool.js';
