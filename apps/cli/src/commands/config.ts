import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { configTextSha256, environmentWithEnvFile, parseConfigText } from '@sentcopy/worker';
import { addClusterOptions, awaitWorkers, CliError, clusterOf, defaultConfigFile, describePushOutcome, emit, exitCodes, wholeNumber, withClusterStore, type ClusterLocation } from '../cli-kit/index.js';

interface ClusterOptions {
  nats?: string;
  natsName: string;
  json?: boolean;
}

function requireCluster(options: ClusterOptions): ClusterLocation {
  const cluster = clusterOf(options);
  if (cluster === undefined) {
    throw new CliError('No NATS server given.', { exitCode: exitCodes.usage, code: 'usage', hint: 'Pass --nats nats://HOST:4222 or set SENTCOPY_NATS_URL.' });
  }
  return cluster;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`Cannot read ${file} (${code ?? 'unknown error'}).`, { exitCode: code === 'ENOENT' ? exitCodes.notFound : exitCodes.failure, code: 'file_unreadable' });
  }
}

/** `sentcopy config check|push|pull`: validate a configuration, and share one with a cluster of workers. */
export function registerConfigCommand(program: Command): void {
  const config = program
    .command('config')
    .description("Check a configuration file, or read and change a cluster's shared configuration (NATS JetStream).")
    .addHelpText(
      'after',
      `
A cluster of workers (sentcopy worker --nats URL) reads its configuration from the key-value
bucket <name>-config instead of a file. The first worker seeds it from its own file; afterwards
pull it, edit it, and push it back: every worker applies it within seconds, and a configuration
with problems is refused before it is stored.

Examples:
  $ sentcopy config check sentcopy.config.json
  $ export SENTCOPY_NATS_URL=nats://10.0.0.5:4222
  $ sentcopy config pull --out cluster.json && $EDITOR cluster.json && sentcopy config push cluster.json`,
    );

  config
    .command('check')
    .description('Validate a configuration file and list every problem by path, as the worker will.')
    .argument('[file]', 'the configuration file', defaultConfigFile)
    .option('--no-env', 'do not check that the environment variables the file names are set (for a file meant for another machine)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The worker refuses a configuration whose { "env": "NAME" } secrets name variables that are not
set, so this check reads this shell's environment (and the env file beside the configuration, as
the worker does) too; pass --no-env for a file that runs elsewhere.
Exit 0 when valid, 2 with every problem by path when not, 3 when the file does not exist.

Examples:
  $ sentcopy config check
  $ sentcopy config check /etc/sentcopy.json --json
  $ sentcopy config check cluster.json --no-env`,
    )
    .action(async (file: string, options: { json?: boolean; env: boolean }) => {
      const absolute = path.resolve(file);
      const parsed = await parseConfigText(await readText(absolute), absolute, options.env ? { env: await environmentWithEnvFile(absolute), baseDir: path.dirname(absolute) } : { baseDir: path.dirname(absolute) });
      emit(
        options,
        { file: absolute, ok: true, destinations: Object.keys(parsed.destinations), projects: Object.keys(parsed.projects) },
        () => `${absolute} is valid: ${Object.keys(parsed.destinations).length} destination(s), ${Object.keys(parsed.projects).length} project(s).`,
      );
    });

  const push = config.command('push').description("Validate a configuration file and make it the cluster's configuration.").argument('[file]', 'the configuration file', defaultConfigFile);
  addClusterOptions(push, true)
    .option('--wait <seconds>', 'how long to wait for the workers to report (0 to 600)', wholeNumber(0, 600), 10)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Nothing is stored when the file has problems (exit 2). Secrets stay { "env": "NAME" } references,
read on each worker. After storing it, waits (--wait seconds) for every running worker to report
that it applied it; exit 4 when a worker refused it (say, a variable unset on that machine: it
keeps its previous configuration and reports not ready) or did not answer in time.

Examples:
  $ sentcopy config push cluster.json --nats nats://10.0.0.5:4222
  $ SENTCOPY_NATS_URL=nats://10.0.0.5:4222 sentcopy config push cluster.json --nats-name staging`,
    )
    .action(async (file: string, options: ClusterOptions & { wait: number }) => {
      const absolute = path.resolve(file);
      const text = await readText(absolute);
      await parseConfigText(text, absolute, { shared: true, baseDir: path.dirname(absolute) });
      const { bucket, workers } = await withClusterStore(
        requireCluster(options),
        async (store) => {
          await store.write(text);
          return { bucket: store.bucket, workers: await awaitWorkers(store, configTextSha256(text), options.wait * 1000) };
        },
        path.dirname(absolute),
      );
      emit(options, { file: absolute, bucket, pushed: true, workers }, () => [`Stored ${absolute} in the ${bucket} bucket.`, ...describePushOutcome(workers)].join('\n'));
      if (workers.refused.length > 0 || workers.pending.length > 0) process.exitCode = exitCodes.problemsFound;
    });

  const pull = config.command('pull').description("Print the cluster's configuration, or write it to a file.").option('-o, --out <file>', 'write it to this file (mode 0600) instead of printing it');
  addClusterOptions(pull, true)
    .option('--json', 'print a JSON summary instead of the configuration (with --out)')
    .addHelpText(
      'after',
      `
Examples:
  $ sentcopy config pull --nats nats://10.0.0.5:4222 > cluster.json
  $ sentcopy config pull --out cluster.json --json`,
    )
    .action(async (options: ClusterOptions & { out?: string }) => {
      const { text, bucket } = await withClusterStore(requireCluster(options), async (store) => ({ text: await store.read(), bucket: store.bucket }));
      if (text === undefined) {
        throw new CliError(`The ${bucket} bucket holds no configuration yet.`, {
          exitCode: exitCodes.notFound,
          code: 'config_missing',
          hint: 'Start a worker with --nats (it seeds the bucket from its file) or run `sentcopy config push FILE`.',
        });
      }
      if (options.out === undefined) {
        process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
        return;
      }
      const out = path.resolve(options.out);
      await writeFile(out, text, { mode: 0o600 });
      emit(options, { file: out, bucket }, () => `Wrote the cluster's configuration to ${out}.`);
    });
}
