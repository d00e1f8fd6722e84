import { Command } from 'commander';
import { QueueError, salvageEmbeddedQueue, type SalvageReport } from '@sentcopy/worker';
import { CliError, emit, exitCodes } from '../cli-kit/index.js';

interface SalvageOptions {
  from: string;
  into: string;
  json: boolean;
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

function describe(report: SalvageReport): string {
  const { recovered } = report;
  const lines = [
    `Salvaged ${report.from} into ${report.into}:`,
    `  ${plural(recovered.queued, 'message')} waiting to be archived${recovered.rebuilt > 0 ? ` (${recovered.rebuilt} rebuilt from their content or an index: ready now, attempt history lost)` : ''}`,
    `  ${plural(recovered.deadLetters, 'dead letter')}`,
    `  ${plural(recovered.recentAcks, 'remembered archived id')} (de-duplication)`,
  ];
  if (report.lost.length > 0) {
    lines.push('', `${plural(report.lost.length, 'message')} could not be read (the content is damaged); ask their producers to send them again:`);
    for (const message of report.lost) lines.push(`  project ${message.project}  message_id ${message.messageId}  (${message.state === 'queued' ? 'was waiting' : 'was a dead letter'})`);
  }
  if (report.unattributed > 0) lines.push('', `${plural(report.unattributed, 'message')} had readable content but no project or message id, and were left out.`);
  if (report.damagedRanges.length > 0) {
    lines.push('', 'Unreadable spans (messages stored there may be lost without a record):');
    for (const range of report.damagedRanges) lines.push(`  ${range.table}: ids after ${range.afterId}${range.throughId === undefined ? ' to the end' : ` through ${range.throughId}`}`);
  }
  lines.push('', `The damaged file was not changed. Start the worker on the new queue: sentcopy worker --queue ${report.into} (or set queue.path).`);
  return lines.join('\n');
}

function runSalvage(options: SalvageOptions): void {
  let report: SalvageReport;
  try {
    report = salvageEmbeddedQueue({ from: options.from, into: options.into });
  } catch (error) {
    if (QueueError.isInstance(error)) {
      const usage = error.kind === 'invalid_input' || error.kind === 'incompatible';
      throw new CliError(error.message, { exitCode: usage ? exitCodes.usage : exitCodes.failure, code: usage ? 'usage' : 'unreadable', cause: error });
    }
    throw error;
  }
  emit(options, report, () => describe(report));
  if (!report.complete) process.exitCode = exitCodes.problemsFound;
}

/** `sentcopy queue salvage`: copies what can be read out of a damaged embedded queue into a new one. */
export function registerQueueCommand(program: Command): void {
  const queue = program.command('queue').description("The worker's embedded queue: recover the messages of a damaged queue file.");
  queue
    .command('salvage')
    .description('Copy every readable message (waiting, claimed, dead letters) of a damaged queue file into a new queue folder, and report what could not be read.')
    .requiredOption('--from <file>', 'the damaged queue file (queue.db) or its folder; only read, never changed or deleted')
    .requiredOption('--into <folder>', 'folder for the new queue (created; must not hold a queue yet)')
    .option('--json', 'print the report as one JSON document on stdout', false)
    .addHelpText(
      'after',
      `
When the worker reports its queue damaged (/readyz 503 "damaged: …", sentcopy_queue_problem
{problem="damaged"} 1, a queue.unhealthy alert), it refuses new messages. Stop it, salvage, and start
it on the new folder. Claimed messages become ready again; retry schedules and dead letters are kept.
Messages whose content cannot be read are listed by project and message id, so their producers can
send them again. Exit code 0 when everything was read, 4 when something could not be.

Examples:
  $ sentcopy queue salvage --from .sentcopy/queue/queue.db --into .sentcopy/queue-salvaged
  $ sentcopy worker --queue .sentcopy/queue-salvaged
  $ sentcopy queue salvage --from /var/lib/sentcopy/queue --into /var/lib/sentcopy/queue-2 --json`,
    )
    .action((options: SalvageOptions) => runSalvage(options));
}
