import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { QueueError } from '../queue-error.js';
import { prepareStore, schemaVersion, type DeadRow as StoredDeadRow, type QueueRow as StoredQueueRow } from './embedded-schema.js';
import { problemOf } from './store-health.js';

/** Options for {@link salvageEmbeddedQueue}. */
export interface SalvageEmbeddedQueueOptions {
  /**
   * The damaged store: a `queue.db` file, or the folder holding it. It is read from a copy (with its
   * write-ahead log `queue.db-wal`, if any) and never changed or deleted; a worker may still have it open.
   */
  readonly from: string;
  /** Folder of the new queue: created if missing; must not hold a queue yet. Start the worker on it afterwards. */
  readonly into: string;
  /** The clock, in epoch milliseconds: rebuilt messages are ready at this time. @default Date.now */
  readonly now?: () => number;
}

/** A message the damaged store names but whose content could not be read: only its producer can send it again. */
export interface SalvageLostMessage {
  /** The project it was submitted to. */
  readonly project: string;
  /** Its message id. */
  readonly messageId: string;
  /** Where it was: waiting in the queue, or in the dead letters. */
  readonly state: 'queued' | 'dead_letter';
}

/** Rows of a table that could not be read: ids after `afterId` up to and including `throughId`. */
export interface SalvageDamagedRange {
  /** The table: `payloads` (message content), `queue`, `dead_letters` or `recent_acks`. */
  readonly table: string;
  /** The last id read before the damage (0 at the start of the table). */
  readonly afterId: number;
  /** The last id of the damaged span; `undefined` when nothing past it could be read. */
  readonly throughId?: number;
}

/** What {@link salvageEmbeddedQueue} recovered and what it could not. */
export interface SalvageReport {
  /** The damaged file read. */
  readonly from: string;
  /** The new queue's folder. */
  readonly into: string;
  /** Rows copied into the new queue. */
  readonly recovered: {
    /** Messages waiting to be archived (claims of the old store are handed out again at once). */
    readonly queued: number;
    /** Of `queued`: messages whose scheduling row was unreadable, rebuilt from an index or the message itself (ready now, attempt history lost). */
    readonly rebuilt: number;
    /** Dead letters, with their reasons and content (replayable). */
    readonly deadLetters: number;
    /** Archived ids remembered for de-duplication. */
    readonly recentAcks: number;
  };
  /** Messages known by project and id whose content was unreadable: not in the new queue; ask their producers to send them again. */
  readonly lost: readonly SalvageLostMessage[];
  /** Messages whose content was read but that could not be tied to a project and message id (not in the new queue). */
  readonly unattributed: number;
  /** Spans of rows that could not be read; messages in them may be lost without a record. */
  readonly damagedRanges: readonly SalvageDamagedRange[];
  /** `true` when everything was read: no damaged span, nothing lost or unattributed. */
  readonly complete: boolean;
}

interface PayloadRow {
  id: number;
  body: Buffer;
}

// Format 1 stores have neither column; the salvage copies what every format has.
type QueueRow = Omit<StoredQueueRow, 'payload_sha256'>;
type DeadRow = Omit<StoredDeadRow, 'payload_bytes'>;

const chunkRows = 500;

function isReadError(error: unknown): boolean {
  return problemOf(error) !== undefined || (error as { code?: unknown })?.code === 'SQLITE_ERROR' || (error as { code?: unknown })?.code === 'SQLITE_MISMATCH';
}

/**
 * Reads every row of a rowid table that can be read, in id order, skipping damaged spans.
 *
 * Hand-written rather than SQLite's `.recover`: that lives in the sqlite3 command line tool, not in
 * better-sqlite3. A range scan stops at the first damaged page; seeking past it (exponential steps,
 * then a binary search for the first id from which reading works again) resumes after the damage,
 * so one bad page costs only the rows it held.
 */
