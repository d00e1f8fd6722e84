export { createJsonLineLogger } from './logging/index.js';
export type { LogEntry, LogLevel, WorkerLogger } from './logging/index.js';
export { createProcessor } from './processor/index.js';
export type { OutcomeMessage, ProcessOutcome, Processor, ProcessorOptions, StopOptions, StopReport } from './processor/index.js';
export { createEmbeddedQueue, createJetStreamQueue, deadLetterKinds, natsConnectOptions, QueueError, queueProblems, queueRetentionMs, salvageEmbeddedQueue, workerPermissions } from './queue/index.js';
export type {
  AttemptRecord,
  ClaimedMessage,
  ClaimOptions,
  DeadLetter,
  DeadLetterFilter,
  DeadLetterKind,
  DeadLetterOptions,
  DeadLetterPage,
  DiscardedDeadLetter,
  DiscardedPage,
  DiscardResult,
  EmbeddedQueue,
  EmbeddedQueueOptions,
  EnqueueResult,
  EnqueueStoredOptions,
  JetStreamQueue,
  JetStreamQueueOptions,
  NatsPermissions,
  LeaseRef,
  ListDeadLettersOptions,
  ListDiscardedOptions,
  MessageQueue,
  QueueErrorKind,
  QueueHealth,
  QueueMessageInput,
  QueueProblem,
  QueueStats,
  ReplayResult,
  RescheduleOptions,
  SalvageDamagedRange,
  SalvageEmbeddedQueueOptions,
  SalvageLostMessage,
  SalvageReport,
} from './queue/index.js';
export {
  buildDestination,
  buildWorkerConfigJsonSchema,
  checkDescriptor,
  checkRecipientKey,
  checkSecretReferences,
  configFormatVersion,
  ConfigError,
  createConfigRuntime,
  createFileConfigSource,
  defaultConfig,
  defaultRecipientKeyVariable,
  descriptorSchemaKeywords,
  destinationEntrySchema,
  destinationPackages,
  ensureRecipientKeyInEnvFile,
  envFileFor,
  environmentWithEnvFile,
  firstPartyDescriptors,
  firstPartyDestinationTypes,
  generateApiKey,
  generateRecipientKey,
  listSecretReferences,
  loadConfigFile,
  markedSettings,
  configTextSha256,
  openJetStreamConfigStore,
  parseConfigText,
  projectKeyLayout,
  projectsOnUnkeyedDefault,
  readEnvFile,
  readRecipientKey,
  resolveDestinationDescriptor,
  retryPolicyFromConfig,
  settingsOf,
  unkeyedDefaultWarning,
  validateConfig,
  workerConfigFrameSchema,
} from './config/index.js';
export type {
  AlertsConfig,
  AnyDestinationDescriptor,
  ApiKeyConfig,
  BuildDestinationOptions,
  ConfigChanges,
  ConfigRuntime,
  ConfigRuntimeOptions,
  ConfigTextSource,
  ConfigValidationResult,
  DefaultConfig,
  DefaultConfigOptions,
  DescriptorResolution,
  DescriptorSourceOptions,
  DestinationConfig,
  DestinationSecretSettings,
  DestinationStatus,
  FileConfigSourceOptions,
  HttpConfig,
  HttpLimitsConfig,
  HttpMetricsConfig,
  HttpTlsConfig,
  JetStreamConfigStore,
  JetStreamConfigStoreOptions,
  WorkerConfigStatus,
 
  FirstPartyDestinationType,
  LedgerConfig,
  OutageRetryConfig,
  PackageImporter,
  ProbeEvent,
  ProjectConfig,
  QueueConfig,
  RateLimitedRetryConfig,
  ReloadEvent,
  RetryConfig,
  SecretReference,
  SecretReferenceAt,
  StartupSettings,
  ValidateConfigOptions,
  WorkerConfig,
} from './config/index.js';
export { apiKeyHashesEqual, hashApiKey } from './projects/index.js';
export type { ArchiverUse, ProjectDirectory, ProjectRoute } from './projects/index.js';
export { createIntakeServer } from './intake/index.js';
export type { GateLedger, IntakeEvent, IntakeLimits, IntakeRejection, IntakeServer, IntakeServerOptions, IntakeTls, Readiness } from './intake/index.js';
export { createWorkerMetrics, metricsRejectReasons, metricsRoutes } from './metrics/index.js';
export type { MetricsIntakeEvent, MetricsRejectReason, MetricsRoute, OutcomeInfo, ReloadResult, WorkerMetrics, WorkerMetricsOptions } from './metrics/index.js';
export { createDestinationHealth } from './destination-health/index.js';
export type { DestinationHealth, DestinationHealthEvent, DestinationHealthOptions, DestinationHealthState, DestinationProblemKind, WriteReport } from './destination-health/index.js';
export { createAlertNotifier, watchQueueHealth } from './alerts/index.js';
export type { AlertKind, AlertNotification, AlertNotifier, AlertNotifierHealth, AlertNotifierOptions, DestinationAlertState, LedgerAlertNotification, LedgerHealthChange, QueueAlertNotification, QueueHealthWatch, WatchQueueHealthOptions } from './alerts/index.js';
export { createWorkerLedgers, defaultLedgerSettings, layoutRecipientHash, ledgerSettingsOf, persistentWriterIdSync } from './ledger/index.js';
export type { LedgerHealthEvent, LedgerState, NamedRecipientHash, ProjectLedger, WorkerLedgers, WorkerLedgersOptions, WorkerLedgerSettings } from './ledger/index.js';
export { runWorker } from './run-worker.js';
export type { RunningWorker, RunWorkerOptions } from './run-worker.js';
export { workerVersion } from './worker-version.js';
