import type { CheckedLine, RejectRecord } from './check-line.js';

/** What a sink reports about each line it decided. */
export interface IngestTally {
  /** Taken: queued by the worker (worker mode) or stored (direct mode). */
  taken(line: CheckedLine): void;
  /** Already there: queued or archived before (worker), or an identical copy already stored (direct). */
  duplicate(line: CheckedLine): void;
  /** Refused, with why; `text` is the line as read (`undefined` for a whole file that could not be read). */
  rejected(record: RejectRecord, text: string | undefined): void;
}

/** Where checked lines go: the worker's intake, or a destination directly. */
export interface IngestSink {
  /** Takes a line; resolves once there is room for the next one (back-pressure). Rejects when the run must stop. */
  submit(line: CheckedLine): Promise<void>;
  /** Sends what is left and waits for every line's outcome. */
  finish(): Promise<void>;
  /** Releases resources (threads, connections). Safe to call after a failure. */
  close(): Promise<void>;
}

/** Runs at most `limit` tasks at a time; the first failure is kept and rethrown by `wait`/`drain`. */
export function createTaskLimiter(limit: number) {
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const check = () => {
    if (failure !== undefined) throw failure.error;
  };
  return {
    /** Starts `task` once fewer than `limit` run. */
    async run(task: () => Promise<void>): Promise<void> {
      check();
      while (running.size >= limit) {
        await Promise.race(running);
        check();
      }
      const promise: Promise<void> = task()
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(() => running.delete(promise));
      running.add(promise);
    },
    /** Waits for every running task. */
    async drain(): Promise<void> {
      while (running.size > 0) await Promise.race(running);
      check();
    },
  };
}
