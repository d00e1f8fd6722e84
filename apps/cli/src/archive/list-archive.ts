import { createHash } from 'node:crypto';
import { isLedgerKey, normalizeRecipient, type Channel, type KeyFilters, type ListedObject, type ParsedKey } from '@sentcopy/core';
import { CliError, exitCodes } from '../cli-kit/index.js';
import { getObject, withRetries, type ArchiveSource } from './archive-source.js';
import { mapConcurrently } from './map-concurrently.js';
import { documentFields, inspectObject, type DocumentFields } from './read-object.js';
import type { RecipientMatch } from './recipient-filter.js';

/** What to keep. Every filter given must match. */
export interface ArchiveFilters {
  readonly channel?: Channel;
  readonly projectId?: string;
  /** A campaign id (or Canvas step id, or `unassociated`), as sent. */
  readonly campaign?: string;
  readonly recipient?: RecipientMatch;
  /** Start of the date range, epoch ms (inclusive). */
  readonly from?: number;
  /** End of the date range, epoch ms (exclusive). */
  readonly to?: number;
  /** A message id, as sent. */
  readonly messageId?: string;
}

/** One object a listing kept. */
export interface ArchiveEntry {
  readonly key: string;
  readonly size: number;
  readonly lastModified?: Date;
  /** What the key says, when it fits the layout. */
  readonly fields?: ParsedKey;
  /** What the document says, when it had to be read to match a filter. */
  readonly content?: DocumentFields;
}

/** Options for {@link listArchive}. */
export interface ListArchiveOptions {
  readonly filters: ArchiveFilters;
  /** Most entries to return; `undefined` for all. */
  readonly limit?: number;
  /** A cursor a previous call returned. */
  readonly cursor?: string;
  /** Objects per `list()` call. @default 1000 */
  readonly pageSize?: number;
  /** Objects read at once when a filter needs the content. @default 8 */
  readonly concurrency?: number;
  /** Called with each entry kept, as soon as it is known (for streaming output). */
  readonly onEntry?: (entry: ArchiveEntry) => void;
}

/** What {@link listArchive} found. */
export interface ListArchiveResult {
  /** The prefix listed (computed from the filters and the layout). */
  readonly prefix: string;
  /** The entries kept, in key order. */
  readonly entries: readonly ArchiveEntry[];
  /** Pass as `cursor` to continue; absent when everything was listed. */
  readonly cursor?: string;
  /** Objects looked at. */
  readonly scanned: number;
  /** Objects whose key does not fit the layout (left out when filtering). */
  readonly unrecognized: number;
  /** Filters that had to read objects because the layout does not put their field in the key. */
  readonly contentFilters: readonly string[];
}

interface CursorState {
  /** Destination cursor of the page to fetch (absent: the first page). */
  readonly c?: string;
  /** Last key already returned on that page. */
  readonly k?: string;
  /** Page size, so the page is fetched the same way. */
  readonly p: number;
  /** Fingerprint of the source and filters the cursor belongs to. */
  readonly f: string;
}

function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, fingerprint: string): CursorState {
  let state: Partial<CursorState>;
  try {
    state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<CursorState>;
  } catch {
    state = {};
  }
  if (typeof state.p !== 'number' || typeof state.f !== 'string' || (state.c !== undefined && typeof state.c !== 'string') || (state.k !== undefined && typeof state.k !== 'string')) {
    throw new CliError('--cursor is not a cursor sentcopy printed.', { exitCode: exitCodes.usage, code: 'invalid_cursor', hint: 'Copy the cursor from the previous page, or leave --cursor out to start from the beginning.' });
  }
  if (state.f !== fingerprint) {
    throw new CliError('--cursor belongs to a listing with other filters, destination or layout.', { exitCode: exitCodes.usage, code: 'cursor_mismatch', hint: 'Repeat the same filters as for the first page, or leave --cursor out.' });
  }
  return state as CursorState;
}

/** True when `a` sorts after `b` in the destination's list order. */
function after(a: string, b: string, order: 'utf8' | 'utf16'): boolean {
  return order === 'utf16' ? a > b : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')) > 0;
}

const overlaps = (range: { start: number; end: number }, filters: ArchiveFilters) => (filters.from === undefined || range.end > filters.from) && (filters.to === undefined || range.start < filters.to);

/**
 * Lists an archive with filters, as few objects as possible: the filters the layout puts in the
 * key become the listing prefix where they come first, the others are matched on each key, and
 * those the key does not hold at all are matched on the object's content (slower; named in
 * `contentFilters`). The cursor resumes right after the last entry returned.
 */
