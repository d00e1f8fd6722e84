export { buildDestination, destinationPackages } from './build-destination.js';
export type { BuildDestinationOptions, PackageImporter } from './build-destination.js';
export { ConfigError } from './config-error.js';
export { createConfigRuntime } from './config-runtime.js';
export type { ConfigChanges, ConfigRuntime, ConfigRuntimeOptions, ConfigTextSource, DestinationStatus, ProbeEvent, ReloadEvent, StartupSettings } from './config-runtime.js';
export { configTextSha256, openJetStreamConfigStore } from './jetstream-config-store.js';
export type { JetStreamConfigStore, JetStreamConfigStoreOptions, WorkerConfigStatus } from './jetstream-config-store.js';
export { defaultConfig, generateApiKey } from './default-config.js';
export { ensureRecipientKeyInEnvFile, envFileFor, environmentWithEnvFile, generateRecipientKey, readEnvFile } from './env-file.js';
export { checkRecipientKey, defaultRecipientKeyVariable, projectKeyLayout, projectsOnUnkeyedDefault, readRecipientKey, unkeyedDefaultWarning } from './recipient-key.js';
export type { DefaultConfig, DefaultConfigOptions } from './default-config.js';
export { checkSecretReferences, listSecretReferences } from './secret-references.js';
export type { SecretReferenceAt } from './secret-references.js';
export { loadConfigFile, parseConfigText, retryPolicyFromConfig, validateConfig } from './validate-config.js';
export type { ConfigValidationResult, ValidateConfigOptions } from './validate-config.js';
export type {
  AlertsConfig,
  ApiKeyConfig,
  AzureDestinationConfig,
  DestinationConfig,
  DestinationType,
  FsDestinationConfig,
  GcsDestinationConfig,
  HttpConfig,
  HttpLimitsConfig,
  HttpMetricsConfig,
  LedgerConfig,
  OutageRetryConfig,
  ProjectConfig,
  QueueConfig,
  RateLimitedRetryConfig,
  RetentionConfig,
  RetryConfig,
  S3DestinationConfig,
  S3ObjectLockConfig,
  SecretReference,
  WorkerConfig,
} from './worker-config.js';
export { workerConfigJsonSchema } from './worker-config-schema.js';
