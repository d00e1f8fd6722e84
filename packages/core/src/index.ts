export {
  assertValidObjectKey,
  DestinationError,
  destinationErrorKinds,
  maxObjectKeyBytes,
  objectKeyProblem,
  resolveDestination,
  UnsupportedDestinationVersionError,
} from './destination/index.js';
export type {
  DestinationCapabilities,
  DestinationErrorKind,
  DestinationErrorOptions,
  DestinationV1,
  ListedObject,
  ListOptions,
  ListPage,
  ObjectInfo,
  OperationOptions,
  ProbeCheck,
  ProbeResult,
  PutObjectInput,
  PutObjectResult,
  StoredObject,
} from './destination/index.js';
export {
  decideRetry,
  defaultRetryPolicy,
  formatDuration,
  resolveRetryPolicy,
  retryInline,
  RetryExhaustedError,
  sleep,
} from './retry/index.js';
export type {
  InlineRetryOptions,
  OutagePolicy,
  RateLimitedPolicy,
  RetryDecision,
  RetryEnvironment,
  RetryInput,
  RetryPhase,
  RetryPolicy,
  RetryPolicyOverrides,
} from './retry/index.js';
export { CodecError, codecNames, defaultMaxOutputBytes, detectCodec, getCodec, isCodecName } from './codecs/index.js';
export type { Codec, CodecDecodeOptions, CodecErrorKind, CodecErrorOptions, CodecName } from './codecs/index.js';
