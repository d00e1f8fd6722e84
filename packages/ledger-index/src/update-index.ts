import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { secondaryIndexes, secondaryIndexNames } from './index-schema.js';
import { decodeLedgerSegment, ledgerPrefix, ledgerSegmentKey, LedgerError, parseLedgerSegmentKey, retryInline, sha256Hex, type DecodedSegment, type DestinationV1, type InlineRetryOptions } from '@sentcopy/core';

/**
 * A problem the index found while updating, which it will not paper over:
 * - `changed`: a segment already indexed changed since (its size, or the hash its successor
 *   records as `previous`, differs from what was indexed); the writer's later segments are not
 *   indexed until it is looked into (`sentcopy verify --complete`);
 * - `gone`: a segment already indexed is no longer in the store;
 * - `gap`: a sequence number is missing, so the chain's later segments are not indexed;
 * - `unreadable`: a segment does not decode, or its bytes contradict the SHA-256 recorded with it;
 * - `foreign`: a key under the ledger prefix that is not a segment (skipped);
 * - `contradicting`: a key listed again with another SHA-256 (the first is kept).
 */
export type IndexProblemKind = 'changed' | 'gone' | 'gap' | 'unreadable' | 'foreign' | 'contradicting';

/** One problem found while updating. */
export interface IndexProblem {
  readonly kind: IndexProblemKind;
  /** The destination's name. */
  readonly destination: string;
  /** The segment key (for `contradicting`, the object key). */
  readonly key: string;
  /** A human sentence. */
  readonly reason: string;
}

/** Progress of an update, after each segment. */
export interface IndexProgress {
  /** The destination being indexed. */
  readonly destination: string;
  /** Segments read in this update so far. */
  readonly segments: number;
  /** Segments this update has to read (known after listing). */
  readonly segmentsTotal: number;
  /** Entry and tombstone lines indexed so far in this update. */
  readonly lines: number;
}

/** Options for `LedgerIndex.update()`. */
export interface IndexUpdateOptions {
  /** Stops after the segment being indexed; what was indexed stays, and the next update continues. */
  readonly signal?: AbortSignal;
  /** Told after each segment. */
  readonly onProgress?: (progress: IndexProgress) => void;
  /** Segments read ahead at once. @default 8 */
  readonly concurrency?: number;
  /** Retries of each list and read. @default { budgetMs: 10000, maxAttempts: 4 } */
  readonly retry?: InlineRetryOptions;
}

/** What one update did. */
export interface IndexUpdateResult {
  /** The destination's name. */
  readonly destination: string;
  /** Segments read and indexed in this update. */
  readonly segments: number;
  /** Objects added to the index. */
  readonly added: number;
  /** Entries that repeat an object already indexed (re-appended after a crash): counted once. */
  readonly duplicates: number;
  /** Tombstones indexed. */
  readonly tombstones: number;
  /** Chains seen (writers). */
  readonly writers: number;
  /** Problems found, in the order found. */
  readonly problems: readonly IndexProblem[];
  /** True when the signal stopped the update before it was done. */
  readonly interrupted: boolean;
}

interface IndexedSegment {
  readonly seq: number;
  readonly sha256: string;
  readonly size: number;
}

interface Statements {
  readonly segmentsOf: Statement;
  readonly insertSegment: Statement;
  readonly insertObject: Statement;
  readonly objectSha: Statement;
  readonly insertRecipient: Statement;
  readonly insertTombstone: Statement;
  readonly applyTombstones: Statement;
}

function prepare(database: SqliteDatabase): Statements {
  return {
    segmentsOf: database.prepare('SELECT writer, seq, sha256, size FROM segments WHERE destination = ? ORDER BY writer, seq'),
    insertSegment: database.prepare('INSERT INTO segments (destination, writer, seq, sha256, size, lines, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    insertObject: database.prepare(
      `INSERT OR IGNORE INTO objects (destination, key, sha256, size, message_id, channel, project_id, campaign, campaign_id, canvas_id, canvas_step_id, journey_id, journey_node_id, user_id, sent_at, stored_at, version, original_key, writer, seq)
       VALUES (@destination, @key, @sha256, @size, @message_id, @channel, @project_id, @campaign, @campaign_id, @canvas_id, @canvas_step_id, @journey_id, @journey_node_id, @user_id, @sent_at, @stored_at, @version, @original_key, @writer, @seq)`,
    ),
    objectSha: database.prepare('SELECT sha256 FROM objects WHERE destination = ? AND key = ?').pluck(),
    insertRecipient: database.prepare('INSERT OR IGNORE INTO recipients (hash, object_id) VALUES (?, ?)'),
    insertTombstone: database.prepare('INSERT OR IGNORE INTO tombstones (destination, key, sha256, erased_at, reason) VALUES (?, ?, ?, ?, ?)'),
    applyTombstones: database.prepare(
      `UPDATE objects SET erased_at = t.erased_at, erase_reason = t.reason FROM tombstones AS t
       WHERE objects.erased_at IS NULL AND t.destination = objects.destination AND t.key = objects.key AND t.sha256 = objects.sha256 AND objects.destination = ?`,
    ),
  };
}

