/** How serious a log entry is. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * One structured log entry. Fields carry ids, kinds, counts and reasons, never message content,
 * raw recipients or secrets.
 */
export interface LogEntry {
  /** How serious it is. */
  readonly level: LogLevel;
  /** A stable dotted name for the event, e.g. `message.dead_lettered`. */
  readonly event: string;
  /** A human sentence. */
  readonly message: string;
  /** Further fields (ids, kind, reason, attempts…). */
  readonly [field: string]: unknown;
}

/** Receives log entries; the worker never writes logs any other way. */
export type WorkerLogger = (entry: LogEntry) => void;

/**
 * A logger that writes each entry as one JSON line (with `time` as an ISO timestamp first) through
 * `write`, e.g. `(line) => process.stdout.write(line)`. Entries below `level` are dropped.
 */
export function createJsonLineLogger(write: (line: string) => void, options: { level?: LogLevel; now?: () => number } = {}): WorkerLogger {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  const threshold = order[options.level ?? 'info'];
  const now = options.now ?? Date.now;
  return (entry) => {
    if (order[entry.level] < threshold) return;
    write(`${JSON.stringify({ time: new Date(now()).toISOString(), ...entry })}\n`);
  };
}
