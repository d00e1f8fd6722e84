import { Option, type Command } from 'commander';
import { defaultRecipientKeyVariable, environmentWithEnvFile, projectKeyLayout } from '@sentcopy/worker';
import { DestinationError, isKeyLayoutPresetName, KeyLayoutError, keyLayoutPresets, readKeyLayout, RecipientKeyError, retryInline, RetryExhaustedError, type DestinationV1, type KeyLayoutReader, type ProfileName } from '@sentcopy/core';
import { addClusterOptions, CliError, clusterOf, defaultConfigFile, exitCodes, openDestination, readConfig, type LoadedConfig } from '../cli-kit/index.js';

/** Options that choose which archive a browsing command reads. */
export interface SourceOptions {
  /** Configuration file. */
  readonly config: string;
  /** NATS server of a cluster whose configuration to read instead of the file. */
  readonly nats?: string;
  /** The cluster's deployment name. */
  readonly natsName?: string;
  /** Destination name in the configuration. */
  readonly destination?: string;
  /** Project id: picks its destination and layout, and filters by it. */
  readonly project?: string;
  /** Key layout: a preset name or a template. */
  readonly layout?: string;
}

/** An archive opened for reading. */
export interface ArchiveSource {
  /** The destination's name in the configuration. */
  readonly destinationName: string;
  /** The destination. */
  readonly destination: DestinationV1;
  /** The layout keys were written with, read backwards (core's `readKeyLayout`). */
  readonly reader: KeyLayoutReader;
  /** The profile objects were most likely written with, when the configuration or the preset says (objects written by sentcopy record it). */
  readonly profileHint?: ProfileName;
  /** The folder of the configuration file (where `.sentcopy/` lives). */
  readonly baseDir: string;
  /** Releases the destination. */
  close(): Promise<void>;
}

/** Adds `-c/--config` (or `--nats` for a cluster's), `--destination`, `--project` and `--layout` to a command. */
export function addSourceOptions(command: Command): Command {
  return addClusterOptions(command)
    .option('-c, --config <file>', 'configuration file', defaultConfigFile)
    .option('-d, --destination <name>', 'destination to read (default: the destination of --project, else the one destination projects write to, else the only one configured)')
    .option('-p, --project <id>', 'project: reads its destination with its layout, and keeps only its messages')
    .addOption(
      new Option('--layout <layout>', "key layout of the archive: sentcopy, sentcopy-unkeyed, braze, clevertap, iterable, or a template such as '{project_id}/{yyyymmdd}/{message_id}.json.gz' (default: the project's layout in the config)"),
    );
}

/**
 * The deployment's recipient key, for layouts with `{hmac(recipient)}`: the variable the
 * configuration's `recipient_hash_key` names (else `SENTCOPY_RECIPIENT_KEY`), from the environment
 * or, for a configuration file, the env file beside it. `undefined` when it is not set.
 */
export async function loadRecipientKey(loaded: LoadedConfig): Promise<string | undefined> {
  const env = loaded.cluster === undefined ? await environmentWithEnvFile(loaded.file) : process.env;
  const value = env[loaded.config.recipient_hash_key?.env ?? defaultRecipientKeyVariable];
  return value === undefined || value === '' ? undefined : value;
}

const expandPreset = (layout: string): string => (isKeyLayoutPresetName(layout) ? keyLayoutPresets[layout] : layout);

