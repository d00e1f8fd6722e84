import path from 'node:path';
import type { Command } from 'commander';
import type { IndexUpdateResult, LedgerIndex, TextUpdateResult } from '@sentcopy/ledger-index';
import { addClusterOptions, clusterOf, defaultConfigFile, emit, exitCodes, readConfig } from '../cli-kit/index.js';
import { closeAll, defaultIndexFile, openIndexIfPresent, openLedgerDestinations, updateIndexed, type LedgerDestination } from '../archive/ledger-search.js';
import { destinationFailure } from '../archive/archive-source.js';
import { messageTextExtractor } from '../archive/message-text.js';

interface IndexOptions {
  config: string;
  nats?: string;
  natsName?: string;
  destination?: string;
  index?: string;
  json?: boolean;
  text?: boolean;
}

/** `sentcopy index`: builds or updates the local ledger index. */
export function registerIndexCommand(program: Command): void {
  const command = program.command('index').description('Build or update the local index of the ledger (.sentcopy-ledger/) of every destination, for instant searches with `sentcopy ls`.');
  addClusterOptions(command)
    .option('-c, --config <file>', 'configuration file', defaultConfigFile)
    .option('-d, --destination <name>', 'index only this destination (default: every destination in the configuration)')
    .option('--index <file>', 'the index file (default: .sentcopy/ledger-index.sqlite beside the configuration)')
    .option('--text', 'turn on full-text search over subjects and bodies (`ls --text`): reads each message object once and copies its words into the index file; later runs keep it up to date')
    .option('--no-text', 'turn full-text search off: drop the copied text from the index file (rebuilt, so none of it stays)')
    .option('--json', 'print one JSON document for scripts')
    .addHelpText(
      'after',
      `
The index is a SQLite file (mode 0600: it holds recipient hashes and ids) built from the ledger
segments only; message objects are never read (unless --text, below). It is incremental: each
writer's last indexed segment and its SHA-256 are kept, so a run reads only new segments, and an
interrupted run (Ctrl-C) keeps what it indexed and continues next time. A segment that changed after it was indexed, or a
missing one, is reported (exit 4) and that chain is not indexed past it: run
\`sentcopy verify --complete\`. Erasures (tombstones) are honoured. \`sentcopy ls\` updates the index
by itself before answering, once the file exists.

Full-text search is off by default, because it copies message content to this disk. --text turns
it on and the index remembers it: each run then reads, once, every message object not yet
text-indexed (checking its bytes against the SHA-256 the ledger recorded) and indexes its words —
subject, plain-text body, HTML rendered as text, raw MIME's subject and text, SMS and WhatsApp
bodies, push titles and bodies (no address, header or attachment). Erased messages' words are
removed from the file. --no-text drops the text and rebuilds the file (VACUUM) so none of it stays.
An object missing, altered or unreadable is reported (exit 4) and tried again next run.

Progress (segments and entries per second; objects per second for text) goes to stderr.

Exit codes: 0 up to date, 4 problems found, 5 a destination could not be read, 130 interrupted.

Examples:
  $ sentcopy index
  $ sentcopy index --destination archive --json
  $ sentcopy index --text              then: sentcopy ls --text '"order shipped" NOT refund'
  $ sentcopy index --no-text           removes the copied text`,
    )
    .action(async (options: IndexOptions) => runIndex(options));
}

