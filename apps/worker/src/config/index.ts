export { buildDestination } from './build-destination.js';
export { ConfigError } from './config-error.js';
export { createConfigRuntime } from './config-runtime.js';
export type { ConfigRuntime, ConfigRuntimeOptions, DestinationStatus, ProbeEvent, ReloadEvent } from './config-runtime.js';
export { defaultConfig, generateApiKey } from './default-config.js';
export { loadConfigFile, parseConfigText, validateConfig } from './validate-config.js';
export type { ConfigValidationResult } from './validate-config.js';
export type {
  AlertsConfig,
  ApiKeyConfig,
  DestinationConfig,
  FsDestinationConfig,
  ProjectConfig,
  S3DestinationConfig,
  SecretReference,
  WorkerConfig,
} from './worker-config.js';
export { workerConfigJsonSchema } from './worker-config-schema.js';