const text = (value: unknown): string | null => (value === undefined || value === null ? null : typeof value === 'string' ? value : String(value));

/**
 * Brings the index up to date with one destination's ledger: lists the segments, and reads only
 * those after each writer's last indexed one, each indexed in one transaction with its SHA-256
 * (so an interrupted update loses nothing and repeats nothing).
 */
export async function updateIndex(database: SqliteDatabase, name: string, destination: DestinationV1, options: IndexUpdateOptions = {}): Promise<IndexUpdateResult> {
  const statements = prepare(database);
  const retry = options.retry ?? { budgetMs: 10_000, maxAttempts: 4 };
  const problems: IndexProblem[] = [];
  const problem = (kind: IndexProblemKind, key: string, reason: string) => problems.push({ kind, destination: name, key, reason });

  const listed = new Map<string, Map<number, number>>();
  let cursor: string | undefined;
  do {
    const page = (await retryInline(() => destination.list({ prefix: ledgerPrefix, limit: 1000, ...(cursor === undefined ? {} : { cursor }) }), retry)).value;
    for (const object of page.objects) {
      const parsed = parseLedgerSegmentKey(object.key);
      if (parsed === undefined) {
        problem('foreign', object.key, `under the reserved ledger prefix ${ledgerPrefix}, but not a ledger segment`);
        continue;
      }
      const chain = listed.get(parsed.writerId) ?? new Map<number, number>();
      chain.set(parsed.seq, object.size);
      listed.set(parsed.writerId, chain);
    }
    cursor = page.cursor;
  } while (cursor !== undefined);

  const indexed = new Map<string, IndexedSegment[]>();
  for (const row of statements.segmentsOf.all(name) as { writer: string; seq: number; sha256: string; size: number }[]) {
    const list = indexed.get(row.writer) ?? [];
    list.push({ seq: row.seq, sha256: row.sha256, size: row.size });
    indexed.set(row.writer, list);
  }

  // What each writer still needs, and what the last indexed segment's successor must record.
  const plans: { writer: string; seqs: number[]; previous: IndexedSegment | undefined }[] = [];
  for (const writer of new Set([...indexed.keys(), ...listed.keys()])) {
    const done = indexed.get(writer) ?? [];
    const present = listed.get(writer) ?? new Map<number, number>();
    let blocked = false;
    for (const segment of done) {
      const key = ledgerSegmentKey(writer, segment.seq);
      const size = present.get(segment.seq);
      if (size === undefined) {
        problem('gone', key, 'it was indexed, but is no longer in the store (deleted)');
        blocked = true;
      } else if (size !== segment.size) {
        problem('changed', key, `it was indexed with ${segment.size} bytes, and now has ${size}: it was rewritten`);
        blocked = true;
      }
    }
    const last = done.at(-1);
    const seqs = [...present.keys()].filter((seq) => seq > (last?.seq ?? -1)).sort((a, b) => a - b);
    if (blocked || seqs.length === 0) continue;
    let expected = (last?.seq ?? -1) + 1;
    const contiguous: number[] = [];
    for (const seq of seqs) {
      if (seq !== expected) {
        problem('gap', ledgerSegmentKey(writer, expected), `segment ${expected} of chain ${writer} is missing, so its later segments (to ${seqs.at(-1)}) are not indexed`);
        break;
      }
      contiguous.push(seq);
      expected += 1;
    }
    if (contiguous.length > 0) plans.push({ writer, seqs: contiguous, previous: last });
  }

  const segmentsTotal = plans.reduce((sum, plan) => sum + plan.seqs.length, 0);
  let segments = 0;
  let lines = 0;
  let added = 0;
  let duplicates = 0;
  let tombstones = 0;
  let interrupted = false;
  const concurrency = Math.max(1, options.concurrency ?? 8);

  const indexSegment = database.transaction((writer: string, seq: number, sha256: string, size: number, decoded: DecodedSegment) => {
    statements.insertSegment.run(name, writer, seq, sha256, size, decoded.entries.length + decoded.tombstones.length, Date.now());
    for (const entry of decoded.entries) {
      const info = statements.insertObject.run({
        destination: name,
        key: entry.key,
        sha256: entry.sha256,
        size: entry.size,
        message_id: text(entry.message_id) ?? '',
        channel: text(entry.channel) ?? '',
        project_id: text(entry.project_id) ?? '',
        campaign: text(entry.campaign_id) ?? text(entry.canvas_step_id),
        campaign_id: text(entry.campaign_id),
        canvas_id: text(entry.canvas_id),
        canvas_step_id: text(entry.canvas_step_id),
        journey_id: text(entry.journey_id),
        journey_node_id: text(entry.journey_node_id),
        user_id: text(entry.user_id),
        sent_at: Number(entry.sent_at),
        stored_at: Number(entry.stored_at),
        version: entry.version === true ? 1 : 0,
        original_key: text(entry.original_key),
        writer,
        seq,
      });
      if (info.changes === 1) {
        added += 1;
        for (const hash of new Set(entry.recipients)) statements.insertRecipient.run(hash, info.lastInsertRowid);
      } else if (statements.objectSha.get(name, entry.key) === entry.sha256) duplicates += 1;
      else problem('contradicting', entry.key, `listed again (in ${ledgerSegmentKey(writer, seq)}) with another SHA-256 (${entry.sha256.slice(0, 12)}…); the first is kept`);
    }
    for (const tombstone of decoded.tombstones) {
      statements.insertTombstone.run(name, tombstone.key, tombstone.sha256, tombstone.erased_at, tombstone.reason);
      tombstones += 1;
    }
    lines += decoded.entries.length + decoded.tombstones.length;
  });

  // A first build of many segments: the query indexes are built once at the end instead of row by row.
  // (Should the process die meanwhile, opening the file creates them again.)
  const bulk = segmentsTotal >= 10 && database.prepare('SELECT NOT EXISTS (SELECT 1 FROM objects)').pluck().get() === 1;
  if (bulk) for (const name of secondaryIndexNames) database.exec(`DROP INDEX IF EXISTS ${name}`);
  try {
    await indexPlans();
  } finally {
    if (bulk) database.exec(secondaryIndexes);
  }
  if (tombstones > 0 || added > 0) statements.applyTombstones.run(name);
  return { destination: name, segments, added, duplicates, tombstones, writers: new Set([...indexed.keys(), ...listed.keys()]).size, problems, interrupted };

  async function indexPlans(): Promise<void> {
    outer: for (const plan of plans) {
      let previous = plan.previous;
      const read = (seq: number) =>
        retryInline(() => destination.get(ledgerSegmentKey(plan.writer, seq)), retry).then(
          (result) => ({ stored: result.value }),
          (error: unknown) => ({ error }),
        );
      const ahead: Promise<{ stored?: Awaited<ReturnType<DestinationV1['get']>>; error?: unknown }>[] = [];
      let next = 0;
      const fill = () => {
        while (ahead.length < concurrency && next < plan.seqs.length) ahead.push(read(plan.seqs[next++]!));
      };
      fill();
      for (const seq of plan.seqs) {
        if (options.signal?.aborted === true) {
          interrupted = true;
          break outer;
        }
        const outcome = await ahead.shift()!;
        fill();
        if (outcome.error !== undefined) throw outcome.error;
        const key = ledgerSegmentKey(plan.writer, seq);
        const stored = outcome.stored;
        if (stored === undefined) {
          problem('gap', key, "listed, but gone when read; the chain's later segments are not indexed");
          break;
        }
        const sha256 = sha256Hex(stored.body);
        if (stored.sha256 !== undefined && stored.sha256 !== sha256) {
          problem('unreadable', key, `its bytes hash to ${sha256.slice(0, 12)}…, not the ${stored.sha256.slice(0, 12)}… recorded when it was written`);
          break;
        }
        let decoded: DecodedSegment;
        try {
          decoded = decodeLedgerSegment(stored.body, key);
        } catch (error) {
          if (!LedgerError.isInstance(error)) throw error;
          problem('unreadable', key, error.message);
          break;
        }
        if (decoded.header.writer !== plan.writer || decoded.header.seq !== seq) {
          problem('unreadable', key, `its header claims writer ${decoded.header.writer} and sequence ${decoded.header.seq}, not its place`);
          break;
        }
        const expectedPrevious = previous === undefined ? null : previous.sha256;
        if (seq === 0 ? decoded.header.previous !== null : decoded.header.previous !== expectedPrevious) {
          const earlier = ledgerSegmentKey(plan.writer, seq - 1);
          problem(
            'changed',
            seq === 0 ? key : earlier,
            seq === 0
              ? 'the first segment of a chain must have no predecessor'
              : `it was indexed with SHA-256 ${String(expectedPrevious).slice(0, 12)}…, but its successor ${key} records ${String(decoded.header.previous).slice(0, 12)}…: one of them was rewritten`,
          );
          break;
        }
        indexSegment(plan.writer, seq, sha256, stored.body.byteLength, decoded);
        previous = { seq, sha256, size: stored.body.byteLength };
        segments += 1;
        options.onProgress?.({ destination: name, segments, segmentsTotal, lines });
      }
      // Reads still in flight (after a problem or an interruption) settle on their own; their results are not used.
    }
  }
}