async function runIndex(options: IndexOptions): Promise<void> {
  const loaded = await readConfig(options.config, clusterOf(options));
  const file = options.index === undefined ? defaultIndexFile(loaded) : path.resolve(options.index);
  const ledgers = await openLedgerDestinations(loaded, options.destination);
  const index = openIndexIfPresent(file, true)!;
  if (options.text === false && index.textEnabled()) {
    if (options.json !== true) process.stderr.write(`index: dropping the full-text table and rebuilding ${file}…\n`);
    index.disableText();
  } else if (options.text === true && !index.textEnabled()) index.enableText();
  const text = index.textEnabled();
  const textResults: TextUpdateResult[] = [];
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = performance.now();
  const results: IndexUpdateResult[] = [];
  try {
    for (const ledger of ledgers) {
      if (!ledger.hasLedger) continue;
      let lastReport = started;
      let segments = 0;
      let lines = 0;
      let reported = -1;
      const report = (force: boolean) => {
        const now = performance.now();
        if ((!force && now - lastReport < 500) || reported === segments) return;
        lastReport = now;
        reported = segments;
        const seconds = Math.max(0.001, (now - started) / 1000);
        if (options.json !== true) process.stderr.write(`index: ${ledger.name}: ${segments} segment(s), ${lines} entries (${(segments / seconds).toFixed(1)} segments/s, ${Math.round(lines / seconds)} entries/s)\n`);
      };
      const result = await updateIndexed(index, ledger, {
        signal: controller.signal,
        onProgress: (progress) => {
          segments = progress.segments;
          lines = progress.lines;
          // The first segment is reported at once, so a long run shows it is under way.
          report(progress.segments === 1);
        },
      });
      report(true);
      results.push(result);
      if (result.interrupted) break;
      if (text) {
        const textResult = await updateText(index, ledger, controller.signal, options.json === true);
        textResults.push(textResult);
        if (textResult.interrupted) break;
      }
    }
  } catch (error) {
    index.close();
    throw error;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await closeAll(ledgers);
  }
  {
    const status = index.status();
    index.close();
    const interrupted = results.some((result) => result.interrupted) || textResults.some((result) => result.interrupted);
    const problems = [...results.flatMap((result) => result.problems), ...textResults.flatMap((result) => result.problems)];
    const unsearched = ledgers.filter((ledger) => !ledger.hasLedger).map((ledger) => ({ destination: ledger.name, reason: ledger.error === undefined ? 'it holds no ledger' : `it could not be read: ${ledger.error}` }));
    const elapsedMs = Math.round(performance.now() - started);
    if (results.length > 0 || ledgers.every((ledger) => !ledger.hasLedger)) {
      emit(options, { index: file, interrupted, elapsedMs, updates: results, text: { enabled: text, updates: textResults }, unsearched, destinations: status }, () => {
        const lines = results.map(
          (result) => `${result.destination}: ${result.segments} new segment(s), ${result.added} object(s) added, ${result.tombstones} tombstone(s)${result.duplicates > 0 ? `, ${result.duplicates} repeated entries counted once` : ''}.`,
        );
        for (const result of textResults) lines.push(`${result.destination}: text of ${result.indexed} object(s) indexed${result.pending > 0 ? `, ${result.pending} still without text` : ''}.`);
        for (const entry of unsearched) lines.push(`${entry.destination}: not indexed (${entry.reason}).`);
        for (const problem of problems) lines.push(`  ${problem.kind.padEnd(13)} ${problem.key}`, `  ${''.padEnd(13)} ${problem.reason}`);
        for (const entry of status) lines.push(`Index of ${entry.destination}: ${entry.objects} object(s) (${entry.erased} erased), ${entry.writers.length} chain(s)${text ? `, text of ${entry.textIndexed} indexed` : ''}.`);
        lines.push(text ? 'Full-text search is on: the index file holds the words of subjects and bodies (`sentcopy index --no-text` removes them).' : 'Full-text search is off.');
        lines.push(interrupted ? `Interrupted: what was indexed is kept; run \`sentcopy index\` again to continue.` : `Index ${file} is up to date.`);
        return lines.join('\n');
      });
    }
    if (interrupted) process.exitCode = 130;
    else if (problems.length > 0) process.exitCode = exitCodes.problemsFound;
    else if (unsearched.some((entry) => entry.reason.startsWith('it could not be read'))) process.exitCode = exitCodes.unavailable;
  }
}

/** Text-indexes one destination's new objects, with progress on stderr. */
async function updateText(index: LedgerIndex, ledger: LedgerDestination, signal: AbortSignal, quiet: boolean): Promise<TextUpdateResult> {
  const started = performance.now();
  let lastReport = started;
  let objects = 0;
  let total = 0;
  let reported = -1;
  const report = (force: boolean) => {
    const now = performance.now();
    if ((!force && now - lastReport < 500) || reported === objects || quiet) return;
    lastReport = now;
    reported = objects;
    const seconds = Math.max(0.001, (now - started) / 1000);
    process.stderr.write(`index: ${ledger.name}: text of ${objects}/${total} object(s) (${Math.round(objects / seconds)} objects/s)\n`);
  };
  try {
    const result = await index.updateText(ledger.name, ledger.destination!, {
      extract: messageTextExtractor(ledger.destination!),
      signal,
      onProgress: (progress) => {
        objects = progress.objects;
        total = progress.objectsTotal;
        report(reported === -1);
      },
    });
    report(true);
    return result;
  } catch (error) {
    throw destinationFailure(error, { destinationName: ledger.name }, 'read message objects for the full-text index');
  }
}
