import { Command } from 'commander';
import { registerConfigCommand } from './commands/config.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerWorkerCommand } from './commands/worker.js';

/** Builds the `sentcopy` command line program. */
export function createProgram(): Command {
  const program = new Command('sentcopy')
    .description('Keep an exact, immutable copy of every message you send, in a bucket you own.')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: true });
  registerConfigCommand(program);
  registerDemoCommand(program);
  registerWorkerCommand(program);
  return program;
}
