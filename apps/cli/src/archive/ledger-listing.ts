import { createHash } from 'node:crypto';
import type { IndexUpdateResult, LedgerIndexFilters } from '@sentcopy/ledger-index';
import { CliError, exitCodes } from '../cli-kit/index.js';
import { matchingEntries, openIndexIfPresent, readDestinationLedger, updateIndexed, type FoundObject, type LedgerDestination } from './ledger-search.js';

/** Options for {@link listFromLedger}. */
export interface LedgerListingOptions {
  /** Filters (without `destinations`: the searched destinations are added). */
  readonly filters: LedgerIndexFilters;
  /** The index file; used (after an incremental update) when it exists. */
  readonly indexFile: string;
  /** Objects per page; `undefined` for all. */
  readonly limit?: number;
  /** A cursor a previous page printed. */
  readonly cursor?: string;
}

/** What {@link listFromLedger} found. */
export interface LedgerListing {
  /** `index` when answered by the local index, `ledger` when by reading the segments. */
  readonly source: 'index' | 'ledger';
  /** Destinations searched. */
  readonly destinations: readonly string[];
  /** Destinations not searched, and why (no ledger, or unreachable). */
  readonly unsearched: readonly { readonly destination: string; readonly reason: string }[];
  /** The page, oldest first. */
  readonly objects: readonly FoundObject[];
  /** Every match across pages. */
  readonly total: number;
  /** The next page's cursor. */
  readonly cursor?: string;
  /** What the incremental index update did, per destination (index only). */
  readonly indexUpdates: readonly IndexUpdateResult[];
}

interface LedgerCursor {
  /** Source. */
  readonly s: 'index' | 'ledger';
  /** Index cursor, or the last object's [sentAt, destination, key]. */
  readonly a: string | [number, string, string];
  /** Fingerprint of the filters. */
  readonly f: string;
}

function decodeCursor(cursor: string, fingerprint: string, source: 'index' | 'ledger'): LedgerCursor {
  let state: Partial<LedgerCursor> = {};
  try {
    state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<LedgerCursor>;
  } catch {
    // Reported below.
  }
  if ((state.s !== 'index' && state.s !== 'ledger') || typeof state.f !== 'string' || state.a === undefined) {
    throw new CliError('--cursor is not a cursor sentcopy printed.', { exitCode: exitCodes.usage, code: 'invalid_cursor', hint: 'Copy the cursor from the previous page, or leave --cursor out to start from the beginning.' });
  }
  if (state.f !== fingerprint || state.s !== source) {
    throw new CliError('--cursor belongs to a listing with other filters or destinations, or from the index before it existed.', {
      exitCode: exitCodes.usage,
      code: 'cursor_mismatch',
      hint: 'Repeat the same filters as for the first page, or leave --cursor out.',
    });
  }
  return state as LedgerCursor;
}

const encode = (cursor: LedgerCursor) => Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');

function compare(a: FoundObject, b: FoundObject): number {
  return a.sentAt - b.sentAt || (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * Answers a listing from the ledgers of `ledgers` without listing or reading message objects: from
 * the local index when its file exists (updated incrementally first), else from the segments.
 */
export async function listFromLedger(ledgers: readonly LedgerDestination[], options: LedgerListingOptions): Promise<LedgerListing> {
  const searched = ledgers.filter((ledger) => ledger.hasLedger);
  const unsearched = ledgers.filter((ledger) => !ledger.hasLedger).map((ledger) => ({ destination: ledger.name, reason: ledger.error === undefined ? 'it holds no ledger' : `it could not be read: ${ledger.error}` }));
  const filters: LedgerIndexFilters = { ...options.filters, destinations: searched.map((ledger) => ledger.name) };
  const fingerprint = createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 16);
  const index = openIndexIfPresent(options.indexFile, false);
  const source = index === undefined ? 'ledger' : 'index';
  const state = options.cursor === undefined ? undefined : decodeCursor(options.cursor, fingerprint, source);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;

  if (index !== undefined) {
    try {
      const indexUpdates: IndexUpdateResult[] = [];
      for (const ledger of searched) indexUpdates.push(await updateIndexed(index, ledger));
      const objects: FoundObject[] = [];
      let after = typeof state?.a === 'string' ? state.a : undefined;
      let next: string | undefined;
      do {
        const page = index.query(filters, { limit: Math.min(1000, limit - objects.length), ...(after === undefined ? {} : { after }) });
        objects.push(...page.objects);
        next = page.next;
        after = next;
      } while (next !== undefined && objects.length < limit);
      return { source, destinations: filters.destinations!, unsearched, objects, total: index.count(filters), ...(next === undefined ? {} : { cursor: encode({ s: source, a: next, f: fingerprint }) }), indexUpdates };
    } finally {
      index.close();
    }
  }

  const all: FoundObject[] = [];
  for (const ledger of searched) all.push(...matchingEntries(ledger.name, await readDestinationLedger(ledger), filters));
  all.sort(compare);
  let start = 0;
  if (Array.isArray(state?.a)) {
    const [sentAt, destination, key] = state.a;
    const mark = { sentAt, destination, key } as FoundObject;
    while (start < all.length && compare(all[start]!, mark) <= 0) start += 1;
  }
  const objects = all.slice(start, start + Math.min(all.length, limit));
  const last = objects.at(-1);
  const more = start + objects.length < all.length && last !== undefined;
  return { source, destinations: filters.destinations!, unsearched, objects, total: all.length, ...(more ? { cursor: encode({ s: source, a: [last.sentAt, last.destination, last.key], f: fingerprint }) } : {}), indexUpdates: [] };
}
