import { DestinationError } from '../destination/destination-error.js';
import type { DestinationV1 } from '../destination/destination-v1.js';
import { sha256Hex } from '../payload/index.js';
import { retryInline, RetryExhaustedError, type InlineRetryOptions } from '../retry/index.js';
import type { RecipientHash } from './ledger-entry.js';
import { LedgerError } from './ledger-error.js';
import { assertWriterId, decodeLedgerSegment, encodeLedgerLines, ledgerChainPrefix, ledgerSegmentKey, ledgerTombstoneReasons, parseLedgerSegmentKey, type LedgerRecord } from './ledger-format.js';
import { randomWriterId } from './writer-id.js';

/** Options for {@link createLedgerWriter}. */
export interface LedgerWriterOptions {
  /** The destination the archive is written to; segments go beside it under `.sentcopy-ledger/`. */
  readonly destination: DestinationV1;
  /**
   * This writer's chain. Two live writers must never share one: use {@link randomWriterId} per
   * process, or {@link persistentWriterId} for a writer whose chain continues across restarts.
   * 1 to 64 of `a-z 0-9 -`. @default a new {@link randomWriterId}
   */
  readonly writerId?: string;
  /**
   * Hashes each normalized recipient for the entries. Pass the same hash the key layout uses
   * (e.g. {@link createHmacRecipientHash} with the deployment's recipient key), never a function
   * that returns the address itself.
   */
  readonly recipientHash: RecipientHash;
  /** A segment is closed once it holds this many entries. @default 10000 */
  readonly maxEntries?: number;
  /** A segment is closed once its entries' JSON reaches this size, in bytes (before compression). @default 4194304 (4 MiB) */
  readonly maxBytes?: number;
  /** A segment is closed this long after its first entry, in milliseconds. @default 60000 */
  readonly maxAgeMs?: number;
  /** Inline retries of one segment's write. @default { budgetMs: 10000, maxAttempts: 4 } */
  readonly retry?: InlineRetryOptions;
  /** After a segment write failed (and its inline retries), how long until it is tried again, in milliseconds. @default 30000 */
  readonly retryDelayMs?: number;
  /** Told about every failure to write a segment (the entries stay pending and are tried again). @default none */
  readonly onError?: (error: LedgerError) => void;
  /** The clock, in epoch milliseconds (segments record when they were closed). @default Date.now */
  readonly now?: () => number;
}

/**
 * Appends entries to one hash chain of write-once segments.
 *
 * Crash contract: `append()` only buffers; an entry is durable once `durablePosition` is at least
 * the position `append()` returned (its segment was written). Positions count from 1 per writer
 * instance and become durable in order. A caller that must not lose entries keeps each stored
 * object's facts until its position is durable, and after a crash appends them again: readers
 * count an object (its key) once, so a re-appended entry is never counted twice.
 */
export interface LedgerWriter {
  /** The destination segments are written to. */
  readonly destination: DestinationV1;
  /** This writer's chain id. */
  readonly writerId: string;
  /** The recipient hash entries are built with. */
  readonly recipientHash: RecipientHash;
  /** Position of the last entry appended (0 before the first). */
  readonly appendedPosition: number;
  /** Highest position whose entry is in a written segment (0 before the first). */
  readonly durablePosition: number;
  /** Entries appended but not yet in a written segment. */
  readonly pendingEntries: number;
  /** The last failure to write a segment, cleared by the next success. */
  readonly lastError: LedgerError | undefined;
  /**
   * Buffers an entry (or a tombstone: an object deliberately erased) and returns its position.
   * Throws a `TypeError` naming a malformed field, or a `LedgerError` of kind `closed`.
   */
  append(entry: LedgerRecord): number;
  /** Calls `listener` with the new durable position after each segment is written. Returns a function that removes it. */
  onDurable(listener: (position: number) => void): () => void;
  /**
   * Closes the open segment and writes every pending one. Resolves with the durable position once
   * everything appended before the call is durable; rejects with a `LedgerError` when a segment
   * could not be written (its entries stay pending and are tried again).
   */
  flush(): Promise<number>;
  /** Flushes, then stops the timers; later appends throw. */
  close(): Promise<void>;
}

interface ClosedSegment {
  /** The entries, serialized. */
  readonly lines: string[];
  readonly lastPosition: number;
  encoded?: { readonly seq: number; readonly previous: string | null; readonly key: string; readonly body: Uint8Array; readonly sha256: string };
}

const hex64 = /^[0-9a-f]{64}$/;

