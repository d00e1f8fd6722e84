import path from 'node:path';
import { isChannel, type Channel } from '@sentcopy/core';
import type { DestinationConfig, DestinationType, WorkerConfig } from '@sentcopy/worker';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { CliError, exitCodes } from '../../cli-kit/index.js';
import { channelNameHelp } from '../../archive/filter-options.js';

/** The destination types `--type` accepts. */
export const destinationTypes: readonly DestinationType[] = ['fs', 's3', 'azure', 'gcs'];

/** One command-line option that sets one field of a destination's configuration. */
interface FieldOption {
  /** Long option name without the dashes, e.g. `object-lock-mode`. */
  readonly name: string;
  /** Placeholder of the value; absent for a switch (`--x` / `--no-x`). */
  readonly value?: string;
  readonly description: string;
  /** The configuration field it sets (dotted for nested ones), per destination type it applies to. */
  readonly fields: Partial<Record<DestinationType, string>>;
  /** Turns the text into the stored value; throws `InvalidArgumentError` naming the problem. */
  readonly parse?: (value: string) => unknown;
  /** A file or folder: given relative to the current folder, stored relative to the configuration file's. */
  readonly isPath?: true;
}

const text = (value: string): string => {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty.');
  return value.trim();
};

/** A secret is never given on the command line (shell history, `ps`): only the name of the variable holding it. */
const environmentVariable = (value: string): { env: string } => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) {
    throw new InvalidArgumentError('must be the NAME of an environment variable (letters, digits and _), not the secret itself.');
  }
  return { env: value };
};

const url = (value: string): string => {
  if (!/^https?:\/\/[^\s]+$/.test(value)) throw new InvalidArgumentError('must be an http:// or https:// URL.');
  return value;
};

const days = (value: string): number => {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a whole number of days, 1 or more.');
  return parsed;
};

const octalMode = (value: string): string => {
  if (!/^0?[0-7]{3}$/.test(value.trim())) throw new InvalidArgumentError('must be permission bits in octal, e.g. 0600.');
  return value.trim();
};

