import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { channels, type Channel } from '@sentcopy/core';
import { askYesNo, canPrompt, CliError, clusterOf, defaultConfigFile, addClusterOptions, emit, exitCodes, readConfig } from '../cli-kit/index.js';
import { parseDateArgument, type DateArgument } from '../archive/date-range.js';
import { eraseObjects, PendingRecordError, resumePendingErasure, type DestinationErasure, type ErasureItem, type ResumedErasure } from '../archive/erase-objects.js';
import { readPendingErasures } from '../archive/erase-pending.js';
import { closeAll, defaultIndexFile, matchingEntries, openIndexIfPresent, openLedgerDestinations, readDestinationLedger, recipientHashes, updateIndexed, type FoundObject, type LedgerDestination } from '../archive/ledger-search.js';
import { maskRecipient } from '../archive/mask-recipient.js';

interface EraseOptions {
  config: string;
  nats?: string;
  natsName?: string;
  destination?: string;
  recipient?: string;
  resume?: boolean;
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
    .option('--recipient <address>', 'the person: an email address, a phone number with its country code, or a push token (normalized and hashed here; never stored or printed)')
    .option('--resume', 'only write the tombstones earlier erasures owe (their local record in .sentcopy/erase-pending/), then stop; every erasure does this first anyway')
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

Versions: where the store keeps earlier versions (S3 versioning, which Object Lock turns on; Azure
blob versions and snapshots; GCS noncurrent generations), every version of each object is deleted
by its version id, so no bytes stay behind a delete marker; a version under retention or a legal
hold is held, with the reason, and the receipt lists each version. A destination that cannot tell
whether its store keeps versions reports the objects it deleted as "unconfirmed", never erased.

Before its first delete, an erasure keeps a local record of the objects it is about to delete
(.sentcopy/erase-pending/ beside the configuration, mode 0600: keys and SHA-256s, no recipient),
removed once their tombstones are written. If the tombstones cannot be written (or the run is
killed), \`sentcopy erase --resume\` — and any later erasure, first — writes the ones still owed.

Exit codes: 0 everything found was erased, 4 some objects are held, unconfirmed or were already
missing, 5 a destination could not be reached (run it again: it continues), 1 tombstones could not
be written (the record stays: run \`sentcopy erase --resume\`), 2 no confirmation.

Examples:
  $ sentcopy erase --recipient ana.garcia@example.com --dry-run
  $ sentcopy erase --recipient ana.garcia@example.com --project shop --receipt erasure-2026-03-02.json
  $ sentcopy erase --recipient +15550100100 --since 2025-01 --yes --json
  $ sentcopy erase --resume`,
    )
    .action(async (options: EraseOptions) => runErase(options));
}

function versionLines(item: ErasureItem): string[] {
  return (item.versions ?? [])
    .filter((version) => version.outcome !== 'erased')
    .map((version) => `            version ${version.version}${version.current ? ' (current)' : ''}: ${version.outcome}${version.reason === undefined ? '' : ` (${version.reason})`}`);
}

function resumedLines(resumed: readonly ResumedErasure[]): string[] {
  return resumed.map((entry) =>
    entry.error === undefined
      ? `${entry.destination}: earlier erasure ${entry.writer}: ${entry.written} owed tombstone(s) written${entry.stillPresent > 0 ? ` (${entry.stillPresent} object(s) were never deleted: nothing owed)` : ''}.`
      : `${entry.destination}: earlier erasure ${entry.writer}: OWED TOMBSTONES STILL NOT WRITTEN: ${entry.error} (record kept: ${entry.file})`,
  );
}

