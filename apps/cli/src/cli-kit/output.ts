import { stringifyJson } from '@sentcopy/core';
import { ConfigError } from '@sentcopy/worker';
import { CliError } from './cli-error.js';
import { exitCodes } from './exit-codes.js';

/** Options every command takes. */
export interface OutputOptions {
  /** Print one JSON document on stdout instead of human text. */
  readonly json?: boolean;
}

/**
 * Prints a command's result: `value` as one JSON document with `--json`, else the text `human()`
 * returns (nothing when it returns an empty string).
 */
export function emit(options: OutputOptions, value: unknown, human: () => string): void {
  if (options.json === true) {
    process.stdout.write(`${stringifyJson(value, 2)}\n`);
    return;
  }
  const text = human();
  if (text !== '') process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Turns anything thrown into a {@link CliError}; configuration problems keep every issue in the message. */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (ConfigError.isInstance(error)) {
    return new CliError((error as Error).message, { exitCode: exitCodes.usage, code: 'invalid_config', hint: 'Fix the configuration file and run the command again.' });
  }
  if (error instanceof Error && (error as { code?: string }).code?.startsWith('commander.') === true) {
    return new CliError(error.message, { exitCode: exitCodes.usage, code: 'usage' });
  }
  return new CliError(error instanceof Error ? error.message : String(error), { code: 'failed', cause: error });
}

/**
 * Reports a failed command on stderr (or as `{"error":…}` on stdout with `--json`) and sets the exit
 * code. Used by the program's top-level handler; commands just throw.
 */
export function reportError(error: unknown, json: boolean): void {
  const failure = toCliError(error);
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: { code: failure.code, message: failure.message, ...(failure.hint === undefined ? {} : { hint: failure.hint }) } }, null, 2)}\n`);
  } else {
    process.stderr.write(`sentcopy: ${failure.message}\n${failure.hint === undefined ? '' : `${failure.hint}\n`}`);
  }
  process.exitCode = failure.exitCode;
}