const oneOf =
  <T extends string>(allowed: readonly T[]) =>
  (value: string): T => {
    const match = allowed.find((candidate) => candidate.toLowerCase() === value.trim().toLowerCase());
    if (match === undefined) throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}.`);
    return match;
  };

/** Every per-type option, in the order `--help` lists them. */
export const fieldOptions: readonly FieldOption[] = [
  { name: 'root', value: 'dir', description: 'fs: archive folder', fields: { fs: 'root' }, parse: text, isPath: true },
  { name: 'fsync', description: 'fs: flush each object to disk before reporting it stored (default on; --no-fsync turns it off)', fields: { fs: 'fsync' } },
  { name: 'create-root', description: 'fs: let the first probe or write create a missing folder (default on; --no-create-root for a mounted volume)', fields: { fs: 'create_root' } },
  { name: 'require-mount-point', description: 'fs: refuse the folder until it is a mount point (nothing lands beneath an unmounted volume)', fields: { fs: 'require_mount_point' } },
  { name: 'file-mode', value: 'octal', description: 'fs: permission bits of archived files (default 0600)', fields: { fs: 'file_mode' }, parse: octalMode },
  { name: 'directory-mode', value: 'octal', description: 'fs: permission bits of the folders it creates (default 0700)', fields: { fs: 'directory_mode' }, parse: octalMode },
  { name: 'bucket', value: 'name', description: 's3, gcs: the bucket (it must exist)', fields: { s3: 'bucket', gcs: 'bucket' }, parse: text },
  { name: 'container', value: 'name', description: 'azure: the container (it must exist)', fields: { azure: 'container' }, parse: text },
  { name: 'key-prefix', value: 'prefix', description: 's3, azure, gcs: prefix of every object key, e.g. archive/', fields: { s3: 'key_prefix', azure: 'key_prefix', gcs: 'key_prefix' }, parse: text },
  { name: 'region', value: 'region', description: 's3: AWS region (default: AWS_REGION, else us-east-1)', fields: { s3: 'region' }, parse: text },
  { name: 'endpoint', value: 'url', description: 's3: endpoint of an S3-compatible store (MinIO, R2, Ceph…)', fields: { s3: 'endpoint' }, parse: url },
  { name: 'force-path-style', description: 's3: path-style addressing, which most S3-compatible stores need', fields: { s3: 'force_path_style' } },
  { name: 'access-key-id-env', value: 'var', description: 's3: environment variable holding a static access key id (default: the AWS credential chain)', fields: { s3: 'access_key_id' }, parse: environmentVariable },
  { name: 'secret-access-key-env', value: 'var', description: 's3: environment variable holding the secret access key', fields: { s3: 'secret_access_key' }, parse: environmentVariable },
  { name: 'role-arn', value: 'arn', description: 's3: IAM role to assume through STS', fields: { s3: 'role_arn' }, parse: text },
  { name: 'role-session-name', value: 'name', description: 's3: session name of the assumed role (default: sentcopy)', fields: { s3: 'role_session_name' }, parse: text },
  { name: 'external-id-env', value: 'var', description: "s3: environment variable holding the external id the role's trust policy requires", fields: { s3: 'external_id' }, parse: environmentVariable },
  { name: 'expected-bucket-owner', value: 'account', description: 's3: AWS account id (12 digits) that must own the bucket', fields: { s3: 'expected_bucket_owner' }, parse: text },
  { name: 'kms-key', value: 'key', description: 's3: KMS key id or ARN (SSE-KMS); gcs: Cloud KMS key name (CMEK)', fields: { s3: 'kms_key_id', gcs: 'kms_key_name' }, parse: text },
  { name: 'storage-class', value: 'class', description: 's3, gcs: storage class of every object, e.g. STANDARD_IA, NEARLINE', fields: { s3: 'storage_class', gcs: 'storage_class' }, parse: text },
  { name: 'object-lock-mode', value: 'mode', description: 's3: Object Lock mode, GOVERNANCE or COMPLIANCE (with --object-lock-days)', fields: { s3: 'object_lock.mode' }, parse: oneOf(['GOVERNANCE', 'COMPLIANCE'] as const) },
  { name: 'object-lock-days', value: 'days', description: 's3: Object Lock retention of every object, in days from its write', fields: { s3: 'object_lock.retention_days' }, parse: days },
  { name: 'legal-hold', description: 's3, azure: place a legal hold on every object', fields: { s3: 'object_lock.legal_hold', azure: 'legal_hold' } },
  {
    name: 'request-checksum-calculation',
    value: 'when',
    description: 's3: WHEN_SUPPORTED (default) or WHEN_REQUIRED, for stores that mishandle streaming checksums',
    fields: { s3: 'request_checksum_calculation' },
    parse: oneOf(['WHEN_SUPPORTED', 'WHEN_REQUIRED'] as const),
  },
  { name: 'connection-string-env', value: 'var', description: 'azure: environment variable holding a connection string', fields: { azure: 'connection_string' }, parse: environmentVariable },
  { name: 'account-url', value: 'url', description: 'azure: blob service URL, e.g. https://ACCOUNT.blob.core.windows.net', fields: { azure: 'account_url' }, parse: url },
  { name: 'account-name', value: 'name', description: 'azure: storage account name, with --account-key-env (default: read from the URL)', fields: { azure: 'account_name' }, parse: text },
  { name: 'account-key-env', value: 'var', description: 'azure: environment variable holding the account key (Shared Key)', fields: { azure: 'account_key' }, parse: environmentVariable },
  { name: 'sas-token-env', value: 'var', description: 'azure: environment variable holding a SAS token', fields: { azure: 'sas_token' }, parse: environmentVariable },
  { name: 'access-tier', value: 'tier', description: 'azure: access tier of every blob: Hot, Cool, Cold or Archive', fields: { azure: 'access_tier' }, parse: oneOf(['Hot', 'Cool', 'Cold', 'Archive'] as const) },
  { name: 'encryption-scope', value: 'scope', description: 'azure: encryption scope of every blob', fields: { azure: 'encryption_scope' }, parse: text },
  { name: 'retention-days', value: 'days', description: 'azure: immutability policy; gcs: object retention of every object, in days', fields: { azure: 'immutability.retention_days', gcs: 'retention.retention_days' }, parse: days },
  { name: 'retention-mode', value: 'mode', description: 'azure, gcs: Unlocked (default; can be shortened) or Locked (nobody can)', fields: { azure: 'immutability.mode', gcs: 'retention.mode' }, parse: oneOf(['Unlocked', 'Locked'] as const) },
  { name: 'project-id', value: 'id', description: "gcs: the Google Cloud project (default: the credentials' project)", fields: { gcs: 'project_id' }, parse: text },
  { name: 'key-file', value: 'file', description: 'gcs: service account JSON key file (keep it mode 0600)', fields: { gcs: 'key_file' }, parse: text, isPath: true },
  { name: 'client-email', value: 'email', description: "gcs: service account email, with --private-key-env", fields: { gcs: 'client_email' }, parse: text },
  { name: 'private-key-env', value: 'var', description: "gcs: environment variable holding the service account's PEM private key", fields: { gcs: 'private_key' }, parse: environmentVariable },
  { name: 'api-endpoint', value: 'url', description: 'gcs: base URL of the JSON API (Private Service Connect, a test server)', fields: { gcs: 'api_endpoint' }, parse: url },
  { name: 'event-based-hold', description: 'gcs: place an event-based hold on every object', fields: { gcs: 'event_based_hold' } },
  { name: 'temporary-hold', description: 'gcs: place a temporary hold on every object', fields: { gcs: 'temporary_hold' } },
];

const camelCase = (name: string): string => name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** Adds every per-type option to `command`; switches get a `--no-` form too, so `edit` can turn them off. */
export function addFieldOptions(command: Command): Command {
  for (const field of fieldOptions) {
    if (field.value === undefined) {
      command.addOption(new Option(`--${field.name}`, field.description));
      command.addOption(new Option(`--no-${field.name}`).hideHelp());
    } else {
      command.addOption(new Option(`--${field.name} <${field.value}>`, field.description).argParser(field.parse ?? text));
    }
  }
  return command;
}

/** Adds `--project` and `--channels`. */
export function addProjectOptions(command: Command): Command {
  return command
    .addOption(new Option('--project <id>', 'point this project at the destination (repeat for several)').argParser(collect))
    .addOption(new Option('--channels <list>', `with --project: the channels the project archives, comma-separated (${channelNameHelp})`).argParser(channelList));
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function channelList(value: string): Channel[] {
  const list = value
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry !== '');
  const unknown = list.filter((entry) => !isChannel(entry));
  if (list.length === 0 || unknown.length > 0) throw new InvalidArgumentError(`must list channels: ${channelNameHelp}${unknown.length > 0 ? ` (not a channel name: ${unknown.join(', ')})` : ''}.`);
  return [...new Set(list)] as Channel[];
}

/** Parses `--clear`'s comma-separated option names. */
export function clearList(value: string, previous: string[] | undefined): string[] {
  const names = value
    .split(',')
    .map((entry) => entry.trim().replace(/^--/, ''))
    .filter((entry) => entry !== '');
  for (const name of names) {
    if (!fieldOptions.some((field) => field.name === name)) throw new InvalidArgumentError(`"${name}" is not a destination option (see --help).`);
  }
  return [...(previous ?? []), ...names];
}

/** The option values commander parsed, by camelCase name. */
export type ParsedOptions = Readonly<Record<string, unknown>>;

/** The per-type options given on the command line, as `--name` → value. */
function givenFields(options: ParsedOptions): { field: FieldOption; value: unknown }[] {
  return fieldOptions.flatMap((field) => {
    const value = options[camelCase(field.name)];
    return value === undefined ? [] : [{ field, value }];
  });
}

function usage(message: string, hint: string): CliError {
  return new CliError(message, { exitCode: exitCodes.usage, code: 'usage', hint });
}

function setPath(target: Record<string, unknown>, fieldPath: string, value: unknown): void {
  const parts = fieldPath.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const child = node[part];
    node[part] = typeof child === 'object' && child !== null ? { ...(child as Record<string, unknown>) } : {};
    node = node[part] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1] as string;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

function dropEmptyObjects(record: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(record)) {
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && !('env' in value)) {
      dropEmptyObjects(value as Record<string, unknown>);
      if (Object.keys(value).length === 0) delete record[key];
    }
  }
}

// The file resolves relative paths against its own folder; people type them relative to where they are.
function storedPath(value: string, baseDir: string): string {
  if (path.isAbsolute(value)) return value;
  return path.relative(baseDir, path.resolve(value)) || '.';
}

/**
 * Applies the per-type options (and `--clear`ed ones) to a destination entry of `type`. An option
 * that does not apply to the type is a usage error naming it. Relative paths are taken from the
 * current folder and stored relative to `baseDir`, the configuration file's folder.
 */
export function applyFieldOptions(type: DestinationType, base: object, options: ParsedOptions, baseDir: string, clear: readonly string[] = []): DestinationConfig {
  const entry: Record<string, unknown> = structuredClone(base) as Record<string, unknown>;
  const wrongType = (name: string, field: FieldOption) =>
    usage(`--${name} does not apply to ${type} destinations (it is for ${Object.keys(field.fields).join(', ')}).`, `Run \`sentcopy destinations connect --help\` for the options of each type.`);
  for (const name of clear) {
    const field = fieldOptions.find((candidate) => candidate.name === name) as FieldOption;
    const fieldPath = field.fields[type];
    if (fieldPath === undefined) throw wrongType(name, field);
    setPath(entry, fieldPath, undefined);
  }
  for (const { field, value } of givenFields(options)) {
    const fieldPath = field.fields[type];
    if (fieldPath === undefined) throw wrongType(field.name, field);
    if (clear.includes(field.name)) throw usage(`--${field.name} is both set and cleared.`, `Give --${field.name} or --clear ${field.name}, not both.`);
    setPath(entry, fieldPath, field.isPath === true ? storedPath(value as string, baseDir) : value);
  }
  dropEmptyObjects(entry);
  const { type: _type, acknowledge_personal_data: _acknowledged, ...fields } = entry;
  // The entry's own order: type first, fields, then the acknowledgement.
  return { type, ...fields, acknowledge_personal_data: true } as DestinationConfig;
}