function summary(erasures: readonly DestinationErasure[], resumed: readonly ResumedErasure[], dryRun: boolean): string {
  const lines: string[] = resumedLines(resumed);
  for (const erasure of erasures) {
    lines.push(
      `${erasure.destination}: ${erasure.matched} object(s) found; ${dryRun ? 'would erase' : 'erased'} ${erasure.erased.length}, held ${erasure.held.length}${erasure.unconfirmed.length > 0 ? `, deleted but not confirmed erased ${erasure.unconfirmed.length}` : ''}${erasure.missing.length > 0 ? `, already missing ${erasure.missing.length}` : ''}${erasure.failed.length > 0 ? `, not reached ${erasure.failed.length}` : ''}${erasure.alreadyErased > 0 ? ` (${erasure.alreadyErased} erased before)` : ''}.`,
    );
    if (erasure.versions === 'erased' && !dryRun) lines.push(`  every version of each object was deleted (${erasure.erased.reduce((sum, item) => sum + (item.versions?.length ?? 0), 0)} version(s) and delete markers).`);
    if (erasure.versions === 'unknown' && erasure.unconfirmed.length > 0) {
      lines.push(`  WARNING: this destination cannot tell whether the store keeps earlier versions of deleted objects (versioning, snapshots): the ${erasure.unconfirmed.length} object(s) deleted are not confirmed erased.`);
    }
    for (const item of erasure.held) lines.push(`  held      ${item.key}`, `            ${item.reason}: ${item.detail ?? ''}`, ...versionLines(item));
    for (const item of erasure.unconfirmed) lines.push(`  unconfirmed ${item.key}`);
    for (const item of erasure.missing) lines.push(`  missing   ${item.key}`);
    for (const item of erasure.failed) lines.push(`  failed    ${item.key}`, `            ${item.detail ?? ''}`, ...versionLines(item));
    if (erasure.tombstones.writer !== null) {
      lines.push(
        erasure.tombstones.error === undefined
          ? `  ${erasure.tombstones.count} tombstone(s) written in chain ${erasure.tombstones.writer} (${erasure.tombstones.segments.join(', ')}).`
          : `  TOMBSTONES NOT WRITTEN (chain ${erasure.tombstones.writer}): ${erasure.tombstones.error}\n  The objects above were deleted; the tombstones they are owed are recorded in ${erasure.tombstones.pending ?? 'a pending record'}: run \`sentcopy erase --resume\` once the ledger can be written.`,
      );
    }
  }
  const erased = erasures.reduce((sum, erasure) => sum + erasure.erased.length, 0);
  const held = erasures.reduce((sum, erasure) => sum + erasure.held.length, 0);
  const reasons = new Map<string, number>();
  for (const item of erasures.flatMap((erasure) => erasure.held)) reasons.set(item.reason ?? 'unknown', (reasons.get(item.reason ?? 'unknown') ?? 0) + 1);
  if (erasures.length > 0) lines.push('', `${dryRun ? 'Would erase' : 'Erased'} ${erased} object(s); held ${held}${reasons.size === 0 ? '' : ` (${[...reasons].map(([reason, count]) => `${reason}: ${count}`).join(', ')})`}.`);
  else if (resumed.length === 0) lines.push('No erasure owes tombstones.');
  return lines.join('\n');
}

