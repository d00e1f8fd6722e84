import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import type { ValidationIssue } from '@sentcopy/core';
import {
  deadLetterKinds,
  type AttemptRecord,
  type ClaimedMessage,
  type ClaimOptions,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterKind,
  type DeadLetterOptions,
  type DeadLetterPage,
  type DiscardedDeadLetter,
  type DiscardedPage,
  type DiscardResult,
  type EnqueueResult,
  type LeaseRef,
  type ListDeadLettersOptions,
  type ListDiscardedOptions,
  type MessageQueue,
  type QueueHealth,
  type QueueMessageInput,
  type QueueStats,
  type RescheduleOptions,
  type ReplayResult,
} from '../message-queue.js';
import { checkAttempt, checkDuration, checkIssues, checkMaxBytes, historyLimit, invalidInput, isTime, maxReasonLength, prepareInput } from '../queue-checks.js';
import { QueueError } from '../queue-error.js';
import type { EmbeddedQueueOptions } from './embedded-queue-options.js';
import { prepareStore, type DeadRow, type QueueRow } from './embedded-schema.js';
import { GroupCommit } from './group-commit.js';
import { problemOf, StoreHealth, transientProblems } from './store-health.js';

/** The embedded queue: a {@link MessageQueue} kept in a local file store. */
export interface EmbeddedQueue extends MessageQueue {
  readonly implementation: 'embedded';
  /** The store file (`<directory>/queue.db`). */
  readonly path: string;
  /** Removes dead letters for good with a required reason, keeping a record of each (see {@link MessageQueue.discardDeadLetters}). */
  discardDeadLetters(filter: DeadLetterFilter, reason: string): Promise<DiscardResult>;
  /** The records of discarded dead letters, oldest discarded first. */
  listDiscardedDeadLetters(options?: ListDiscardedOptions): Promise<DiscardedPage>;
  /** Whether the store works: damaged, deleted or replaced file, full disk, I/O errors. */
  health(): QueueHealth;
}

const maxClaimLimit = 10_000;
/**
 * The lease id of a message held as "stored, not yet in the ledger" (claims hold UUIDs). Its
 * `available_at` is {@link heldUntil}, so no claim takes it; reopening the store resets it like any
 * lease, so after a crash it is archived again.
 */
const storedLease = 'stored';
const heldUntil = 8_640_000_000_000_000;
const replayChunk = 500;
const pruneChunk = 5_000;
const pruneChunksPerRound = 10;
const vacuumThresholdPages = 2_560;
const vacuumPagesPerRound = 25_600;
/** Time between a drain and the checkpoint that truncates the write-ahead log, in milliseconds. */
const drainCheckpointDelayMs = 1_000;
/** Log pages between automatic checkpoints while the disk is short of space (SQLite's default is 1000). */
const tightCheckpointPages = 16;

interface DiscardedRow {
  id: number;
  project: string;
  message_id: string;
  kind: string;
  reason: string;
  discard_reason: string;
  discarded_at: number;
  dead_at: number;
  enqueued_at: number;
  attempts: number;
  payload_sha256: string | null;
  payload_bytes: number;
}

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
/** Longest discard reason kept, in UTF-16 code units. */
const maxDiscardReasonLength = 500;

function toDiscarded(row: DiscardedRow): DiscardedDeadLetter {
  return {
    id: String(row.id),
    project: row.project,
    messageId: row.message_id,
    kind: row.kind as DeadLetterKind,
    reason: row.reason,
    discardReason: row.discard_reason,
    discardedAt: row.discarded_at,
    deadAt: row.dead_at,
    enqueuedAt: row.enqueued_at,
    attempts: row.attempts,
    ...(row.payload_sha256 === null ? {} : { payloadSha256: row.payload_sha256 }),
    payloadBytes: row.payload_bytes,
  };
}

function mapStoreError(error: unknown): unknown {
  if (QueueError.isInstance(error) || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) {
    const problem = problemOf(error);
    return new QueueError('storage', `The queue store failed (${code}): ${error.message}`, { cause: error, ...(problem === undefined ? {} : { problem }) });
  }
  return error;
}

function toRowId(id: unknown): number {
  if (typeof id !== 'string' || !/^[1-9][0-9]{0,15}$/.test(id)) throw invalidInput('A message id from this queue is a decimal number as a string.');
  return Number(id);
}

function checkIds(ids: readonly string[]): number[] {
  if (!Array.isArray(ids)) throw invalidInput('An array of message ids is required.');
  return ids.map(toRowId);
}

function checkLease(lease: LeaseRef): { id: number; leaseId: string } {
  if (typeof lease !== 'object' || lease === null) throw invalidInput('A lease (a claimed message) is required.');
  if (typeof lease.leaseId !== 'string' || lease.leaseId === '') throw invalidInput('The lease has no leaseId.');
  return { id: toRowId(lease.id), leaseId: lease.leaseId };
}

function parseJsonArray<T>(text: string): T[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? (parsed as T[]) : [];
  } catch {
    return [];
  }
}

function appendHistory(history: string, attempt: AttemptRecord): string {
  return JSON.stringify([...parseJsonArray<AttemptRecord>(history), attempt].slice(-historyLimit));
}

function encodeCursor(row: { dead_at: number; id: number }): string {
  return Buffer.from(JSON.stringify([row.dead_at, row.id]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): [number, number] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && parsed.every((part) => Number.isSafeInteger(part))) return parsed as [number, number];
  } catch {
    // falls through to the error below
  }
  throw invalidInput('The cursor is not one this queue returned.');
}

