export {
  assertValidObjectKey,
  DestinationError,
  destinationErrorKinds,
  isAbortError,
  maxObjectKeyBytes,
  objectKeyProblem,
  resolveDestination,
  sdkDestinationError,
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
  SdkErrorContext,
  SdkErrorFacts,
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
export {
  channels,
  isChannel,
  isEmailAddress,
  isJsonNumberText,
  JsonNumber,
  keepsValueAsDouble,
  md5Hex,
  maxMessageDepth,
  maxSerializeDepth,
  maxValidationIssues,
  messageJsonSchema,
  formatIssues,
  MessageValidationError,
  parseJson,
  parseMessage,
  parseMessageJson,
  readMessageJson,
  sampleHtmlEmail,
  sampleMessages,
  sampleSms,
  serializeJson,
  sha256Hex,
  stringifyJson,
  toE164,
  validateMessage,
} from './payload/index.js';
export type {
  Channel,
  E164Result,
  EmailAttachment,
  EmailMessage,
  JsonObject,
  JsonValue,
  Message,
  MessageBase,
  MessageValidationResult,
  PushMessage,
  SampleMessagesOptions,
  SmsMessage,
  ValidationIssue,
  WhatsAppMessage,
} from './payload/index.js';
export { codePointLength, defaultMaxMessageBytes, exceedsCodePoints, maxMessageIdLength, messageIdProblem } from './limits/index.js';
export { compileKeyLayout, KeyLayoutError, keyLayoutPresets, normalizeRecipient, parseVersionKey, safeSegment, versionIdDigits, versionKey } from './key-layout/index.js';
export type { KeyLayout, KeyLayoutPresetName, VersionKeyParts } from './key-layout/index.js';
export {
  brazeProfile,
  clevertapProfile,
  getProfile,
  isProfileName,
  iterableProfile,
  profileNames,
  profiles,
  sentcopyProfile,
} from './profiles/index.js';
export type { Profile, ProfileName, ProfileParseContext } from './profiles/index.js';
export {
  completeRawMimeMessage,
  decodeRawMime,
  decodeRawMimePrefix,
  encodeRawMime,
  headerSection,
  maxRawMimeHeaderBytes,
  rawMimeDerivedFields,
  rawMimeDerivedMarker,
  readRawMimeHeaders,
} from './mime/index.js';
export type { RawMimeHeaders } from './mime/index.js';
export { ArchiveError, archiveMetadataKeys, createArchiver, createPreparePool } from './archiver/index.js';
export type { ArchiveResult, Archiver, ArchiverOptions, CheckedMessage, PreparedObject, PreparePool, PreparePoolOptions, PrepareSettings } from './archiver/index.js';
