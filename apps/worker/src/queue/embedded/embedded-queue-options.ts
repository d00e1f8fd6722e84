/** Options for {@link createEmbeddedQueue}. */
export interface EmbeddedQueueOptions {
  /**
   * Folder holding the queue's store (`queue.db` and its write-ahead log `queue.db-wal`); created
   * with its parents if missing. Use a local disk: the store relies on file locks and fsync. Only
   * one process may have a folder open at a time; a second gets a `QueueError` of kind `locked`.
   */
  readonly directory: string;
  /** Lease length when `claim()` is given none, in milliseconds. @default 60000 */
  readonly defaultLeaseMs?: number;
  /**
   * How long the project and message id of an archived (acked) message are remembered, so that
   * submitting it again is reported as `duplicate`, in milliseconds. `0` remembers only messages
   * still queued. Costs a few dozen bytes of disk per message archived within the window.
   * @default 3600000 (1 hour)
   */
  readonly dedupeWindowMs?: number;
  /** Largest payload accepted, in bytes. @default 67108864 (64 MiB) */
  readonly maxPayloadBytes?: number;
  /**
   * Memory the store may use to cache pages, in MiB. Queued messages live on disk; this bounds
   * what stays in memory however many are queued. @default 16
   */
  readonly cacheSizeMiB?: number;
  /**
   * How often the store forgets archived ids older than the de-duplication window and hands free
   * space (left by archived messages) back to the file system, a bounded amount per round, in
   * milliseconds. @default 30000
   */
  readonly maintenanceIntervalMs?: number;
  /**
   * Free space kept on the queue's file system for claims, acks and checkpoints, in bytes: a batch
   * that would leave less is refused (`QueueError` kind `storage`, problem `disk_full`), so the
   * messages already queued can still be archived and the write-ahead log emptied. @default 16777216 (16 MiB)
   */
  readonly reserveBytes?: number;
  /**
   * How often the queue checks that its file is still the one it opened (not deleted or replaced)
   * and whether a full disk or I/O errors have cleared, in milliseconds. @default 1000
   */
  readonly healthCheckIntervalMs?: number;
  /**
   * Run SQLite's `quick_check` on open, so a damaged file is reported before new messages are taken
   * (reads the whole file: about a second per GB). @default true
   */
  readonly checkOnOpen?: boolean;
  /** The clock, in epoch milliseconds; tests inject a compressed one. @default Date.now */
  readonly now?: () => number;
}
