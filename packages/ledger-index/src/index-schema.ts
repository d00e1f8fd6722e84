import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { LedgerIndexError } from './ledger-index-error.js';

/** Version of the index's tables; an index of another version is refused (delete the file and build it again). */
export const ledgerIndexSchemaVersion = 1;

/** The query indexes of `objects`: dropped while an empty index is first built, and created once at the end (much faster than keeping them up to date row by row). */
export const secondaryIndexes = `
CREATE INDEX IF NOT EXISTS objects_sent ON objects (sent_at, id);
CREATE INDEX IF NOT EXISTS objects_project ON objects (project_id, sent_at, id);
CREATE INDEX IF NOT EXISTS objects_campaign ON objects (campaign, sent_at, id);
CREATE INDEX IF NOT EXISTS objects_canvas ON objects (canvas_id, sent_at, id) WHERE canvas_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS objects_journey ON objects (journey_id, sent_at, id) WHERE journey_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS objects_user ON objects (user_id, sent_at, id) WHERE user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS objects_channel ON objects (channel, sent_at, id);
CREATE INDEX IF NOT EXISTS objects_message ON objects (message_id, sent_at, id);
`;

/** Names of {@link secondaryIndexes}. */
export const secondaryIndexNames = [...secondaryIndexes.matchAll(/CREATE INDEX IF NOT EXISTS (\w+)/g)].map((match) => match[1]!);

const schema = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS segments (
  destination TEXT NOT NULL, writer TEXT NOT NULL, seq INTEGER NOT NULL,
  sha256 TEXT NOT NULL, size INTEGER NOT NULL, lines INTEGER NOT NULL, indexed_at INTEGER NOT NULL,
  PRIMARY KEY (destination, writer, seq)
) STRICT;
CREATE TABLE IF NOT EXISTS objects (
  id INTEGER PRIMARY KEY, destination TEXT NOT NULL, key TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
  message_id TEXT NOT NULL, channel TEXT NOT NULL, project_id TEXT NOT NULL,
  campaign TEXT, campaign_id TEXT, canvas_id TEXT, canvas_step_id TEXT, journey_id TEXT, journey_node_id TEXT, user_id TEXT,
  sent_at REAL NOT NULL, stored_at REAL NOT NULL, version INTEGER NOT NULL, original_key TEXT,
  writer TEXT NOT NULL, seq INTEGER NOT NULL, erased_at REAL, erase_reason TEXT,
  UNIQUE (destination, key)
) STRICT;
CREATE TABLE IF NOT EXISTS recipients (hash TEXT NOT NULL, object_id INTEGER NOT NULL, PRIMARY KEY (hash, object_id)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tombstones (
  destination TEXT NOT NULL, key TEXT NOT NULL, sha256 TEXT NOT NULL, erased_at REAL NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (destination, key, sha256)
) STRICT;
${secondaryIndexes}`;

/**
 * Opens (creating if absent) the index file with mode 0600 — it holds recipient hashes and ids —
 * and its tables. SQLite gives its `-wal` and `-shm` files the database file's mode.
 */
export function openIndexDatabase(file: string): SqliteDatabase {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  chmodSync(file, 0o600);
  let database: SqliteDatabase;
  try {
    database = new Database(file);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    // Index builds insert into several B-trees at random places: a larger page cache saves most re-reads.
    database.pragma('cache_size = -131072');
    database.exec(schema);
  } catch (error) {
    throw new LedgerIndexError('unreadable', `${file} is not a sentcopy ledger index (${(error as Error).message}); delete it and run \`sentcopy index\` again.`, { cause: error });
  }
  const row = database.prepare('SELECT value FROM meta WHERE name = ?').get('schema_version') as { value: string } | undefined;
  if (row === undefined) database.prepare('INSERT INTO meta (name, value) VALUES (?, ?)').run('schema_version', String(ledgerIndexSchemaVersion));
  else if (row.value !== String(ledgerIndexSchemaVersion)) {
    database.close();
    throw new LedgerIndexError('unreadable', `${file} is a ledger index of version ${row.value}, not ${ledgerIndexSchemaVersion}; delete it and run \`sentcopy index\` again.`);
  }
  return database;
}
