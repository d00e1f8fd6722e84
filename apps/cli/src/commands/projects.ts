import { Option, type Command } from 'commander';
import { channelNamePattern, channels as knownChannels, profileNames, type Channel, type ProfileName } from '@sentcopy/core';
import type { ProjectConfig } from '@sentcopy/worker';
import { addClusterOptions, askYesNo, canPrompt, CliError, clusterOf, defaultConfigFile, emit, exitCodes, readConfig, textTable } from '../cli-kit/index.js';
import { keyActive, keyId, newKey, requireProject, saveAndReport, withProject } from './keys.js';

interface ProjectsOptions {
  readonly config: string;
  readonly nats?: string;
  readonly natsName?: string;
  readonly json?: boolean;
}

const projectIdPattern = /^[A-Za-z0-9._-]{1,128}$/;

function parseChannels(value: string): Channel[] {
  const list = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  const pattern = new RegExp(channelNamePattern, 'u');
  const bad = list.find((item) => !pattern.test(item));
  if (list.length === 0 || bad !== undefined) {
    throw new CliError(`--channels ${bad === undefined ? 'names no channel' : `has "${bad}", which is not a channel name`}: list them separated by commas, e.g. email,sms (lower-case letters, digits, _ and -, starting with a letter).`, {
      exitCode: exitCodes.usage,
      code: 'usage',
    });
  }
  return [...new Set(list)] as Channel[];
}

