import { setTimeout as sleep } from 'node:timers/promises';
import { createLedgerWriter, DestinationError, LedgerError, ledgerSegmentKey, sha256RecipientHash, type DestinationV1, type LedgerTombstoneReason, type ObjectVersionErasure } from '@sentcopy/core';
import { clearPendingErasure, newErasureWriterId, writePendingErasure, type PendingErasure } from './erase-pending.js';
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

/** One stored version of an erased object (S3 version or delete marker, Azure version or snapshot, GCS generation), and what happened to it. */
export interface ErasureVersionItem {
  /** The store's version id. */
  readonly version: string;
  readonly type: ObjectVersionErasure['type'];
  /** Whether it was the current version. */
  readonly current: boolean;
  /** `erased` now, `held` (the store refused: `reason`), or `failed` (not reached). */
  readonly outcome: ObjectVersionErasure['outcome'];
  readonly reason?: HoldReason | 'unavailable';
  /** The store's answer, redacted by the destination. */
  readonly detail?: string;
}

/** One object of an erasure, and what happened to it. */
export interface ErasureItem {
  readonly key: string;
  readonly sha256: string;
  /** For a held or failed object: the reason code. */
  readonly reason?: HoldReason | 'unavailable';
  /** For a held, failed or unconfirmed object: the store's answer, redacted by the destination, or what is not known. */
  readonly detail?: string;
  /** On a destination that erases versions (`capabilities.versions: 'erasable'`): every version found, and what happened to each. */
  readonly versions?: readonly ErasureVersionItem[];
}

