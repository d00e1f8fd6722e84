import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { DestinationV1 } from '@sentcopy/core';
import { unassociatedCampaign, type LedgerIndexFilters } from './index-filters.js';
import { openIndexDatabase } from './index-schema.js';
import { LedgerIndexError } from './ledger-index-error.js';
import { disableText, enableText, isTextEnabled, pendingTextCount, prepareTextConnection, removeErasedText, textCondition, textCounts, updateText, type TextUpdateOptions, type TextUpdateResult } from './text-index.js';
import { updateIndex, type IndexUpdateOptions, type IndexUpdateResult } from './update-index.js';

/** Options for {@link openLedgerIndex}. */
export interface LedgerIndexOptions {
  /**
   * The SQLite file. Created (with its folder) if absent, with mode 0600: it holds recipient
   * hashes and ids.
   */
  readonly file: string;
}

/** One stored object, as the index knows it. */
export interface IndexedObject {
  /** The destination's name. */
  readonly destination: string;
  readonly key: string;
  /** SHA-256 of the stored bytes, lower-case hex. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
  readonly messageId: string;
  readonly channel: string;
  readonly projectId: string;
  readonly campaignId?: string;
  readonly canvasId?: string;
  readonly canvasStepId?: string;
  readonly journeyId?: string;
  readonly journeyNodeId?: string;
  readonly userId?: string;
  /** When the message was sent, epoch milliseconds. */
  readonly sentAt: number;
  /** When it was stored, epoch milliseconds. */
  readonly storedAt: number;
  /** A second, different copy under one message id. */
  readonly version: boolean;
  /** The first copy's key, for a version. */
  readonly originalKey?: string;
  /** When a tombstone records it as erased, epoch milliseconds. */
  readonly erasedAt?: number;
  /** The tombstone's reason code. */
  readonly eraseReason?: string;
  /** The writer whose chain lists it. */
  readonly writer: string;
}

/** Options for {@link LedgerIndex.query}. */
export interface IndexQueryOptions {
  /** Most objects to return. @default 100 */
  readonly limit?: number;
  /** A `next` cursor a previous page returned (with the same `order`): continues right after its last object. */
  readonly after?: string;
  /** `oldest` first or `newest` first (by `sent_at`, then index order). @default 'oldest' */
  readonly order?: 'oldest' | 'newest';
  /** Objects to skip before the page (page-numbered browsing; each skipped row is still read). @default 0 */
  readonly offset?: number;
}

/** One page of a query, oldest `sent_at` first (or newest first with `order: 'newest'`). */
export interface IndexPage {
  readonly objects: readonly IndexedObject[];
  /** Pass as `after` for the next page; absent on the last page. */
  readonly next?: string;
}

/** One destination's state in the index. */
export interface IndexedDestination {
  readonly destination: string;
  /** Objects indexed (erased ones included). */
  readonly objects: number;
  /** Objects a tombstone records as erased. */
  readonly erased: number;
  /** Objects whose text is indexed (0 while full-text search is off). */
  readonly textIndexed: number;
  /** Objects not erased whose text is not indexed yet (0 while full-text search is off). */
  readonly textPending: number;
  /** Each chain: the last segment indexed and its SHA-256. */
  readonly writers: readonly { readonly writer: string; readonly segments: number; readonly lastSeq: number; readonly lastSha256: string }[];
}

/** A local index of ledgers. Not safe for two processes updating the same file at once. */
export interface LedgerIndex {
  /** The SQLite file. */
  readonly file: string;
  /**
   * Indexes what is new in `destination`'s ledger, under the given name. With full-text search on,
   * the text of objects a new tombstone erases is removed from the file too.
   */
  update(name: string, destination: DestinationV1, options?: IndexUpdateOptions): Promise<IndexUpdateResult>;
  /** Whether full-text search is on (remembered in the file). */
  textEnabled(): boolean;
  /**
   * Turns full-text search on: an empty full-text table, filled by {@link LedgerIndex.updateText}.
   * It copies message content (the words of subjects and bodies) into the index file.
   */
  enableText(): void;
  /** Turns full-text search off: drops the table and its content, and rebuilds the file (VACUUM) so no copied word stays in it. */
  disableText(): void;
  /**
   * Reads, once each, the objects of `destination` indexed under `name` that have no text yet (and
   * are not erased), checks their bytes against the ledger's SHA-256, and indexes the text
   * `options.extract` finds. Resumable: each batch is one transaction. Call after `update()`.
   * A destination failure after the retries throws its `DestinationError`; what was indexed stays.
   */
  updateText(name: string, destination: DestinationV1, options: TextUpdateOptions): Promise<TextUpdateResult>;
  /** Objects matching `filters`, by `sent_at` then index order, one page at a time (keyset paging). */
  query(filters: LedgerIndexFilters, options?: IndexQueryOptions): IndexPage;
  /** How many objects match `filters`. */
  count(filters: LedgerIndexFilters): number;
  /** What is indexed, per destination. */
  status(): readonly IndexedDestination[];
  /** Closes the file. */
  close(): void;
}

