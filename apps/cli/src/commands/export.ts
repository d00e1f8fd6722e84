import { createHash } from 'node:crypto';
import { constants, createReadStream, createWriteStream, existsSync } from 'node:fs';
import { access, rename, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { DestinationV1 } from '@sentcopy/core';
import type { Command } from 'commander';
import { addSourceOptions, openArchiveSource, type SourceOptions } from '../archive/archive-source.js';
import { addLedgerSearchOptions, ledgerFiltersOf, textQueryError, type LedgerSearchOptions } from '../archive/ledger-search-options.js';
import { addFilterOptions, filtersFrom, type FilterOptions } from '../archive/filter-options.js';
import { findObject } from '../archive/find-object.js';
import { listFromLedger } from '../archive/ledger-listing.js';
import { closeAll, defaultIndexFile, openLedgerDestinations, primaryHasLedger, recipientHashes } from '../archive/ledger-search.js';
import { listArchive } from '../archive/list-archive.js';
import { CliError, clusterOf, emit, exitCodes, formatBytes, readConfig } from '../cli-kit/index.js';
import { cliVersion } from '../cli-version.js';
import type { BundleQuery } from '../viewer/export/bundle-manifest.js';
import type { BundleItem, BundleProgress, WriteBundleResult } from '../viewer/export/write-bundle.js';

interface ExportOptions extends SourceOptions, FilterOptions, LedgerSearchOptions {
  out: string;
  force?: boolean;
  json?: boolean;
}

/** What an export reads: the objects, the destinations they are in, and how they were found. */
interface ExportSelection {
  readonly items: readonly BundleItem[];
  readonly destinations: ReadonlyMap<string, DestinationV1>;
  readonly source: BundleQuery['source'];
  readonly searched: readonly string[];
  readonly filters: BundleQuery['filters'];
  close(): Promise<void>;
}

function whoAmI(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** `sentcopy export` and `sentcopy verify-bundle`. */
export function registerExportCommand(program: Command): void {
  const command = program
    .command('export')
    .description('Export messages as a ZIP bundle: the stored objects exactly, a manifest of SHA-256s, SHA256SUMS, and an offline viewer.')
    .argument('[key-or-message-id]', 'export this one message (object key or message id) instead of a search');
  addSourceOptions(command);
  addLedgerSearchOptions(addFilterOptions(command))
    .requiredOption('-o, --out <file>', 'the ZIP file to write')
    .option('--force', 'overwrite --out when it exists')
    .option('--json', 'print a JSON summary for scripts')
    .addHelpText(
      'after',
      `
Finds messages exactly as \`sentcopy ls\` does (the same filters; the ledger or local index when
there is one, else the key listing) and writes every one to a ZIP, one object at a time:
objects/<destination>/<key> holds the stored bytes exactly (compressed as stored), manifest.json
the search (recipients only as hashes) and each object's SHA-256, size, codec, ids and ledger
chain, SHA256SUMS the same hashes for \`sha256sum -c\`, README.txt how to check it, and viewer.html
an offline viewer (one file, no network) that lists, shows and checks the messages. Progress goes
to stderr. Exits 4 when an object could not be read or does not match its recorded SHA-256 (the
bundle is still written and says so), 3 when nothing matches. The file is written with mode 0600.

  sentcopy verify-bundle FILE.zip   checks a bundle offline (see its --help)

Examples:
  $ sentcopy export --recipient ana.garcia@example.com --out ana.zip
  $ sentcopy export --project shop --campaign spring-sale --since 2026-03 --until 2026-03 --out spring.zip
  $ sentcopy export m-1042 --project shop --out m-1042.zip
  $ sentcopy export --channel sms --from 2026-01-01 --out sms.zip --force --json`,
    )
    .action(async (reference: string | undefined, options: ExportOptions) => runExport(reference, options));

  program
    .command('verify-bundle')
    .description('Check an export bundle offline: every SHA-256 against the manifest and SHA256SUMS; no configuration, no network.')
    .argument('<file>', 'the bundle ZIP')
    .option('--json', 'print one JSON document for scripts')
    .addHelpText(
      'after',
      `
Exits 0 when every object's bytes match the SHA-256 and size manifest.json records, every file
matches SHA256SUMS, and the ZIP holds nothing else; 4 naming each file that is altered, missing,
extra or recorded differently in the two lists. Reads one file of the ZIP at a time.

Examples:
  $ sentcopy verify-bundle ana.zip
  $ sentcopy verify-bundle ana.zip --json | jq '.problems'`,
    )
    .action(async (file: string, options: { json?: boolean }) => runVerifyBundle(file, options));
}

async function selectByReference(reference: string, options: ExportOptions): Promise<ExportSelection> {
  const source = await openArchiveSource(options);
  try {
    const found = await findObject(source, reference, filtersFrom(options, source));
    const all = [found, ...(found.otherVersions ?? [])];
    return {
      items: all.map((entry) => ({ destination: source.destinationName, key: entry.read.key })),
      destinations: new Map([[source.destinationName, source.destination]]),
      source: 'lookup',
      searched: [source.destinationName],
      filters: { reference, ...(options.project === undefined ? {} : { project: options.project }) },
      close: () => source.close(),
    };
  } catch (error) {
    await source.close();
    throw error;
  }
}

/** Finds the objects a search names: the ledgers (or local index) when the archive has them, else the key listing. With `messageId`, only that message's copies, and `undefined` without a ledger (the caller looks the id up on keys). */
async function selectBySearch(options: ExportOptions, messageId?: string): Promise<ExportSelection | undefined> {
  const from = options.since ?? options.from;
  const to = options.until ?? options.to;
  if (from !== undefined && to !== undefined && from.start >= to.end) {
    throw new CliError('--from is after --to.', { exitCode: exitCodes.usage, code: 'invalid_date_range', hint: 'Give the earlier date to --from.' });
  }
  const loaded = await readConfig(options.config, clusterOf(options));
  const recipients = options.recipient === undefined ? undefined : await recipientHashes(options.recipient, options.channel, loaded);
  const recorded: Record<string, string | readonly string[]> = {
    ...(messageId === undefined ? {} : { reference: messageId }),
    ...(options.project === undefined ? {} : { project: options.project }),
    ...(options.channel === undefined ? {} : { channel: options.channel }),
    ...(recipients === undefined ? {} : { recipient_hashes: recipients }),
    ...(options.campaign === undefined ? {} : { campaign: options.campaign }),
    ...(options.userId === undefined ? {} : { user_id: options.userId }),
    ...(options.canvas === undefined ? {} : { canvas: options.canvas }),
    ...(options.journey === undefined ? {} : { journey: options.journey }),
    ...(options.text === undefined ? {} : { text: options.text }),
    ...(from === undefined ? {} : { from: new Date(from.start).toISOString() }),
    ...(to === undefined ? {} : { to: new Date(to.end).toISOString() }),
  };
  if (options.listing !== true && options.layout === undefined) {
    const primary = await primaryHasLedger(loaded, options.destination, options.project);
    const ledgers = primary === false ? [] : await openLedgerDestinations(loaded, options.destination);
    if (ledgers.some((ledger) => ledger.hasLedger)) {
      try {
        const listing = await listFromLedger(ledgers, {
          filters: { ...ledgerFiltersOf(options, recipients, { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) }), ...(messageId === undefined ? {} : { messageId }) },
          indexFile: options.index === undefined ? defaultIndexFile(loaded) : path.resolve(options.index),
        });
        for (const { destination, reason } of listing.unsearched) process.stderr.write(`warning: destination "${destination}" was not searched: ${reason}.\n`);
        const destinations = new Map<string, DestinationV1>();
        for (const ledger of ledgers) if (ledger.destination !== undefined) destinations.set(ledger.name, ledger.destination);
        const { bundleItems } = await import('../viewer/export/bundle-response.js');
        return { items: bundleItems(listing.objects), destinations, source: listing.source, searched: listing.destinations, filters: recorded, close: () => closeAll(ledgers) };
      } catch (error) {
        await closeAll(ledgers);
        throw textQueryError(error);
      }
    }
    await closeAll(ledgers);
  }
  if (messageId !== undefined) return undefined;
  for (const [flag, value] of [
    ['--text', options.text],
    ['--user-id', options.userId],
    ['--canvas', options.canvas],
    ['--journey', options.journey],
  ] as const) {
    if (value !== undefined) throw new CliError(`${flag} needs a ledger: no destination searched holds one.`, { exitCode: exitCodes.usage, code: 'ledger_required', hint: 'Turn the ledger on (docs/ledger.md).' });
  }
  const source = await openArchiveSource(options);
  try {
    const result = await listArchive(source, { filters: filtersFrom({ ...options, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) }, source) });
    return {
      items: result.entries.map((entry) => ({ destination: source.destinationName, key: entry.key })),
      destinations: new Map([[source.destinationName, source.destination]]),
      source: 'listing',
      searched: [source.destinationName],
      filters: recorded,
      close: () => source.close(),
    };
  } catch (error) {
    await source.close();
    throw error;
  }
}

