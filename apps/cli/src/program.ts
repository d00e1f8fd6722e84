import { Command } from 'commander';
import { reportUsageErrors } from './cli-kit/index.js';
import { cliVersion } from './cli-version.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerConfigCommand } from './commands/config.js';
import { registerCostCommand } from './commands/cost.js';
import { registerDemoCommand } from './commands/demo.js';
import { noCommandLineDescriptors, type CommandLineDescriptors } from './commands/destinations/destination-options.js';
import { registerDestinationsCommand } from './commands/destinations/destinations-command.js';
import { registerDlqCommand } from './commands/dlq.js';
import { registerExportCommand } from './commands/export.js';
import { registerEraseCommand } from './commands/erase.js';
import { registerIndexCommand } from './commands/index.js';
import { registerIngestCommand } from './commands/ingest.js';
import { registerInitCommand } from './commands/init.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerLsCommand } from './commands/ls.js';
import { registerOpenCommand } from './commands/open.js';
import { registerProjectsCommand } from './commands/projects.js';
import { registerQueueCommand } from './commands/queue.js';
import { registerShowCommand } from './commands/show.js';
import { registerViewCommand } from './commands/view.js';
import { registerVerifyCommand } from './commands/verify.js';
import { registerWorkerCommand } from './commands/worker.js';

/**
 * Builds the `sentcopy` command line program. `destinations` are the descriptors the options of
 * `destinations connect|edit` come from, found by a first pass over the command line
 * (`findCommandLineDescriptors`). @default none: those commands offer no destination options
 */
export function createProgram(destinations: CommandLineDescriptors = noCommandLineDescriptors): Command {
  const program = new Command('sentcopy')
    .description('Keep an exact, immutable copy of every message you send, in a bucket you own.')
    .version(cliVersion, '-V, --version', 'print the version of sentcopy')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: true })
    .addHelpText(
      'after',
      `
Every command takes --json (one JSON document on stdout, errors as {"error":{code,message,hint}})
and --help with examples. Exit codes: 0 done, 1 failed, 2 wrong command line or configuration,
3 not found, 4 finished but found problems (rejected lines, corrupt or missing objects),
5 a destination or worker could not be reached (try again later).

Start here:
  $ sentcopy init                      write a configuration with a local-folder archive
  $ sentcopy worker                    take messages over HTTP and archive them
  $ sentcopy ls --project default      browse what was archived
  $ sentcopy verify                    re-hash every stored object`,
    );
  registerBenchCommand(program);
  registerConfigCommand(program);
  registerCostCommand(program);
  registerDemoCommand(program);
  registerDestinationsCommand(program, destinations);
  registerDlqCommand(program);
  registerExportCommand(program);
  registerEraseCommand(program);
  registerIndexCommand(program);
  registerIngestCommand(program);
  registerInitCommand(program);
  registerKeysCommand(program);
  registerLsCommand(program);
  registerOpenCommand(program);
  registerProjectsCommand(program);
  registerQueueCommand(program);
  registerShowCommand(program);
  registerVerifyCommand(program);
  registerViewCommand(program);
  registerWorkerCommand(program);
  const everyCommand = (command: Command): void => {
    reportUsageErrors(command);
    command.commands.forEach(everyCommand);
  };
  everyCommand(program);
  return program;
}
