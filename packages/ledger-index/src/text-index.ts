import type { Database as SqliteDatabase } from 'better-sqlite3';
import { retryInline, sha256Hex, type DestinationV1, type InlineRetryOptions, type StoredObject } from '@sentcopy/core';
import { LedgerIndexError } from './ledger-index-error.js';

/**
 * The full-text tables. `message_text` is an FTS5 table keeping the text it indexes (so what it
 * holds can be checked, and removed whole); `message_text_state` records which objects were read,
 * so an update reads only the others.
 */
const textSchema = `
CREATE VIRTUAL TABLE IF NOT EXISTS message_text USING fts5(subject, body, tokenize='unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS message_text_state (object_id INTEGER PRIMARY KEY, indexed_at INTEGER NOT NULL) STRICT;
`;

/** Most characters of subject and of body indexed per message; the rest is not searchable. */
export const maxIndexedTextLength = 1024 * 1024;

/** The text of one message, as an extractor finds it. */
export interface MessageText {
  /** The subject (email), or a push notification's title. */
  readonly subject?: string;
  /** The body as text: plain text, HTML rendered as text, an SMS or WhatsApp body, a push body. */
  readonly body?: string;
}

/** One object whose text is wanted: what the index knows of it. */
export interface TextSource {
  /** The destination's name. */
  readonly destination: string;
  readonly key: string;
  /** SHA-256 the ledger recorded for its bytes. */
  readonly sha256: string;
  readonly channel: string;
  readonly projectId: string;
}

/**
 * Finds the text of one stored message. Called once per object, with bytes whose SHA-256 already
 * matched the ledger's. Throw (with a message naming no content and no recipient) when the
 * object cannot be read as a message: it is reported `unreadable` and tried again next update.
 */
export type MessageTextExtractor = (source: TextSource, stored: StoredObject) => MessageText | Promise<MessageText>;

/**
 * An object the text update could not read, which it reports and tries again next time:
 * - `missing`: the ledger lists it, the store does not have it;
 * - `altered`: its bytes do not hash to the SHA-256 the ledger recorded (not indexed);
 * - `unreadable`: the extractor could not read it as a message.
 */
export type TextProblemKind = 'missing' | 'altered' | 'unreadable';

/** One object the text update could not index. */
export interface TextProblem {
  readonly kind: TextProblemKind;
  /** The destination's name. */
  readonly destination: string;
  /** The object's key. */
  readonly key: string;
  /** A human sentence (no content, no recipient). */
  readonly reason: string;
}

/** Progress of a text update, after each batch. */
export interface TextProgress {
  /** The destination being indexed. */
  readonly destination: string;
  /** Objects read so far in this update. */
  readonly objects: number;
  /** Objects this update has to read. */
  readonly objectsTotal: number;
}

/** Options for `LedgerIndex.updateText()`. */
export interface TextUpdateOptions {
  /** Reads one message's text. */
  readonly extract: MessageTextExtractor;
  /** Stops after the batch being indexed; what was indexed stays, and the next update continues. */
  readonly signal?: AbortSignal;
  /** Told after each batch. */
  readonly onProgress?: (progress: TextProgress) => void;
  /** Objects read at once. @default 8 */
  readonly concurrency?: number;
  /** Objects per transaction (what an interruption can lose at most, to be read again). @default 200 */
  readonly batchSize?: number;
  /** Retries of each read. @default { budgetMs: 10000, maxAttempts: 4 } */
  readonly retry?: InlineRetryOptions;
}

/** What one text update did. */
export interface TextUpdateResult {
  /** The destination's name. */
  readonly destination: string;
  /** Objects read and indexed in this update. */
  readonly indexed: number;
  /** Objects that could not be indexed (tried again next update). */
  readonly problems: readonly TextProblem[];
  /** Objects of this destination still without text (the problems, and what an interruption left). */
  readonly pending: number;
  /** True when the signal stopped the update before it was done. */
  readonly interrupted: boolean;
}

/** Whether the text tables are on (the index remembers it in `meta`). */
export function isTextEnabled(database: SqliteDatabase): boolean {
  return database.prepare("SELECT value FROM meta WHERE name = 'text'").pluck().get() === 'on';
}

