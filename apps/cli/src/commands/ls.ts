import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError, clusterOf, emit, exitCodes, formatBytes, readConfig, textTable } from '../cli-kit/index.js';
import { addSourceOptions, openArchiveSource, type SourceOptions } from '../archive/archive-source.js';
import { addFilterOptions, filtersFrom, type FilterOptions } from '../archive/filter-options.js';
import { addLedgerSearchOptions, ledgerFiltersOf, textQueryError, type LedgerSearchOptions } from '../archive/ledger-search-options.js';
import { listArchive, type ArchiveEntry } from '../archive/list-archive.js';
import { listFromLedger, type LedgerListing } from '../archive/ledger-listing.js';
import { closeAll, defaultIndexFile, openIndexIfPresent, openLedgerDestinations, primaryHasLedger, recipientHashes } from '../archive/ledger-search.js';

interface LsOptions extends SourceOptions, FilterOptions, LedgerSearchOptions {
  limit: number;
  cursor?: string;
  all?: boolean;
  pageSize?: number;
  json?: boolean;
}

function parsePositive(maximum: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1 || number > maximum) throw new InvalidArgumentError(`must be a whole number from 1 to ${maximum}.`);
    return number;
  };
}

function describeEntry(entry: ArchiveEntry) {
  const fields = entry.fields;
  const content = entry.content;
  const sentDate = content?.sentAt === undefined ? undefined : new Date(content.sentAt).toISOString().slice(0, 10);
  return {
    key: entry.key,
    channel: fields?.channel ?? content?.channel ?? null,
    date: fields?.dateText ?? sentDate ?? null,
    messageId: fields?.messageId ?? null,
    projectId: fields?.projectId ?? content?.projectId ?? null,
    campaign: fields?.campaign ?? content?.campaign ?? null,
    size: entry.size,
    lastModified: entry.lastModified?.toISOString() ?? null,
    version: fields?.versionId ?? null,
    originalKey: fields?.originalKey ?? null,
  };
}

/** `sentcopy ls`: lists archived messages, filtered and paginated. */
export function registerLsCommand(program: Command): void {
  const command = program.command('ls').description('List archived messages: filter by project, channel, recipient, campaign and date; one page at a time.');
  addSourceOptions(command);
  addLedgerSearchOptions(addFilterOptions(command))
    .option('-n, --limit <number>', 'messages per page', parsePositive(10_000), 50)
    .option('--cursor <cursor>', 'continue after the page that printed this cursor')
    .option('--all', 'list every matching message instead of one page')
    .addOption(new Option('--page-size <number>', 'objects per list call to the store').argParser(parsePositive(1000)).hideHelp())
    .option('--json', 'print one JSON document for scripts')
    .addHelpText(
      'after',
      `
When the destination ls would read (--destination, the project's, or the only one) holds a ledger
(.sentcopy-ledger/), ls answers from the ledgers and never lists or reads message objects: across
every destination in the configuration (or only the one --destination names),
by recipient (to, cc and bcc), --user-id, --campaign, --canvas, --journey, --channel, --project and
--since/--until. With a local index (\`sentcopy index\`) the index is brought up to date first (only
new segments are read) and answers at once; without one the segments are read each time. Objects
erased by \`sentcopy erase\` are not listed. The ledger lists objects stored since it was turned
on; --listing lists the keys instead.

--text answers from the local index's full-text table (\`sentcopy index --text\`, off by default: it
copies message content to this disk), combined with every other filter. FTS5 query syntax: words
(all must occur, any case, accents ignored), "an exact phrase", ship* (a prefix), OR, NOT,
parentheses, subject:refund or body:refund (one field), NEAR(a b, 5). Put a word with punctuation
in double quotes ("SC-1042", "ana@example.com"). Matches are listed oldest first like the others.

Without a ledger, filters the layout puts early in the key become the listing prefix (the default layout starts with
the project and the recipient's SHA-256, so --project with --recipient lists one person's messages
directly); the others are matched on each key, and a filter whose field is not in the key at all
(--campaign with the default layout, --from with braze's) is matched by reading each object.
--recipient is normalized (lower-cased email, E.164 phone) and hashed here exactly as the layout
does it; only the hash is compared with keys or sent to the store.

A message id sent twice with different content is stored twice: the first copy under its key, the
other next to it as a version (\`…/m-1~v-<16 hex of its SHA-256>.json.gz\`), listed as
"m-1 (version …)" (--json: "version" and "originalKey").

Examples:
  $ sentcopy ls --project shop --recipient ana.garcia@example.com
  $ sentcopy ls --project shop --channel sms --from 2026-01-01 --to 2026-01-31
  $ sentcopy ls --project shop --cursor eyJjIjoi...        the next page
  $ sentcopy ls --destination old-braze --layout braze --campaign spring-sale
  $ sentcopy ls --project shop --all --json | jq -r '.objects[].key'
  $ sentcopy ls --recipient ana.garcia@example.com             every destination, cc and bcc too
  $ sentcopy ls --campaign spring-sale --since 2026-03 --until 2026-03 --json
  $ sentcopy ls --text '"has shipped" NOT refund' --campaign spring-sale`,
    )
    .action(async (options: LsOptions) => runLs(options));
}

