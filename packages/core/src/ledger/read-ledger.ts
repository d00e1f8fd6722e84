import type { DestinationV1 } from '../destination/destination-v1.js';
import { sha256Hex } from '../payload/index.js';
import { retryInline, type InlineRetryOptions } from '../retry/index.js';
import { LedgerError } from './ledger-error.js';
import { decodeLedgerSegment, ledgerPrefix, parseLedgerSegmentKey, type LedgerEntry, type LedgerSegmentHeader, type LedgerTombstone } from './ledger-format.js';

/**
 * A problem with the ledger's chains themselves:
 * - `gap`: a sequence number of a chain is missing (a segment was deleted);
 * - `edited`: a segment's bytes do not hash to the `previous` its successor recorded, or do not
 *   match the SHA-256 recorded when it was written, or its header does not match its place;
 * - `fork`: two segments claim the same predecessor;
 * - `unreadable`: a segment does not decode (not gzip, not JSON lines, a malformed entry);
 * - `foreign`: a key under the reserved ledger prefix that is not a segment;
 * - `contradicting`: two entries give one key different SHA-256s, or a tombstone erases a key
 *   with another SHA-256 than its entry's.
 */
export type LedgerChainProblemKind = 'gap' | 'edited' | 'fork' | 'unreadable' | 'foreign' | 'contradicting';

/** One problem with a chain, naming the segment (or key) and what is wrong. */
export interface LedgerChainProblem {
  readonly kind: LedgerChainProblemKind;
  /** The segment key (or, for a gap, the missing segment's writer and sequence as a key; for `contradicting`, the object key). */
  readonly key: string;
  /** A human sentence. */
  readonly reason: string;
}

/** One writer's chain as read. */
export interface LedgerChainSummary {
  readonly writerId: string;
  /** Segments found. */
  readonly segments: number;
  /** Highest sequence number found. */
  readonly lastSeq: number;
  /** Entry lines in the chain's readable segments (re-appended ones included). */
  readonly entries: number;
}

/** What {@link readLedger} found. */
export interface LedgerReadResult {
  /** Every chain, by writer id. */
  readonly chains: readonly LedgerChainSummary[];
  /** Problems with the chains, in key order within each kind. */
  readonly problems: readonly LedgerChainProblem[];
  /** Each object the ledger lists, once (the first entry for its key). */
  readonly entries: ReadonlyMap<string, LedgerEntry>;
  /** Entries that repeat an earlier entry of the same key and SHA-256 (re-appended after a crash): counted once. */
  readonly duplicates: number;
  /** Each object deliberately erased, by key (the first tombstone for its key). Its entry stays in `entries`. */
  readonly tombstones: ReadonlyMap<string, LedgerTombstone>;
}

/** Options for {@link readLedger}. */
export interface ReadLedgerOptions {
  /** Retries of each list and read. @default { budgetMs: 10000, maxAttempts: 4 } */
  readonly retry?: InlineRetryOptions;
  /** Called after each segment is read, with the count so far. */
  readonly onSegment?: (read: number) => void;
  /** Segments read at once. @default 8 */
  readonly concurrency?: number;
}

/** Runs `work` over `items`, at most `concurrency` at a time, keeping their order. */
async function readAll<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!);
      }
    }),
  );
  return results;
}

interface ReadSegment {
  readonly key: string;
  readonly writerId: string;
  readonly seq: number;
  readonly sha256: string;
  readonly header?: LedgerSegmentHeader;
  readonly entries: readonly LedgerEntry[];
  readonly tombstones: readonly LedgerTombstone[];
}

/**
 * Reads every chain under the reserved prefix and checks each: sequence numbers without gaps,
 * each segment's bytes hashing to its successor's `previous` and to the SHA-256 recorded at
 * write time, no two segments claiming one predecessor. Entries are de-duplicated by key.
 * A destination failure (after retries) throws; everything else is reported as a problem.
 */
