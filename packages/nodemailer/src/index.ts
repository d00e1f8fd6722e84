export { archiveWith, queueIdOf } from './archive-with.js';
export type { ArchivingTransporter, MailLike, TransporterLike } from './archive-with.js';
export type { ArchivedEvent, ArchiveDestination, ArchiveFailedEvent, ArchiveWithOptions, WorkerTarget } from './archive-options.js';
export { SendHeldError } from './send-held-error.js';
