export { createAzureDestination, decodeMetadataName, encodeMetadataName, maxAzureObjectBytes, sha256MetadataName } from './create-azure-destination.js';
export { mapAzureError } from './map-azure-error.js';
export type { AzureErrorContext } from './map-azure-error.js';
export type {
  AzureAccessTier,
  AzureAccountKeyCredential,
  AzureCredential,
  AzureDefaultCredential,
  AzureDestinationSettings,
  AzureImmutabilitySettings,
  AzureSasCredential,
  AzureTokenCredential,
} from './azure-destination-settings.js';
export { destinationDescriptor } from './descriptor.js';
export type { AzureDestinationFileSettings, AzureSecretReference } from './descriptor.js';
