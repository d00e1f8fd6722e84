import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { decodeLedgerSegment, LedgerError, ledgerPrefix, ledgerSegmentKey, parseLedgerSegmentKey, retryInline, sha256Hex, type DestinationV1, type LedgerEntry } from '@sentcopy/core';

/** What the message page found about one object in its destination's ledger, checked at view time. */
export type LedgerCheck =
  | {
      readonly listed: false /** Segments the destination's ledger holds (0: it has no ledger). */;
      readonly segments: number /** Segments that could not be read or decoded (the entry may be in one of them). */;
      readonly unreadable: readonly string[];
    }
  | {
      readonly listed: true;
      readonly entry: LedgerEntry;
      /** The writer (chain) whose segment lists the entry. */
      readonly writer: string;
      /** The segment's sequence number in its chain. */
      readonly seq: number;
      readonly segmentKey: string;
      /** SHA-256 of the segment's bytes, computed now. */
      readonly segmentSha256: string;
      /** The SHA-256 the store recorded with the segment when it was written, when it has one. */
      readonly segmentRecordedSha256?: string;
      /** The next segment of the chain, when there is one, and the predecessor hash it records (`null` when it does not decode). */
      readonly next?: { readonly key: string; readonly previous: string | null };
    };

interface Located {
  readonly segmentKey: string;
  readonly writer: string;
  readonly seq: number;
}

const retry = { budgetMs: 10_000, maxAttempts: 4 };

/** Segments read after the one the time search lands on, before falling back to reading every segment. */
const forwardSegments = 16;

/**
 * A segment's closing time from its header line alone (the first 8 KiB inflated): the binary search
 * needs only that, and decoding a full 10,000-entry segment per step made most of a page's time on a
 * large ledger. `undefined` when the header cannot be read that way (the caller then decodes it all).
 */