interface ObjectRow {
  id: number;
  destination: string;
  key: string;
  sha256: string;
  size: number;
  message_id: string;
  channel: string;
  project_id: string;
  campaign_id: string | null;
  canvas_id: string | null;
  canvas_step_id: string | null;
  journey_id: string | null;
  journey_node_id: string | null;
  user_id: string | null;
  sent_at: number;
  stored_at: number;
  version: number;
  original_key: string | null;
  writer: string;
  erased_at: number | null;
  erase_reason: string | null;
}

function where(database: SqliteDatabase, filters: LedgerIndexFilters): { clauses: string[]; values: unknown[] } {
  const clauses: string[] = [];
  const values: unknown[] = [];
  if (filters.text !== undefined) {
    clauses.push(textCondition(database, filters.text));
    values.push(filters.text);
  }
  const equal = (column: string, value: string | undefined) => {
    if (value === undefined) return;
    clauses.push(`${column} = ?`);
    values.push(value);
  };
  if (filters.destinations !== undefined) {
    // Unary plus keeps the planner off the (destination, key) index: a destination is rarely selective, a campaign or a person is.
    clauses.push(`+destination IN (${filters.destinations.map(() => '?').join(', ') || 'NULL'})`);
    values.push(...filters.destinations);
  }
  equal('project_id', filters.projectId);
  equal('channel', filters.channel);
  equal('user_id', filters.userId);
  equal('canvas_id', filters.canvasId);
  equal('journey_id', filters.journeyId);
  equal('message_id', filters.messageId);
  if (filters.campaign !== undefined) {
    if (filters.campaign === unassociatedCampaign) clauses.push('campaign IS NULL');
    else {
      clauses.push('campaign = ?');
      values.push(filters.campaign);
    }
  }
  if (filters.sentFrom !== undefined) {
    clauses.push('sent_at >= ?');
    values.push(filters.sentFrom);
  }
  if (filters.sentUntil !== undefined) {
    clauses.push('sent_at < ?');
    values.push(filters.sentUntil);
  }
  if (filters.recipients !== undefined) {
    clauses.push(`id IN (SELECT object_id FROM recipients WHERE hash IN (${filters.recipients.map(() => '?').join(', ') || 'NULL'}))`);
    values.push(...filters.recipients);
  }
  if (filters.includeErased !== true) clauses.push('erased_at IS NULL');
  return { clauses, values };
}

function toObject(row: ObjectRow): IndexedObject {
  return {
    destination: row.destination,
    key: row.key,
    sha256: row.sha256,
    size: row.size,
    messageId: row.message_id,
    channel: row.channel,
    projectId: row.project_id,
    ...(row.campaign_id === null ? {} : { campaignId: row.campaign_id }),
    ...(row.canvas_id === null ? {} : { canvasId: row.canvas_id }),
    ...(row.canvas_step_id === null ? {} : { canvasStepId: row.canvas_step_id }),
    ...(row.journey_id === null ? {} : { journeyId: row.journey_id }),
    ...(row.journey_node_id === null ? {} : { journeyNodeId: row.journey_node_id }),
    ...(row.user_id === null ? {} : { userId: row.user_id }),
    sentAt: row.sent_at,
    storedAt: row.stored_at,
    version: row.version === 1,
    ...(row.original_key === null ? {} : { originalKey: row.original_key }),
    ...(row.erased_at === null ? {} : { erasedAt: row.erased_at }),
    ...(row.erase_reason === null ? {} : { eraseReason: row.erase_reason }),
    writer: row.writer,
  };
}

