import { PassThrough, Readable } from 'node:stream';
import { readLedger } from '@sentcopy/core';
import type { LedgerIndexFilters } from '@sentcopy/ledger-index';
import { matchingEntries, recipientHashes, type FoundObject } from '../../archive/ledger-search.js';
import { CliError } from '../../cli-kit/index.js';
import { cliVersion } from '../../cli-version.js';
import { filtersOf, knownChannel, searchParameters, searchQueryFrom } from '../search/search-query.js';
import type { ViewerApp, ViewerContext } from '../viewer-context.js';
import type { BundleQuery } from './bundle-manifest.js';
import { writeBundle, type BundleItem } from './write-bundle.js';

/** Most objects one export from the viewer holds; a larger search is refused with what to do instead (`sentcopy export`). */
export const viewerExportLimit = 10_000;

/** A found object with what the index adds (its chain), when it came from the index. */
type FoundWithChain = FoundObject & { readonly writer?: string; readonly seq?: number };

/** The bundle items for objects a search found. */
export function bundleItems(found: readonly FoundWithChain[]): BundleItem[] {
  return found.map((object) => ({
    destination: object.destination,
    key: object.key,
    sha256: object.sha256,
    ...(object.writer === undefined ? {} : { writer: object.writer }),
    ...(object.seq === undefined ? {} : { seq: object.seq }),
  }));
}

/**
 * Answers with a bundle of `found` as a ZIP download, streamed as it is written (one object in
 * memory at a time). The `export` event (who, the object count, the filters as given, recipients
 * only as hashes) is in the access log before the first byte is sent.
 */
export async function bundleResponse(context: ViewerContext, found: readonly FoundObject[], who: string, filters: BundleQuery['filters'] = {}, source: BundleQuery['source'] = 'index'): Promise<Response> {
  const destinations = [...new Set(found.map((object) => object.destination))].sort();
  await context.audit({ who, action: 'export', what: { objects: found.length, destinations: destinations.join(','), ...flatFilters(filters) } });
  const output = new PassThrough();
  const query: BundleQuery = { who, tool: `sentcopy ${cliVersion}`, kind: 'search', filters, source, destinations };
  // A failure mid-way destroys the stream, so the browser sees a failed download rather than a short ZIP that looks whole.
  writeBundle({ items: bundleItems(found), destinations: context.destinations, query, output }).catch((error: unknown) => {
    output.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  return new Response(Readable.toWeb(output) as ReadableStream<Uint8Array>, {
    headers: {
      'content-type': 'application/zip',
      'content-disposition': `attachment; filename="sentcopy-export-${stamp}.zip"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
}

function flatFilters(filters: BundleQuery['filters']): Record<string, string | number | boolean> {
  const flat: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(filters)) flat[name] = Array.isArray(value) ? value.join(',') : (value as string | number | boolean);
  return flat;
}

/** Thrown for a form field the export route cannot use; the answer names the field. */
export class ExportRequestError extends Error {
  constructor(
    /** The form field at fault. */
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'ExportRequestError';
  }
}

/**
 * The search an export form carries, read as the search page reads its URL (`rh` recipient hashes,
 * campaign, channel, project, destination, since, until, text); a `recipient` typed into an API
 * call is hashed first, as the search form does. Returns the ledger-index filters and what the
 * manifest records (recipients only as their hashes).
 */
export async function exportFilters(context: ViewerContext, form: Record<string, unknown>): Promise<{ filters: LedgerIndexFilters; recorded: BundleQuery['filters']; destination?: string }> {
  const parameters = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) for (const item of Array.isArray(value) ? value : [value]) if (typeof item === 'string') parameters.append(name, item);
  const typed = parameters.get('recipient')?.trim();
  if (typed !== undefined && typed !== '') {
    let hashes: string[];
    try {
      hashes = await recipientHashes(typed, knownChannel(parameters.get('channel') ?? undefined), context.loaded);
    } catch (error) {
      // The CLI's wording names --recipient; the form's field is "recipient". Neither quotes the value.
      if (error instanceof CliError) throw new ExportRequestError('recipient', error.message.replace(/^--recipient /, 'it ').replace(/\.$/, ''));
      throw error;
    }
    if (hashes.length === 0) throw new ExportRequestError('recipient', 'it is not an email address, phone number or push token');
    for (const hash of hashes) parameters.append('rh', hash);
  }
  const { query, problems } = searchQueryFrom(parameters);
  const [problem] = problems;
  if (problem !== undefined) throw new ExportRequestError(problem.field, problem.problem.replace(/\.$/, ''));
  if (query.destination !== undefined && !context.destinations.has(query.destination)) throw new ExportRequestError('destination', `no destination is named "${query.destination}"`);
  const recorded: Record<string, string | readonly string[]> = {
    ...(query.recipientHashes.length === 0 ? {} : { recipient_hashes: query.recipientHashes }),
  };
  for (const [name, value] of searchParameters({ ...query, recipientHashes: [], page: 1 })) recorded[name] = value;
  return { filters: filtersOf(query), recorded, ...(query.destination === undefined ? {} : { destination: query.destination }) };
}

/** Every object matching `filters`, from the local index when there is one, else from each destination's ledger segments. */
export async function findForExport(context: ViewerContext, filters: LedgerIndexFilters, limit = viewerExportLimit + 1, destination?: string): Promise<{ found: FoundObject[]; source: 'index' | 'ledger' }> {
  const searched = destination === undefined ? [...context.destinations.keys()] : [destination];
  if (context.index !== undefined) {
    const found: FoundObject[] = [];
    let after: string | undefined;
    do {
      const page = context.index.query({ ...filters, destinations: searched }, { limit: Math.min(1000, limit - found.length), ...(after === undefined ? {} : { after }) });
      found.push(...page.objects);
      after = page.next;
    } while (after !== undefined && found.length < limit);
    return { found, source: 'index' };
  }
  if (filters.text !== undefined) throw new ExportRequestError('text', 'a text search needs the local index (`sentcopy index --text`)');
  const found: FoundObject[] = [];
  for (const name of searched) found.push(...matchingEntries(name, await readLedger(context.destinations.get(name)!), filters));
  found.sort((a, b) => a.sentAt - b.sentAt || a.destination.localeCompare(b.destination) || a.key.localeCompare(b.key));
  return { found: found.slice(0, limit), source: 'ledger' };
}

/**
 * `POST /export.zip`: a bundle of every message the posted search finds (form fields as on the
 * search page; POSTed so a typed recipient never appears in a URL). 400 naming the field for a bad
 * one; 413 when more than {@link viewerExportLimit} match.
 */
export function registerExportRoutes(app: ViewerApp, context: ViewerContext): void {
  app.post('/export.zip', async (c) => {
    const who = c.get('user');
    const form = await c.req.parseBody({ all: true });
    try {
      const { filters, recorded, destination } = await exportFilters(context, form);
      const { found, source } = await findForExport(context, filters, viewerExportLimit + 1, destination);
      if (found.length > viewerExportLimit) {
        return c.text(`This search finds more than ${viewerExportLimit} messages: narrow it, or run \`sentcopy export\` with the same filters.`, 413);
      }
      return await bundleResponse(context, found, who, recorded, source);
    } catch (error) {
      if (error instanceof ExportRequestError) return c.text(`Cannot export: ${error.message}.`, 400);
      throw error;
    }
  });
}

/** The export module's static assets (served under /assets/NAME): none, the bundle carries its own page. */
export const exportAssets: ReadonlyMap<string, { type: string; body: string }> = new Map();
