export type { DestinationContext, DestinationDescriptorV1, DestinationOptionHelp, DestinationSettingSchema, DestinationSettingsSchema } from './destination-descriptor.js';
export { DestinationError, destinationErrorKinds } from './destination-error.js';
export type { DestinationErrorKind, DestinationErrorOptions } from './destination-error.js';
export type {
  DestinationCapabilities,
  DestinationV1,
  EraseVersionsResult,
  ListedObject,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectVersionErasure,
  OperationOptions,
  ProbeCheck,
  ProbeResult,
  PutObjectInput,
  PutObjectResult,
  StoredObject,
} from './destination-v1.js';
export { assertValidObjectKey, maxObjectKeyBytes, objectKeyProblem } from './object-key.js';
export { resolveDestination, UnsupportedDestinationVersionError } from './resolve-destination.js';
export { isAbortError, sdkDestinationError } from './sdk-error.js';
export type { SdkErrorContext, SdkErrorFacts } from './sdk-error.js';
