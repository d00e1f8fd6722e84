import type { LogLevel, WorkerLogger } from '../logging/index.js';

/** Writes one structured log entry of the configuration's; does nothing without a logger. */
export type ConfigLog = (level: LogLevel, event: string, message: string, fields?: Record<string, unknown>) => void;

/** A {@link ConfigLog} that writes to `logger`. */
export const configLog =
  (logger: WorkerLogger | undefined): ConfigLog =>
  (level, event, message, fields = {}) =>
    logger?.({ level, event, message, ...fields });

/** An error's message, or the thrown value as text. */
export const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error));
