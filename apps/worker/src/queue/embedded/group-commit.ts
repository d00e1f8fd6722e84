import type { Database } from 'better-sqlite3';

interface PendingOperation {
  readonly run: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Runs every write submitted within one event-loop turn in a single transaction, so concurrent
 * enqueues, claims and acks share one fsync instead of paying one each. Each operation runs in its
 * own savepoint: one that throws is rolled back alone and rejects alone; a failed commit rejects
 * them all (and SQLite has rolled them all back).
 */
export class GroupCommit {
  private pending: PendingOperation[] = [];
  private scheduled = false;
  private readonly inTransaction: (work: () => void) => void;
  private readonly inSavepoint: (run: () => unknown) => unknown;

  constructor(
    private readonly db: Database,
    private readonly mapError: (error: unknown) => unknown,
  ) {
    this.inTransaction = db.transaction((work: () => void) => work());
    this.inSavepoint = db.transaction((run: () => unknown) => run());
  }

  /** Queues `run` for the next commit; resolves with its result once that commit is durable. */
  submit<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits whatever is pending now. */
  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.inTransaction(() => {
        for (const operation of batch) {
          try {
            outcomes.push({ ok: true, value: this.inSavepoint(operation.run) });
          } catch (error) {
            // Some failures (disk full, I/O error) make SQLite roll back the whole transaction:
            // then nothing of this batch is stored, and every operation must say so.
            if (!this.db.inTransaction) throw error;
            outcomes.push({ ok: false, value: error });
          }
        }
      });
    } catch (error) {
      const mapped = this.mapError(error);
      for (const operation of batch) operation.reject(mapped);
      return;
    }
    batch.forEach((operation, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) operation.resolve(outcome.value);
      else operation.reject(this.mapError(outcome.value));
    });
  }
}