function progressReporter(json: boolean): (progress: BundleProgress) => void {
  const tty = process.stderr.isTTY === true && !json;
  let lastLine = 0;
  return ({ done, total, bytes }) => {
    const text = `exported ${done}/${total} object(s), ${formatBytes(bytes)}`;
    if (tty) {
      process.stderr.write(`\r\u001b[2K${text}${done === total ? '\n' : ''}`);
      return;
    }
    // Without a terminal: about twenty lines for any size of export.
    const step = Math.max(1, Math.ceil(total / 20));
    if (done === total || done - lastLine >= step) {
      lastLine = done;
      process.stderr.write(`${text}\n`);
    }
  };
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function runExport(reference: string | undefined, options: ExportOptions): Promise<void> {
  const out = path.resolve(options.out);
  if (existsSync(out) && options.force !== true) {
    throw new CliError(`${options.out} exists.`, { exitCode: exitCodes.usage, code: 'output_exists', hint: 'Choose another --out, or pass --force to overwrite it.' });
  }
  // The ZIP writer (fflate) is loaded only by the commands that write bundles, not by every command (the worker).
  const { BundleTooLargeError, writeBundle } = await import('../viewer/export/write-bundle.js');
  // A key (it has a slash) is read directly; a message id is looked up in the ledger first, where its copies are listed whatever their key's extension.
  const selection =
    reference === undefined ? (await selectBySearch(options))! : reference.includes('/') ? await selectByReference(reference, options) : ((await selectBySearch(options, reference)) ?? (await selectByReference(reference, options)));
  let result: WriteBundleResult;
  // Written beside the target and renamed when complete: a failed export never leaves a file that looks like a whole bundle.
  const partial = `${out}.partial-${process.pid}`;
  try {
    if (selection.items.length === 0) {
      throw new CliError(`No messages match (searched ${selection.searched.join(', ')}); nothing was written.`, { exitCode: exitCodes.notFound, code: 'nothing_to_export', hint: 'Check the filters with `sentcopy ls`.' });
    }
    const output = createWriteStream(partial, { mode: 0o600, flags: 'wx' });
    const query: BundleQuery = { who: whoAmI(), tool: `sentcopy ${cliVersion}`, kind: reference === undefined ? 'search' : 'message', filters: selection.filters, source: selection.source, destinations: selection.searched };
    result = await writeBundle({ items: selection.items, destinations: selection.destinations, query, output, onProgress: progressReporter(options.json === true) }).catch(async (error: unknown) => {
      output.destroy();
      await finished(output).catch(() => undefined);
      throw error;
    });
    await rename(partial, out);
  } catch (error) {
    await rm(partial, { force: true });
    if (error instanceof BundleTooLargeError) throw new CliError(`${error.message} Nothing was written.`, { exitCode: exitCodes.usage, code: 'bundle_too_large', hint: 'Split the export into several bundles.', cause: error });
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
      throw new CliError(`Could not write the bundle (${code}: ${(error as Error).message}); nothing was left at ${options.out}.`, {
        exitCode: exitCodes.failure,
        code: 'bundle_write_failed',
        hint: 'Make room (or fix the permissions) where --out and the temporary folder (TMPDIR) are, or choose another --out, then run the export again.',
        cause: error,
      });
    }
    throw error;
  } finally {
    await selection.close();
  }
  const sha256 = await sha256OfFile(out);
  for (const entry of result.missing) process.stderr.write(`warning: ${entry.destination}: ${entry.key} is not in the bundle: ${entry.reason}.\n`);
  for (const entry of result.problems) process.stderr.write(`warning: ${entry.destination}: ${entry.key} is in the bundle as stored, but ${entry.problems.join('; ')}.\n`);
  emit(
    options,
    { out: options.out, sha256, objects: result.objects, bytes: result.bytes, source: selection.source, destinations: selection.searched, missing: result.missing, problems: result.problems },
    () =>
      `Wrote ${options.out}: ${result.objects} message(s), ${formatBytes(result.bytes)} stored (answered from the ${selection.source}).\nSHA-256 of the bundle: ${sha256}\nCheck it offline: sentcopy verify-bundle ${options.out}   (or unzip it and run sha256sum -c SHA256SUMS)`,
  );
  if (result.missing.length > 0 || result.problems.length > 0) process.exitCode = exitCodes.problemsFound;
}

async function runVerifyBundle(file: string, options: { json?: boolean }): Promise<void> {
  try {
    await access(file, constants.R_OK);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CliError(missing ? `${file} does not exist.` : `${file} cannot be read: ${(error as Error).message}`, {
      exitCode: missing ? exitCodes.notFound : exitCodes.failure,
      code: missing ? 'bundle_not_found' : 'bundle_unreadable',
      cause: error,
    });
  }
  const { verifyBundle } = await import('../viewer/export/verify-bundle.js');
  const check = await verifyBundle(file);
  emit(options, { file, intact: check.problems.length === 0, objects: check.objects, verified: check.verified, problems: check.problems }, () => {
    if (check.problems.length === 0) return `${file}: intact. ${check.verified} of ${check.objects} object(s) match their SHA-256 in manifest.json and SHA256SUMS, and nothing else is in it.`;
    const lines = check.problems.map((problem) => `${problem.kind.toUpperCase()}  ${problem.path}: ${problem.reason}`);
    return `${lines.join('\n')}\n\n${file}: NOT intact: ${check.problems.length} problem(s); ${check.verified} of ${check.objects} object(s) match.`;
  });
  if (check.problems.length > 0) process.exitCode = exitCodes.problemsFound;
}
