import { readLedger } from '@sentcopy/core';
import { LedgerIndexError } from '@sentcopy/ledger-index';
import { ChecksumFailureError, getObject } from '../../archive/archive-source.js';
import { matchingEntries, type FoundObject } from '../../archive/ledger-search.js';
import { mapConcurrently } from '../../archive/map-concurrently.js';
import { maskRecipients } from '../../archive/mask-recipient.js';
import { messageText } from '../../archive/message-text.js';
import { inspectObject } from '../../archive/read-object.js';
import type { ViewerContext } from '../viewer-context.js';
import { filtersOf, searchPageSize, type FieldProblem, type SearchQuery } from './search-query.js';

/** One page of search results, newest first. */
export interface SearchPage {
  /** `index` when the local index answered, `ledger` when the ledger segments were read. */
  readonly source: 'index' | 'ledger';
  /** This page's objects, newest first (at most 50). */
  readonly objects: readonly FoundObject[];
  /** Every match across pages. */
  readonly total: number;
  /** This page's number, from 1. */
  readonly page: number;
  /** Pages in all (at least 1). */
  readonly pageCount: number;
  /** Destinations searched. */
  readonly destinations: readonly string[];
  /** Destinations that could not be searched, and why (named, so the user knows what is missing). */
  readonly unsearched: readonly { readonly destination: string; readonly reason: string }[];
}

/** A search that cannot run as asked: a field's problem, shown next to that field. */
export class SearchFieldError extends Error {
  constructor(readonly problem: FieldProblem) {
    super(`${problem.field}: ${problem.problem}`);
    this.name = 'SearchFieldError';
  }
}

/** The message text full-text search needs, or why it is unavailable (said next to the text field). */
export function textSearchUnavailable(context: ViewerContext): string | undefined {
  if (context.index === undefined) return 'Text search needs the local index: run `sentcopy index --text`, then start the viewer again.';
  if (!context.index.textEnabled()) return 'Text search is off: the index holds no message text. Run `sentcopy index --text` (it copies message content to this disk), then start the viewer again.';
  return undefined;
}

/** The destinations a search covers: the one asked for, else every one opened. */
function searchedDestinations(context: ViewerContext, query: SearchQuery): string[] {
  if (query.destination === undefined) return [...context.destinations.keys()].sort();
  if (!context.destinations.has(query.destination)) throw new SearchFieldError({ field: 'destination', problem: `no destination named "${query.destination}" is open in this viewer.` });
  return [query.destination];
}

/** Runs a search: from the index when there is one, else from the ledger segments (read each time, like `sentcopy ls` without an index). */
export async function runSearch(context: ViewerContext, query: SearchQuery): Promise<SearchPage> {
  const destinations = searchedDestinations(context, query);
  if (query.text !== undefined) {
    const unavailable = textSearchUnavailable(context);
    if (unavailable !== undefined) throw new SearchFieldError({ field: 'text', problem: unavailable });
  }
  const filters = { ...filtersOf(query), destinations };
  const offset = (query.page - 1) * searchPageSize;
  if (context.index !== undefined) {
    try {
      const total = context.index.count(filters);
      const page = context.index.query(filters, { limit: searchPageSize, offset, order: 'newest' });
      return { source: 'index', objects: page.objects, total, page: query.page, pageCount: Math.max(1, Math.ceil(total / searchPageSize)), destinations, unsearched: [] };
    } catch (error) {
      if (LedgerIndexError.isInstance(error) && error.kind === 'invalid' && error.message.startsWith('text:')) {
        throw new SearchFieldError({ field: 'text', problem: `${error.message.slice('text: '.length)} (see docs/viewer.md for the query syntax).` });
      }
      throw error;
    }
  }
  const found: FoundObject[] = [];
  const unsearched: { destination: string; reason: string }[] = [];
  const searched: string[] = [];
  await Promise.all(
    destinations.map(async (name) => {
      try {
        const read = await readLedger(context.destinations.get(name)!);
        if (read.entries.size === 0) {
          unsearched.push({ destination: name, reason: 'it holds no ledger' });
          return;
        }
        searched.push(name);
        found.push(...matchingEntries(name, read, filters));
      } catch (error) {
        unsearched.push({ destination: name, reason: `it could not be read: ${error instanceof Error ? error.message : String(error)}` });
      }
    }),
  );
  found.sort((a, b) => b.sentAt - a.sentAt || (a.destination < b.destination ? 1 : a.destination > b.destination ? -1 : 0) || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
  return {
    source: 'ledger',
    objects: found.slice(offset, offset + searchPageSize),
    total: found.length,
    page: query.page,
    pageCount: Math.max(1, Math.ceil(found.length / searchPageSize)),
    destinations: searched.sort(),
    unsearched: unsearched.sort((a, b) => (a.destination < b.destination ? -1 : 1)),
  };
}

/** What a result row shows beyond the index's fields, read from the object itself. */
export interface ResultDetails {
  /** The recipient (`to`), masked. */
  readonly recipient?: string;
  /** The subject, or the first line of the body. */
  readonly summary?: string;
  /** Why the object could not be read, when it could not. */
  readonly problem?: string;
}

const firstLine = (text: string | undefined) =>
  text
    ?.split('\n')
    .map((line) => line.trim())
    .find((line) => line !== '')
    ?.slice(0, 160);

/** Reads the objects of one page (8 at a time) for their masked recipient and subject or first line; a failure is kept per row. */
export function resultDetails(context: ViewerContext, objects: readonly FoundObject[]): Promise<ResultDetails[]> {
  return mapConcurrently(objects, 8, async (object): Promise<ResultDetails> => {
    const destination = context.destinations.get(object.destination);
    if (destination === undefined) return { problem: `destination "${object.destination}" is not open in this viewer` };
    try {
      const stored = await getObject(destination, object.key);
      if (stored === undefined) return { problem: `it is missing from destination "${object.destination}"` };
      const read = await inspectObject(destination, stored, { projectId: object.projectId });
      const altered = read.sha256 === object.sha256 ? undefined : 'its bytes do not match the SHA-256 the ledger recorded (run `sentcopy verify`)';
      const document = (read.message as Record<string, unknown> | undefined) ?? read.document;
      if (document === undefined) return { problem: altered ?? read.corruption[0] ?? 'it holds no JSON document' };
      const masked = maskRecipients(document['to']);
      const recipient = typeof masked === 'string' ? masked : Array.isArray(masked) ? masked.filter((item) => typeof item === 'string').join(', ') : undefined;
      let summary: string | undefined;
      try {
        const text = await messageText(document, typeof document['channel'] === 'string' ? document['channel'] : object.channel);
        summary = firstLine(text.subject) ?? firstLine(text.body);
      } catch {
        summary = undefined;
      }
      return {
        ...(recipient === undefined ? {} : { recipient }),
        ...(summary === undefined ? {} : { summary }),
        ...(altered !== undefined ? { problem: altered } : read.corruption.length > 0 ? { problem: `corrupt: ${read.corruption[0]}` } : {}),
      };
    } catch (error) {
      if (error instanceof ChecksumFailureError) return { problem: 'the store reports a checksum failure for it' };
      return { problem: `destination "${object.destination}" could not be read: ${error instanceof Error ? error.message : String(error)}` };
    }
  });
}
