import { gunzipSync, gzipSync } from 'node:zlib';
import { sha256Hex } from '../payload/index.js';
import { LedgerError } from './ledger-error.js';

/**
 * The reserved key prefix every ledger segment lives under, beside the archive. No message is ever
 * stored under it (the archiver refuses such keys), and `ls`/`verify` skip it.
 */
export const ledgerPrefix = '.sentcopy-ledger/';

/** Version of the segment format written by this package. */
export const ledgerFormatVersion = 1;

/** Digits of the zero-padded sequence number in a segment's file name. */
const sequenceDigits = 12;

/** Writer ids: 1 to 64 of `a-z 0-9 -`, starting with a letter or digit (safe in every store and file system). */
const writerIdPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;

const segmentNamePattern = new RegExp(`^(\\d{${sequenceDigits}})\\.jsonl\\.gz$`);

/** One stored object, as the ledger records it. Field names are the JSON lines' own (snake_case). */
export interface LedgerEntry {
  /** Always `entry`. */
  readonly type: 'entry';
  /** The object's key. */
  readonly key: string;
  /** SHA-256 of the stored bytes, lower-case hex. */
  readonly sha256: string;
  /** Size of the stored object, in bytes. */
  readonly size: number;
  /** The message's `message_id`. */
  readonly message_id: string;
  /** The message's channel. */
  readonly channel: string;
  /** The message's `project_id`. */
  readonly project_id: string;
  /** Hashes of every recipient (`to`, then `cc`, then `bcc`), from the writer's injected recipient hash; never raw addresses. */
  readonly recipients: readonly string[];
  /** Campaign, canvas and journey ids as text, when the message has them. */
  readonly campaign_id?: string;
  readonly canvas_id?: string;
  readonly canvas_step_id?: string;
  readonly journey_id?: string;
  readonly journey_node_id?: string;
  /** The sender's user id as text, when the message has one. */
  readonly user_id?: string;
  /** When the message was sent, epoch milliseconds. */
  readonly sent_at: number;
  /** When the object was stored (or found already stored), epoch milliseconds. */
  readonly stored_at: number;
  /** `true` when the object is a version of an earlier key (the same message id sent again with other content). */
  readonly version: boolean;
  /** The first copy's key, when `version` is `true`. */
  readonly original_key?: string;
}

/**
 * Why an object was erased, as a tombstone records it:
 * - `erasure_request`: a person asked to be forgotten (`sentcopy erase`);
 * - `retention_expired`: its retention period ended;
 * - `other`: any other documented reason.
 */
export type LedgerTombstoneReason = 'erasure_request' | 'retention_expired' | 'other';

/** The reason codes a tombstone may carry, in a stable order. */
export const ledgerTombstoneReasons: readonly LedgerTombstoneReason[] = ['erasure_request', 'retention_expired', 'other'];

/**
 * An object deliberately erased, as the ledger records it: after the object was deleted, so
 * `verify --complete` does not report it missing. Holds no recipient, no id and no content.
 */
export interface LedgerTombstone {
  /** Always `tombstone`. */
  readonly type: 'tombstone';
  /** The erased object's key. */
  readonly key: string;
  /** SHA-256 of the erased object's stored bytes (as its entry recorded it), lower-case hex. */
  readonly sha256: string;
  /** When the object was deleted, epoch milliseconds. */
  readonly erased_at: number;
  /** Why it was erased. */
  readonly reason: LedgerTombstoneReason;
}

/** One line after a segment's header: a stored object, or an erased one. */
export type LedgerRecord = LedgerEntry | LedgerTombstone;

/** The first line of every segment. */
export interface LedgerSegmentHeader {
  /** Always `segment`. */
  readonly type: 'segment';
  /** Segment format version. */
  readonly format: number;
  /** The chain's writer id (also the folder the segment is in). */
  readonly writer: string;
  /** Sequence number in the chain, from 0 (also the file name). */
  readonly seq: number;
  /** SHA-256 (lower-case hex) of the stored bytes of segment `seq - 1` of this chain; `null` for segment 0. */
  readonly previous: string | null;
  /** When the segment was closed, epoch milliseconds. */
  readonly closed_at: number;
  /** Lines that follow (entries and tombstones). */
  readonly entries: number;
}

/** A segment decoded. */
export interface DecodedSegment {
  readonly header: LedgerSegmentHeader;
  /** The stored objects it lists, in order. */
  readonly entries: readonly LedgerEntry[];
  /** The erased objects it records, in order. @default [] */
  readonly tombstones: readonly LedgerTombstone[];
}

/** Throws a `TypeError` naming `writerId` when it is not a valid writer id. */
export function assertWriterId(writerId: unknown): asserts writerId is string {
  if (typeof writerId !== 'string' || !writerIdPattern.test(writerId)) {
    throw new TypeError('writerId must be 1 to 64 characters of a-z, 0-9 and "-", starting with a letter or digit.');
  }
}

/** The key of segment `seq` of `writerId`'s chain: `.sentcopy-ledger/<writer>/<seq, 12 digits>.jsonl.gz`. */
export function ledgerSegmentKey(writerId: string, seq: number): string {
  return `${ledgerPrefix}${writerId}/${String(seq).padStart(sequenceDigits, '0')}.jsonl.gz`;
}