export async function readLedger(destination: DestinationV1, options: ReadLedgerOptions = {}): Promise<LedgerReadResult> {
  const retry = options.retry ?? { budgetMs: 10_000, maxAttempts: 4 };
  const problems: LedgerChainProblem[] = [];
  const byWriter = new Map<string, { key: string; seq: number }[]>();
  let cursor: string | undefined;
  do {
    const page = (await retryInline(() => destination.list({ prefix: ledgerPrefix, limit: 1000, ...(cursor === undefined ? {} : { cursor }) }), retry)).value;
    for (const object of page.objects) {
      const parsed = parseLedgerSegmentKey(object.key);
      if (parsed === undefined) {
        problems.push({ kind: 'foreign', key: object.key, reason: `under the reserved ledger prefix ${ledgerPrefix}, but not a ledger segment` });
        continue;
      }
      const list = byWriter.get(parsed.writerId) ?? [];
      list.push({ key: object.key, seq: parsed.seq });
      byWriter.set(parsed.writerId, list);
    }
    cursor = page.cursor;
  } while (cursor !== undefined);

  const chains: LedgerChainSummary[] = [];
  const segments: ReadSegment[] = [];
  let readCount = 0;
  for (const [writerId, keys] of byWriter) {
    keys.sort((a, b) => a.seq - b.seq);
    const chain: ReadSegment[] = [];
    let entryCount = 0;
    const reads = await readAll(
      keys.map(({ key }) => key),
      options.concurrency ?? 8,
      async (key) => {
        const stored = (await retryInline(() => destination.get(key), retry)).value;
        options.onSegment?.((readCount += 1));
        return stored;
      },
    );
    for (const [index, { key, seq }] of keys.entries()) {
      const stored = reads[index];
      if (stored === undefined) {
        problems.push({ kind: 'gap', key, reason: 'listed, but gone when read' });
        continue;
      }
      const sha256 = sha256Hex(stored.body);
      if (stored.sha256 !== undefined && stored.sha256 !== sha256) {
        problems.push({ kind: 'edited', key, reason: `its bytes hash to ${sha256.slice(0, 12)}…, not the ${stored.sha256.slice(0, 12)}… recorded when it was written` });
      }
      try {
        const decoded = decodeLedgerSegment(stored.body, key);
        if (decoded.header.writer !== writerId || decoded.header.seq !== seq) {
          problems.push({ kind: 'edited', key, reason: `its header claims writer ${decoded.header.writer} and sequence ${decoded.header.seq}, not its place` });
        }
        chain.push({ key, writerId, seq, sha256, header: decoded.header, entries: decoded.entries, tombstones: decoded.tombstones });
        entryCount += decoded.entries.length;
      } catch (error) {
        if (!LedgerError.isInstance(error)) throw error;
        problems.push({ kind: 'unreadable', key, reason: error.message });
        chain.push({ key, writerId, seq, sha256, entries: [], tombstones: [] });
      }
    }
    segments.push(...chain);
    chains.push({ writerId, segments: keys.length, lastSeq: keys.at(-1)?.seq ?? -1, entries: entryCount });

    // Gaps: every sequence number from 0 to the last must be there.
    const present = new Set(chain.map((segment) => segment.seq));
    const last = keys.at(-1)?.seq ?? -1;
    for (let seq = 0; seq <= last; seq += 1) {
      if (!present.has(seq)) problems.push({ kind: 'gap', key: `${ledgerPrefix}${writerId}/${String(seq).padStart(12, '0')}.jsonl.gz`, reason: `segment ${seq} of chain ${writerId} is missing (deleted): the chain runs to ${last}` });
    }
  }

  // Forks: two segments claiming one predecessor (across every chain).
  const claims = new Map<string, ReadSegment[]>();
  for (const segment of segments) {
    const previous = segment.header?.previous;
    if (previous === undefined || previous === null) continue;
    claims.set(previous, [...(claims.get(previous) ?? []), segment]);
  }
  const forked = new Set<string>();
  for (const claimants of claims.values()) {
    if (claimants.length < 2) continue;
    for (const segment of claimants) {
      forked.add(segment.key);
      problems.push({
        kind: 'fork',
        key: segment.key,
        reason: `it claims the same predecessor as ${claimants
          .filter((other) => other !== segment)
          .map((other) => other.key)
          .join(', ')}`,
      });
    }
  }

  // Edits: a segment whose bytes are not what its successor recorded as `previous`.
  const bySeq = new Map(segments.map((segment) => [`${segment.writerId}\u0000${segment.seq}`, segment]));
  for (const segment of segments) {
    const next = bySeq.get(`${segment.writerId}\u0000${segment.seq + 1}`);
    if (next?.header === undefined || forked.has(next.key)) continue;
    if (next.header.previous !== segment.sha256) {
      problems.push({ kind: 'edited', key: segment.key, reason: `its bytes hash to ${segment.sha256.slice(0, 12)}…, but the next segment ${next.key} recorded ${String(next.header.previous).slice(0, 12)}… as its predecessor` });
    }
    if (segment.seq === 0 && segment.header !== undefined && segment.header.previous !== null) {
      problems.push({ kind: 'edited', key: segment.key, reason: 'the first segment of a chain must have no predecessor' });
    }
  }

  const entries = new Map<string, LedgerEntry>();
  let duplicates = 0;
  for (const segment of segments) {
    for (const entry of segment.entries) {
      const earlier = entries.get(entry.key);
      if (earlier === undefined) entries.set(entry.key, entry);
      else if (earlier.sha256 === entry.sha256) duplicates += 1;
      else problems.push({ kind: 'contradicting', key: entry.key, reason: `the ledger lists it with SHA-256 ${earlier.sha256.slice(0, 12)}… and ${entry.sha256.slice(0, 12)}… (in ${segment.key})` });
    }
  }
  const tombstones = new Map<string, LedgerTombstone>();
  for (const segment of segments) {
    for (const tombstone of segment.tombstones) {
      const entry = entries.get(tombstone.key);
      if (entry !== undefined && entry.sha256 !== tombstone.sha256) {
        problems.push({ kind: 'contradicting', key: tombstone.key, reason: `a tombstone (in ${segment.key}) erases it with SHA-256 ${tombstone.sha256.slice(0, 12)}…, but the ledger lists it with ${entry.sha256.slice(0, 12)}…` });
        continue;
      }
      if (!tombstones.has(tombstone.key)) tombstones.set(tombstone.key, tombstone);
    }
  }
  const order: Record<LedgerChainProblemKind, number> = { gap: 0, edited: 1, fork: 2, unreadable: 3, foreign: 4, contradicting: 5 };
  problems.sort((a, b) => order[a.kind] - order[b.kind] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  chains.sort((a, b) => (a.writerId < b.writerId ? -1 : 1));
  const unique = problems.filter((problem, index) => index === 0 || problem.kind !== problems[index - 1]!.kind || problem.key !== problems[index - 1]!.key);
  return { chains, problems: unique, entries, duplicates, tombstones };
}
