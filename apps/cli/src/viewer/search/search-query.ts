import { isChannel } from '@sentcopy/core';
import type { LedgerIndexFilters } from '@sentcopy/ledger-index';
import { parseDateArgument } from '../../archive/date-range.js';

/** Results per page of the search page and `/api/search`. */
export const searchPageSize = 50;

/** A search as its URL carries it: recipients only as hashes. */
export interface SearchQuery {
  /** Recipient hashes (what `recipientHashes()` made of the typed address). */
  readonly recipientHashes: readonly string[];
  /** The campaign (`campaign_id`, else `canvas_step_id`; `unassociated` for neither). */
  readonly campaign?: string;
  /** The channel name (`email`, `sms`, …). */
  readonly channel?: string;
  /** The `project_id`. */
  readonly project?: string;
  /** Only this configured destination. @default every destination */
  readonly destination?: string;
  /** As typed: `2026-01-31`, `2026-01`, `2026`, or an ISO time with a zone. */
  readonly since?: string;
  /** As typed, inclusive: the whole day, month or year it names. */
  readonly until?: string;
  /** A full-text query (SQLite FTS5 syntax). */
  readonly text?: string;
  /** 1-based page number, newest first. */
  readonly page: number;
}

/** A problem with one search field: the field's name and what is wrong, shown next to it. */
export interface FieldProblem {
  /** The field's name as the form and the API call it (`recipient`, `since`, …). */
  readonly field: string;
  /** What is wrong, one sentence; never the value when it may be a recipient. */
  readonly problem: string;
}

const hashPattern = /^[0-9a-f]{32}$|^[0-9a-f]{64}$/;
const textFields = ['campaign', 'channel', 'project', 'destination', 'since', 'until', 'text'] as const;

/** True when the query has at least one filter (a bare `/` shows the form only). */
export function hasFilters(query: SearchQuery): boolean {
  return query.recipientHashes.length > 0 || textFields.some((field) => query[field] !== undefined);
}

/** Reads a search from URL parameters (`rh` repeated for recipient hashes); problems name the field. */
export function searchQueryFrom(parameters: URLSearchParams): { query: SearchQuery; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const value = (name: string) => {
    const text = parameters.get(name)?.trim();
    return text === undefined || text === '' ? undefined : text;
  };
  const recipientHashes = parameters.getAll('rh').filter((hash) => hash !== '');
  if (recipientHashes.some((hash) => !hashPattern.test(hash))) problems.push({ field: 'recipient', problem: 'the recipient hash in this address is not one the viewer made; search again from the form.' });
  const pageText = value('page') ?? '1';
  const page = Number(pageText);
  if (!Number.isSafeInteger(page) || page < 1) problems.push({ field: 'page', problem: 'must be a whole number of 1 or more.' });
  const channel = value('channel');
  if (channel !== undefined && !/^[a-z][a-z0-9_-]{0,31}$/.test(channel)) problems.push({ field: 'channel', problem: 'is not a channel name (email, sms, push, whatsapp, or a channel a project declares).' });
  const query: SearchQuery = {
    recipientHashes,
    page: problems.some((problem) => problem.field === 'page') ? 1 : page,
    ...Object.fromEntries(textFields.map((field) => [field, value(field)]).filter(([, text]) => text !== undefined)),
  };
  for (const field of ['since', 'until'] as const) {
    const text = query[field];
    if (text === undefined) continue;
    try {
      parseDateArgument(text);
    } catch (error) {
      problems.push({ field, problem: (error as Error).message });
    }
  }
  if (problems.length === 0 && query.since !== undefined && query.until !== undefined && parseDateArgument(query.since).start >= parseDateArgument(query.until).end) {
    problems.push({ field: 'since', problem: 'is after "until"; give the earlier date to "since".' });
  }
  return { query, problems };
}

/** The URL parameters of a search (the inverse of {@link searchQueryFrom}); `page` 1 is left out. */
export function searchParameters(query: Omit<SearchQuery, 'page'> & { page?: number }): URLSearchParams {
  const parameters = new URLSearchParams();
  for (const hash of query.recipientHashes) parameters.append('rh', hash);
  for (const field of textFields) {
    const text = query[field];
    if (text !== undefined) parameters.set(field, text);
  }
  if (query.page !== undefined && query.page > 1) parameters.set('page', String(query.page));
  return parameters;
}

/** The index filters of a (problem-free) search; `destinations` is the caller's to add. */
export function filtersOf(query: SearchQuery): LedgerIndexFilters {
  return {
    ...(query.recipientHashes.length === 0 ? {} : { recipients: query.recipientHashes }),
    ...(query.campaign === undefined ? {} : { campaign: query.campaign }),
    ...(query.channel === undefined ? {} : { channel: query.channel }),
    ...(query.project === undefined ? {} : { projectId: query.project }),
    ...(query.since === undefined ? {} : { sentFrom: parseDateArgument(query.since).start }),
    ...(query.until === undefined ? {} : { sentUntil: parseDateArgument(query.until).end }),
    ...(query.text === undefined ? {} : { text: query.text }),
  };
}

/** What the access log records of a search: its filters, recipients only as short hash prefixes. */
export function describeSearch(query: SearchQuery): Record<string, string | number> {
  return {
    ...(query.recipientHashes.length === 0 ? {} : { recipient: query.recipientHashes.map((hash) => hash.slice(0, 16)).join(',') }),
    ...Object.fromEntries(textFields.flatMap((field) => (query[field] === undefined ? [] : [[field, query[field]!]]))),
    page: query.page,
  };
}

/** The channel's name when it is one of the four sentcopy knows, for recipient normalization. */
export function knownChannel(channel: string | undefined) {
  return channel !== undefined && isChannel(channel) ? channel : undefined;
}