/** `sentcopy projects add|ls|rm`: the projects of a configuration file or a cluster, applied live. */
export function registerProjectsCommand(program: Command): void {
  const projects = program
    .command('projects')
    .description('Add, list and remove projects (each sending application: its destination, channels and API keys).')
    .addHelpText(
      'after',
      `
Changes are written to the configuration file (atomically) or, with --nats, to the cluster's
configuration; running workers apply them within seconds. Manage a project's keys with
\`sentcopy keys\`.

Examples:
  $ sentcopy projects add checkout --destination archive --channels email,sms
  $ sentcopy projects ls
  $ sentcopy projects rm checkout --yes`,
    );

  const common = (command: Command) => addClusterOptions(command.option('-c, --config <file>', 'configuration file', defaultConfigFile)).option('--json', 'print the result as JSON');

  common(
    projects
      .command('add')
      .description('Add a project with a new API key (printed once).')
      .argument('<id>', 'the project id (the project_id its messages carry): 1 to 128 letters, digits, ".", "-" and "_"')
      .option('--destination <name>', 'where its messages go (default: the only destination, when there is one)')
      .option('--channels <list>', `channels it archives, separated by commas (default: ${knownChannels.join(',')})`)
      .addOption(new Option('--profile <name>', 'how the stored JSON and key are shaped (default: sentcopy)').choices([...profileNames]))
      .option('--label <text>', 'label of its first API key', 'created by sentcopy projects add')
      .option('--no-key', 'create it without an API key (add one later with `sentcopy keys add`)'),
  )
    .addHelpText('after', '\nExamples:\n  $ sentcopy projects add checkout\n  $ sentcopy projects add marketing --destination s3-archive --channels email --json')
    .action(async (id: string, options: ProjectsOptions & { destination?: string; channels?: string; profile?: ProfileName; label: string; key: boolean }) => {
      if (!projectIdPattern.test(id))
        throw new CliError(`"${id}" is not a valid project id: use 1 to 128 letters, digits, ".", "-" and "_".`, { exitCode: exitCodes.usage, code: 'usage', hint: 'Pick an id such as checkout or marketing-emails.' });
      const channelList = options.channels === undefined ? [...knownChannels] : parseChannels(options.channels);
      const loaded = await readConfig(options.config, clusterOf(options));
      if (Object.hasOwn(loaded.config.projects, id)) {
        throw new CliError(`Project "${id}" already exists in ${loaded.file}; it was left unchanged.`, { exitCode: exitCodes.failure, code: 'project_exists', hint: `Add a key to it with \`sentcopy keys add --project ${id}\`.` });
      }
      const destinations = Object.keys(loaded.config.destinations);
      const destination = options.destination ?? (destinations.length === 1 ? destinations[0] : undefined);
      if (destination === undefined) {
        throw new CliError(destinations.length === 0 ? 'The configuration has no destination yet.' : 'Name the destination of the project with --destination.', {
          exitCode: exitCodes.usage,
          code: 'usage',
          hint: destinations.length === 0 ? 'Connect one with `sentcopy destinations connect`.' : `Configured destinations: ${destinations.join(', ')}.`,
        });
      }
      if (!destinations.includes(destination)) {
        throw new CliError(`No destination named "${destination}" in ${loaded.file}.`, {
          exitCode: exitCodes.notFound,
          code: 'destination_not_found',
          hint: destinations.length === 0 ? 'Connect one with `sentcopy destinations connect`.' : `Configured destinations: ${destinations.join(', ')}.`,
        });
      }
      const now = new Date();
      const created = options.key ? newKey(options.label, now) : undefined;
      const project: ProjectConfig = { destination, channels: channelList, ...(options.profile === undefined ? {} : { profile: options.profile }), api_keys: created === undefined ? [] : [created.entry] };
      await saveAndReport(loaded, withProject(loaded.config, id, project), options, { project: id, destination, channels: channelList, ...(created === undefined ? {} : { apiKey: created.apiKey, keyId: keyId(created.entry) }) }, [
        `Added project "${id}" (${channelList.join(', ')} into destination "${destination}") to ${loaded.file}.`,
        ...(created === undefined
          ? ['It has no API key yet: add one with `sentcopy keys add --project ' + id + '`.']
          : ['Its API key is shown only now (the configuration stores its SHA-256):', '', `  export SENTCOPY_KEY=${created.apiKey}`, '']),
      ]);
    });

  common(projects.command('ls').description('List projects: destination, channels, profile and active keys.'))
    .addHelpText('after', '\nExamples:\n  $ sentcopy projects ls\n  $ sentcopy projects ls --nats nats://10.0.0.5:4222 --json')
    .action(async (options: ProjectsOptions) => {
      const loaded = await readConfig(options.config, clusterOf(options));
      const now = Date.now();
      const rows = Object.entries(loaded.config.projects).map(([id, project]) => ({
        id,
        destination: project.destination ?? null,
        channels: project.channels,
        profile: project.profile ?? 'sentcopy',
        keys: project.api_keys.length,
        activeKeys: project.api_keys.filter((key) => keyActive(key, now)).length,
      }));
      emit(options, { projects: rows }, () =>
        rows.length === 0
          ? 'No projects. Add one with `sentcopy projects add ID`.'
          : textTable(
              ['PROJECT', 'DESTINATION', 'CHANNELS', 'PROFILE', 'ACTIVE KEYS'],
              rows.map((row) => [row.id, row.destination ?? '(none)', row.channels.join(','), row.profile, `${row.activeKeys}${row.keys > row.activeKeys ? ` (+${row.keys - row.activeKeys} expired)` : ''}`]),
            ),
      );
    });

  common(
    projects
      .command('rm')
      .description('Remove a project: its keys are refused at once, and its queued messages are dead-lettered (replayable), never dropped.')
      .argument('<id>', 'the project id')
      .option('-y, --yes', 'do not ask for confirmation', false),
  )
    .addHelpText('after', '\nExamples:\n  $ sentcopy projects rm checkout\n  $ sentcopy projects rm checkout --yes --json')
    .action(async (id: string, options: ProjectsOptions & { yes: boolean }) => {
      const loaded = await readConfig(options.config, clusterOf(options));
      const project = requireProject(loaded, id);
      if (!options.yes) {
        if (!canPrompt() || options.json === true) {
          throw new CliError(`Removing project "${id}" needs a confirmation: its ${project.api_keys.length} API key(s) stop working at once.`, {
            exitCode: exitCodes.usage,
            code: 'confirmation_required',
            hint: 'Add --yes to remove it without a prompt.',
          });
        }
        if (!(await askYesNo(`Remove project "${id}"? Its ${project.api_keys.length} API key(s) stop working at once; messages of it still queued are dead-lettered.`))) {
          throw new CliError('Nothing was changed.', { exitCode: exitCodes.failure, code: 'cancelled' });
        }
      }
      const remaining = Object.fromEntries(Object.entries(loaded.config.projects).filter(([name]) => name !== id));
      await saveAndReport(loaded, { ...loaded.config, projects: remaining }, options, { project: id, removed: true, keysRevoked: project.api_keys.map(keyId) }, [
        `Removed project "${id}" from ${loaded.file}: its API keys are refused from now on.`,
        'Messages of it still in the queue are dead-lettered with the reason (see `sentcopy dlq ls`); nothing is dropped.',
      ]);
    });
}