/** Opens the archive the options name. Errors say which option to fix. */
export async function openArchiveSource(options: SourceOptions): Promise<ArchiveSource> {
  const loaded = await readConfig(options.config, clusterOf(options));
  const { destinations, projects } = loaded.config;
  const destinationNames = Object.keys(destinations);
  const project = options.project === undefined ? undefined : projects[options.project];

  let destinationName = options.destination;
  if (destinationName === undefined && project?.destination !== undefined) destinationName = project.destination;
  if (destinationName === undefined) {
    const used = [...new Set(Object.values(projects).flatMap((entry) => (entry.destination === undefined ? [] : [entry.destination])))];
    if (destinationNames.length === 1) destinationName = destinationNames[0]!;
    else if (used.length === 1) destinationName = used[0]!;
    else {
      throw new CliError(destinationNames.length === 0 ? `${loaded.file} has no destination.` : `Several destinations are configured; which one should be read?`, {
        exitCode: exitCodes.usage,
        code: 'destination_required',
        hint: destinationNames.length === 0 ? 'Add one with `sentcopy destinations connect`.' : `Pass --destination NAME (one of ${destinationNames.join(', ')}) or --project ID.`,
      });
    }
  }

  let layout = options.layout;
  let profileHint: ProfileName | undefined;
  if (layout === undefined) {
    const writers = project !== undefined ? [project] : Object.values(projects).filter((entry) => entry.destination === destinationName);
    const layouts = new Set(writers.map((entry) => expandPreset(projectKeyLayout(loaded.config, entry))));
    const profiles = new Set(writers.map((entry) => entry.profile ?? 'sentcopy'));
    if (layouts.size > 1) {
      throw new CliError(`The projects writing to "${destinationName}" use different key layouts; which one should be read?`, {
        exitCode: exitCodes.usage,
        code: 'layout_required',
        hint: 'Pass --project ID to read one project, or --layout sentcopy|sentcopy-unkeyed|braze|clevertap|iterable|TEMPLATE.',
      });
    }
    layout = [...layouts][0] ?? 'sentcopy';
    if (profiles.size === 1) profileHint = [...profiles][0];
  } else {
    if (isKeyLayoutPresetName(layout)) profileHint = layout === 'sentcopy-unkeyed' ? 'sentcopy' : layout;
  }

  let reader: KeyLayoutReader;
  try {
    reader = readKeyLayout(layout);
    // Only a layout with the keyed hash needs the secret; listing works without it.
    const recipientKey = reader.usesRecipientKey ? await loadRecipientKey(loaded) : undefined;
    if (recipientKey !== undefined) reader = readKeyLayout(layout, { recipientKey });
  } catch (error) {
    if (RecipientKeyError.isInstance(error)) {
      throw new CliError(`recipient_hash_key: ${error.message}`, { exitCode: exitCodes.usage, code: 'invalid_recipient_key', hint: 'Use the secret the archive was written with (at least 16 bytes).' });
    }
    if (KeyLayoutError.isInstance(error)) {
      throw new CliError(`--layout: ${error.message}`, { exitCode: exitCodes.usage, code: 'invalid_layout', hint: 'Use a preset (sentcopy, sentcopy-unkeyed, braze, clevertap, iterable) or a template like the one in your configuration.' });
    }
    throw error;
  }

  const destination = await openDestination(loaded, destinationName);
  return {
    destinationName,
    destination,
    reader,
    baseDir: loaded.baseDir,
    ...(profileHint === undefined ? {} : { profileHint }),
    close: async () => destination.close?.(),
  };
}

/**
 * True when the store's client refused to return an object because the bytes it received do not
 * match the checksum the store recorded (the S3 SDK checks `x-amz-checksum-sha256` on every read):
 * the object is corrupt, which no retry can fix.
 */
export function isChecksumFailure(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    if (/checksum mismatch/i.test(current.message)) return true;
  }
  return false;
}

/** A read the store's client refused because the object fails its checksum; thrown past the retries. */
export class ChecksumFailureError extends Error {
  constructor(
    readonly key: string,
    cause: unknown,
  ) {
    super(`the store's own checksum check failed when reading it`, { cause });
    this.name = 'ChecksumFailureError';
  }
}

/** Reads an object; a checksum failure becomes a {@link ChecksumFailureError} at once, not a retried `unknown` error. */
export async function getObject(destination: DestinationV1, key: string) {
  try {
    return await destination.get(key);
  } catch (error) {
    if (isChecksumFailure(error)) throw new ChecksumFailureError(key, error);
    throw error;
  }
}

/** Turns a destination failure into what the user sees: outages exit 5, refusals 1, both with what to do next. */
export function destinationFailure(error: unknown, source: { readonly destinationName: string }, doing: string): unknown {
  if (error instanceof ChecksumFailureError) {
    return new CliError(`The object ${error.key} is corrupt: ${error.message}.`, { exitCode: exitCodes.problemsFound, code: 'object_corrupt', hint: 'Run `sentcopy verify` on this archive to find any others.', cause: error });
  }
  const last = RetryExhaustedError.isInstance(error) ? error.lastError : error;
  if (!DestinationError.isInstance(last)) return error;
  const where = `destination "${source.destinationName}"`;
  switch (last.kind) {
    case 'unreachable':
    case 'rate_limited':
    case 'unknown':
      return new CliError(`Could not ${doing} in ${where}: ${last.message}`, {
        exitCode: exitCodes.unavailable,
        code: 'destination_unavailable',
        hint: 'Check the network and the store, then run the command again (`sentcopy destinations probe` tells more).',
        cause: error,
      });
    case 'unauthorized':
      return new CliError(`The ${where} refused the credentials while trying to ${doing}: ${last.message}`, {
        exitCode: exitCodes.failure,
        code: 'destination_unauthorized',
        hint: 'Check the credentials (their environment variables) and that they may list and read objects.',
        cause: error,
      });
    default:
      return new CliError(`Could not ${doing} in ${where}: ${last.message}`, { exitCode: exitCodes.failure, code: 'destination_failed', cause: error });
  }
}

/** Runs a read with the quick inline retries (throttling, a dropped connection), then reports a failure in CLI terms. */
export async function withRetries<T>(source: { readonly destinationName: string }, doing: string, operation: () => Promise<T>): Promise<T> {
  try {
    return (await retryInline(operation, { budgetMs: 10_000, maxAttempts: 4 })).value;
  } catch (error) {
    throw destinationFailure(error, source, doing);
  }
}
