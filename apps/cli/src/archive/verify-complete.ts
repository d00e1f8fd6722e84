import { readLedger, type LedgerChainProblemKind, type LedgerChainSummary } from '@sentcopy/core';
import { destinationFailure, type ArchiveSource } from './archive-source.js';
import type { VerifyReport } from './verify-archive.js';

/**
 * A completeness problem `verify --complete` found:
 * - the chain problems of `readLedger` (`gap`, `edited`, `fork`, `unreadable`, `foreign`, `contradicting`);
 * - `missing`: the ledger lists the object, but the store does not have it;
 * - `altered`: the object's bytes do not hash to the SHA-256 the ledger recorded;
 * - `unlisted`: an object that no ledger lists (written behind the archive's back, or before the ledger);
 * - `unerased`: a tombstone records the object as erased, but the store still has it (an erasure
 *   interrupted between the two, or the object put back).
 */
export interface CompletenessProblem {
  readonly kind: LedgerChainProblemKind | 'missing' | 'altered' | 'unlisted' | 'unerased';
  readonly key: string;
  readonly reason: string;
}

/** What `verify --complete` found. */
export interface CompletenessReport {
  /** Every chain read. */
  readonly chains: readonly LedgerChainSummary[];
  /** Objects the ledger lists (each once). */
  readonly entries: number;
  /** Entries repeated by a writer after a crash (counted once, not a problem). */
  readonly duplicates: number;
  /** Objects the ledger lists and a tombstone records as erased (`sentcopy erase`): absent from the store by design, not missing. */
  readonly erased: number;
  /** Every problem, grouped by kind, in key order within each. */
  readonly problems: readonly CompletenessProblem[];
}

const order: Record<CompletenessProblem['kind'], number> = { gap: 0, edited: 1, fork: 2, unreadable: 3, foreign: 4, contradicting: 5, missing: 6, altered: 7, unlisted: 8, unerased: 9 };

/**
 * Walks every ledger chain of the destination and compares the objects it lists with the objects
 * `verify` read: an entry whose object is missing or altered, an object no entry lists. Only keys
 * under the walk's prefix are compared.
 */
export async function verifyComplete(source: ArchiveSource, walked: VerifyReport, options: { onSegment?: (read: number) => void } = {}): Promise<CompletenessReport> {
  let ledger;
  try {
    ledger = await readLedger(source.destination, { ...(options.onSegment === undefined ? {} : { onSegment: options.onSegment }) });
  } catch (error) {
    throw destinationFailure(error, source, 'read the ledger');
  }
  const problems: CompletenessProblem[] = [...ledger.problems];
  let erased = 0;
  for (const [key, entry] of ledger.entries) {
    if (!key.startsWith(walked.prefix)) continue;
    const actual = walked.hashes.get(key);
    const tombstone = ledger.tombstones.get(key);
    if (tombstone !== undefined) {
      if (actual === undefined) erased += 1;
      else problems.push({ kind: 'unerased', key, reason: `a tombstone records it as erased (${tombstone.reason}, ${new Date(tombstone.erased_at).toISOString()}), but the store still has it: run the erasure again` });
      continue;
    }
    if (actual === undefined) problems.push({ kind: 'missing', key, reason: `the ledger lists it (SHA-256 ${entry.sha256.slice(0, 12)}…, stored ${new Date(entry.stored_at).toISOString()}), but the store does not have it` });
    else if (actual !== entry.sha256) {
      problems.push({ kind: 'altered', key, reason: actual === '' ? 'its bytes could not be read whole' : `its bytes hash to ${actual.slice(0, 12)}…, not the ${entry.sha256.slice(0, 12)}… the ledger recorded when it was stored` });
    }
  }
  for (const key of walked.hashes.keys()) {
    if (!ledger.entries.has(key)) problems.push({ kind: 'unlisted', key, reason: "no ledger lists this object: it was written behind the archive's back, or before the ledger was turned on" });
  }
  problems.sort((a, b) => order[a.kind] - order[b.kind] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { chains: ledger.chains, entries: ledger.entries.size, duplicates: ledger.duplicates, erased, problems };
}