/** Builds the WHERE clause (and its parameters) for a dead-letter filter. */
function filterClause(filter: DeadLetterFilter | undefined): { sql: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (filter === undefined) return { sql: '1', params };
  if (typeof filter !== 'object' || filter === null) throw invalidInput('The dead-letter filter must be an object.');
  if (filter.ids !== undefined) {
    if (!Array.isArray(filter.ids)) throw invalidInput('filter.ids must be an array of ids.');
    conditions.push('d.id IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filter.ids.map(toRowId)));
  }
  if (filter.project !== undefined) {
    if (typeof filter.project !== 'string') throw invalidInput('filter.project must be a string.');
    conditions.push('d.project = ?');
    params.push(filter.project);
  }
  if (filter.kind !== undefined) {
    if (!deadLetterKinds.includes(filter.kind)) throw invalidInput(`filter.kind must be one of ${deadLetterKinds.join(', ')}.`);
    conditions.push('d.kind = ?');
    params.push(filter.kind);
  }
  if (filter.deadFrom !== undefined) {
    if (!isTime(filter.deadFrom)) throw invalidInput('filter.deadFrom must be a time in epoch milliseconds.');
    conditions.push('d.dead_at >= ?');
    params.push(filter.deadFrom);
  }
  if (filter.deadBefore !== undefined) {
    if (!isTime(filter.deadBefore)) throw invalidInput('filter.deadBefore must be a time in epoch milliseconds.');
    conditions.push('d.dead_at < ?');
    params.push(filter.deadBefore);
  }
  return { sql: conditions.length === 0 ? '1' : conditions.join(' AND '), params };
}

/** A page size from 1 to 1000 (default 100), or an `invalid_input` error. */
function pageLimit(limit: number | undefined = 100): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalidInput('limit must be an integer from 1 to 1000.');
  return limit;
}

/** One page of a keyset query that read `limit + 1` rows: the items, and a cursor when more follow. */
function pageOf<Row, Item>(rows: readonly Row[], limit: number, toItem: (row: Row) => Item, position: (last: Row) => { dead_at: number; id: number }): { items: Item[]; cursor?: string } {
  const items = rows.slice(0, limit).map(toItem);
  const last = rows[limit - 1];
  return rows.length > limit && last !== undefined ? { items, cursor: encodeCursor(position(last)) } : { items };
}

function toDeadLetter(row: DeadRow): DeadLetter {
  return {
    id: String(row.id),
    project: row.project,
    messageId: row.message_id,
    kind: row.kind as DeadLetterKind,
    reason: row.reason,
    issues: parseJsonArray<ValidationIssue>(row.issues),
    attempts: row.attempts,
    deliveries: row.deliveries,
    ...(row.first_attempt_at === null ? {} : { firstAttemptAt: row.first_attempt_at }),
    ...(row.last_attempt_at === null ? {} : { lastAttemptAt: row.last_attempt_at }),
    enqueuedAt: row.enqueued_at,
    deadAt: row.dead_at,
    history: parseJsonArray<AttemptRecord>(row.history),
    payloadBytes: row.payload_bytes ?? 0,
  };
}

function openDatabase(path: string, folder: string, cacheSizeMiB: number, health: StoreHealth, checkOnOpen: boolean): SqliteDatabase {
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(path, { timeout: 0 });
    prepareStore(db, { cacheSizeMiB, folder });
    health.rememberFile();
    if (!health.hasRoomFor(0)) health.set('disk_full');
    if (checkOnOpen) {
      // A damaged page may sit under messages that are claimed only much later: look before taking new ones.
      const result = db.pragma('quick_check(1)', { simple: true });
      if (result !== 'ok') health.set('damaged', 'quick_check');
    }
    return db;
  } catch (error) {
    db?.close();
    health.note(error);
    throw mapStoreError(error);
  }
}

interface QueueSettings {
  readonly folder: string;
  readonly path: string;
  readonly defaultLeaseMs: number;
  readonly dedupeWindowMs: number;
  readonly maxPayloadBytes: number;
  readonly maintenanceIntervalMs: number;
  readonly healthCheckIntervalMs: number;
  readonly cacheSizeMiB: number;
  readonly checkOnOpen: boolean;
  readonly now: () => number;
}

function unavailable(health: StoreHealth): QueueError {
  return health.problem === undefined ? new QueueError('storage', 'The queue store is not open.') : health.refusal();
}

/**
 * Opens (creating if needed) the embedded queue in `options.directory`: a single-file SQLite store
 * in WAL mode, every commit fsynced. Queued messages live on disk, not in memory; concurrent writes
 * share commits. Leases left by a process that died are returned at once on open.
 */