function assertEntry(entry: LedgerRecord): void {
  if (entry !== null && typeof entry === 'object' && entry.type === 'tombstone') {
    const problem = (field: string, what: string) => new TypeError(`Ledger tombstone: ${field} ${what}.`);
    if (typeof entry.key !== 'string' || entry.key === '') throw problem('key', 'must be a non-empty string');
    if (typeof entry.sha256 !== 'string' || !hex64.test(entry.sha256)) throw problem('sha256', 'must be 64 lower-case hex digits');
    if (!Number.isSafeInteger(entry.erased_at) || entry.erased_at < 0) throw problem('erased_at', 'must be epoch milliseconds');
    if (!ledgerTombstoneReasons.includes(entry.reason)) throw problem('reason', `must be one of ${ledgerTombstoneReasons.join(', ')}`);
    return;
  }
  const problem = (field: string, what: string) => new TypeError(`Ledger entry: ${field} ${what}.`);
  if (entry === null || typeof entry !== 'object' || entry.type !== 'entry') throw problem('type', 'must be "entry" or "tombstone"');
  if (typeof entry.key !== 'string' || entry.key === '') throw problem('key', 'must be a non-empty string');
  if (typeof entry.sha256 !== 'string' || !hex64.test(entry.sha256)) throw problem('sha256', 'must be 64 lower-case hex digits');
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw problem('size', 'must be a whole number of bytes');
  if (!Array.isArray(entry.recipients)) throw problem('recipients', 'must be an array of hashes');
}