async function runErase(options: EraseOptions): Promise<void> {
  if (options.since !== undefined && options.until !== undefined && options.since.start >= options.until.end) {
    throw new CliError('--since is after --until.', { exitCode: exitCodes.usage, code: 'invalid_date_range', hint: 'Give the earlier date to --since.' });
  }
  if (options.resume !== true && options.recipient === undefined) {
    throw new CliError('erase needs --recipient ADDRESS (or --resume, to only write the tombstones earlier erasures owe).', { exitCode: exitCodes.usage, code: 'recipient_required' });
  }
  if (options.resume === true && options.recipient !== undefined) {
    throw new CliError('--resume only writes the tombstones earlier erasures owe; run it without --recipient, then erase again.', { exitCode: exitCodes.usage, code: 'resume_with_recipient' });
  }
  const loaded = await readConfig(options.config, clusterOf(options));
  const hashes = options.recipient === undefined ? [] : await recipientHashes(options.recipient, options.channel, loaded);
  const dryRun = options.dryRun === true;
  const ledgers: LedgerDestination[] = await openLedgerDestinations(loaded, options.destination);
  const erasures: DestinationErasure[] = [];
  const resumed: ResumedErasure[] = [];
  const pendingWarnings: string[] = [];
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
    // Tombstones earlier erasures still owe are written first, so nothing they deleted is left looking deleted behind the archive's back.
    const pending = await readPendingErasures(loaded.baseDir);
    const tombstonedBy = new Map<string, Set<string>>();
    for (const entry of pending) {
      if (entry.record === undefined) {
        pendingWarnings.push(`pending-erasure record ${entry.file} cannot be used (${entry.problem}); the tombstones it names are not written.`);
        continue;
      }
      const ledger = ledgers.find((candidate) => candidate.name === entry.record!.destination);
      if (ledger?.destination === undefined || !ledger.hasLedger) {
        if (options.destination === undefined || options.destination === entry.record.destination) {
          pendingWarnings.push(
            `pending-erasure record ${entry.file} (destination "${entry.record.destination}") was not resumed: ${ledger === undefined ? 'the destination is not in the configuration' : (ledger.error ?? 'its ledger cannot be read')}.`,
          );
        }
        continue;
      }
      if (dryRun) {
        pendingWarnings.push(`pending-erasure record ${entry.file} (destination "${entry.record.destination}") owes up to ${entry.record.objects.length} tombstone(s); a dry run does not write them.`);
        continue;
      }
      let tombstoned = tombstonedBy.get(ledger.name);
      if (tombstoned === undefined) {
        tombstoned = new Set((await readDestinationLedger(ledger)).tombstones.keys());
        tombstonedBy.set(ledger.name, tombstoned);
      }
      const result = await resumePendingErasure(entry.file, entry.record, ledger.destination, tombstoned);
      resumed.push(result);
      if (result.error === undefined) for (const object of entry.record.objects) tombstoned.add(object.key);
    }
    for (const ledger of ledgers.filter((entry) => entry.hasLedger && options.resume !== true)) {
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
      const yes = await askYesNo(`Erase ${total} object(s) of ${maskRecipient(options.recipient!)} from ${found.map((entry) => entry.ledger.name).join(', ')}? This cannot be undone.`);
      if (!yes) throw new CliError('Nothing was erased.', { exitCode: exitCodes.usage, code: 'not_confirmed' });
    }
    for (const { ledger, objects, tombstoned } of found) {
      try {
        erasures.push(await eraseObjects(ledger.name, ledger.destination!, objects, { dryRun, tombstoned, baseDir: loaded.baseDir }));
      } catch (error) {
        if (!(error instanceof PendingRecordError)) throw error;
        throw new CliError(`${error.message}. Erasure keeps that record before deleting, so no tombstone can be lost.`, {
          code: 'erase_pending_unwritable',
          hint: `Make ${path.join(loaded.baseDir, '.sentcopy', 'erase-pending')} writable (or free disk space), then run the erasure again.`,
        });
      }
    }
    const indexFile = options.index === undefined ? defaultIndexFile(loaded) : path.resolve(options.index);
    if (!dryRun && (found.length > 0 || resumed.length > 0)) {
      const index = openIndexIfPresent(indexFile, false);
      if (index !== undefined) {
        try {
          for (const ledger of ledgers.filter((entry) => found.some((item) => item.ledger === entry) || resumed.some((item) => item.destination === entry.name))) await updateIndexed(index, ledger);
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
    resume: options.resume === true,
    recipient: options.recipient === undefined ? null : maskRecipient(options.recipient),
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
    unconfirmed: erasures.reduce((sum, erasure) => sum + erasure.unconfirmed.length, 0),
    resumed,
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
  if (options.resume !== true) for (const entry of unsearched) process.stderr.write(`warning: destination "${entry.destination}" was not searched: ${entry.reason}.\n`);
  for (const warning of pendingWarnings) process.stderr.write(`warning: ${warning}\n`);
  for (const erasure of erasures) {
    if (erasure.unconfirmed.length > 0) {
      process.stderr.write(`warning: destination "${erasure.destination}" cannot tell whether its store keeps earlier versions of objects: ${erasure.unconfirmed.length} object(s) deleted there are not confirmed erased.\n`);
    }
    if (erasure.tombstones.error !== undefined) {
      process.stderr.write(
        `error: destination "${erasure.destination}": the tombstones of the objects deleted now were not written (${erasure.tombstones.error}); they are owed in ${erasure.tombstones.pending ?? 'a pending record'}: run \`sentcopy erase --resume\`.\n`,
      );
    }
  }
  emit(options, receipt, () => summary(erasures, resumed, dryRun));
  if (erasures.some((erasure) => erasure.tombstones.error !== undefined) || resumed.some((entry) => entry.error !== undefined)) process.exitCode = exitCodes.failure;
  else if (receipt.failed > 0 || unsearched.some((entry) => entry.reason.startsWith('it could not be read'))) process.exitCode = exitCodes.unavailable;
  else if (receipt.held > 0 || receipt.missing > 0 || receipt.unconfirmed > 0 || pendingWarnings.length > 0) process.exitCode = exitCodes.problemsFound;
}
