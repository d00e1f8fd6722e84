import type { Command } from 'commander';
import type { CommandLineDescriptors } from './destination-options.js';
import { registerConnectCommand } from './connect.js';
import { registerDeleteCommand } from './delete.js';
import { registerEditCommand } from './edit.js';
import { registerProbeCommand } from './probe.js';
import { registerShowCommand } from './show.js';

/** `sentcopy destinations connect|edit|delete|show|probe`: manage where each project's messages are archived. */
export function registerDestinationsCommand(program: Command, found: CommandLineDescriptors): void {
  const destinations = program.command('destinations').description('Connect, change, check and remove the buckets and folders messages are archived in. Changes apply to running workers without a restart.');
  destinations.addHelpText(
    'after',
    `
Every change is written atomically to the configuration file, which running workers watch: a
new or changed destination is probed by the worker too and takes writes once it passes.

Examples:
  $ sentcopy destinations show
  $ sentcopy destinations connect prod --type s3 --bucket acme-archive --region eu-west-1 --project default
  $ sentcopy destinations probe
  $ sentcopy destinations delete old --yes`,
  );
  registerConnectCommand(destinations, found);
  registerEditCommand(destinations, found);
  registerDeleteCommand(destinations);
  registerShowCommand(destinations);
  registerProbeCommand(destinations);
}
