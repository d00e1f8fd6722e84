import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { channels, type Channel } from '@sentcopy/core';
import { askYesNo, canPrompt, CliError, clusterOf, defaultConfigFile, addClusterOptions, emit, exitCodes, readConfig } from '../cli-kit/index.js';
import { parseDateArgument, type DateArgument } from '../archive/date-range.js';
import { eraseObjects, type DestinationErasure } from '../archive/erase-objects.js';
import { closeAll, defaultIndexFile, matchingEntries, openIndexIfPresent, openLedgerDestinations, readDestinationLedger, recipientHashes, updateIndexed, type FoundObject, type LedgerDestination } from '../archive/ledger-search.js';
import { maskRecipient } from '../archive/mask-recipient.js';

interface EraseOptions {
  config: string;
  nats?: string;
  natsName?: string;
  destination?: string;
  recipient: string;
  channel?: Channel;
  project?: string;
  since?: DateArgument;
  until?: DateArgument;
  dryRun?: boolean;
  yes?: boolean;
  receipt?: string;
  index?: string;
  json?: boolean;
}

/** `sentcopy erase`: erases one person's messages, found through the ledger, where the store allows it. */
export function registerEraseCommand(program: Command): void {
  const command = program.command('erase').description("Erase one person's archived messages (to, cc or bcc), found through the ledger: delete each where the store allows it, record a tombstone, and print a receipt.");
  addClusterOptions(command)
    .option('-c, --config <file>', 'configuration file', defaultConfigFile)
    .requiredOption('--recipient <address>', 'the person: an email address, a phone number with its country code, or a push token (normalized and hashed here; never stored or printed)')
    .option('-d, --destination <name>', 'only this destination (default: every destination in the configuration)')
    .option('-p, --project <id>', 'only messages of this project')
    .addOption(new Option('--channel <channel>', 'only this channel (also says how to read --recipient)').choices(channels))
    .option('--since <date>', 'only messages sent on or after this UTC date (2026-01-31, 2026-01, or an ISO time)', parseDateArgument)
    .option('--until <date>', 'only messages sent on or before this UTC date', parseDateArgument)
    .option('--dry-run', 'only report what would be erased (each object is looked at, nothing is deleted)')
    .option('-y, --yes', 'do not ask for confirmation (needed when not run from a terminal)')
    .option('--receipt <file>', 'also write the receipt as JSON to this file (mode 0600)')
    .option('--index <file>', 'the local ledger index to update afterwards, when it exists (default: .sentcopy/ledger-index.sqlite beside the configuration)')
    .option('--json', 'print the receipt as one JSON document')
    .addHelpText(
      'after',
      `
The objects are found in the ledger (.sentcopy-ledger/) of every destination searched, by the
recipient's hash (to, cc and bcc): a destination without a ledger cannot be searched, and is named
in the receipt. Each object is checked to be in the store, deleted, and checked to be gone. Where a
retention period or a legal hold forbids it (S3 Object Lock, an Azure immutability policy, a GCS
retention policy or hold, an immutable file), the object is held, with the reason, and stays. Each
object erased gets a tombstone in the ledger (key, SHA-256, time and reason; no recipient), so
\`sentcopy verify --complete\` still proves the rest of the archive complete.

On S3, a bucket with Object Lock is versioned: a delete there hides the object behind a delete
marker, and its earlier version stays until its retention ends and a lifecycle rule removes it.

Exit codes: 0 everything found was erased, 4 some objects are held or were already missing,
5 a destination could not be reached (run it again: it continues), 1 tombstones could not be written,
2 no confirmation.

Examples:
  $ sentcopy erase --recipient ana.garcia@example.com --dry-run
  $ sentcopy erase --recipient ana.garcia@example.com --project shop --receipt erasure-2026-03-02.json
  $ sentcopy erase --recipient +15550100100 --since 2025-01 --yes --json`,
    )
    .action(async (options: EraseOptions) => runErase(options));
}

function summary(erasures: readonly DestinationErasure[], dryRun: boolean): string {
  const lines: string[] = [];
  for (const erasure of erasures) {
    lines.push(
      `${erasure.destination}: ${erasure.matched} object(s) found; ${dryRun ? 'would erase' : 'erased'} ${erasure.erased.length}, held ${erasure.held.length}${erasure.missing.length > 0 ? `, already missing ${erasure.missing.length}` : ''}${erasure.failed.length > 0 ? `, not reached ${erasure.failed.length}` : ''}${erasure.alreadyErased > 0 ? ` (${erasure.alreadyErased} erased before)` : ''}.`,
    );
    for (const item of erasure.held) lines.push(`  held      ${item.key}`, `            ${item.reason}: ${item.detail ?? ''}`);
    for (const item of erasure.missing) lines.push(`  missing   ${item.key}`);
    for (const item of erasure.failed) lines.push(`  failed    ${item.key}`, `            ${item.detail ?? ''}`);
    if (erasure.tombstones.writer !== null) {
      lines.push(
        erasure.tombstones.error === undefined
          ? `  ${erasure.tombstones.count} tombstone(s) written in chain ${erasure.tombstones.writer} (${erasure.tombstones.segments.join(', ')}).`
          : `  TOMBSTONES NOT WRITTEN (chain ${erasure.tombstones.writer}): ${erasure.tombstones.error}`,
      );
    }
  }
  const erased = erasures.reduce((sum, erasure) => sum + erasure.erased.length, 0);
  const held = erasures.reduce((sum, erasure) => sum + erasure.held.length, 0);
  const reasons = new Map<string, number>();
  for (const item of erasures.flatMap((erasure) => erasure.held)) reasons.set(item.reason ?? 'unknown', (reasons.get(item.reason ?? 'unknown') ?? 0) + 1);
  lines.push('', `${dryRun ? 'Would erase' : 'Erased'} ${erased} object(s); held ${held}${reasons.size === 0 ? '' : ` (${[...reasons].map(([reason, count]) => `${reason}: ${count}`).join(', ')})`}.`);
  return lines.join('\n');
}