/** A connection to an index with text overwrites deleted content in the file (`secure_delete` is per connection). */
export function prepareTextConnection(database: SqliteDatabase): void {
  database.pragma('secure_delete = ON');
}

/**
 * Turns full-text search on: creates the tables (empty) and remembers it. The FTS5 table's
 * `secure-delete` option (kept in the table) removes a deleted row's words at once instead of
 * leaving them in index segments until a merge, so an erased message's words leave the file with it.
 */
export function enableText(database: SqliteDatabase): void {
  database.transaction(() => {
    database.exec(textSchema);
    database.exec("INSERT INTO message_text (message_text, rank) VALUES ('secure-delete', 1)");
    database.prepare("INSERT INTO meta (name, value) VALUES ('text', 'on') ON CONFLICT (name) DO UPDATE SET value = excluded.value").run();
  })();
  prepareTextConnection(database);
}

/**
 * Turns full-text search off: drops the tables and their content, then rebuilds the file
 * (VACUUM) and empties the write-ahead log, so no copied word stays in the file's free pages.
 */
export function disableText(database: SqliteDatabase): void {
  database.pragma('secure_delete = ON');
  database.transaction(() => {
    database.exec('DROP TABLE IF EXISTS message_text; DROP TABLE IF EXISTS message_text_state;');
    database.prepare("DELETE FROM meta WHERE name = 'text'").run();
  })();
  database.exec('VACUUM');
  database.pragma('wal_checkpoint(TRUNCATE)');
}

/**
 * Removes the text of objects a tombstone marks as erased. Returns how many were removed; when
 * any were, the log is checkpointed and emptied so the erased words leave the `-wal` file too.
 */
export function removeErasedText(database: SqliteDatabase): number {
  const ids = database.prepare('SELECT s.object_id FROM message_text_state AS s JOIN objects AS o ON o.id = s.object_id WHERE o.erased_at IS NOT NULL').pluck().all() as number[];
  if (ids.length === 0) return 0;
  const deleteText = database.prepare('DELETE FROM message_text WHERE rowid = ?');
  const deleteState = database.prepare('DELETE FROM message_text_state WHERE object_id = ?');
  database.transaction(() => {
    for (const id of ids) {
      deleteText.run(id);
      deleteState.run(id);
    }
  })();
  database.pragma('wal_checkpoint(TRUNCATE)');
  return ids.length;
}

/** How many objects (not erased) of `destination`, or of every destination, have no text yet. */
export function pendingTextCount(database: SqliteDatabase, destination?: string): number {
  const sql = `SELECT COUNT(*) FROM objects AS o WHERE o.erased_at IS NULL${destination === undefined ? '' : ' AND o.destination = ?'} AND NOT EXISTS (SELECT 1 FROM message_text_state AS s WHERE s.object_id = o.id)`;
  return database
    .prepare(sql)
    .pluck()
    .get(...(destination === undefined ? [] : [destination])) as number;
}

/** How many objects have text indexed, per destination. */
export function textCounts(database: SqliteDatabase): Map<string, number> {
  const rows = database.prepare('SELECT o.destination, COUNT(*) AS count FROM message_text_state AS s JOIN objects AS o ON o.id = s.object_id GROUP BY o.destination').all() as { destination: string; count: number }[];
  return new Map(rows.map((row) => [row.destination, row.count]));
}

const clip = (value: string | undefined) => (value === undefined ? '' : value.length > maxIndexedTextLength ? value.slice(0, maxIndexedTextLength) : value);

interface PendingRow {
  id: number;
  key: string;
  sha256: string;
  channel: string;
  project_id: string;
}

/**
 * Reads, once each, the objects of one destination that have no text yet (and are not erased),
 * checks their bytes against the ledger's SHA-256, and indexes what `extract` finds, one batch per
 * transaction.
 */
