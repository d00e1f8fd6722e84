export { destinationDescriptor, webdavDestinationType } from './descriptor.js';
export type { WebdavDestinationConfig } from './descriptor.js';
export { createWebdavDestination } from './webdav-destination.js';
export type { WebdavDestinationSettings } from './webdav-destination-settings.js';
