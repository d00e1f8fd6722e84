export { buildDestination } from './build-destination.js';
export type { BuildDestinationOptions } from './build-destination.js';
export { checkDescriptor, descriptorSchemaKeywords, destinationPackages, firstPartyDescriptors, firstPartyDestinationTypes, markedSettings, resolveDestinationDescriptor, settingsOf } from './destination-descriptors.js';
export type { AnyDestinationDescriptor, DescriptorResolution, DescriptorSourceOptions, FirstPartyDestinationType, PackageImporter } from './destination-descriptors.js';
export { ConfigError } from './config-error.js';
export { createConfigRuntime } from './config-runtime.js';
export type { ConfigChanges, ConfigRuntime, ConfigRuntimeOptions, DestinationStatus, ProbeEvent, ReloadEvent, StartupSettings } from './config-runtime-options.js';
export type { ConfigTextSource } from './config-text-source.js';
export { createFileConfigSource } from './file-config-source.js';
export type { FileConfigSourceOptions } from './file-config-source.js';
export { configTextSha256, openJetStreamConfigStore } from './jetstream-config-store.js';
export type { JetStreamConfigStore, JetStreamConfigStoreOptions, WorkerConfigStatus } from './jetstream-config-store.js';
export { defaultConfig, generateApiKey } from './default-config.js';
export { ensureRecipientKeyInEnvFile, envFileFor, environmentWithEnvFile, generateRecipientKey, readEnvFile } from './env-file.js';
export { checkRecipientKey, defaultRecipientKeyVariable, projectKeyLayout, projectsOnUnkeyedDefault, readRecipientKey, unkeyedDefaultWarning } from './recipient-key.js';
export type { DefaultConfig, DefaultConfigOptions } from './default-config.js';
export { checkSecretReferences, listSecretReferences } from './secret-references.js';
export type { DestinationSecretSettings, SecretReferenceAt } from './secret-references.js';
export { configFormatVersion, loadConfigFile, parseConfigText, retryPolicyFromConfig, validateConfig } from './validate-config.js';
export type { ConfigValidationResult, ValidateConfigOptions } from './validate-config.js';
export type {
  AlertsConfig,
  ApiKeyConfig,
  DestinationConfig,
  HttpConfig,
  HttpLimitsConfig,
  HttpMetricsConfig,
  HttpTlsConfig,
  LedgerConfig,
  OutageRetryConfig,
  ProjectConfig,
  QueueConfig,
  RateLimitedRetryConfig,
  RetryConfig,
  SecretReference,
  WorkerConfig,
} from './worker-config.js';
export { buildWorkerConfigJsonSchema, destinationEntrySchema, workerConfigFrameSchema } from './worker-config-schema.js';
