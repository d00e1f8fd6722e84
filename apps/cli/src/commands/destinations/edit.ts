import { Option, type Command } from 'commander';
import { addClusterOptions, CliError, clusterOf, defaultConfigFile, emit, exitCodes, readConfig, describeSaveReport, saveReportExitCode } from '../../cli-kit/index.js';
import {
  addFieldOptions,
  addProjectOptions,
  anyChangeGiven,
  applyFieldOptions,
  applyProjectOptions,
  clearList,
  descriptorOf,
  findDestination,
  projectsUsing,
  type CommandLineDescriptors,
  type DestinationOptionSet,
  type ParsedOptions,
} from './destination-options.js';
import { describeSettings } from './describe-destination.js';
import { probeAndSave } from './save-destination.js';

interface EditOptions extends ParsedOptions {
  readonly config: string;
  readonly nats?: string;
  readonly natsName?: string;
  readonly clear?: string[];
  readonly skipProbe?: boolean;
  readonly json?: boolean;
}

/** `sentcopy destinations edit NAME …`: changes a destination's settings after probing the result. */
export function registerEditCommand(destinations: Command, found: CommandLineDescriptors): void {
  let set: DestinationOptionSet = { options: [] };
  const command = destinations
    .command('edit')
    .description("Change a destination's settings or point projects at it; the result is probed before it is saved, and running workers apply it live.")
    .argument('<name>', 'the destination to change')
    .option('-c, --config <file>', 'configuration file', defaultConfigFile)
    .addOption(new Option('--clear <options>', 'remove settings, named by their options, comma-separated (e.g. key-prefix,kms-key)').argParser(clearList(() => set)))
    .option('--skip-probe', 'save without probing (risky: a wrong or public bucket is only found by the worker, whose messages then wait in the queue)')
    .option('--json', 'print the result as JSON');
  addProjectOptions(command);
  set = addFieldOptions(command, found.known);
  addClusterOptions(command);
  command
    .addHelpText(
      'after',
      `
Takes the same per-type options as \`connect\` (the type itself cannot change: connect a new
destination and point the projects at it). Switches have a --no- form, e.g. --no-legal-hold.

Examples:
  $ sentcopy destinations edit prod --kms-key arn:aws:kms:eu-west-1:123456789012:key/1234abcd
  $ sentcopy destinations edit prod --clear key-prefix --no-force-path-style
  $ sentcopy destinations edit prod --project marketing --channels email,push
  $ sentcopy destinations edit prod --access-key-id-env NEW_KEY_ID --secret-access-key-env NEW_SECRET --json`,
    )
    .action(async (name: string, options: EditOptions) => edit(name, options, set));
}

async function edit(name: string, options: EditOptions, set: DestinationOptionSet): Promise<void> {
  const loaded = await readConfig(options.config, clusterOf(options));
  const current = findDestination(loaded.config, loaded.file, name);
  const clear = options.clear ?? [];
  if (!anyChangeGiven(set, options) && clear.length === 0) {
    throw new CliError('Nothing to change: give at least one setting, --clear, or --project.', {
      exitCode: exitCodes.usage,
      code: 'usage',
      hint: `Run \`sentcopy destinations edit --help\` for the options; \`sentcopy destinations show ${name}\` shows the current ones.`,
    });
  }
  const descriptor = await descriptorOf(current, loaded.baseDir, `destinations.${name}`);
  const entry = applyFieldOptions(descriptor, set, current, options, loaded.baseDir, clear);
  const withDestination = { ...loaded.config, destinations: { ...loaded.config.destinations, [name]: entry } };
  const { config, projects } = applyProjectOptions(withDestination, name, options);
  const { probe, saved } = await probeAndSave(loaded, config, name, entry, descriptor, options.skipProbe === true);
  const users = projectsUsing(config, name);

  emit(options, { file: loaded.file, destination: name, type: entry.type, settings: entry, projectsAdded: projects, projects: users, probe, ...saved }, () => {
    const lines = [`Updated destination "${name}" (${entry.type}) in ${loaded.file}.`, ...describeSettings(entry).map((line) => `  ${line}`)];
    lines.push(probe.skipped === true ? 'Probe skipped: the worker probes it before use and keeps its messages queued until it passes.' : 'Probe passed.');
    lines.push(users.length > 0 ? `Used by project(s) ${users.join(', ')}; a running worker applies this within seconds.` : 'No project uses it.');
    lines.push(...describeSaveReport(saved));
    return lines.join('\n');
  });
  process.exitCode = saveReportExitCode(saved);
}