async function runErase(options: EraseOptions): Promise<void> {
  if (options.since !== undefined && options.until !== undefined && options.since.start >= options.until.end) {
    throw new CliError('--since is after --until.', { exitCode: exitCodes.usage, code: 'invalid_date_range', hint: 'Give the earlier date to --since.' });
  }
  const loaded = await readConfig(options.config, clusterOf(options));
  const hashes = await recipientHashes(options.recipient, options.channel, loaded);
  const dryRun = options.dryRun === true;
  const ledgers: LedgerDestination[] = await openLedgerDestinations(loaded, options.destination);
  const erasures: DestinationErasure[] = [];
  const unsearched = ledgers.filter((ledger) => !ledger.hasLedger).map((ledger) => ({ destination: ledger.name, reason: ledger.error === undefined ? 'it holds no ledger' : `it could not be read: ${ledger.error}` }));
  try {
    if (ledgers.every((ledger) => !ledger.hasLedger)) {
      throw new CliError(`No destination searched holds a ledger, so this person's messages cannot be found without reading every object.`, {
        exitCode: exitCodes.usage,
        code: 'ledger_required',
        hint: 'Erasure finds objects through the ledger (docs/ledger.md). For an archive without one, `sentcopy ls --recipient` lists what keys show.',
      });
    }
    const found: { ledger: LedgerDestination; objects: FoundObject[]; tombstoned: Set<string> }[] = [];
    for (const ledger of ledgers.filter((entry) => entry.hasLedger)) {
      const read = await readDestinationLedger(ledger);
      const objects = matchingEntries(ledger.name, read, {
        recipients: hashes,
        includeErased: true,
        ...(options.project === undefined ? {} : { projectId: options.project }),
        ...(options.channel === undefined ? {} : { channel: options.channel }),
        ...(options.since === undefined ? {} : { sentFrom: options.since.start }),
        ...(options.until === undefined ? {} : { sentUntil: options.until.end }),
      });
      found.push({ ledger, objects, tombstoned: new Set([...read.tombstones.keys()]) });
    }
    const total = found.reduce((sum, entry) => sum + entry.objects.filter((object) => !entry.tombstoned.has(object.key)).length, 0);
    if (!dryRun && total > 0 && options.yes !== true) {
      if (!canPrompt()) {
        throw new CliError('erase deletes messages for good and needs a confirmation: pass --yes when not running from a terminal.', {
          exitCode: exitCodes.usage,
          code: 'confirmation_required',
          hint: 'Run with --dry-run first to see what would be erased.',
        });
      }
      const yes = await askYesNo(`Erase ${total} object(s) of ${maskRecipient(options.recipient)} from ${found.map((entry) => entry.ledger.name).join(', ')}? This cannot be undone.`);
      if (!yes) throw new CliError('Nothing was erased.', { exitCode: exitCodes.usage, code: 'not_confirmed' });
    }
    for (const { ledger, objects, tombstoned } of found) erasures.push(await eraseObjects(ledger.name, ledger.destination!, objects, { dryRun, tombstoned }));
    const indexFile = options.index === undefined ? defaultIndexFile(loaded) : path.resolve(options.index);
    if (!dryRun) {
      const index = openIndexIfPresent(indexFile, false);
      if (index !== undefined) {
        try {
          for (const { ledger } of found) await updateIndexed(index, ledger);
        } finally {
          index.close();
        }
      }
    }
  } finally {
    await closeAll(ledgers);
  }

  const receipt = {
    receipt: 'sentcopy-erasure',
    format: 1,
    at: new Date().toISOString(),
    dryRun,
    recipient: maskRecipient(options.recipient),
    filters: {
      project: options.project ?? null,
      channel: options.channel ?? null,
      since: options.since === undefined ? null : new Date(options.since.start).toISOString(),
      until: options.until === undefined ? null : new Date(options.until.end).toISOString(),
    },
    erased: erasures.reduce((sum, erasure) => sum + erasure.erased.length, 0),
    held: erasures.reduce((sum, erasure) => sum + erasure.held.length, 0),
    missing: erasures.reduce((sum, erasure) => sum + erasure.missing.length, 0),
    failed: erasures.reduce((sum, erasure) => sum + erasure.failed.length, 0),
    destinations: erasures,
    unsearched,
  };
  if (options.receipt !== undefined) {
    const file = path.resolve(options.receipt);
    try {
      await writeFile(file, `${JSON.stringify(receipt, null, 2)}\n`, { mode: 0o600 });
    } catch (error) {
      throw new CliError(`--receipt: cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'}); ${receipt.erased} object(s) were erased.`, { code: 'receipt_unwritable' });
    }
  }
  for (const entry of unsearched) process.stderr.write(`warning: destination "${entry.destination}" was not searched: ${entry.reason}.\n`);
  emit(options, receipt, () => summary(erasures, dryRun));
  if (erasures.some((erasure) => erasure.tombstones.error !== undefined)) process.exitCode = exitCodes.failure;
  else if (receipt.failed > 0 || unsearched.some((entry) => entry.reason.startsWith('it could not be read'))) process.exitCode = exitCodes.unavailable;
  else if (receipt.held > 0 || receipt.missing > 0) process.exitCode = exitCodes.problemsFound;
}
