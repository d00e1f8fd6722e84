import { exitCodes, type ExitCode } from './exit-codes.js';

/** Options for {@link CliError}. */
export interface CliErrorOptions {
  /** What to do next, one sentence (printed on its own line after the message). */
  readonly hint?: string;
  /** The process exit code. @default exitCodes.failure */
  readonly exitCode?: ExitCode;
  /** A short machine-readable name for `--json` output, e.g. `destination_not_found`. @default 'failed' */
  readonly code?: string;
  /** The underlying error, kept for debugging; never printed (it may hold a secret). */
  readonly cause?: unknown;
}

/**
 * An error a command reports to its user: a message saying what went wrong (never a secret or a raw
 * recipient), what to do next, and the exit code. Anything else thrown is a bug and exits 1.
 */
export class CliError extends Error {
  /** What to do next. */
  readonly hint: string | undefined;
  /** The process exit code. */
  readonly exitCode: ExitCode;
  /** Machine-readable name for `--json` output. */
  readonly code: string;

  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? exitCodes.failure;
    this.code = options.code ?? 'failed';
  }
}