export async function createEmbeddedQueue(options: EmbeddedQueueOptions): Promise<EmbeddedQueue> {
  if (typeof options?.directory !== 'string' || options.directory === '') throw invalidInput('The embedded queue needs a directory.');
  const healthCheckIntervalMs = checkDuration('healthCheckIntervalMs', options.healthCheckIntervalMs ?? 1_000, false);
  const reserveBytes = options.reserveBytes ?? 16 * 1024 * 1024;
  if (!Number.isSafeInteger(reserveBytes) || reserveBytes < 0) throw invalidInput('reserveBytes must be an integer, 0 or more.');
  const defaultLeaseMs = checkDuration('defaultLeaseMs', options.defaultLeaseMs ?? 60_000, false);
  const dedupeWindowMs = checkDuration('dedupeWindowMs', options.dedupeWindowMs ?? 3_600_000, true);
  const maxPayloadBytes = options.maxPayloadBytes ?? 64 * 1024 * 1024;
  if (!Number.isSafeInteger(maxPayloadBytes) || maxPayloadBytes < 1) throw invalidInput('maxPayloadBytes must be a positive integer.');
  const maintenanceIntervalMs = checkDuration('maintenanceIntervalMs', options.maintenanceIntervalMs ?? 30_000, false);
  const cacheSizeMiB = options.cacheSizeMiB ?? 16;
  if (typeof cacheSizeMiB !== 'number' || !(cacheSizeMiB > 0) || !Number.isFinite(cacheSizeMiB)) throw invalidInput('cacheSizeMiB must be a positive number.');
  const now = options.now ?? Date.now;

  const folder = resolve(options.directory);
  await mkdir(folder, { recursive: true });
  const path = join(folder, 'queue.db');
  const health = new StoreHealth(path, folder, reserveBytes, now);
  const settings: QueueSettings = { folder, path, defaultLeaseMs, dedupeWindowMs, maxPayloadBytes, maintenanceIntervalMs, healthCheckIntervalMs, cacheSizeMiB, checkOnOpen: options.checkOnOpen ?? true, now };
  let inner: EmbeddedQueue | undefined;
  try {
    inner = openQueue(settings, health);
  } catch (error) {
    // A full disk, an I/O error or a damaged file must not crash-loop the worker under a supervisor:
    // it runs, says what is wrong (health, readiness, alerts), and opens the store once it can.
    if (!QueueError.isInstance(error) || error.kind !== 'storage' || health.problem === undefined) throw error;
  }
  if (inner !== undefined) return inner;
  return degradedQueue(settings, health);
}

/**
 * A queue whose store could not be opened (full disk, I/O errors, damaged file): it refuses new
 * messages, hands out none, and tries to open the store again while the problem may clear by itself.
 */
function degradedQueue(settings: QueueSettings, health: StoreHealth): EmbeddedQueue {
  let inner: EmbeddedQueue | undefined;
  let closed = false;
  const opened = new Set<() => void>();
  const retry = setInterval(() => {
    if (closed || inner !== undefined || !transientProblems.has(health.problem!)) return;
    try {
      const problem = health.problem!;
      inner = openQueue(settings, health);
      if (problem !== 'disk_full' || health.hasRoomFor(0)) health.clear(problem);
      clearInterval(retry);
      for (const wake of [...opened]) wake();
    } catch {
      // health records why; the next round tries again.
    }
  }, settings.healthCheckIntervalMs);
  retry.unref();
  const use = (): EmbeddedQueue => {
    if (closed) throw new QueueError('closed', 'The queue is closed.');
    if (inner === undefined) throw unavailable(health);
    return inner;
  };
  return {
    implementation: 'embedded',
    path: settings.path,
    maxPayloadBytes: settings.maxPayloadBytes,
    enqueue: async (messages) => use().enqueue(messages),
    async claim(claimOptions) {
      if (closed) throw new QueueError('closed', 'The queue is closed.');
      if (inner !== undefined) return inner.claim(claimOptions);
      // Nothing can be handed out before the store opens: wait as a claim on an empty queue would.
      const waitMs = checkDuration('waitMs', claimOptions?.waitMs ?? 0, true);
      await new Promise<void>((done) => {
        const finish = () => {
          clearTimeout(timer);
          opened.delete(finish);
          claimOptions?.signal?.removeEventListener('abort', finish);
          done();
        };
        const timer = setTimeout(finish, waitMs);
        opened.add(finish);
        claimOptions?.signal?.addEventListener('abort', finish, { once: true });
      });
      return inner === undefined || closed ? [] : (inner as EmbeddedQueue).claim({ ...claimOptions, waitMs: 0 });
    },
    ack: async (lease) => use().ack(lease),
    holdStored: async (lease) => use().holdStored(lease),
    ackStored: async (ids) => use().ackStored(ids),
    releaseStored: async (ids) => use().releaseStored(ids),
    discardStored: async (ids) => use().discardStored(ids),
    enqueueStored: async (message, storedOptions) => use().enqueueStored(message, storedOptions),
    release: async (lease, releaseOptions) => use().release(lease, releaseOptions),
    extendLease: async (lease, leaseMs) => use().extendLease(lease, leaseMs),
    reschedule: async (lease, rescheduleOptions) => use().reschedule(lease, rescheduleOptions),
    deadLetter: async (lease, deadOptions) => use().deadLetter(lease, deadOptions),
    listDeadLetters: async (listOptions) => use().listDeadLetters(listOptions),
    countDeadLetters: async (filter) => use().countDeadLetters(filter),
    replayDeadLetters: async (filter) => use().replayDeadLetters(filter),
    discardDeadLetters: async (filter, reason) => use().discardDeadLetters(filter, reason),
    listDiscardedDeadLetters: async (listOptions) => use().listDiscardedDeadLetters(listOptions),
    hurry: async (projects) => use().hurry(projects),
    stats: async () => use().stats(),
    health: () => (inner === undefined ? health.snapshot() : inner.health()),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(retry);
      for (const wake of [...opened]) wake();
      await inner?.close();
    },
  };
}

