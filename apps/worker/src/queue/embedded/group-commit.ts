import type { Database } from 'better-sqlite3';

/**
 * How long lazy operations (claims, acks, ledger holds) wait for company before they are committed,
 * in milliseconds. Measured on a backlog's drain (bench/README.md): 5 ms took 8–14% less CPU per
 * message than 2 ms (fewer commits, each writing the same pages for more messages); 10 ms made
 * claims wait long enough to slow the drain by a quarter. Durable operations never wait for it.
 */
const lazyDelayMs = 5;

interface PendingOperation {
  readonly run: () => unknown;
  readonly durable: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Runs every write submitted within one event-loop turn in a single transaction, so concurrent
 * enqueues, claims and acks share one fsync instead of paying one each. Each operation runs in its
 * own savepoint: one that throws is rolled back alone and rejects alone; a failed commit rejects
 * them all (and SQLite has rolled them all back).
 *
 * Only a batch holding a durable operation is fsynced (`synchronous = FULL`); a batch of lazy ones
 * (claims, acks, lease changes) is committed without an fsync (`NORMAL`: consistent after a crash,
 * but its last commits may be lost), and becomes durable with the next fsynced commit. Losing an
 * ack only means the message is archived again, which write-once makes harmless.
 */
export class GroupCommit {
  private pending: PendingOperation[] = [];
  private immediate = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly inTransaction: (work: () => void) => void;
  private readonly inSavepoint: (run: () => unknown) => unknown;
  private synchronousFull = true;

  constructor(
    private readonly db: Database,
    private readonly mapError: (error: unknown) => unknown,
  ) {
    this.inTransaction = db.transaction((work: () => void) => work());
    this.inSavepoint = db.transaction((run: () => unknown) => run());
  }

  /**
   * Queues `run` for the next commit; resolves with its result once that commit is done: on disk
   * (fsynced) for a `durable` operation, written but possibly not yet flushed for a `lazy` one.
   */
  submit<T>(run: () => T, durability: 'durable' | 'lazy' = 'durable'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const durable = durability === 'durable';
      this.pending.push({ run, durable, resolve: resolve as (value: unknown) => void, reject });
      if (durable && !this.immediate) {
        this.immediate = true;
        setImmediate(() => this.flush());
      } else if (!durable && !this.immediate && this.timer === undefined) {
        // Nobody waits on a lazy commit for long, so a short wait gathers many of them into one.
        this.timer = setTimeout(() => this.flush(), lazyDelayMs);
      }
    });
  }

  /** Commits whatever is pending now. */
  flush(): void {
    this.immediate = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const full = batch.some((operation) => operation.durable);
    if (full !== this.synchronousFull) {
      this.db.pragma(`synchronous = ${full ? 'FULL' : 'NORMAL'}`);
      this.synchronousFull = full;
    }
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