function readTolerantly<Row extends { id: number }>(db: SqliteDatabase, table: string, columns: string, damaged: SalvageDamagedRange[], knownIds: Iterable<number> = []): Map<number, Row> {
  const maxId = Number.MAX_SAFE_INTEGER;
  const chunk = db.prepare<[number], Row>(`SELECT ${columns} FROM ${table} WHERE id > ? ORDER BY id LIMIT ${chunkRows}`);
  const one = db.prepare<[number], Row>(`SELECT ${columns} FROM ${table} WHERE id > ? ORDER BY id LIMIT 1`);
  const rows = new Map<number, Row>();
  const readsFrom = (after: number): boolean => {
    try {
      one.get(after);
      return true;
    } catch (error) {
      if (!isReadError(error)) throw error;
      return false;
    }
  };
  let after = 0;
  let careful = false;
  for (;;) {
    try {
      const batch = careful ? [one.get(after)].filter((row): row is Row => row !== undefined) : chunk.all(after);
      if (batch.length === 0) break;
      for (const row of batch) rows.set(row.id, row);
      after = batch[batch.length - 1]!.id;
      continue;
    } catch (error) {
      if (!isReadError(error)) throw error;
      if (!careful) {
        // Read the rows before the damage one at a time.
        careful = true;
        continue;
      }
    }
    careful = false;
    let step = 1;
    let failed = after;
    let works: number | undefined;
    while (after + step <= maxId) {
      if (readsFrom(after + step)) {
        works = after + step;
        break;
      }
      failed = after + step;
      step *= 2;
    }
    if (works === undefined) {
      damaged.push({ table, afterId: after });
      break;
    }
    while (works - failed > 1) {
      const middle = Math.floor((failed + works) / 2);
      if (readsFrom(middle)) works = middle;
      else failed = middle;
    }
    damaged.push({ table, afterId: after, throughId: works });
    after = works;
  }
  // A seek can fail on a damaged neighbour while a direct lookup of the row still works.
  const byId = db.prepare<[number], Row>(`SELECT ${columns} FROM ${table} WHERE id = ?`);
  for (const id of knownIds) {
    if (rows.has(id)) continue;
    try {
      const row = byId.get(id);
      if (row !== undefined) rows.set(id, row);
    } catch (error) {
      if (!isReadError(error)) throw error;
    }
  }
  return rows;
}

/** Reads rows in the order `sql` gives until the first error; for optional data. */
function readUntilDamage<Row>(db: SqliteDatabase, sql: string): { rows: Row[]; complete: boolean } {
  const rows: Row[] = [];
  try {
    for (const row of db.prepare<[], Row>(sql).iterate()) rows.push(row);
    return { rows, complete: true };
  } catch (error) {
    if (!isReadError(error)) throw error;
    return { rows, complete: false };
  }
}

function identityOf(body: Buffer): { project: string; messageId: string } | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { project_id?: unknown; message_id?: unknown };
    if (typeof parsed.project_id === 'string' && parsed.project_id !== '' && typeof parsed.message_id === 'string' && parsed.message_id !== '') return { project: parsed.project_id, messageId: parsed.message_id };
  } catch {
    // content that does not parse is counted as unattributed
  }
  return undefined;
}

/**
 * Copies every readable row of a damaged embedded queue store (messages waiting, claimed ones, dead
 * letters, remembered ids) into a fresh queue in `into`, and reports what it recovered, which
 * messages it knows of but could not read, and which spans were unreadable. The damaged file is
 * read from a copy and never changed or deleted.
 */