/** The folder (key prefix) of one writer's chain. */
export function ledgerChainPrefix(writerId: string): string {
  return `${ledgerPrefix}${writerId}/`;
}

/** True for every key under the reserved ledger prefix. */
export function isLedgerKey(key: string): boolean {
  return key.startsWith(ledgerPrefix);
}

/** Writer id and sequence number of a segment key, or `undefined` for any other key. */
export function parseLedgerSegmentKey(key: string): { writerId: string; seq: number } | undefined {
  if (!isLedgerKey(key)) return undefined;
  const parts = key.slice(ledgerPrefix.length).split('/');
  if (parts.length !== 2 || !writerIdPattern.test(parts[0]!)) return undefined;
  const match = segmentNamePattern.exec(parts[1]!);
  if (match === null) return undefined;
  return { writerId: parts[0]!, seq: Number(match[1]) };
}

/** Encodes a segment: a header line, then one JSON line per entry, gzip-compressed. Deterministic. */
export function encodeLedgerSegment(header: Omit<LedgerSegmentHeader, 'type' | 'format' | 'entries'>, entries: readonly LedgerRecord[]): { body: Uint8Array; sha256: string } {
  return encodeLedgerLines(
    header,
    entries.map((entry) => JSON.stringify(entry)),
  );
}

/** {@link encodeLedgerSegment} of entries already serialized, one JSON text each (how the writer keeps them until their segment closes). */
export function encodeLedgerLines(header: Omit<LedgerSegmentHeader, 'type' | 'format' | 'entries'>, lines: readonly string[]): { body: Uint8Array; sha256: string } {
  const full: LedgerSegmentHeader = { type: 'segment', format: ledgerFormatVersion, writer: header.writer, seq: header.seq, previous: header.previous, closed_at: header.closed_at, entries: lines.length };
  const text = [JSON.stringify(full), ...lines].join('\n') + '\n';
  const body = new Uint8Array(gzipSync(Buffer.from(text, 'utf8'), { level: 6 }));
  return { body, sha256: sha256Hex(body) };
}

/**
 * Decodes a segment's stored bytes. Throws a {@link LedgerError} of kind `corrupt` saying what is
 * wrong (not gzip, not JSON lines, no header, entry count off, a malformed entry).
 */
export function decodeLedgerSegment(body: Uint8Array, key: string): DecodedSegment {
  let text: string;
  try {
    text = gunzipSync(body).toString('utf8');
  } catch {
    throw new LedgerError({ kind: 'corrupt', key, message: `The ledger segment ${key} is not gzip-compressed data.` });
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const parsed: unknown[] = [];
  for (const [index, line] of lines.entries()) {
    try {
      parsed.push(JSON.parse(line));
    } catch {
      throw new LedgerError({ kind: 'corrupt', key, message: `The ledger segment ${key} has a line that is not JSON (line ${index + 1}).` });
    }
  }
  const header = parsed[0] as Partial<LedgerSegmentHeader> | undefined;
  if (
    header?.type !== 'segment' ||
    header.format !== ledgerFormatVersion ||
    typeof header.writer !== 'string' ||
    !Number.isSafeInteger(header.seq) ||
    !(header.previous === null || (typeof header.previous === 'string' && /^[0-9a-f]{64}$/.test(header.previous))) ||
    typeof header.closed_at !== 'number' ||
    !Number.isSafeInteger(header.entries)
  ) {
    throw new LedgerError({ kind: 'corrupt', key, message: `The ledger segment ${key} does not start with a valid format-${ledgerFormatVersion} header line.` });
  }
  const entries = parsed.slice(1);
  if (entries.length !== header.entries) {
    throw new LedgerError({ kind: 'corrupt', key, message: `The ledger segment ${key} holds ${entries.length} entries, but its header says ${header.entries}.` });
  }
  const objects: LedgerEntry[] = [];
  const tombstones: LedgerTombstone[] = [];
  for (const [index, entry] of entries.entries()) {
    const candidate = entry as Partial<LedgerEntry> | Partial<LedgerTombstone> | null;
    if (candidate?.type === 'tombstone') {
      if (typeof candidate.key !== 'string' || typeof candidate.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(candidate.sha256) || typeof candidate.erased_at !== 'number' || typeof candidate.reason !== 'string') {
        throw new LedgerError({ kind: 'corrupt', key, message: `The ledger segment ${key} has a malformed tombstone (line ${index + 2}): it needs a key, a 64-hex sha256, erased_at and a reason.` });
      }
      tombstones.push(candidate as LedgerTombstone);
      continue;
    }
    if (candidate?.type !== 'entry' || typeof candidate.key !== 'string' || typeof candidate.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(candidate.sha256)) {
      throw new LedgerError({ kind: 'corrupt', key, message: `The ledger segment ${key} has a malformed entry (line ${index + 2}): it needs type "entry" (or "tombstone"), a key and a 64-hex sha256.` });
    }
    objects.push(candidate as LedgerEntry);
  }
  return { header: header as LedgerSegmentHeader, entries: objects, tombstones };
}
