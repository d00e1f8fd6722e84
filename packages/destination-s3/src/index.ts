export { createS3Destination, maxS3ObjectBytes, sha256MetadataName } from './create-s3-destination.js';
export { mapS3Error } from './map-s3-error.js';
export type { S3ErrorContext } from './map-s3-error.js';
export type {
  S3AssumeRoleSettings,
  S3CredentialProvider,
  S3DestinationSettings,
  S3ObjectLockSettings,
  S3ServerSideEncryption,
  S3StaticCredentials,
} from './s3-destination-settings.js';
export { destinationDescriptor } from './descriptor.js';
export type { S3DestinationFileSettings, S3SecretReference } from './descriptor.js';
