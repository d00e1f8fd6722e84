export { archiveMetadataKeys, ArchiveError, createArchiver } from './create-archiver.js';
export type { Archiver, ArchiverOptions, ArchiveResult, PreparedObject } from './create-archiver.js';