async function runLs(options: LsOptions): Promise<void> {
  const from = options.since ?? options.from;
  const to = options.until ?? options.to;
  if (from !== undefined && to !== undefined && from.start >= to.end) {
    throw new CliError('--since is after --until.', { exitCode: exitCodes.usage, code: 'invalid_date_range', hint: 'Give the earlier date to --since.' });
  }
  if (options.text !== undefined && (options.listing === true || options.layout !== undefined)) {
    throw new CliError(`--text needs the local index, not ${options.listing === true ? '--listing' : '--layout'}.`, {
      exitCode: exitCodes.usage,
      code: 'text_index_required',
      hint: 'Leave --listing and --layout out; run `sentcopy index --text` first (it copies message content to this disk).',
    });
  }
  if (options.listing !== true && options.layout === undefined) {
    const loaded = await readConfig(options.config, clusterOf(options));
    const indexFile = options.index === undefined ? defaultIndexFile(loaded) : path.resolve(options.index);
    if (options.text !== undefined) assertTextIndex(indexFile);
    // Without a ledger where a plain ls would look, the key listing answers as it always did.
    const primary = await primaryHasLedger(loaded, options.destination, options.project);
    const ledgers = primary === false ? [] : await openLedgerDestinations(loaded, options.destination);
    try {
      if (ledgers.some((ledger) => ledger.hasLedger)) {
        const recipients = options.recipient === undefined ? undefined : await recipientHashes(options.recipient, options.channel, loaded);
        const listing = await listFromLedger(ledgers, {
          filters: ledgerFiltersOf(options, recipients, { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) }),
          indexFile,
          ...(options.all === true ? {} : { limit: options.limit }),
          ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
        }).catch((error: unknown) => {
          throw textQueryError(error);
        });
        const textPending = options.text === undefined ? undefined : pendingText(indexFile, listing.destinations);
        printLedgerListing(listing, options, textPending);
        return;
      }
    } finally {
      await closeAll(ledgers);
    }
  }
  if (options.text !== undefined)
    throw new CliError('--text needs a ledger: no destination searched holds one.', { exitCode: exitCodes.usage, code: 'ledger_required', hint: 'Turn the ledger on (docs/ledger.md), then run `sentcopy index --text`.' });
  for (const [flag, value] of [
    ['--user-id', options.userId],
    ['--canvas', options.canvas],
    ['--journey', options.journey],
  ] as const) {
    if (value !== undefined)
      throw new CliError(`${flag} needs a ledger: no destination searched holds one${options.listing === true ? ' (or --listing was given)' : ''}.`, {
        exitCode: exitCodes.usage,
        code: 'ledger_required',
        hint: 'Turn the ledger on (docs/ledger.md); keys do not hold these fields.',
      });
  }
  await runKeyListing({ ...options, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) });
}

const noTextHint = 'Run `sentcopy index --text` first; it copies message content to this disk (`sentcopy index --no-text` removes it).';

/** Refuses `--text` at once when the index has no full-text table. */
function assertTextIndex(file: string): void {
  const index = openIndexIfPresent(file, false);
  const enabled = index?.textEnabled() ?? false;
  index?.close();
  if (!enabled) {
    throw new CliError(
      `--text needs the local index's full-text table, and ${index === undefined ? `there is no index (${file})` : `the index ${file} has none`}: run \`sentcopy index --text\` first; it copies message content to this disk.`,
      { exitCode: exitCodes.usage, code: 'text_index_required', hint: noTextHint },
    );
  }
}

/** Objects of the searched destinations whose text is not indexed yet (a text search cannot find them). */
function pendingText(file: string, destinations: readonly string[]): number {
  const index = openIndexIfPresent(file, false);
  try {
    return (index?.status() ?? []).filter((entry) => destinations.includes(entry.destination)).reduce((sum, entry) => sum + entry.textPending, 0);
  } finally {
    index?.close();
  }
}

