import type { Database } from 'better-sqlite3';
import { QueueError } from '../queue-error.js';

/** A row of the `queue` table, as `SELECT *` reads it. */
export interface QueueRow {
  id: number;
  project: string;
  message_id: string;
  enqueued_at: number;
  available_at: number;
  lease_id: string | null;
  deliveries: number;
  attempts: number;
  first_attempt_at: number | null;
  last_attempt_at: number | null;
  history: string;
  payload_sha256: string | null;
}

/** A row of the `dead_letters` table; `payload_bytes` is joined in from `payloads` where a query asks for it. */
export interface DeadRow {
  id: number;
  project: string;
  message_id: string;
  kind: string;
  reason: string;
  issues: string;
  attempts: number;
  first_attempt_at: number | null;
  last_attempt_at: number | null;
  enqueued_at: number;
  dead_at: number;
  deliveries: number;
  history: string;
  payload_bytes: number | null;
}

/** Format version of the store, in `PRAGMA user_version`. 2: payload hashes (versions), discarded dead letters. */
export const schemaVersion = 2;

/** Size the write-ahead log is cut back to after a checkpoint, in bytes. */
const journalSizeLimitBytes = 4 * 1024 * 1024;

// Payloads live apart from the scheduling rows: SQLite rewrites a whole row on UPDATE, so a claim
// or a reschedule then touches a few dozen bytes instead of the whole (possibly 40 KB) message.
// `available_at` is both the not-before time and, while leased, the lease's end: one index finds
// fresh messages, due retries and expired leases alike.
const schema = `
CREATE TABLE payloads (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  body BLOB NOT NULL
);
CREATE TABLE queue (
  id INTEGER PRIMARY KEY,
  project TEXT NOT NULL,
  message_id TEXT NOT NULL,
  enqueued_at INTEGER NOT NULL,
  available_at INTEGER NOT NULL,
  lease_id TEXT,
  deliveries INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  first_attempt_at INTEGER,
  last_attempt_at INTEGER,
  history TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX queue_ready ON queue (available_at, id);
CREATE INDEX queue_age ON queue (enqueued_at);
CREATE INDEX queue_leased ON queue (lease_id) WHERE lease_id IS NOT NULL;
CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY,
  project TEXT NOT NULL,
  message_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  reason TEXT NOT NULL,
  issues TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  first_attempt_at INTEGER,
  last_attempt_at INTEGER,
  enqueued_at INTEGER NOT NULL,
  dead_at INTEGER NOT NULL,
  deliveries INTEGER NOT NULL,
  history TEXT NOT NULL
);
CREATE INDEX dead_letters_time ON dead_letters (dead_at, id);
`;

// Version 2: the same message id with different content is a second version, not a duplicate, so
// de-duplication compares the SHA-256 of the queued bytes too. Rows written by version 1 have no
// hash (NULL): the queue hashes their payload when it needs to compare. Acks remembered by version
// 1 are dropped: without their hash they cannot tell a resend from a new version, and accepting a
// resend again is safe (the write-once archive answers "already stored").
const schemaV2 = `
ALTER TABLE queue ADD COLUMN payload_sha256 TEXT;
ALTER TABLE dead_letters ADD COLUMN payload_sha256 TEXT;
DROP INDEX IF EXISTS queue_message;
CREATE INDEX queue_message ON queue (project, message_id);
DROP TABLE IF EXISTS recent_acks;
CREATE TABLE recent_acks (
  project TEXT NOT NULL,
  message_id TEXT NOT NULL,
  payload_sha256 TEXT NOT NULL,
  acked_at INTEGER NOT NULL,
  PRIMARY KEY (project, message_id, payload_sha256)
) WITHOUT ROWID;
CREATE INDEX recent_acks_time ON recent_acks (acked_at);
CREATE TABLE discarded_dead_letters (
  id INTEGER PRIMARY KEY,
  project TEXT NOT NULL,
  message_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  reason TEXT NOT NULL,
  discard_reason TEXT NOT NULL,
  discarded_at INTEGER NOT NULL,
  dead_at INTEGER NOT NULL,
  enqueued_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  payload_sha256 TEXT,
  payload_bytes INTEGER NOT NULL
);
CREATE INDEX discarded_time ON discarded_dead_letters (discarded_at, id);
`;

/** Takes the store's lock, sets durability, and creates or checks the schema. */
export function prepareStore(db: Database, options: { cacheSizeMiB: number; folder: string }): void {
  // EXCLUSIVE locking holds the file lock for the connection's lifetime: a second process fails at
  // once instead of corrupting leases, and the OS drops the lock when a process dies (kill -9).
  db.pragma('locking_mode = EXCLUSIVE');
  let version: number;
  try {
    version = db.pragma('user_version', { simple: true }) as number;
    // auto_vacuum only takes effect before the file's first write; it lets maintenance hand the
    // space of a drained backlog back to the file system.
    if (version === 0) db.pragma('auto_vacuum = INCREMENTAL');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
      throw new QueueError('locked', `Another process has the queue in ${options.folder} open; only one worker may use a queue folder at a time.`, { cause: error });
    }
    throw error;
  }
  if (version > schemaVersion) {
    throw new QueueError(
      'incompatible',
      `The queue in ${options.folder} was written by a newer sentcopy (queue format ${version}; this one reads formats 1 to ${schemaVersion}) and was left untouched. Run the newer release again (a queue is never converted back), let it drain, or point this worker at another queue folder; see docs/upgrading.md.`,
    );
  }
  db.pragma('journal_mode = WAL');
  // FULL: a commit fsyncs the write-ahead log, so a resolved enqueue survives power loss too.
  // Group commits of claims and acks alone switch to NORMAL (see GroupCommit).
  db.pragma('synchronous = FULL');
  // After a checkpoint the log is cut back to this size, so one large batch does not keep its space for good.
  db.pragma(`journal_size_limit = ${journalSizeLimitBytes}`);
  db.pragma(`cache_size = -${Math.round(options.cacheSizeMiB * 1024)}`);
  db.pragma('temp_store = MEMORY');
  if (version < schemaVersion) {
    db.transaction(() => {
      if (version === 0) db.exec(schema);
      if (version < 2) db.exec(schemaV2);
      db.pragma(`user_version = ${schemaVersion}`);
    })();
  }
}
