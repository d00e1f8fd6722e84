import { Command, InvalidArgumentError, Option } from 'commander';
import { emit, formatBytes, textTable } from '../cli-kit/index.js';
import { addSourceOptions, openArchiveSource, type SourceOptions } from '../archive/archive-source.js';
import { addFilterOptions, filtersFrom, type FilterOptions } from '../archive/filter-options.js';
import { listArchive, type ArchiveEntry } from '../archive/list-archive.js';

interface LsOptions extends SourceOptions, FilterOptions {
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
  const command = program
    .command('ls')
    .description('List archived messages: filter by project, channel, recipient, campaign and date; one page at a time.');
  addSourceOptions(command);
  addFilterOptions(command)
    .option('-n, --limit <number>', 'messages per page', parsePositive(10_000), 50)
    .option('--cursor <cursor>', 'continue after the page that printed this cursor')
    .option('--all', 'list every matching message instead of one page')
    .addOption(new Option('--page-size <number>', 'objects per list call to the store').argParser(parsePositive(1000)).hideHelp())
    .option('--json', 'print one JSON document for scripts')
    .addHelpText(
      'after',
      `
Filters the layout puts early in the key become the listing prefix (the default layout starts with
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
  $ sentcopy ls --project shop --all --json | jq -r '.objects[].key'`,
    )
    .action(async (options: LsOptions) => runLs(options));
}

async function runLs(options: LsOptions): Promise<void> {
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
    emit(
      options,
      { destination: source.destinationName, layout: source.reader.template, prefix: result.prefix, objects, cursor: result.cursor ?? null, scanned: result.scanned, contentFilters: result.contentFilters },
      () => {
        if (objects.length === 0) return `No messages match${result.scanned === 0 ? ` (nothing stored under "${result.prefix}")` : ` (${result.scanned} object(s) looked at)`}.`;
        const table = textTable(
          ['KEY', 'CHANNEL', 'DATE', 'MESSAGE ID', 'SIZE'],
          objects.map((object) => [object.key, object.channel ?? '-', object.date ?? object.lastModified?.slice(0, 10) ?? '-', object.messageId === null ? '-' : object.version === null ? object.messageId : `${object.messageId} (version ${object.version})`, formatBytes(object.size)]),
          new Set([4]),
        );
        const more = result.cursor === undefined ? `${objects.length} message(s).` : `${objects.length} message(s) on this page. Next page: --cursor ${result.cursor}`;
        const versions = objects.filter((object) => object.version !== null).length;
        const note = versions === 0 ? '' : `\n${versions} of them ${versions === 1 ? 'is a version' : 'are versions'}: the same message id was sent again with other content, and both copies are kept (the first under the plain key).`;
        return `${table}\n\n${more}${note}`;
      },
    );
  } finally {
    await source.close();
  }
}