function printLedgerListing(listing: LedgerListing, options: LsOptions, textPending?: number): void {
  const objects = listing.objects.map((object) => ({
    destination: object.destination,
    key: object.key,
    channel: object.channel,
    date: new Date(object.sentAt).toISOString().slice(0, 10),
    sentAt: new Date(object.sentAt).toISOString(),
    messageId: object.messageId,
    projectId: object.projectId,
    campaign: object.campaignId ?? object.canvasStepId ?? null,
    userId: object.userId ?? null,
    size: object.size,
    sha256: object.sha256,
    version: object.version,
    originalKey: object.originalKey ?? null,
  }));
  for (const { destination, reason } of listing.unsearched) process.stderr.write(`warning: destination "${destination}" was not searched: ${reason}.\n`);
  for (const update of listing.indexUpdates) {
    for (const problem of update.problems) process.stderr.write(`warning: index of "${update.destination}": ${problem.kind} ${problem.key}: ${problem.reason}\n`);
  }
  if (textPending !== undefined && textPending > 0) process.stderr.write(`warning: ${textPending} message(s) have no text indexed yet, so --text cannot find them: run \`sentcopy index\`.\n`);
  const unreachable = listing.unsearched.filter((entry) => entry.reason.startsWith('it could not be read'));
  emit(options, { source: listing.source, destinations: listing.destinations, unsearched: listing.unsearched, objects, total: listing.total, cursor: listing.cursor ?? null, ...(textPending === undefined ? {} : { textPending }) }, () => {
    if (objects.length === 0) return `No messages match (answered from the ${listing.source === 'index' ? 'local index' : 'ledger'} of ${listing.destinations.join(', ')}).`;
    const table = textTable(
      ['DESTINATION', 'KEY', 'CHANNEL', 'SENT', 'MESSAGE ID', 'SIZE'],
      objects.map((object) => [object.destination, object.key, object.channel, object.sentAt.slice(0, 19).replace('T', ' '), object.version ? `${object.messageId} (version)` : object.messageId, formatBytes(object.size)]),
      new Set([5]),
    );
    const more = listing.cursor === undefined ? `${objects.length} message(s)` : `${objects.length} of ${listing.total} message(s) on this page. Next page: --cursor ${listing.cursor}`;
    return `${table}\n\n${more} (answered from the ${listing.source === 'index' ? 'local index' : 'ledger'}; ${listing.total} match in all).`;
  });
  if (unreachable.length > 0) process.exitCode = exitCodes.unavailable;
}

async function runKeyListing(options: LsOptions): Promise<void> {
  const source = await openArchiveSource(options);
  try {
    const filters = filtersFrom(options, source);
    const result = await listArchive(source, {
      filters,
      ...(options.all === true ? {} : { limit: options.limit }),
      ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    });
    if (result.contentFilters.length > 0 && options.json !== true) {
      process.stderr.write(`note: the layout does not put ${result.contentFilters.join(', ')} in the key, so each object under "${result.prefix}" was read to match it.\n`);
    }
    const objects = result.entries.map(describeEntry);
    emit(options, { destination: source.destinationName, layout: source.reader.template, prefix: result.prefix, objects, cursor: result.cursor ?? null, scanned: result.scanned, contentFilters: result.contentFilters }, () => {
      if (objects.length === 0) return `No messages match${result.scanned === 0 ? ` (nothing stored under "${result.prefix}")` : ` (${result.scanned} object(s) looked at)`}.`;
      const table = textTable(
        ['KEY', 'CHANNEL', 'DATE', 'MESSAGE ID', 'SIZE'],
        objects.map((object) => [
          object.key,
          object.channel ?? '-',
          object.date ?? object.lastModified?.slice(0, 10) ?? '-',
          object.messageId === null ? '-' : object.version === null ? object.messageId : `${object.messageId} (version ${object.version})`,
          formatBytes(object.size),
        ]),
        new Set([4]),
      );
      const more = result.cursor === undefined ? `${objects.length} message(s).` : `${objects.length} message(s) on this page. Next page: --cursor ${result.cursor}`;
      const versions = objects.filter((object) => object.version !== null).length;
      const note = versions === 0 ? '' : `\n${versions} of them ${versions === 1 ? 'is a version' : 'are versions'}: the same message id was sent again with other content, and both copies are kept (the first under the plain key).`;
      return `${table}\n\n${more}${note}`;
    });
  } finally {
    await source.close();
  }
}
