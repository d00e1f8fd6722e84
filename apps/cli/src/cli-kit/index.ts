export { CliError } from './cli-error.js';
export type { CliErrorOptions } from './cli-error.js';
export { defaultConfigFile, openDestination, readConfig, writeConfig } from './config-file.js';
export type { LoadedConfig } from './config-file.js';
export { exitCodes } from './exit-codes.js';
export type { ExitCode } from './exit-codes.js';
export { emit, reportError, toCliError } from './output.js';
export type { OutputOptions } from './output.js';