/** Reads the last segment of `writerId`'s chain: where the chain continues. */
async function findChainTail(destination: DestinationV1, writerId: string): Promise<{ seq: number; previous: string | null }> {
  let last: { key: string; seq: number } | undefined;
  let cursor: string | undefined;
  do {
    const page = await destination.list({ prefix: ledgerChainPrefix(writerId), limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    for (const object of page.objects) {
      const parsed = parseLedgerSegmentKey(object.key);
      if (parsed !== undefined && parsed.writerId === writerId && (last === undefined || parsed.seq > last.seq)) last = { key: object.key, seq: parsed.seq };
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  if (last === undefined) return { seq: 0, previous: null };
  const stored = await destination.get(last.key);
  if (stored === undefined) throw new DestinationError({ kind: 'unreachable', provider: destination.provider, key: last.key, message: `The ledger segment ${last.key} was listed but is gone.` });
  const actual = sha256Hex(stored.body);
  if (stored.sha256 !== undefined && stored.sha256 !== actual) {
    throw new LedgerError({
      kind: 'corrupt',
      key: last.key,
      message: `The last segment of chain ${writerId} (${last.key}) does not match its recorded SHA-256, so the chain cannot be continued provably; use a new writer id and run \`sentcopy verify --complete\`.`,
    });
  }
  const { header } = decodeLedgerSegment(stored.body, last.key);
  if (header.writer !== writerId || header.seq !== last.seq) {
    throw new LedgerError({ kind: 'corrupt', key: last.key, message: `The segment ${last.key} claims writer ${header.writer} and sequence ${header.seq}, not its place; use a new writer id and run \`sentcopy verify --complete\`.` });
  }
  return { seq: last.seq + 1, previous: actual };
}

function asLedgerError(error: unknown, key: string | undefined): LedgerError {
  if (LedgerError.isInstance(error)) return error;
  const last = RetryExhaustedError.isInstance(error) ? error.lastError : error;
  const detail = last instanceof Error ? last.message : String(last);
  return new LedgerError({
    kind: 'destination',
    ...(key === undefined ? {} : { key }),
    message: `Could not write the ledger${key === undefined ? '' : ` segment ${key}`}: ${detail}. Its entries stay pending and are tried again.`,
    cause: error,
  });
}

/**
 * Creates a writer of one ledger chain in `destination`. The chain is found (listed, its last
 * segment read and checked) before the first segment is written, so a restarted writer with the
 * same id continues where it stopped.
 */
export function createLedgerWriter(options: LedgerWriterOptions): LedgerWriter {
  const { destination } = options;
  const writerId = options.writerId ?? randomWriterId();
  assertWriterId(writerId);
  if (typeof options.recipientHash !== 'function') throw new TypeError("recipientHash must be a function (the key layout's recipient hash).");
  const maxEntries = options.maxEntries ?? 10_000;
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const retryDelayMs = options.retryDelayMs ?? 30_000;
  const now = options.now ?? Date.now;
  const retry = options.retry ?? { budgetMs: 10_000, maxAttempts: 4 };

  // Entries as their JSON lines, serialized once at append (they were serialized there to measure the
  // segment and again when it closed; a backlog's drain appends thousands a second).
  let open: string[] = [];
  let openBytes = 0;
  let ageTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  const pending: ClosedSegment[] = [];
  let tail: { seq: number; previous: string | null } | undefined;
  let appended = 0;
  let durable = 0;
  let lastError: LedgerError | undefined;
  let pumping: Promise<void> | undefined;
  let closed = false;
  const listeners = new Set<(position: number) => void>();

  const report = (error: LedgerError) => {
    lastError = error;
    try {
      options.onError?.(error);
    } catch {
      // A failing listener must not stop the writer.
    }
  };

  function closeOpen(): void {
    if (ageTimer !== undefined) clearTimeout(ageTimer);
    ageTimer = undefined;
    if (open.length === 0) return;
    pending.push({ lines: open, lastPosition: appended });
    open = [];
    openBytes = 0;
  }

  async function writeOne(segment: ClosedSegment): Promise<void> {
    let conflicts = 0;
    for (;;) {
      tail ??= await findChainTail(destination, writerId);
      segment.encoded ??= (() => {
        const encoded = encodeLedgerLines({ writer: writerId, seq: tail.seq, previous: tail.previous, closed_at: now() }, segment.lines);
        return { seq: tail.seq, previous: tail.previous, key: ledgerSegmentKey(writerId, tail.seq), ...encoded };
      })();
      const encoded = segment.encoded;
      try {
        await retryInline(
          () =>
            destination.put({
              key: encoded.key,
              body: encoded.body,
              sha256: encoded.sha256,
              contentType: 'application/x-ndjson',
              contentEncoding: 'gzip',
              metadata: { 'sentcopy-ledger-writer': writerId, 'sentcopy-ledger-seq': String(encoded.seq) },
            }),
          retry,
        );
        tail = { seq: encoded.seq + 1, previous: encoded.sha256 };
        return;
      } catch (error) {
        const last = RetryExhaustedError.isInstance(error) ? error.lastError : error;
        if (!DestinationError.isInstance(last) || last.kind !== 'conflict') throw asLedgerError(error, encoded.key);
        // Someone else wrote this sequence number: re-read the chain's end and re-chain these entries after it.
        conflicts += 1;
        if (conflicts > 5) throw new LedgerError({ kind: 'conflict', key: encoded.key, message: `Another writer keeps writing chain ${writerId} (${conflicts} conflicts in a row); two live writers must never share a writer id.` });
        tail = undefined;
        segment.encoded = undefined;
      }
    }
  }

  async function pump(): Promise<void> {
    while (pending.length > 0) {
      const segment = pending[0]!;
      await writeOne(segment);
      pending.shift();
      durable = segment.lastPosition;
      lastError = undefined;
      for (const listener of listeners) {
        try {
          listener(durable);
        } catch {
          // A failing listener must not stop the writer.
        }
      }
    }
  }

  function startPump(): Promise<void> {
    pumping ??= pump()
      .catch((error: unknown) => {
        report(asLedgerError(error, undefined));
        if (!closed && retryTimer === undefined) {
          retryTimer = setTimeout(() => {
            retryTimer = undefined;
            void startPump();
          }, retryDelayMs);
          retryTimer.unref();
        }
      })
      .finally(() => {
        pumping = undefined;
      });
    return pumping;
  }

  async function flush(): Promise<number> {
    const target = appended;
    closeOpen();
    while (durable < target) {
      await startPump();
      if (durable < target) {
        if (lastError !== undefined) throw lastError;
        if (pending.length === 0 && pumping === undefined) break;
      }
    }
    return durable;
  }

  return {
    destination,
    writerId,
    recipientHash: options.recipientHash,
    get appendedPosition() {
      return appended;
    },
    get durablePosition() {
      return durable;
    },
    get pendingEntries() {
      return appended - durable;
    },
    get lastError() {
      return lastError;
    },
    append(entry) {
      if (closed) throw new LedgerError({ kind: 'closed', message: `The ledger writer ${writerId} is closed.` });
      assertEntry(entry);
      const line = JSON.stringify(entry);
      open.push(line);
      openBytes += line.length + 1;
      appended += 1;
      if (open.length >= maxEntries || openBytes >= maxBytes) {
        closeOpen();
        void startPump();
      } else if (ageTimer === undefined) {
        ageTimer = setTimeout(() => {
          ageTimer = undefined;
          closeOpen();
          void startPump();
        }, maxAgeMs);
        ageTimer.unref();
      }
      return appended;
    },
    onDurable(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    flush,
    async close() {
      if (closed) return;
      try {
        await flush();
      } finally {
        closed = true;
        if (ageTimer !== undefined) clearTimeout(ageTimer);
        if (retryTimer !== undefined) clearTimeout(retryTimer);
      }
    },
  };
}
