import type { Command } from 'commander';
import { addClusterOptions, clusterOf, defaultConfigFile, emit, readConfig, textTable } from '../../cli-kit/index.js';
import { findDestination } from './destination-options.js';
import { describeLocation, describeSettings } from './describe-destination.js';

interface ShowOptions {
  readonly config: string;
  readonly nats?: string;
  readonly natsName?: string;
  readonly json?: boolean;
}

/** `sentcopy destinations show [NAME]`: settings (secrets as variable names only) and the projects using each. */
export function registerShowCommand(destinations: Command): void {
  const command = destinations
    .command('show')
    .description('List the destinations, or show one: its settings (secrets only as the names of their environment variables) and the projects archiving into it.')
    .argument('[name]', 'the destination to show (default: list every one)')
    .option('-c, --config <file>', 'configuration file', defaultConfigFile)
    .option('--json', 'print the result as JSON');
  addClusterOptions(command);
  command
    .addHelpText(
      'after',
      `
Examples:
  $ sentcopy destinations show
  $ sentcopy destinations show prod
  $ sentcopy destinations show --json -c /etc/sentcopy.json`,
    )
    .action(async (name: string | undefined, options: ShowOptions) => show(name, options));
}

async function show(name: string | undefined, options: ShowOptions): Promise<void> {
  const loaded = await readConfig(options.config, clusterOf(options));
  const { config } = loaded;
  const names = name === undefined ? Object.keys(config.destinations) : [(findDestination(config, loaded.file, name), name)];
  const destinations = await Promise.all(
    names.map(async (destination) => {
      const entry = config.destinations[destination]!;
      const projects = Object.entries(config.projects)
        .filter(([, project]) => project.destination === destination)
        .map(([id, project]) => ({ id, channels: [...project.channels] }));
      return { name: destination, type: entry.type, location: await describeLocation(entry, loaded.baseDir), settings: entry, projects };
    }),
  );
  const unassigned = Object.entries(config.projects)
    .filter(([, project]) => project.destination === undefined)
    .map(([id]) => id);

  emit(options, { file: loaded.file, destinations, ...(name === undefined ? { projectsWithoutDestination: unassigned } : {}) }, () => {
    if (name !== undefined) {
      const [one] = destinations;
      if (one === undefined) return '';
      return [
        `${one.name} (${one.type})`,
        ...describeSettings(one.settings).map((line) => `  ${line}`),
        one.projects.length === 0 ? 'Used by no project.' : `Used by: ${one.projects.map((project) => `${project.id} (${project.channels.join(', ')})`).join('; ')}`,
      ].join('\n');
    }
    if (destinations.length === 0) return `No destinations in ${loaded.file}. Add one with \`sentcopy destinations connect\`.`;
    const table = textTable(
      ['NAME', 'TYPE', 'LOCATION', 'PROJECTS'],
      destinations.map((destination) => [destination.name, destination.type, destination.location, destination.projects.map((project) => project.id).join(', ') || '-']),
    );
    return unassigned.length === 0 ? table : `${table}\n\nWithout a destination: ${unassigned.join(', ')} (their messages are refused).`;
  });
}