export function salvageEmbeddedQueue(options: SalvageEmbeddedQueueOptions): SalvageReport {
  const now = options.now ?? Date.now;
  let from = resolve(options.from);
  if (existsSync(from) && statSync(from).isDirectory()) from = join(from, 'queue.db');
  if (!existsSync(from)) throw new QueueError('invalid_input', `There is no queue store at ${from}.`);
  const into = resolve(options.into);
  const target = join(into, 'queue.db');
  if (resolve(from) === target) throw new QueueError('invalid_input', "Salvage into a new folder, not the damaged queue's own.");
  if (existsSync(target)) throw new QueueError('invalid_input', `${into} already holds a queue; salvage into a new folder.`);
  mkdirSync(into, { recursive: true });

  // SQLite replays (and then checkpoints) a write-ahead log when it opens a file: work on a copy so
  // the damaged file and its log stay exactly as they were.
  const scratch = mkdtempSync(join(into, '.salvage-'));
  try {
    const copy = join(scratch, 'queue.db');
    copyFileSync(from, copy);
    if (existsSync(`${from}-wal`)) copyFileSync(`${from}-wal`, `${copy}-wal`);
    let source: SqliteDatabase;
    try {
      source = new Database(copy, { fileMustExist: true });
      const tables = source
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all()
        .map((row) => row.name);
      if (!['payloads', 'queue', 'dead_letters'].every((name) => tables.includes(name))) {
        source.close();
        throw new QueueError('invalid_input', `${from} is not a sentcopy queue store (its tables are ${tables.join(', ') || 'none'}).`);
      }
      const version = source.pragma('user_version', { simple: true }) as number;
      if (version > schemaVersion) {
        source.close();
        throw new QueueError('incompatible', `${from} was written by a newer sentcopy (format ${version}); salvage it with that version.`);
      }
    } catch (error) {
      if (QueueError.isInstance(error)) throw error;
      throw new QueueError(
        'storage',
        `The file's header or table list is unreadable (${(error as { code?: string }).code ?? 'error'}), so no row can be found through it. SQLite's own recovery may still find rows: \`sqlite3 ${from} .recover | sqlite3 recovered.db\`, then salvage recovered.db.`,
        { cause: error },
      );
    }
    try {
      return copyRows(source, from, into, target, now);
    } finally {
      source.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function copyRows(source: SqliteDatabase, from: string, into: string, target: string, now: () => number): SalvageReport {
  const damaged: SalvageDamagedRange[] = [];
  const sequence = readUntilDamage<{ seq: number }>(source, "SELECT seq FROM sqlite_sequence WHERE name = 'payloads'").rows[0]?.seq ?? 0;
  const index = readUntilDamage<{ id: number; project: string; message_id: string }>(source, 'SELECT id, project, message_id FROM queue INDEXED BY queue_message');
  if (!index.complete) damaged.push({ table: 'queue_message (index)', afterId: 0 });
  const indexIds = index.rows.map((row) => row.id);
  const queued = readTolerantly<QueueRow>(source, 'queue', '*', damaged, indexIds);
  const dead = readTolerantly<DeadRow>(source, 'dead_letters', '*', damaged);
  const payloads = readTolerantly<PayloadRow>(source, 'payloads', 'id, body', damaged, new Set([...indexIds, ...queued.keys(), ...dead.keys()]));
  const acks = readUntilDamage<{ project: string; message_id: string; acked_at: number }>(source, 'SELECT project, message_id, acked_at FROM recent_acks');
  if (!acks.complete) damaged.push({ table: 'recent_acks', afterId: 0 });
  const indexed = new Map(index.rows.map((row) => [row.id, row]));

  const db = new Database(target);
  let recovered = { queued: 0, rebuilt: 0, deadLetters: 0, recentAcks: 0 };
  const lost: SalvageLostMessage[] = [];
  let unattributed = 0;
  try {
    prepareStore(db, { cacheSizeMiB: 16, folder: into });
    const insertPayload = db.prepare('INSERT INTO payloads (id, body) VALUES (?, ?)');
    const insertQueued = db.prepare('INSERT OR IGNORE INTO queue (id, project, message_id, enqueued_at, available_at, lease_id, deliveries, attempts, first_attempt_at, last_attempt_at, history) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)');
    const insertDead = db.prepare(
      'INSERT INTO dead_letters (id, project, message_id, kind, reason, issues, attempts, first_attempt_at, last_attempt_at, enqueued_at, dead_at, deliveries, history) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const insertAck = db.prepare('INSERT OR IGNORE INTO recent_acks (project, message_id, acked_at) VALUES (?, ?, ?)');
    db.transaction(() => {
      const time = now();
      const counts = { queued: 0, rebuilt: 0, deadLetters: 0, recentAcks: 0 };
      for (const [id, payload] of [...payloads].sort((a, b) => a[0] - b[0])) {
        const row = queued.get(id);
        const deadRow = dead.get(id);
        if (row !== undefined) {
          // A claim of the old store is handed out again at once.
          const availableAt = row.lease_id === null ? row.available_at : Math.min(row.available_at, time);
          if (insertQueued.run(id, row.project, row.message_id, row.enqueued_at, availableAt, row.deliveries, row.attempts, row.first_attempt_at, row.last_attempt_at, row.history).changes === 0) continue;
          counts.queued++;
        } else if (deadRow === undefined) {
          const known = indexed.get(id);
          const identity = known === undefined ? identityOf(payload.body) : { project: known.project, messageId: known.message_id };
          if (identity === undefined) {
            unattributed++;
            continue;
          }
          if (insertQueued.run(id, identity.project, identity.messageId, time, time, 0, 0, null, null, '[]').changes === 0) continue;
          counts.queued++;
          counts.rebuilt++;
        }
        if (deadRow !== undefined) {
          insertDead.run(
            id,
            deadRow.project,
            deadRow.message_id,
            deadRow.kind,
            deadRow.reason,
            deadRow.issues,
            deadRow.attempts,
            deadRow.first_attempt_at,
            deadRow.last_attempt_at,
            deadRow.enqueued_at,
            deadRow.dead_at,
            deadRow.deliveries,
            deadRow.history,
          );
          counts.deadLetters++;
        }
        insertPayload.run(id, payload.body);
      }
      for (const row of queued.values()) if (!payloads.has(row.id)) lost.push({ project: row.project, messageId: row.message_id, state: 'queued' });
      for (const row of dead.values()) if (!payloads.has(row.id)) lost.push({ project: row.project, messageId: row.message_id, state: 'dead_letter' });
      for (const row of indexed.values()) if (!payloads.has(row.id) && !queued.has(row.id)) lost.push({ project: row.project, messageId: row.message_id, state: 'queued' });
      for (const ack of acks.rows) counts.recentAcks += insertAck.run(ack.project, ack.message_id, ack.acked_at).changes;
      // New ids must stay above every id the old store handed out.
      if (db.prepare("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'payloads'").run(sequence).changes === 0) {
        db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('payloads', ?)").run(sequence);
      }
      recovered = counts;
    })();
  } finally {
    db.close();
  }
  return {
    from,
    into,
    recovered,
    lost,
    unattributed,
    damagedRanges: damaged,
    complete: damaged.length === 0 && lost.length === 0 && unattributed === 0,
  };
}