export async function updateText(database: SqliteDatabase, name: string, destination: DestinationV1, options: TextUpdateOptions): Promise<TextUpdateResult> {
  if (!isTextEnabled(database)) throw new LedgerIndexError('text_disabled', 'Full-text search is off in this index: turn it on first (enableText).');
  const retry = options.retry ?? { budgetMs: 10_000, maxAttempts: 4 };
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const batchSize = Math.max(1, options.batchSize ?? 200);
  const problems: TextProblem[] = [];
  const pendingAfter = database.prepare(
    `SELECT o.id, o.key, o.sha256, o.channel, o.project_id FROM objects AS o
     WHERE o.destination = ? AND o.id > ? AND o.erased_at IS NULL AND NOT EXISTS (SELECT 1 FROM message_text_state AS s WHERE s.object_id = o.id)
     ORDER BY o.id LIMIT ?`,
  );
  // An object erased while it was being read (by a tombstone indexed meanwhile) gets no text.
  const insertText = database.prepare('INSERT INTO message_text (rowid, subject, body) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM objects WHERE id = ? AND erased_at IS NULL)');
  const insertState = database.prepare('INSERT OR REPLACE INTO message_text_state (object_id, indexed_at) VALUES (?, ?)');
  const store = database.transaction((found: { id: number; text: MessageText }[]) => {
    const now = Date.now();
    for (const { id, text } of found) {
      if (insertText.run(id, clip(text.subject), clip(text.body), id).changes === 1) insertState.run(id, now);
    }
  });

  const objectsTotal = pendingTextCount(database, name);
  let objects = 0;
  let indexed = 0;
  let interrupted = false;
  let after = 0;
  for (;;) {
    if (options.signal?.aborted === true) {
      interrupted = true;
      break;
    }
    const rows = pendingAfter.all(name, after, batchSize) as PendingRow[];
    if (rows.length === 0) break;
    after = rows.at(-1)!.id;
    const found: { id: number; text: MessageText }[] = [];
    let next = 0;
    let failure: unknown;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, rows.length) }, async () => {
        while (next < rows.length && failure === undefined) {
          const row = rows[next++]!;
          try {
            const text = await readText(row);
            if (text !== undefined) found.push({ id: row.id, text });
          } catch (error) {
            failure ??= error;
          }
        }
      }),
    );
    // What was read before a destination failure is kept; the failure is the caller's to report.
    store(found);
    indexed += found.length;
    objects += rows.length;
    if (failure !== undefined) throw failure;
    options.onProgress?.({ destination: name, objects, objectsTotal });
  }
  return { destination: name, indexed, problems, pending: pendingTextCount(database, name), interrupted };

  async function readText(row: PendingRow): Promise<MessageText | undefined> {
    const problem = (kind: TextProblemKind, reason: string) => {
      problems.push({ kind, destination: name, key: row.key, reason });
      return undefined;
    };
    const stored = (await retryInline(() => destination.get(row.key), retry)).value;
    if (stored === undefined) return problem('missing', 'the ledger lists it, but it is not in the store (run `sentcopy verify --complete`)');
    const sha256 = sha256Hex(stored.body);
    if (sha256 !== row.sha256) return problem('altered', `its bytes hash to ${sha256.slice(0, 12)}…, not the ${row.sha256.slice(0, 12)}… the ledger recorded; its text is not indexed`);
    try {
      return await options.extract({ destination: name, key: row.key, sha256: row.sha256, channel: row.channel, projectId: row.project_id }, stored);
    } catch (error) {
      return problem('unreadable', `it cannot be read as a message: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** The SQL condition (on `objects`) of a full-text query, or an error naming the problem. */
export function textCondition(database: SqliteDatabase, query: string): string {
  if (!isTextEnabled(database)) {
    throw new LedgerIndexError('text_disabled', 'text: this index has no full-text table; run `sentcopy index --text` first (it copies message content to this disk).');
  }
  if (query.trim() === '') throw new LedgerIndexError('invalid', 'text: the full-text query is empty.');
  try {
    database.prepare('SELECT rowid FROM message_text WHERE message_text MATCH ? LIMIT 1').all(query);
  } catch (error) {
    throw new LedgerIndexError('invalid', `text: not a valid full-text query (${(error as Error).message}); put words with punctuation in double quotes, e.g. "order-42".`, { cause: error });
  }
  return 'id IN (SELECT rowid FROM message_text WHERE message_text MATCH ?)';
}
