import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLedgerWriter, DestinationError, LedgerError, ledgerSegmentKey, sha256RecipientHash, type DestinationV1, type LedgerTombstoneReason } from '@sentcopy/core';
import type { FoundObject } from './ledger-search.js';

/**
 * Why an object could not be erased although the store answered:
 * - `object_lock`: S3 Object Lock (a retention period or a legal hold) protects it;
 * - `legal_hold`: a legal hold (Azure, GCS) protects it;
 * - `retention_policy`: a retention policy (GCS, Azure time-based immutability) protects it;
 * - `immutable_file`: the file system refuses (`chattr +i`, an append-only or immutable file);
 * - `permission_denied`: the credentials may not delete;
 * - `conflict`: the store refused with a conflict (an immutability policy);
 * - `delete_unsupported`: the destination cannot delete at all;
 * - `still_present`: the store accepted the delete, but the object is still there.
 */
export type HoldReason = 'object_lock' | 'legal_hold' | 'retention_policy' | 'immutable_file' | 'permission_denied' | 'conflict' | 'delete_unsupported' | 'still_present';

/** One object of an erasure, and what happened to it. */
export interface ErasureItem {
  readonly key: string;
  readonly sha256: string;
  /** For a held or failed object: the reason code. */
  readonly reason?: HoldReason | 'unavailable';
  /** For a held or failed object: the store's answer, redacted by the destination. */
  readonly detail?: string;
}

/** What an erasure did in one destination. */
export interface DestinationErasure {
  readonly destination: string;
  /** Objects the ledger lists for the filters (not erased before). */
  readonly matched: number;
  /** Deleted now (and recorded by a tombstone). In a dry run: would be deleted. */
  readonly erased: readonly ErasureItem[];
  /** Still in the store because it refused the delete, with the reason. */
  readonly held: readonly ErasureItem[];
  /** Listed by the ledger but already absent without a tombstone (deleted behind the archive's back): not tombstoned, `verify --complete` reports them missing. */
  readonly missing: readonly ErasureItem[];
  /** The store could not be reached for these; run the erasure again. */
  readonly failed: readonly ErasureItem[];
  /** Erased by an earlier erasure (a tombstone), and absent: nothing to do. */
  readonly alreadyErased: number;
  /** The tombstones written for the objects erased now. */
  readonly tombstones: { readonly writer: string | null; readonly count: number; readonly segments: readonly string[]; readonly error?: string };
}

/** The hold reason for a store's refusal, from its error code and message. */
export function holdReason(error: DestinationError): HoldReason {
  const text = `${error.code ?? ''} ${error.message}`;
  if (/object lock/i.test(text)) return 'object_lock';
  if (/legal.?hold|objectUnderActiveHold|BlobImmutableDueToLegalHold/i.test(text)) return 'legal_hold';
  if (/retention|BlobImmutableDueToPolicy|immutab/i.test(text)) return 'retention_policy';
  if (error.provider === 'fs' && error.code === 'EPERM') return 'immutable_file';
  if (error.kind === 'conflict') return 'conflict';
  return 'permission_denied';
}

const transient = new Set(['unreachable', 'rate_limited', 'unknown']);

/** Runs `operation`, trying again a few times (with backoff) only when the store was unreachable or busy. */
async function withTransientRetries<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= 4 || !DestinationError.isInstance(error) || !transient.has(error.kind)) throw error;
      await sleep(200 * 2 ** attempt);
    }
  }
}

/** Options for {@link eraseObjects}. */
export interface EraseObjectsOptions {
  /** Only look (head) and report what would be erased. */
  readonly dryRun: boolean;
  /** The tombstones' reason code. @default 'erasure_request' */
  readonly reason?: LedgerTombstoneReason;
  /** Keys the ledger records as erased already (tombstones). */
  readonly tombstoned: ReadonlySet<string>;
}

/**
 * Erases `objects` (found through the ledger) from one destination: each is checked to be there,
 * deleted where the store allows it and checked to be gone; every object erased now gets a
 * tombstone in a new ledger chain of this erasure, written once all deletes are done.
 */
export async function eraseObjects(name: string, destination: DestinationV1, objects: readonly FoundObject[], options: EraseObjectsOptions): Promise<DestinationErasure> {
  const erased: ErasureItem[] = [];
  const held: ErasureItem[] = [];
  const missing: ErasureItem[] = [];
  const failed: ErasureItem[] = [];
  const needTombstone: ErasureItem[] = [];
  let alreadyErased = 0;
  const canDelete = destination.capabilities.delete && typeof destination.delete === 'function';

  for (const object of objects) {
    const item = { key: object.key, sha256: object.sha256 };
    const wasTombstoned = options.tombstoned.has(object.key);
    try {
      const present = await withTransientRetries(() => destination.head(object.key));
      if (present === undefined) {
        if (wasTombstoned) alreadyErased += 1;
        else missing.push({ ...item, detail: "listed by the ledger, but not in the store and never erased: deleted behind the archive's back" });
        continue;
      }
      if (!canDelete) {
        held.push({ ...item, reason: 'delete_unsupported', detail: `the ${destination.provider} destination cannot delete objects` });
        continue;
      }
      if (options.dryRun) {
        erased.push(item);
        continue;
      }
      await withTransientRetries(() => destination.delete!(object.key));
      if ((await withTransientRetries(() => destination.head(object.key))) !== undefined) {
        held.push({ ...item, reason: 'still_present', detail: 'the store accepted the delete, but still has the object' });
        continue;
      }
      erased.push(item);
      if (!wasTombstoned) needTombstone.push(item);
    } catch (error) {
      if (!DestinationError.isInstance(error)) throw error;
      if (transient.has(error.kind)) failed.push({ ...item, reason: 'unavailable', detail: error.message });
      else held.push({ ...item, reason: holdReason(error), detail: error.message });
    }
  }

  let tombstones: DestinationErasure['tombstones'] = { writer: null, count: 0, segments: [] };
  if (needTombstone.length > 0) {
    // A chain of its own per erasure: tombstones never share a chain with a live writer.
    const writerId = `e-${randomBytes(12).toString('hex')}`;
    const writer = createLedgerWriter({ destination, writerId, recipientHash: sha256RecipientHash, retryDelayMs: 1000 });
    const erasedAt = Date.now();
    for (const item of needTombstone) writer.append({ type: 'tombstone', key: item.key, sha256: item.sha256, erased_at: erasedAt, reason: options.reason ?? 'erasure_request' });
    const segments = Array.from({ length: Math.ceil(needTombstone.length / 10_000) }, (_, seq) => ledgerSegmentKey(writerId, seq));
    try {
      await writer.close();
      tombstones = { writer: writerId, count: needTombstone.length, segments };
    } catch (error) {
      const detail = LedgerError.isInstance(error) ? error.message : String(error);
      tombstones = { writer: writerId, count: 0, segments: [], error: detail };
    }
  }
  return { destination: name, matched: objects.length - alreadyErased, erased, held, missing, failed, alreadyErased, tombstones };
}