function encodeCursor(sentAt: number, id: number): string {
  return Buffer.from(JSON.stringify([sentAt, id]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): [number, number] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && Number.isSafeInteger(value[1])) return [value[0], value[1] as number];
  } catch {
    // Reported below.
  }
  throw new LedgerIndexError('invalid', 'after: not a cursor this index printed.');
}

/** Opens (or creates) a ledger index file. */
export function openLedgerIndex(options: LedgerIndexOptions): LedgerIndex {
  const database: SqliteDatabase = openIndexDatabase(options.file);
  if (isTextEnabled(database)) prepareTextConnection(database);
  let closed = false;
  const open = () => {
    if (closed) throw new LedgerIndexError('closed', `The ledger index ${options.file} is closed.`);
    return database;
  };
  return {
    file: options.file,
    async update(name, destination, updateOptions) {
      const result = await updateIndex(open(), name, destination, updateOptions);
      if (result.tombstones > 0 && isTextEnabled(database)) removeErasedText(database);
      return result;
    },
    textEnabled: () => isTextEnabled(open()),
    enableText: () => enableText(open()),
    disableText: () => disableText(open()),
    updateText: (name, destination, textOptions) => updateText(open(), name, destination, textOptions),
    query(filters, queryOptions = {}) {
      const limit = queryOptions.limit ?? 100;
      if (!Number.isSafeInteger(limit) || limit < 1) throw new LedgerIndexError('invalid', 'limit: must be a whole number of 1 or more.');
      const offset = queryOptions.offset ?? 0;
      if (!Number.isSafeInteger(offset) || offset < 0) throw new LedgerIndexError('invalid', 'offset: must be a whole number of 0 or more.');
      const newest = queryOptions.order === 'newest';
      const { clauses, values } = where(open(), filters);
      if (queryOptions.after !== undefined) {
        const [sentAt, id] = decodeCursor(queryOptions.after);
        clauses.push(newest ? '(sent_at < ? OR (sent_at = ? AND id < ?))' : '(sent_at > ? OR (sent_at = ? AND id > ?))');
        values.push(sentAt, sentAt, id);
      }
      const sql = `SELECT * FROM objects${clauses.length === 0 ? '' : ` WHERE ${clauses.join(' AND ')}`} ORDER BY ${newest ? 'sent_at DESC, id DESC' : 'sent_at, id'} LIMIT ? OFFSET ?`;
      const rows = open()
        .prepare(sql)
        .all(...values, limit + 1, offset) as ObjectRow[];
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { objects: page.map(toObject), ...(rows.length > limit && last !== undefined ? { next: encodeCursor(last.sent_at, last.id) } : {}) };
    },
    count(filters) {
      const { clauses, values } = where(open(), filters);
      return open()
        .prepare(`SELECT COUNT(*) FROM objects${clauses.length === 0 ? '' : ` WHERE ${clauses.join(' AND ')}`}`)
        .pluck()
        .get(...values) as number;
    },
    status() {
      const database = open();
      const counts = database.prepare('SELECT destination, COUNT(*) AS objects, COUNT(erased_at) AS erased FROM objects GROUP BY destination').all() as { destination: string; objects: number; erased: number }[];
      const chains = database
        .prepare(
          'SELECT s.destination, s.writer, COUNT(*) AS segments, MAX(s.seq) AS last_seq, (SELECT sha256 FROM segments AS l WHERE l.destination = s.destination AND l.writer = s.writer ORDER BY seq DESC LIMIT 1) AS last_sha256 FROM segments AS s GROUP BY s.destination, s.writer ORDER BY s.destination, s.writer',
        )
        .all() as { destination: string; writer: string; segments: number; last_seq: number; last_sha256: string }[];
      const text = isTextEnabled(database);
      const indexedText = text ? textCounts(database) : new Map<string, number>();
      const names = [...new Set([...counts.map((row) => row.destination), ...chains.map((row) => row.destination)])].sort();
      return names.map((destination) => {
        const count = counts.find((row) => row.destination === destination);
        return {
          destination,
          objects: count?.objects ?? 0,
          erased: count?.erased ?? 0,
          textIndexed: indexedText.get(destination) ?? 0,
          textPending: text ? pendingTextCount(database, destination) : 0,
          writers: chains.filter((row) => row.destination === destination).map((row) => ({ writer: row.writer, segments: row.segments, lastSeq: row.last_seq, lastSha256: row.last_sha256 })),
        };
      });
    },
    close() {
      if (closed) return;
      closed = true;
      database.close();
    },
  };
}
