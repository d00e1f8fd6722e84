import { randomBytes } from 'node:crypto';
import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DestinationV1 } from '@sentcopy/core';
import { buildDestination, configTextSha256, environmentWithEnvFile, loadConfigFile, parseConfigText, validateConfig, ConfigError, type WorkerConfig } from '@sentcopy/worker';
import { CliError } from './cli-error.js';
import { awaitWorkers, describePushOutcome, withClusterStore, type ClusterLocation, type PushOutcome } from './cluster-config.js';
import { exitCodes } from './exit-codes.js';

/** The configuration file commands use when `--config` is not given. */
export const defaultConfigFile = 'sentcopy.config.json';

/** A configuration read from its file, or from a cluster's key-value bucket. */
export interface LoadedConfig {
  /** Absolute path of the file, or for a cluster a phrase naming its bucket (for messages). */
  readonly file: string;
  /** The cluster it was read from, when it was; {@link saveConfig} writes it back there. */
  readonly cluster?: ClusterLocation;
  /** Folder relative paths in the configuration are resolved against. */
  readonly baseDir: string;
  /** The validated configuration. */
  readonly config: WorkerConfig;
}

/**
 * Reads and validates the configuration file, or with `cluster` the configuration a cluster of
 * workers shares. A missing file is a usage error that says how to create one; an invalid one lists
 * every problem by path.
 */
export async function readConfig(file: string = defaultConfigFile, cluster?: ClusterLocation): Promise<LoadedConfig> {
  if (cluster !== undefined) {
    return withClusterStore(cluster, async (store) => {
      const text = await store.read();
      const where = `the cluster's ${store.bucket} bucket`;
      if (text === undefined) {
        throw new CliError(`${where[0]!.toUpperCase()}${where.slice(1)} holds no configuration yet.`, {
          exitCode: exitCodes.notFound,
          code: 'config_missing',
          hint: 'Start a worker with --nats (it seeds the bucket from its file) or run `sentcopy config push FILE`.',
        });
      }
      return { file: where, cluster, baseDir: process.cwd(), config: await parseConfigText(text, where, { shared: true }) };
    });
  }
  const absolute = path.resolve(file);
  try {
    return { file: absolute, baseDir: path.dirname(absolute), config: await loadConfigFile(absolute) };
  } catch (error) {
    if (ConfigError.isInstance(error) && error.issues.some((issue) => issue.path === '' && issue.problem.startsWith('the file does not exist'))) {
      throw new CliError(`No configuration file at ${absolute}.`, { exitCode: exitCodes.usage, code: 'config_missing', hint: 'Create one with `sentcopy init`, or name yours with --config FILE.' });
    }
    throw error;
  }
}

/**
 * Validates `config` and writes it to `file` atomically (a temporary file renamed over it, mode
 * 0600), so a running worker watching the file never reads half of it.
 */
export async function writeConfig(file: string, config: WorkerConfig): Promise<void> {
  const result = await validateConfig(config, { baseDir: path.dirname(path.resolve(file)) });
  if (!result.ok) throw new ConfigError(file, result.issues);
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** What {@link saveConfig} learned about how the workers take the saved configuration. */
export interface SaveReport {
  /** A cluster's workers: which applied it, refused it, or did not answer within the wait. */
  readonly workers?: PushOutcome;
  /**
   * A file: the `{ "env": … }` references whose variables are not set in this shell, as `path:
   * problem` lines. A worker started from this shell would refuse the file (and keep its previous one).
   */
  readonly unsetVariables?: readonly string[];
}

/** How long {@link saveConfig} waits for a cluster's workers to report, in milliseconds. */
const workerReportWaitMs = 10_000;

/**
 * Saves a changed configuration where it was read from: the file (see {@link writeConfig}), or the
 * cluster's bucket, which every worker of the cluster watches; then reports what the workers will
 * make of it (see {@link SaveReport}).
 */
export async function saveConfig(loaded: LoadedConfig, config: WorkerConfig): Promise<SaveReport> {
  if (loaded.cluster === undefined) {
    await writeConfig(loaded.file, config);
    // The worker reads variables the environment lacks from the env file beside the configuration: so does this check.
    const checked = await validateConfig(config, { env: await environmentWithEnvFile(loaded.file), baseDir: loaded.baseDir });
    return checked.ok ? {} : { unsetVariables: checked.issues.map((issue) => `${issue.path}: ${issue.problem}`) };
  }
  const result = await validateConfig(config, { shared: true, baseDir: loaded.baseDir });
  if (!result.ok) throw new ConfigError(loaded.file, result.issues);
  const text = `${JSON.stringify(config, null, 2)}\n`;
  return withClusterStore(loaded.cluster, async (store) => {
    await store.write(text);
    return { workers: await awaitWorkers(store, configTextSha256(text), workerReportWaitMs) };
  });
}

/** The human lines of a {@link SaveReport} (none when there is nothing to say). */
export function describeSaveReport(report: SaveReport): string[] {
  if (report.workers !== undefined) return describePushOutcome(report.workers);
  if (report.unsetVariables === undefined) return [];
  return ['Warning: a worker started from this shell would refuse this configuration and keep its previous one:', ...report.unsetVariables.map((line) => `  ${line}`)];
}

/** Exit code for a saved configuration: 4 when a worker refused it or did not answer. */
export function saveReportExitCode(report: SaveReport): number {
  return report.workers !== undefined && (report.workers.refused.length > 0 || report.workers.pending.length > 0) ? exitCodes.problemsFound : exitCodes.ok;
}

/**
 * Creates the destination named `name` in the loaded configuration (secrets read from the
 * environment). Unknown names are a `not found` error listing the configured ones.
 */
export async function openDestination(loaded: LoadedConfig, name: string): Promise<DestinationV1> {
  const entry = loaded.config.destinations[name];
  if (entry === undefined) {
    const known = Object.keys(loaded.config.destinations);
    throw new CliError(`No destination named "${name}" in ${loaded.file}.`, {
      exitCode: exitCodes.notFound,
      code: 'destination_not_found',
      hint: known.length === 0 ? 'Add one with `sentcopy destinations connect`.' : `Configured destinations: ${known.join(', ')}.`,
    });
  }
  return buildDestination(name, entry, { baseDir: loaded.baseDir });
}