/** What an erasure did in one destination. */
export interface DestinationErasure {
  readonly destination: string;
  /**
   * Whether the store may keep earlier versions and what erasure did about them: `none` (it keeps
   * none: a local folder), `erased` (every version of each object was listed and deleted; see each
   * item's `versions`), `unknown` (the destination cannot tell: its objects are `unconfirmed`).
   */
  readonly versions: 'none' | 'erased' | 'unknown';
  /** Objects the ledger lists for the filters (not erased before). */
  readonly matched: number;
  /** Deleted now, every version of them where the store keeps versions (and recorded by a tombstone). In a dry run: would be deleted. */
  readonly erased: readonly ErasureItem[];
  /**
   * Deleted now (and tombstoned), but the destination cannot tell whether the store keeps earlier
   * versions of them (versioning, snapshots): not confirmed erased.
   */
  readonly unconfirmed: readonly ErasureItem[];
  /** Still in the store (the object, or some of its versions) because it refused the delete, with the reason. */
  readonly held: readonly ErasureItem[];
  /** Listed by the ledger but already absent without a tombstone (deleted behind the archive's back): not tombstoned, `verify --complete` reports them missing. */
  readonly missing: readonly ErasureItem[];
  /** The store could not be reached for these; run the erasure again. */
  readonly failed: readonly ErasureItem[];
  /** Erased by an earlier erasure (a tombstone), and absent with no version left: nothing to do. */
  readonly alreadyErased: number;
  /**
   * The tombstones written for the objects erased now. When they could not be written, `error`
   * says why and `pending` names the local record that remembers them: `sentcopy erase --resume`
   * (or any later erasure) writes them.
   */
  readonly tombstones: { readonly writer: string | null; readonly count: number; readonly segments: readonly string[]; readonly error?: string; readonly pending?: string };
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

/** A store that does not implement listing versions at all (an S3-compatible server answering 501 NotImplemented). */
function versionsUnsupported(error: unknown): boolean {
  return DestinationError.isInstance(error) && (error.status === 501 || error.code === 'NotImplemented');
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
  /** The configuration's folder: the record of owed tombstones is kept in `.sentcopy/erase-pending/` there, from before the first delete until the tombstones are written. */
  readonly baseDir: string;
}

/** Thrown when the pending-erasure record cannot be written: nothing was deleted. */
export class PendingRecordError extends Error {
  constructor(
    readonly destination: string,
    readonly code: string,
  ) {
    super(`cannot write the pending-erasure record for destination "${destination}" (${code}); nothing was deleted there`);
    this.name = 'PendingRecordError';
  }
}

const versionItem = (entry: ObjectVersionErasure): ErasureVersionItem => ({
  version: entry.version,
  type: entry.type,
  current: entry.current,
  outcome: entry.outcome,
  ...(entry.error === undefined ? {} : { reason: entry.outcome === 'failed' ? ('unavailable' as const) : holdReason(entry.error), detail: entry.error.message }),
});

/** Writes one tombstone per item in the chain `writerId` (continued after its last segment if it exists). */
async function writeTombstones(destination: DestinationV1, writerId: string, items: readonly { key: string; sha256: string }[], reason: LedgerTombstoneReason): Promise<void> {
  const writer = createLedgerWriter({ destination, writerId, recipientHash: sha256RecipientHash, retryDelayMs: 1000 });
  const erasedAt = Date.now();
  for (const item of items) writer.append({ type: 'tombstone', key: item.key, sha256: item.sha256, erased_at: erasedAt, reason });
  await writer.close();
}

/**
 * Erases `objects` (found through the ledger) from one destination: each is checked to be there,
 * deleted where the store allows it — every version of it where the store keeps versions — and
 * checked to be gone. Before the first delete, a local record of the objects about to be deleted
 * is written (`.sentcopy/erase-pending/`); every object erased now gets a tombstone in a new
 * ledger chain of this erasure, written once all deletes are done, and the record is removed once
 * the tombstones are durable.
 */
export async function eraseObjects(name: string, destination: DestinationV1, objects: readonly FoundObject[], options: EraseObjectsOptions): Promise<DestinationErasure> {
  const erased: ErasureItem[] = [];
  const unconfirmed: ErasureItem[] = [];
  const held: ErasureItem[] = [];
  const missing: ErasureItem[] = [];
  const failed: ErasureItem[] = [];
  const needTombstone: ErasureItem[] = [];
  const toDelete: { item: ErasureItem; wasTombstoned: boolean }[] = [];
  let alreadyErased = 0;
  const canDelete = destination.capabilities.delete && typeof destination.delete === 'function';
  const eraseVersions = destination.capabilities.versions === 'erasable' && typeof destination.eraseVersions === 'function' ? destination.eraseVersions.bind(destination) : undefined;
  const versions: DestinationErasure['versions'] = eraseVersions !== undefined ? 'erased' : destination.capabilities.versions === 'none' ? 'none' : 'unknown';
  const reason = options.reason ?? 'erasure_request';

  const storeFailure = (item: ErasureItem, error: unknown): void => {
    if (!DestinationError.isInstance(error)) throw error;
    if (transient.has(error.kind)) failed.push({ ...item, reason: 'unavailable', detail: error.message });
    else held.push({ ...item, reason: holdReason(error), detail: error.message });
  };

  /** Erases every version of an object; returns whether the key is now gone (nothing readable at it). */
  const eraseAllVersions = async (item: ErasureItem, present: boolean): Promise<{ gone: boolean; found: ErasureVersionItem[] }> => {
    // A version the store did not answer for (an outage) is tried again a few times, as a plain delete is.
    const erasedBefore: ErasureVersionItem[] = [];
    let result = await withTransientRetries(() => eraseVersions!(item.key));
    for (let attempt = 2; attempt <= 4 && result.versions.some((entry) => entry.outcome === 'failed'); attempt += 1) {
      erasedBefore.push(...result.versions.filter((entry) => entry.outcome === 'erased').map(versionItem));
      await sleep(200 * 2 ** attempt);
      result = await withTransientRetries(() => eraseVersions!(item.key));
    }
    const found = [...erasedBefore, ...result.versions.map(versionItem)];
    const withVersions = { ...item, versions: found };
    const gone = !present || (await withTransientRetries(() => destination.head(item.key))) === undefined;
    const kept = found.filter((entry) => entry.outcome === 'held');
    const unreached = found.filter((entry) => entry.outcome === 'failed');
    if (kept.length > 0) {
      held.push({ ...withVersions, reason: kept[0]!.reason as HoldReason, detail: `${kept.length} of ${found.length} version(s) kept: ${kept[0]!.detail ?? ''}` });
    } else if (unreached.length > 0) {
      failed.push({ ...withVersions, reason: 'unavailable', detail: `${unreached.length} of ${found.length} version(s) not reached: ${unreached[0]!.detail ?? ''}` });
    } else if (!result.complete || !gone) {
      held.push({ ...withVersions, reason: 'still_present', detail: 'the store accepted the deletes, but still lists a version of the object' });
    } else if (present) {
      erased.push(withVersions);
    }
    return { gone, found };
  };

  for (const object of objects) {
    const item: ErasureItem = { key: object.key, sha256: object.sha256 };
    const wasTombstoned = options.tombstoned.has(object.key);
    try {
      const present = await withTransientRetries(() => destination.head(object.key));
      if (present === undefined) {
        // Bytes may remain behind a delete marker (an erasure by an older sentcopy, or a delete behind the archive's back): remove them too.
        if (eraseVersions !== undefined && !options.dryRun) {
          const reported = held.length + failed.length;
          const { found } = await eraseAllVersions(item, false).catch((error: unknown) => {
            if (versionsUnsupported(error)) return { found: [] as ErasureVersionItem[] };
            throw error;
          });
          if (held.length + failed.length > reported) continue;
          if (found.length > 0 && wasTombstoned) {
            erased.push({ ...item, versions: found });
            continue;
          }
          if (found.length > 0) {
            missing.push({ ...item, versions: found, detail: "listed by the ledger, but not readable in the store and never erased (deleted behind the archive's back); the versions it left were deleted now" });
            continue;
          }
        }
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
      toDelete.push({ item, wasTombstoned });
    } catch (error) {
      storeFailure(item, error);
    }
  }

  let writerId: string | null = null;
  let pendingFile: string | undefined;
  const owed = toDelete.filter((entry) => !entry.wasTombstoned).map((entry) => ({ key: entry.item.key, sha256: entry.item.sha256 }));
  if (owed.length > 0) {
    writerId = newErasureWriterId();
    try {
      pendingFile = await writePendingErasure(options.baseDir, { format: 1, destination: name, writer: writerId, startedAt: Date.now(), reason, objects: owed });
    } catch (error) {
      throw new PendingRecordError(name, (error as NodeJS.ErrnoException).code ?? 'unknown error');
    }
  }

  for (const { item, wasTombstoned } of toDelete) {
    try {
      let gone = false;
      let cannotList: string | undefined;
      if (eraseVersions !== undefined) {
        try {
          gone = (await eraseAllVersions(item, true)).gone;
        } catch (error) {
          if (!versionsUnsupported(error)) throw error;
          cannotList = (error as DestinationError).message;
        }
      }
      if (eraseVersions === undefined || cannotList !== undefined) {
        await withTransientRetries(() => destination.delete!(item.key));
        gone = (await withTransientRetries(() => destination.head(item.key))) === undefined;
        if (!gone) held.push({ ...item, reason: 'still_present', detail: 'the store accepted the delete, but still has the object' });
        else if (versions === 'none') erased.push(item);
        else {
          unconfirmed.push({
            ...item,
            detail:
              cannotList === undefined
                ? `deleted, but the ${destination.provider} destination cannot tell whether the store keeps earlier versions of it (versioning, snapshots): not confirmed erased`
                : `deleted, but the store does not list versions (${cannotList}), so whether it keeps earlier ones is not known: not confirmed erased`,
          });
        }
      }
      if (gone && !wasTombstoned) needTombstone.push(item);
    } catch (error) {
      storeFailure(item, error);
    }
  }

  let tombstones: DestinationErasure['tombstones'] = { writer: null, count: 0, segments: [] };
  if (needTombstone.length > 0 && writerId !== null) {
    const segments = Array.from({ length: Math.ceil(needTombstone.length / 10_000) }, (_, seq) => ledgerSegmentKey(writerId, seq));
    try {
      await writeTombstones(destination, writerId, needTombstone, reason);
      tombstones = { writer: writerId, count: needTombstone.length, segments };
    } catch (error) {
      const detail = LedgerError.isInstance(error) ? error.message : String(error);
      tombstones = { writer: writerId, count: 0, segments: [], error: detail, ...(pendingFile === undefined ? {} : { pending: pendingFile }) };
    }
  }
  if (pendingFile !== undefined && tombstones.error === undefined) await clearPendingErasure(pendingFile);
  return { destination: name, versions, matched: objects.length - alreadyErased, erased, unconfirmed, held, missing, failed, alreadyErased, tombstones };
}

/** What resuming one pending erasure did. */
export interface ResumedErasure {
  readonly destination: string;
  /** The chain the owed tombstones went to. */
  readonly writer: string;
  /** The local record (removed when `error` is absent). */
  readonly file: string;
  /** Objects the record named. */
  readonly objects: number;
  /** Tombstones written now: objects found gone and not yet tombstoned. */
  readonly written: number;
  /** Objects still in the store (their delete never happened): nothing owed. */
  readonly stillPresent: number;
  /** Why the tombstones could not be written (the record is kept). */
  readonly error?: string;
}

/**
 * Writes the tombstones a pending erasure owes (an erasure whose tombstone write failed, or that
 * was killed between its deletes and its tombstones): each object of the record that is gone from
 * the store and not yet tombstoned gets one, in the erasure's own chain; then the record is removed.
 */
export async function resumePendingErasure(file: string, record: PendingErasure, destination: DestinationV1, tombstoned: ReadonlySet<string>): Promise<ResumedErasure> {
  const owed: { key: string; sha256: string }[] = [];
  let stillPresent = 0;
  for (const object of record.objects) {
    if (tombstoned.has(object.key)) continue;
    if ((await withTransientRetries(() => destination.head(object.key))) === undefined) owed.push(object);
    else stillPresent += 1;
  }
  const base = { destination: record.destination, writer: record.writer, file, objects: record.objects.length, stillPresent };
  try {
    if (owed.length > 0) await writeTombstones(destination, record.writer, owed, record.reason);
  } catch (error) {
    return { ...base, written: 0, error: LedgerError.isInstance(error) ? error.message : String(error) };
  }
  await clearPendingErasure(file);
  return { ...base, written: owed.length };
}