function closedAtFromHeader(body: Uint8Array): number | undefined {
  try {
    const head = gunzipSync(body.subarray(0, 8192), { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString('utf8');
    const newline = head.indexOf('\n');
    if (newline < 0) return undefined;
    const header: unknown = JSON.parse(head.slice(0, newline));
    if (typeof header !== 'object' || header === null) return undefined;
    const { type, closed_at: closedAt } = header as { type?: unknown; closed_at?: unknown };
    return type === 'segment' && typeof closedAt === 'number' ? closedAt : undefined;
  } catch {
    return undefined;
  }
}

/** What narrows the search for a key's ledger entry. */
export interface LedgerHint {
  /** When the object was stored, epoch milliseconds: the ledger index's `storedAt`, or the store's date for the object. */
  readonly storedAt?: number;
  /** How much earlier than `storedAt` the entry may have been stored (a store's clock or a date truncated to seconds), in milliseconds. @default 0 */
  readonly slackMs?: number;
  /** The writer (chain) whose ledger lists it, when the index says. */
  readonly writer?: string;
}

/**
 * Finds ledger entries by object key, per destination. Segments are append-only, so where a key is
 * listed is remembered; the segment and its successor are read again at every check, so an edit made
 * since is still found.
 */
export class LedgerLocator {
  readonly #located = new Map<DestinationV1, Map<string, Located>>();
  readonly #scanned = new Map<DestinationV1, Set<string>>();
  readonly #maxRemembered: number;

  /** @param maxRemembered Most key locations remembered per destination (each costs about 200 bytes). @default 250000 */
  constructor(maxRemembered = 250_000) {
    this.#maxRemembered = maxRemembered;
  }

  /**
   * Looks `key` up in `destination`'s ledger and checks the segment listing it against its successor.
   * With `hint.storedAt` (the index's stored time, or the object's own date), each chain is searched
   * by its segments' closing times first, so an old message costs a few segment reads, not one per segment.
   */
  async check(destination: DestinationV1, key: string, hint: LedgerHint = {}): Promise<LedgerCheck> {
    const unreadable: string[] = [];
    let segmentCount: number | undefined;
    let found = this.#located.get(destination)?.get(key);
    if (found === undefined) {
      const scanned = this.#scanned.get(destination) ?? new Set<string>();
      this.#scanned.set(destination, scanned);
      const located = this.#located.get(destination) ?? new Map<string, Located>();
      this.#located.set(destination, located);
      // A bounded memory: past the cap, what was remembered is forgotten (and those segments read again when needed).
      if (located.size > this.#maxRemembered) {
        located.clear();
        scanned.clear();
      }
      const segments = await listSegments(destination);
      segmentCount = segments.length;
      const closedAt = new Map<string, number>();
      /** Reads one segment, remembering where its keys are; its closing time, or undefined when it cannot be read. */
      const read = async (segment: Located, headerOnly = false): Promise<number | undefined> => {
        if (closedAt.has(segment.segmentKey)) return closedAt.get(segment.segmentKey);
        const stored = (await retryInline(() => destination.get(segment.segmentKey), retry)).value;
        if (stored === undefined) return undefined;
        if (headerOnly) {
          const closed = closedAtFromHeader(stored.body);
          if (closed !== undefined) return closed;
        }
        try {
          const decoded = decodeLedgerSegment(stored.body, segment.segmentKey);
          for (const entry of decoded.entries) if (!located.has(entry.key)) located.set(entry.key, segment);
          scanned.add(segment.segmentKey);
          closedAt.set(segment.segmentKey, decoded.header.closed_at);
          return decoded.header.closed_at;
        } catch (error) {
          if (!LedgerError.isInstance(error)) throw error;
          if (!unreadable.includes(segment.segmentKey)) unreadable.push(segment.segmentKey);
          return undefined;
        }
      };
      if (hint.storedAt !== undefined) {
        const earliest = hint.storedAt - (hint.slackMs ?? 0);
        const writers = [...new Set(segments.map((segment) => segment.writer))].filter((writer) => hint.writer === undefined || writer === hint.writer);
        for (const writer of writers) {
          if (located.has(key)) break;
          const chain = segments.filter((segment) => segment.writer === writer);
          // The entry was appended before its segment closed, so its segment is the first closing at or after the time it was stored, or a later one.
          let low = 0;
          let high = chain.length;
          while (low < high) {
            const middle = (low + high) >> 1;
            const closed = await read(chain[middle]!, true);
            if (closed === undefined) break;
            if (closed >= earliest) high = middle;
            else low = middle + 1;
          }
          for (let index = low; index < Math.min(chain.length, low + forwardSegments) && !located.has(key); index += 1) await read(chain[index]!);
        }
      }
      // Newest first: a page is most often opened for a recent message.
      for (const segment of segments.filter((candidate) => !scanned.has(candidate.segmentKey)).reverse()) {
        if (located.has(key)) break;
        await read(segment);
      }
      found = located.get(key);
    }
    if (found === undefined) return { listed: false, segments: segmentCount ?? 0, unreadable };

    const stored = (await retryInline(() => destination.get(found.segmentKey), retry)).value;
    if (stored === undefined) return { listed: false, segments: 1, unreadable: [found.segmentKey] };
    const segmentSha256 = sha256Hex(stored.body);
    // \`get()\` falls back to hashing the bytes when the store recorded nothing (a local folder whose
    // sidecar is gone or stale), which would make the comparison pass: \`head()\` tells whether a hash
    // was recorded, as archive/read-object.ts does for objects.
    const info = await retryInline(() => destination.head(found.segmentKey), retry);
    const recordedSha256 = info.value?.contentType === undefined ? undefined : stored.sha256;
    let entry: LedgerEntry | undefined;
    try {
      entry = decodeLedgerSegment(stored.body, found.segmentKey).entries.find((candidate) => candidate.key === key);
    } catch (error) {
      if (!LedgerError.isInstance(error)) throw error;
    }
    if (entry === undefined) return { listed: false, segments: 1, unreadable: [found.segmentKey] };
    const nextKey = ledgerSegmentKey(found.writer, found.seq + 1);
    const nextStored = (await retryInline(() => destination.get(nextKey), retry)).value;
    let next: { key: string; previous: string | null } | undefined;
    if (nextStored !== undefined) {
      try {
        next = { key: nextKey, previous: decodeLedgerSegment(nextStored.body, nextKey).header.previous };
      } catch (error) {
        if (!LedgerError.isInstance(error)) throw error;
        next = { key: nextKey, previous: null };
      }
    }
    return {
      listed: true,
      entry,
      writer: found.writer,
      seq: found.seq,
      segmentKey: found.segmentKey,
      segmentSha256,
      ...(recordedSha256 === undefined ? {} : { segmentRecordedSha256: recordedSha256 }),
      ...(next === undefined ? {} : { next }),
    };
  }
}

async function listSegments(destination: DestinationV1): Promise<Located[]> {
  const segments: Located[] = [];
  let cursor: string | undefined;
  do {
    const page = (await retryInline(() => destination.list({ prefix: ledgerPrefix, limit: 1000, ...(cursor === undefined ? {} : { cursor }) }), retry)).value;
    for (const object of page.objects) {
      const parsed = parseLedgerSegmentKey(object.key);
      if (parsed !== undefined) segments.push({ segmentKey: object.key, writer: parsed.writerId, seq: parsed.seq });
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return segments.sort((a, b) => (a.writer === b.writer ? a.seq - b.seq : a.writer < b.writer ? -1 : 1));
}
