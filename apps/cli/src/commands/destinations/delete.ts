import type { Command } from 'commander';
import type { WorkerConfig } from '@sentcopy/worker';
import { addClusterOptions, askYesNo, canPrompt, CliError, clusterOf, defaultConfigFile, emit, exitCodes, readConfig, saveConfig, describeSaveReport, saveReportExitCode } from '../../cli-kit/index.js';
import { findDestination, projectsUsing } from './destination-options.js';

interface DeleteOptions {
  readonly config: string;
  readonly nats?: string;
  readonly natsName?: string;
  readonly yes?: boolean;
  readonly force?: boolean;
  readonly json?: boolean;
}

/** `sentcopy destinations delete NAME`: removes a destination from the configuration (never its objects). */
export function registerDeleteCommand(destinations: Command): void {
  const command = destinations
    .command('delete')
    .description('Remove a destination from the configuration, after a confirmation. The objects already archived in it are left untouched.')
    .argument('<name>', 'the destination to remove')
    .option('-c, --config <file>', 'configuration file', defaultConfigFile)
    .option('-y, --yes', 'do not ask for confirmation (required when no terminal can ask)')
    .option('--force', 'delete it although projects use it: they are left without a destination, their new messages are refused and the worker dead-letters their queued ones')
    .option('--json', 'print the result as JSON');
  addClusterOptions(command);
  command
    .addHelpText(
      'after',
      `
A destination that a project still uses is not deleted: point the project at another one first
(\`sentcopy destinations edit OTHER --project ID\`). With --force it is deleted anyway; the
project then has no destination, so a running worker refuses its new messages and moves its queued
ones to the dead letters (replay them with \`sentcopy dlq replay\` once it has a destination again).

Examples:
  $ sentcopy destinations delete old-archive
  $ sentcopy destinations delete old-archive --yes --json
  $ sentcopy destinations delete staging --force --yes`,
    )
    .action(async (name: string, options: DeleteOptions) => remove(name, options));
}

async function remove(name: string, options: DeleteOptions): Promise<void> {
  const loaded = await readConfig(options.config, clusterOf(options));
  findDestination(loaded.config, loaded.file, name);
  const users = projectsUsing(loaded.config, name);
  if (users.length > 0 && options.force !== true) {
    throw new CliError(`Destination "${name}" is used by project(s) ${users.join(', ')}; it was not deleted.`, {
      exitCode: exitCodes.failure,
      code: 'destination_in_use',
      hint: `Point them at another destination first (\`sentcopy destinations edit OTHER --project ${users[0]}\`), or pass --force: they are then left without a destination, and their queued messages are dead-lettered.`,
    });
  }
  if (options.yes !== true) {
    if (!canPrompt()) {
      throw new CliError(`Deleting destination "${name}" needs a confirmation, and there is no terminal to ask.`, { exitCode: exitCodes.usage, code: 'confirmation_required', hint: 'Pass --yes to confirm.' });
    }
    const consequence = users.length === 0 ? '' : ` Project(s) ${users.join(', ')} will have no destination: their new messages are refused and their queued ones dead-lettered.`;
    const accepted = await askYesNo(`Delete destination "${name}" from ${loaded.file}? Objects already archived in it stay where they are.${consequence}`);
    if (!accepted) throw new CliError(`Destination "${name}" was not deleted.`, { exitCode: exitCodes.failure, code: 'cancelled' });
  }
  const { [name]: _removed, ...destinations } = loaded.config.destinations;
  const projects: Record<string, WorkerConfig['projects'][string]> = {};
  for (const [id, project] of Object.entries(loaded.config.projects)) {
    if (project.destination === name) {
      const { destination: _lost, ...rest } = project;
      projects[id] = rest;
    } else projects[id] = project;
  }
  const saved = await saveConfig(loaded, { ...loaded.config, destinations, projects });
  emit(options, { file: loaded.file, deleted: name, detachedProjects: users, ...saved }, () =>
    [
      `Deleted destination "${name}" from ${loaded.file}; the objects archived in it were not touched.`,
      ...(users.length === 0 ? [] : [`Project(s) ${users.join(', ')} now have no destination: a running worker refuses their new messages and dead-letters their queued ones.`]),
      ...describeSaveReport(saved),
    ].join('\n'),
  );
  process.exitCode = saveReportExitCode(saved);
}