/** The option that sets a configuration path of a destination of `type`, e.g. `object_lock.mode` → `--object-lock-mode`. */
export function optionForField(type: DestinationType, path: string): string | undefined {
  const field = fieldOptions.find((candidate) => candidate.fields[type] === path);
  return field === undefined ? undefined : `--${field.name}`;
}

/** Options a new destination of each type cannot do without, checked before the configuration is validated. */
export function checkRequiredOptions(type: DestinationType, entry: DestinationConfig): void {
  const missing = (option: string, why: string) => usage(`${option} is required for ${type === 'fs' ? 'a' : 'an'} ${type} destination${why === '' ? '' : ` ${why}`}.`, 'Run `sentcopy destinations connect --help` for the options and examples.');
  switch (entry.type) {
    case 'fs':
      if (entry.root === undefined) throw missing('--root', '(the archive folder)');
      return;
    case 's3':
    case 'gcs':
      if (entry.bucket === undefined) throw missing('--bucket', '');
      return;
    case 'azure':
      if (entry.container === undefined) throw missing('--container', '');
      if (entry.connection_string === undefined && entry.account_url === undefined) throw missing('--connection-string-env or --account-url', '(where the storage account is)');
      return;
  }
}

/**
 * Points each `--project` at `destination` (and sets its channels with `--channels`). Unknown
 * projects are a not-found error listing the configured ones.
 */
