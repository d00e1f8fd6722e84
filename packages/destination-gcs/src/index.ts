export { createGcsDestination, maxGcsObjectBytes, sha256MetadataName } from './create-gcs-destination.js';
export { createGcsStorage } from './create-gcs-storage.js';
export { mapGcsError } from './map-gcs-error.js';
export type { GcsErrorContext } from './map-gcs-error.js';
export type { GcsDestinationSettings, GcsObjectRetentionSettings, GcsServiceAccountCredentials } from './gcs-destination-settings.js';
export { destinationDescriptor } from './descriptor.js';
export type { GcsDestinationFileSettings, GcsSecretReference } from './descriptor.js';