/** Opens the store and builds the queue on it; throws (a `QueueError`) when the store cannot be opened. */
function openQueue(settings: QueueSettings, health: StoreHealth): EmbeddedQueue {
  const { folder, path, defaultLeaseMs, dedupeWindowMs, maxPayloadBytes, maintenanceIntervalMs, healthCheckIntervalMs, cacheSizeMiB, now } = settings;
  const db = openDatabase(path, folder, cacheSizeMiB, health, settings.checkOnOpen);
  const mapError = (error: unknown): unknown => {
    health.note(error);
    return mapStoreError(error);
  };

  const statement = <Row = unknown>(text: string): Statement<unknown[], Row> => {
    try {
      return db.prepare<unknown[], Row>(text);
    } catch (error) {
      // A damaged schema page fails here, before any message is read.
      if (db.open) db.close();
      throw mapError(error);
    }
  };
  const sql = {
    findQueued: statement<{ id: number; payload_sha256: string | null }>('SELECT id, payload_sha256 FROM queue WHERE project = ? AND message_id = ?'),
    findRecent: statement<{ payload_sha256: string; acked_at: number }>('SELECT payload_sha256, acked_at FROM recent_acks WHERE project = ? AND message_id = ? AND acked_at >= ?'),
    payloadBody: statement<{ body: Buffer }>('SELECT body FROM payloads WHERE id = ?'),
    insertPayload: statement('INSERT INTO payloads (body) VALUES (?)'),
    insertQueued: statement('INSERT INTO queue (id, project, message_id, enqueued_at, available_at, payload_sha256) VALUES (?, ?, ?, ?, ?, ?)'),
    selectReady: statement<QueueRow & { body: Buffer }>('SELECT q.*, p.body FROM queue q JOIN payloads p ON p.id = q.id WHERE q.available_at <= ? ORDER BY q.available_at, q.id LIMIT ?'),
    // length() of a blob reads its size from the record header, not the payload itself.
    readySizes: statement<{ bytes: number }>('SELECT length(p.body) AS bytes FROM queue q JOIN payloads p ON p.id = q.id WHERE q.available_at <= ? ORDER BY q.available_at, q.id LIMIT ?'),
    lease: statement('UPDATE queue SET lease_id = ?, available_at = ?, deliveries = deliveries + 1 WHERE id = ?'),
    deleteLeased: statement<QueueRow>('DELETE FROM queue WHERE id = ? AND lease_id = ? RETURNING *'),
    deletePayload: statement('DELETE FROM payloads WHERE id = ?'),
    rememberAck: statement('INSERT OR REPLACE INTO recent_acks (project, message_id, payload_sha256, acked_at) VALUES (?, ?, ?, ?)'),
    release: statement('UPDATE queue SET lease_id = NULL, available_at = ? WHERE id = ? AND lease_id = ?'),
    hurry: statement('UPDATE queue SET available_at = ? WHERE project = ? AND lease_id IS NULL AND available_at > ?'),
    extend: statement('UPDATE queue SET available_at = ? WHERE id = ? AND lease_id = ?'),
    leasedHistory: statement<{ history: string }>('SELECT history FROM queue WHERE id = ? AND lease_id = ?'),
    reschedule: statement('UPDATE queue SET lease_id = NULL, available_at = ?, attempts = attempts + 1, first_attempt_at = coalesce(first_attempt_at, ?), last_attempt_at = ?, history = ? WHERE id = ? AND lease_id = ?'),
    insertDead: statement(
      'INSERT INTO dead_letters (id, project, message_id, kind, reason, issues, attempts, first_attempt_at, last_attempt_at, enqueued_at, dead_at, deliveries, history, payload_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    deadIdentity: statement<{ project: string; message_id: string; payload_sha256: string | null }>('SELECT project, message_id, payload_sha256 FROM dead_letters WHERE id = ?'),
    replayOne: statement('INSERT INTO queue (id, project, message_id, enqueued_at, available_at, payload_sha256) SELECT id, project, message_id, ?, ?, ? FROM dead_letters WHERE id = ?'),
    discardOne: statement(
      'INSERT OR REPLACE INTO discarded_dead_letters (id, project, message_id, kind, reason, discard_reason, discarded_at, dead_at, enqueued_at, attempts, payload_sha256, payload_bytes) ' +
        'SELECT d.id, d.project, d.message_id, d.kind, d.reason, ?, ?, d.dead_at, d.enqueued_at, d.attempts, ?, coalesce(length(p.body), 0) FROM dead_letters d LEFT JOIN payloads p ON p.id = d.id WHERE d.id = ?',
    ),
    deleteDead: statement('DELETE FROM dead_letters WHERE id = ?'),
    nextAvailable: statement<{ at: number | null }>('SELECT min(available_at) AS at FROM queue'),
    oldest: statement<{ at: number | null }>('SELECT min(enqueued_at) AS at FROM queue'),
    inFlight: statement<{ count: number }>(`SELECT count(*) AS count FROM queue INDEXED BY queue_leased WHERE lease_id IS NOT NULL AND lease_id <> '${storedLease}' AND available_at > ?`),
    hold: statement(`UPDATE queue SET lease_id = '${storedLease}', available_at = ${heldUntil} WHERE id = ? AND lease_id = ?`),
    insertHeld: statement(`INSERT INTO queue (id, project, message_id, enqueued_at, available_at, lease_id, deliveries, payload_sha256) VALUES (?, ?, ?, ?, ${heldUntil}, '${storedLease}', 1, ?)`),
    releaseHeld: statement(`UPDATE queue SET lease_id = NULL, available_at = ? WHERE id = ? AND lease_id = '${storedLease}'`),
    countQueue: statement<{ count: number }>('SELECT count(*) AS count FROM queue'),
    countDead: statement<{ count: number }>('SELECT count(*) AS count FROM dead_letters'),
    resetLeases: statement('UPDATE queue SET lease_id = NULL, available_at = min(available_at, ?) WHERE lease_id IS NOT NULL'),
    pruneAcks: statement('DELETE FROM recent_acks WHERE (project, message_id, payload_sha256) IN (SELECT project, message_id, payload_sha256 FROM recent_acks WHERE acked_at < ? LIMIT ?)'),
  };
  const dynamic = new Map<string, Statement<unknown[], unknown>>();
  const dynamicStatement = <Row>(text: string): Statement<unknown[], Row> => {
    let found = dynamic.get(text);
    if (!found) {
      found = db.prepare(text);
      dynamic.set(text, found);
    }
    return found as Statement<unknown[], Row>;
  };

  // Rows written before payload hashes were kept (store format 1) have none: hash the payload itself.
  const payloadHash = (id: number, recorded: string | null): string | undefined => {
    if (recorded !== null) return recorded;
    const payload = sql.payloadBody.get(id);
    return payload === undefined ? undefined : sha256Hex(payload.body);
  };

  let depth: number;
  let deadLetters: number;
  try {
    // This process holds the store's lock, so no other worker can hold these leases any more.
    sql.resetLeases.run(now());
    depth = sql.countQueue.get()!.count;
    deadLetters = sql.countDead.get()!.count;
  } catch (error) {
    db.close();
    throw mapError(error);
  }

  const commit = new GroupCommit(db, mapError);

  // SQLite keeps using an open file that was deleted or replaced: what it holds survives only as
  // long as this process, unless it is copied out.
  const copyOut = (target: string): boolean => {
    try {
      mkdirSync(folder, { recursive: true });
      db.exec(`VACUUM INTO '${target.replaceAll("'", "''")}'`);
      return true;
    } catch {
      return false;
    }
  };
  const asideName = () => `${path}.rescued-${new Date(now()).toISOString().replace(/[:.]/g, '-')}`;
  health.onFileLost = () => {
    const target = asideName();
    return copyOut(target) ? `A copy as of ${new Date(now()).toISOString()} is in ${target}, in case the worker dies before it stops (salvage it with \`sentcopy queue salvage --from ${target} --into <new folder>\`).` : undefined;
  };
  let closed = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const assertOpen = () => {
    if (closed) throw new QueueError('closed', 'The queue is closed.');
  };

  const waitForChange = (ms: number, signal: AbortSignal | undefined) =>
    new Promise<void>((done) => {
      const finish = () => {
        clearTimeout(timer);
        waiters.delete(finish);
        signal?.removeEventListener('abort', finish);
        done();
      };
      const timer = setTimeout(finish, ms);
      waiters.add(finish);
      signal?.addEventListener('abort', finish, { once: true });
    });

  // Truncates the write-ahead log: without it the log keeps the size of its largest burst, and on a
  // full disk that is space a drained queue never gives back.
  const checkpoint = () => {
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (error) {
      health.note(error);
    }
  };
  // Short of space, the log is checkpointed every few pages instead of every ~4 MiB, so the claims and
  // acks that archive what is queued fit in what is left.
  let tight = false;
  const fitLogToSpace = () => {
    const short = health.problem === 'disk_full';
    if (short === tight || closed) return;
    try {
      db.pragma(`wal_autocheckpoint = ${short ? tightCheckpointPages : 1000}`);
      tight = short;
      if (short) checkpoint();
    } catch (error) {
      health.note(error);
    }
  };
  let drainCheckpoint: NodeJS.Timeout | undefined;
  const drained = () => {
    if (depth !== 0 || drainCheckpoint !== undefined || closed) return;
    drainCheckpoint = setTimeout(() => {
      drainCheckpoint = undefined;
      if (!closed && depth === 0) checkpoint();
    }, drainCheckpointDelayMs);
    drainCheckpoint.unref();
  };

  // Runs on the event loop like every store call, so each round does a bounded amount of work.
  const maintain = () => {
    if (closed) return;
    try {
      if (dedupeWindowMs > 0) {
        const cutoff = now() - dedupeWindowMs;
        for (let chunk = 0; chunk < pruneChunksPerRound && sql.pruneAcks.run(cutoff, pruneChunk).changes === pruneChunk; chunk++) {
          // each chunk is its own small transaction
        }
      }
      const free = db.pragma('freelist_count', { simple: true }) as number;
      if (free > vacuumThresholdPages) db.exec(`PRAGMA incremental_vacuum(${Math.min(free, vacuumPagesPerRound)})`);
    } catch (error) {
      // Maintenance only reclaims space; the next round tries again.
      health.note(error);
    }
    checkpoint();
  };
  const maintenance = setInterval(maintain, maintenanceIntervalMs);
  maintenance.unref();

  // Notices a deleted or replaced file while nothing is written, and whether a transient problem
  // (full disk, I/O errors) has cleared: a small fsynced write must succeed before new messages are
  // taken again. Claims and acks go on meanwhile, so what is queued keeps being archived.
  let probing = false;
  const checkHealth = () => {
    if (closed || probing) return;
    if (!health.checkFile()) return;
    if (health.problem === undefined && !health.hasRoomFor(0)) health.set('disk_full');
    fitLogToSpace();
    const problem = health.problem;
    if (problem === undefined || !transientProblems.has(problem)) return;
    if (problem === 'disk_full' && !health.hasRoomFor(0)) return;
    probing = true;
    commit
      .submit(() => db.pragma(`user_version = ${db.pragma('user_version', { simple: true }) as number}`))
      .then(() => {
        health.clear(problem);
        if (problem === 'disk_full') checkpoint();
        fitLogToSpace();
      })
      .catch(() => undefined)
      .finally(() => (probing = false));
  };
  const healthCheck = setInterval(checkHealth, healthCheckIntervalMs);
  healthCheck.unref();

  /** Refuses new messages while the store has a problem or the disk lacks room for them. */
  const admit = (bytes: number) => {
    if (closed) return;
    health.checkFile();
    if (health.problem === undefined && !health.hasRoomFor(bytes)) health.set('disk_full');
    fitLogToSpace();
    if (health.problem !== undefined) throw health.refusal();
  };
  fitLogToSpace();

  /** How many of the first `limit` ready messages fit in `maxBytes` of payload: at least one, so a larger message still flows. */
  const fittingCount = (time: number, limit: number, maxBytes: number): number => {
    let count = 0;
    let total = 0;
    for (const row of sql.readySizes.iterate(time, limit)) {
      total += row.bytes ?? 0;
      if (count > 0 && total > maxBytes) break;
      count++;
    }
    return count;
  };

  const claimNow = (limit: number, leaseMs: number, maxBytes: number | undefined): ClaimedMessage[] => {
    const time = now();
    // Sized first, so the bodies of messages that do not fit are never read.
    const count = maxBytes === undefined ? limit : fittingCount(time, limit, maxBytes);
    if (count === 0) return [];
    const rows = sql.selectReady.all(time, count);
    return rows.map((row) => {
      const leaseId = randomUUID();
      const leaseExpiresAt = time + leaseMs;
      sql.lease.run(leaseId, leaseExpiresAt, row.id);
      return {
        id: String(row.id),
        leaseId,
        project: row.project,
        messageId: row.message_id,
        payload: new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength),
        enqueuedAt: row.enqueued_at,
        deliveries: row.deliveries + 1,
        attempts: row.attempts,
        ...(row.first_attempt_at === null ? {} : { firstAttemptAt: row.first_attempt_at }),
        history: parseJsonArray<AttemptRecord>(row.history),
        leaseExpiresAt,
      };
    });
  };

  /** Removes held messages for good (see ackStored and discardStored); `remember` keeps each as archived for the de-duplication window. */
  const removeStored = async (ids: readonly string[], remember: boolean): Promise<number> => {
    assertOpen();
    const rowIds = checkIds(ids);
    if (rowIds.length === 0) return 0;
    const removed = await commit.submit(() => {
      const time = now();
      let count = 0;
      for (const id of rowIds) {
        const row = sql.deleteLeased.get(id, storedLease);
        if (!row) continue;
        const hash = remember && dedupeWindowMs > 0 ? payloadHash(id, row.payload_sha256) : undefined;
        sql.deletePayload.run(id);
        if (hash !== undefined) sql.rememberAck.run(row.project, row.message_id, hash, time);
        count++;
      }
      return count;
    }, 'lazy');
    if (removed > 0) {
      depth -= removed;
      drained();
    }
    return removed;
  };

  const queue: EmbeddedQueue = {
    implementation: 'embedded',
    maxPayloadBytes,
    path,

    async enqueue(messages) {
      assertOpen();
      if (!Array.isArray(messages)) throw invalidInput('enqueue() takes an array of messages.');
      const inputs = messages.map((message, index) => prepareInput(message, index, maxPayloadBytes));
      if (inputs.length === 0) return [];
      admit(inputs.reduce((total, input) => total + input.body.byteLength, 0));
      const results = await commit.submit(() => {
        const time = now();
        return inputs.map((input): EnqueueResult => {
          // Same id and same bytes is a resend (duplicate); same id and other bytes is a second version, kept too.
          const hash = sha256Hex(input.body);
          const queued = sql.findQueued.all(input.project, input.messageId);
          const same = queued.find((row) => payloadHash(row.id, row.payload_sha256) === hash);
          if (same) return { status: 'duplicate', id: String(same.id) };
          const recent = dedupeWindowMs > 0 ? sql.findRecent.all(input.project, input.messageId, time - dedupeWindowMs) : [];
          if (recent.some((row) => row.payload_sha256 === hash)) return { status: 'duplicate' };
          const id = Number(sql.insertPayload.run(input.body).lastInsertRowid);
          sql.insertQueued.run(id, input.project, input.messageId, time, input.notBefore ?? time, hash);
          return queued.length > 0 || recent.length > 0 ? { status: 'accepted', id: String(id), version: true } : { status: 'accepted', id: String(id) };
        });
      });
      depth += results.filter((result) => result.status === 'accepted').length;
      wake();
      // Committed, but to a file that is no longer at the store's path: it would not survive a restart,
      // so it is not acknowledged (a resend is stored once the queue is healthy again).
      if (!health.checkFile()) throw health.refusal();
      return results;
    },

    async claim(claimOptions: ClaimOptions) {
      assertOpen();
      const limit = claimOptions?.limit;
      if (!Number.isInteger(limit) || limit < 1 || limit > maxClaimLimit) throw invalidInput(`limit must be an integer from 1 to ${maxClaimLimit}.`);
      const leaseMs = checkDuration('leaseMs', claimOptions.leaseMs ?? defaultLeaseMs, false);
      const waitMs = checkDuration('waitMs', claimOptions.waitMs ?? 0, true);
      const maxBytes = checkMaxBytes(claimOptions.maxBytes);
      const signal = claimOptions.signal;
      const deadline = performance.now() + waitMs;
      for (;;) {
        if (closed) return [];
        const claimed = await commit.submit(() => claimNow(limit, leaseMs, maxBytes), 'lazy');
        const remaining = deadline - performance.now();
        if (claimed.length > 0 || remaining <= 0 || closed || signal?.aborted) return claimed;
        let next: number | null;
        try {
          next = sql.nextAvailable.get()?.at ?? null;
        } catch (error) {
          throw mapError(error);
        }
        const untilReady = next === null ? remaining : Math.max(1, next - now());
        await waitForChange(Math.min(remaining, untilReady), signal);
      }
    },

    async ack(lease) {
      assertOpen();
      const { id, leaseId } = checkLease(lease);
      const acked = await commit.submit(() => {
        const row = sql.deleteLeased.get(id, leaseId);
        if (!row) return false;
        const hash = dedupeWindowMs > 0 ? payloadHash(id, row.payload_sha256) : undefined;
        sql.deletePayload.run(id);
        if (hash !== undefined) sql.rememberAck.run(row.project, row.message_id, hash, now());
        return true;
      }, 'lazy');
      if (acked) {
        depth--;
        drained();
      }
      return acked;
    },

    async holdStored(lease) {
      assertOpen();
      const { id, leaseId } = checkLease(lease);
      if (leaseId === storedLease) return false;
      // Lazy, like an ack: a hold lost in a crash leaves a claim, which reopening returns just the same.
      return commit.submit(() => sql.hold.run(id, leaseId).changes > 0, 'lazy');
    },

    ackStored: async (ids) => removeStored(ids, true),

    // As ackStored, without remembering the message as archived: its object was never stored.
    discardStored: async (ids) => removeStored(ids, false),

    async releaseStored(ids) {
      assertOpen();
      const rowIds = checkIds(ids);
      if (rowIds.length === 0) return 0;
      const moved = await commit.submit(() => {
        const time = now();
        return rowIds.reduce((total, id) => total + sql.releaseHeld.run(time, id).changes, 0);
      }, 'lazy');
      if (moved > 0) wake();
      return moved;
    },

    async enqueueStored(message) {
      assertOpen();
      const input = prepareInput(message, 0, maxPayloadBytes);
      admit(input.body.byteLength);
      // Durable (not lazy) before the gate answers: this row is what lists the object after a crash.
      const id = await commit.submit(() => {
        const hash = sha256Hex(input.body);
        if (sql.findQueued.all(input.project, input.messageId).some((row) => payloadHash(row.id, row.payload_sha256) === hash)) return undefined;
        const rowId = Number(sql.insertPayload.run(input.body).lastInsertRowid);
        sql.insertHeld.run(rowId, input.project, input.messageId, now(), hash);
        return rowId;
      });
      if (id === undefined) return undefined;
      depth++;
      if (!health.checkFile()) throw health.refusal();
      return String(id);
    },

    async release(lease, releaseOptions) {
      assertOpen();
      const { id, leaseId } = checkLease(lease);
      const notBefore = releaseOptions?.notBefore;
      if (notBefore !== undefined && !isTime(notBefore)) throw invalidInput('notBefore must be a time in epoch milliseconds.');
      const released = await commit.submit(() => sql.release.run(notBefore ?? now(), id, leaseId).changes > 0, 'lazy');
      if (released) wake();
      return released;
    },

    async hurry(projects) {
      assertOpen();
      if (!Array.isArray(projects) || projects.some((project) => typeof project !== 'string')) throw invalidInput('hurry() takes an array of project ids.');
      const moved = await commit.submit(() => {
        const time = now();
        return projects.reduce((total, project) => total + sql.hurry.run(time, project, time).changes, 0);
      }, 'lazy');
      if (moved > 0) wake();
      return moved;
    },

    async extendLease(lease, leaseMs) {
      assertOpen();
      const { id, leaseId } = checkLease(lease);
      const duration = checkDuration('leaseMs', leaseMs, false);
      return commit.submit(() => sql.extend.run(now() + duration, id, leaseId).changes > 0, 'lazy');
    },

    async reschedule(lease, rescheduleOptions: RescheduleOptions) {
      assertOpen();
      const { id, leaseId } = checkLease(lease);
      if (!isTime(rescheduleOptions?.notBefore)) throw invalidInput('notBefore must be a time in epoch milliseconds.');
      const attempt = checkAttempt(rescheduleOptions.attempt);
      const rescheduled = await commit.submit(() => {
        const row = sql.leasedHistory.get(id, leaseId);
        if (!row) return false;
        sql.reschedule.run(rescheduleOptions.notBefore, attempt.at, attempt.at, appendHistory(row.history, attempt), id, leaseId);
        return true;
      });
      if (rescheduled) wake();
      return rescheduled;
    },

    async deadLetter(lease, deadOptions: DeadLetterOptions) {
      assertOpen();
      const { id, leaseId } = checkLease(lease);
      if (!deadLetterKinds.includes(deadOptions?.kind)) throw invalidInput(`kind must be one of ${deadLetterKinds.join(', ')}.`);
      if (typeof deadOptions.reason !== 'string') throw invalidInput('reason must be a string.');
      const attempt = deadOptions.attempt === undefined ? undefined : checkAttempt(deadOptions.attempt);
      const issues = JSON.stringify(checkIssues(deadOptions.issues));
      const moved = await commit.submit(() => {
        const row = sql.deleteLeased.get(id, leaseId);
        if (!row) return false;
        sql.insertDead.run(
          id,
          row.project,
          row.message_id,
          deadOptions.kind,
          deadOptions.reason.slice(0, maxReasonLength),
          issues,
          row.attempts + (attempt ? 1 : 0),
          row.first_attempt_at ?? attempt?.at ?? null,
          attempt?.at ?? row.last_attempt_at,
          row.enqueued_at,
          now(),
          row.deliveries,
          attempt ? appendHistory(row.history, attempt) : row.history,
          row.payload_sha256,
        );
        return true;
      });
      if (moved) {
        depth--;
        deadLetters++;
        drained();
      }
      return moved;
    },

    async listDeadLetters(listOptions: ListDeadLettersOptions = {}) {
      assertOpen();
      const limit = pageLimit(listOptions.limit);
      const where = filterClause(listOptions.filter);
      const params = [...where.params];
      let after = '';
      if (listOptions.cursor !== undefined) {
        const [deadAt, id] = decodeCursor(listOptions.cursor);
        after = ' AND (d.dead_at, d.id) > (?, ?)';
        params.push(deadAt, id);
      }
      try {
        const rows = dynamicStatement<DeadRow>(`SELECT d.*, length(p.body) AS payload_bytes FROM dead_letters d LEFT JOIN payloads p ON p.id = d.id WHERE ${where.sql}${after} ORDER BY d.dead_at, d.id LIMIT ?`).all(...params, limit + 1);
        return pageOf(rows, limit, toDeadLetter, (last) => last);
      } catch (error) {
        throw mapError(error);
      }
    },

    async countDeadLetters(filter) {
      assertOpen();
      if (filter === undefined) return deadLetters;
      const where = filterClause(filter);
      try {
        return dynamicStatement<{ count: number }>(`SELECT count(*) AS count FROM dead_letters d WHERE ${where.sql}`).get(...where.params)!.count;
      } catch (error) {
        throw mapError(error);
      }
    },

    async replayDeadLetters(filter) {
      assertOpen();
      const where = filterClause(filter);
      const select = dynamicStatement<{ id: number }>(`SELECT d.id FROM dead_letters d WHERE ${where.sql} ORDER BY d.dead_at, d.id LIMIT ${replayChunk}`);
      let replayed = 0;
      let alreadyQueued = 0;
      for (;;) {
        const chunk = await commit.submit(() => {
          const time = now();
          const rows = select.all(...where.params);
          let moved = 0;
          for (const row of rows) {
            const dead = sql.deadIdentity.get(row.id)!;
            const hash = payloadHash(row.id, dead.payload_sha256);
            const queuedAgain = sql.findQueued.all(dead.project, dead.message_id).some((queued) => payloadHash(queued.id, queued.payload_sha256) === hash);
            if (!queuedAgain && sql.replayOne.run(time, time, hash ?? null, row.id).changes > 0) moved++;
            else sql.deletePayload.run(row.id);
            sql.deleteDead.run(row.id);
          }
          return { selected: rows.length, moved };
        });
        replayed += chunk.moved;
        alreadyQueued += chunk.selected - chunk.moved;
        depth += chunk.moved;
        deadLetters -= chunk.selected;
        if (chunk.moved > 0) wake();
        if (chunk.selected < replayChunk || closed) break;
      }
      return { replayed, alreadyQueued } satisfies ReplayResult;
    },

    async discardDeadLetters(filter, reason) {
      assertOpen();
      if (typeof reason !== 'string' || reason.trim() === '') throw invalidInput('A reason is required to discard dead letters: say why they are given up on for good.');
      const why = reason.trim().slice(0, maxDiscardReasonLength);
      const where = filterClause(filter);
      const select = dynamicStatement<{ id: number }>(`SELECT d.id FROM dead_letters d WHERE ${where.sql} ORDER BY d.dead_at, d.id LIMIT ${replayChunk}`);
      const ids: string[] = [];
      for (;;) {
        const chunk = await commit.submit(() => {
          const time = now();
          const rows = select.all(...where.params);
          for (const row of rows) {
            const dead = sql.deadIdentity.get(row.id)!;
            sql.discardOne.run(why, time, payloadHash(row.id, dead.payload_sha256) ?? null, row.id);
            sql.deletePayload.run(row.id);
            sql.deleteDead.run(row.id);
          }
          return rows.map((row) => String(row.id));
        });
        ids.push(...chunk);
        deadLetters -= chunk.length;
        if (chunk.length < replayChunk || closed) break;
      }
      return { discarded: ids.length, ids } satisfies DiscardResult;
    },

    async listDiscardedDeadLetters(listOptions: ListDiscardedOptions = {}): Promise<DiscardedPage> {
      assertOpen();
      const limit = pageLimit(listOptions.limit);
      const project = listOptions.project;
      if (project !== undefined && typeof project !== 'string') throw invalidInput('project must be a string.');
      const params: unknown[] = project === undefined ? [] : [project];
      let after = '';
      if (listOptions.cursor !== undefined) {
        const [discardedAt, id] = decodeCursor(listOptions.cursor);
        after = ' AND (discarded_at, id) > (?, ?)';
        params.push(discardedAt, id);
      }
      try {
        const rows = dynamicStatement<DiscardedRow>(`SELECT * FROM discarded_dead_letters WHERE ${project === undefined ? '1' : 'project = ?'}${after} ORDER BY discarded_at, id LIMIT ?`).all(...params, limit + 1);
        return pageOf(rows, limit, toDiscarded, (last) => ({ dead_at: last.discarded_at, id: last.id }));
      } catch (error) {
        throw mapError(error);
      }
    },

    async stats(): Promise<QueueStats> {
      assertOpen();
      try {
        const oldest = sql.oldest.get()?.at ?? null;
        return {
          depth,
          inFlight: sql.inFlight.get(now())!.count,
          deadLetters,
          ...(oldest === null ? {} : { oldestEnqueuedAt: oldest }),
        };
      } catch (error) {
        throw mapError(error);
      }
    },

    health() {
      if (!closed) health.checkFile();
      return health.snapshot();
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(maintenance);
      clearInterval(healthCheck);
      clearTimeout(drainCheckpoint);
      wake();
      commit.flush();
      const lost = health.problem;
      if (lost === 'file_missing' && !existsSync(path)) copyOut(path);
      else if (lost === 'file_replaced') copyOut(asideName());
      try {
        db.close();
      } catch (error) {
        // The log could not be checkpointed (full disk): it stays beside the file and is replayed on the next open.
        health.note(error);
      }
    },
  };
  return queue;
}
