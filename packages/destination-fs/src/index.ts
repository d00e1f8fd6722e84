export { createFsDestination } from './create-fs-destination.js';
export type { FsDestinationSettings } from './fs-destination-settings.js';
