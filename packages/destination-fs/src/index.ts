export { createFsDestination } from './create-fs-destination.js';
export type { FsDestinationSettings } from './fs-destination-settings.js';
export { destinationDescriptor } from './descriptor.js';
export type { FsDestinationFileSettings } from './descriptor.js';