export async function listArchive(source: ArchiveSource, options: ListArchiveOptions): Promise<ListArchiveResult> {
  const { reader, destination } = source;
  const filters = options.filters;
  const recipientForms = filters.recipient?.keyForms;
  // The filters as the layout can answer them from keys: the prefix to list, and each listed key's fields.
  const known: KeyFilters = {
    ...(filters.channel === undefined ? {} : { channel: filters.channel }),
    ...(filters.projectId === undefined ? {} : { projectId: filters.projectId }),
    ...(filters.campaign === undefined ? {} : { campaign: filters.campaign }),
    ...(filters.recipient === undefined ? {} : { recipient: [...filters.recipient.normalized] }),
    ...(filters.messageId === undefined ? {} : { messageId: filters.messageId }),
    ...(filters.from === undefined ? {} : { from: filters.from }),
    ...(filters.to === undefined ? {} : { to: filters.to }),
  };
  const prefix = reader.prefixFor(known);

  const contentFilters: string[] = [];
  if (filters.channel !== undefined && !reader.has.channel) contentFilters.push('--channel');
  if (filters.projectId !== undefined && !reader.has.projectId) contentFilters.push('--project');
  if (filters.campaign !== undefined && !reader.has.campaign) contentFilters.push('--campaign');
  if (filters.recipient !== undefined && !reader.has.recipient) contentFilters.push('--recipient');
  if ((filters.from !== undefined || filters.to !== undefined) && !reader.has.date) contentFilters.push('--from/--to');
  const anyFilter = Object.values(filters).some((value) => value !== undefined);

  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify([destination.id, reader.template, prefix, filters.channel, filters.projectId, filters.campaign, recipientForms === undefined ? null : [...recipientForms].sort(), filters.from, filters.to, filters.messageId ?? null]),
    )
    .digest('base64url')
    .slice(0, 16);
  const state = options.cursor === undefined ? undefined : decodeCursor(options.cursor, fingerprint);
  const pageSize = state?.p ?? options.pageSize ?? 1000;
  const order = destination.capabilities.listOrder ?? 'utf8';
  const limit = options.limit ?? Number.POSITIVE_INFINITY;

  const keyMatches = (fields: ParsedKey | undefined): boolean => (fields === undefined ? !anyFilter : reader.matches(fields, known));

  const contentMatches = (content: DocumentFields): boolean => {
    for (const filter of contentFilters) {
      switch (filter) {
        case '--channel':
          if (content.channel !== filters.channel) return false;
          break;
        case '--project':
          if (content.projectId !== filters.projectId) return false;
          break;
        case '--campaign':
          if ((content.campaign ?? 'unassociated') !== filters.campaign) return false;
          break;
        case '--recipient': {
          const channel = content.channel ?? filters.channel;
          if (content.to === undefined || channel === undefined) return false;
          let normalized: string;
          try {
            normalized = normalizeRecipient(channel, content.to);
          } catch {
            return false;
          }
          if (!filters.recipient!.normalized.has(normalized)) return false;
          break;
        }
        default:
          if (content.sentAt === undefined || !overlaps({ start: content.sentAt, end: content.sentAt + 1 }, filters)) return false;
      }
    }
    return true;
  };

  const readContent = async (object: ListedObject, fields: ParsedKey | undefined): Promise<DocumentFields | undefined> => {
    let stored;
    try {
      stored = await withRetries(source, `read ${object.key}`, () => getObject(destination, object.key));
    } catch (error) {
      // A corrupt object cannot match a filter on its content; `verify` is the place to report it.
      if (error instanceof CliError && error.code === 'object_corrupt') return undefined;
      throw error;
    }
    if (stored === undefined) return undefined;
    const read = await inspectObject(destination, stored, { ...(source.profileHint === undefined ? {} : { profileHint: source.profileHint }), ...(fields === undefined ? {} : { fields }) });
    return read.document === undefined ? undefined : documentFields(read.document, read.profile);
  };

  const entries: ArchiveEntry[] = [];
  let scanned = 0;
  let unrecognized = 0;
  let pageCursor = state?.c;
  let skipThrough = state?.k;
  const chunk = Math.max(1, options.concurrency ?? 8) * 2;

  for (;;) {
    const page = await withRetries(source, 'list objects', () => destination.list({ prefix, limit: pageSize, ...(pageCursor === undefined ? {} : { cursor: pageCursor }) }));
    let objects = page.objects;
    if (skipThrough !== undefined) {
      const through = skipThrough;
      const index = objects.findIndex((object) => object.key === through);
      objects = index === -1 ? objects.filter((object) => after(object.key, through, order)) : objects.slice(index + 1);
      skipThrough = undefined;
    }
    const candidates: { object: ListedObject; fields?: ParsedKey }[] = [];
    for (const object of objects) {
      if (isLedgerKey(object.key)) continue;
      const fields = reader.parse(object.key);
      if (fields === undefined) unrecognized += 1;
      if (keyMatches(fields)) candidates.push({ object, ...(fields === undefined ? {} : { fields }) });
    }
    scanned += objects.length;
    const lastOnPage = page.objects.at(-1)?.key;

    for (let start = 0; start < candidates.length; start += contentFilters.length > 0 ? chunk : candidates.length) {
      const slice = contentFilters.length > 0 ? candidates.slice(start, start + chunk) : candidates.slice(start);
      const contents = contentFilters.length > 0 && slice.length > 0 ? await mapConcurrently(slice, options.concurrency ?? 8, ({ object, fields }) => readContent(object, fields)) : slice.map(() => undefined);
      for (const [index, { object, fields }] of slice.entries()) {
        const content = contents[index];
        if (contentFilters.length > 0 && (content === undefined || !contentMatches(content))) continue;
        const entry: ArchiveEntry = {
          key: object.key,
          size: object.size,
          ...(object.lastModified === undefined ? {} : { lastModified: object.lastModified }),
          ...(fields === undefined ? {} : { fields }),
          ...(content === undefined ? {} : { content }),
        };
        entries.push(entry);
        options.onEntry?.(entry);
        if (entries.length >= limit) {
          const remainingOnPage = candidates.length - (start + index + 1);
          let cursor: string | undefined;
          if (object.key !== lastOnPage && (remainingOnPage > 0 || contentFilters.length > 0)) cursor = encodeCursor({ ...(pageCursor === undefined ? {} : { c: pageCursor }), k: object.key, p: pageSize, f: fingerprint });
          else if (page.cursor !== undefined) cursor = encodeCursor({ c: page.cursor, p: pageSize, f: fingerprint });
          return { prefix, entries, ...(cursor === undefined ? {} : { cursor }), scanned, unrecognized, contentFilters };
        }
      }
    }
    if (page.cursor === undefined) return { prefix, entries, scanned, unrecognized, contentFilters };
    pageCursor = page.cursor;
  }
}