export function applyProjectOptions(config: WorkerConfig, destination: string, options: ParsedOptions): { config: WorkerConfig; projects: string[] } {
  const projects = (options['project'] as string[] | undefined) ?? [];
  const selected = options['channels'] as Channel[] | undefined;
  if (selected !== undefined && projects.length === 0) throw usage('--channels needs --project: channels are chosen per project.', 'Add --project ID for each project whose channels you set.');
  const unknown = projects.filter((id) => !Object.hasOwn(config.projects, id));
  if (unknown.length > 0) {
    const known = Object.keys(config.projects);
    throw new CliError(`No project named ${unknown.map((id) => `"${id}"`).join(', ')} in the configuration.`, {
      exitCode: exitCodes.notFound,
      code: 'project_not_found',
      hint: known.length === 0 ? 'Create one with `sentcopy init`.' : `Configured projects: ${known.join(', ')}.`,
    });
  }
  const next = { ...config.projects };
  for (const id of projects) {
    const project = next[id] as WorkerConfig['projects'][string];
    next[id] = { ...project, destination, ...(selected === undefined ? {} : { channels: selected }) };
  }
  return { config: { ...config, projects: next }, projects };
}

/** Ids of the projects whose messages go to `destination`. */
export function projectsUsing(config: WorkerConfig, destination: string): string[] {
  return Object.entries(config.projects)
    .filter(([, project]) => project.destination === destination)
    .map(([id]) => id);
}

/** The destination named `name`; an unknown name is a not-found error listing the configured ones. */
export function findDestination(config: WorkerConfig, file: string, name: string): DestinationConfig {
  const entry = config.destinations[name];
  if (entry !== undefined) return entry;
  const known = Object.keys(config.destinations);
  throw new CliError(`No destination named "${name}" in ${file}.`, {
    exitCode: exitCodes.notFound,
    code: 'destination_not_found',
    hint: known.length === 0 ? 'Add one with `sentcopy destinations connect`.' : `Configured destinations: ${known.join(', ')}.`,
  });
}

/** Whether any per-type option (or `--project`) was given. */
export function anyChangeGiven(options: ParsedOptions): boolean {
  return givenFields(options).length > 0 || options['project'] !== undefined;
}
