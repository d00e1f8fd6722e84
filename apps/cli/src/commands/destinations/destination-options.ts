import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isChannel, type Channel, type DestinationOptionHelp, type DestinationSettingSchema } from '@sentcopy/core';
import { firstPartyDescriptors, resolveDestinationDescriptor, type AnyDestinationDescriptor, type DescriptorResolution, type DestinationConfig, type WorkerConfig } from '@sentcopy/worker';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { CliError, defaultConfigFile, exitCodes, withClusterStore, type ClusterLocation } from '../../cli-kit/index.js';
import { channelNameHelp } from '../../archive/filter-options.js';

/**
 * The destination descriptors `destinations connect|edit` build their options from. Commander needs
 * every option before it parses, and a destination's options are known only once its type is:
 * {@link findCommandLineDescriptors} reads `--type` and `--config` first.
 */
export interface CommandLineDescriptors {
  /** `connect --type NAME`: what the type resolved to (its descriptor, or why none could be used). */
  readonly connectType?: { readonly type: string; readonly resolution: DescriptorResolution };
  /** The descriptors whose options are offered when the type is not known yet: for `edit`, those of the types its file uses; else every first-party one. */
  readonly known: readonly AnyDestinationDescriptor[];
}

/** No destination options: for every command but `destinations connect|edit`. */
export const noCommandLineDescriptors: CommandLineDescriptors = { known: [] };

/** The value after `--name` or in `--name=value` (the last one given, as commander takes it). */
function optionValue(args: readonly string[], names: readonly string[]): string | undefined {
  let found: string | undefined;
  args.forEach((arg, index) => {
    for (const name of names) {
      if (arg === name && index + 1 < args.length) found = args[index + 1];
      else if (arg.startsWith(`${name}=`)) found = arg.slice(name.length + 1);
    }
  });
  return found;
}

/** Types of the destinations in a configuration's text, read without validating it (a text that cannot be parsed names none). */
function typesInText(text: string): string[] {
  try {
    const parsed = JSON.parse(text) as { destinations?: Record<string, { type?: unknown }> };
    return [...new Set(Object.values(parsed.destinations ?? {}).flatMap((entry) => (typeof entry?.type === 'string' ? [entry.type] : [])))];
  } catch {
    return [];
  }
}

/** Types of the destinations in a configuration file (a file that cannot be read names none). */
async function typesInFile(file: string): Promise<string[]> {
  return readFile(file, 'utf8').then(typesInText, () => []);
}

/** Types of the destinations in a cluster's shared configuration (a cluster that cannot be reached, or holds none, names none: the command itself then says why). */
async function typesInCluster(cluster: ClusterLocation): Promise<string[]> {
  try {
    const text = await withClusterStore(cluster, (store) => store.read());
    return text === undefined ? [] : typesInText(text);
  } catch {
    return [];
  }
}

/**
 * The first pass over the command line: for `destinations connect`, the descriptor `--type` names;
 * for `destinations edit`, those of the types its configuration uses (the file's, or with `--nats`
 * the cluster's), or every first-party one when it cannot be read. A package name is looked up as
 * the worker does: from the configuration file's folder (with `--nats`, the current folder, where a
 * worker of the cluster started here looks), then from this installation. Other commands load nothing.
 */
export async function findCommandLineDescriptors(args: readonly string[]): Promise<CommandLineDescriptors> {
  const at = args.indexOf('destinations');
  const command = at === -1 ? undefined : args[at + 1];
  if (command !== 'connect' && command !== 'edit') return noCommandLineDescriptors;
  const rest = args.slice(at + 1);
  const natsUrl = optionValue(rest, ['--nats']);
  const natsName = optionValue(rest, ['--nats-name']);
  const cluster = natsUrl === undefined || natsUrl === '' ? undefined : { url: natsUrl, ...(natsName === undefined ? {} : { name: natsName }) };
  const file = path.resolve(optionValue(rest, ['-c', '--config']) ?? defaultConfigFile);
  // As readConfig: a cluster's configuration has no file, so packages are looked up from the current folder.
  const baseDir = cluster === undefined ? path.dirname(file) : process.cwd();
  const type = command === 'connect' ? optionValue(rest, ['--type']) : undefined;
  if (type !== undefined) return { connectType: { type, resolution: await resolveDestinationDescriptor(type, { baseDir }) }, known: [] };
  // `edit` needs the options of the types its configuration uses (each package loads its cloud SDK, so only those); when it cannot be read, every first-party type's.
  const types = command !== 'edit' ? [] : cluster === undefined ? await typesInFile(file) : await typesInCluster(cluster);
  if (types.length === 0) return { known: await firstPartyDescriptors() };
  const resolutions = await Promise.all(types.map((type) => resolveDestinationDescriptor(type, { baseDir })));
  return { known: resolutions.flatMap((resolution) => (resolution.ok ? [resolution.descriptor] : [])) };
}

/** A registered command-line option and the settings it sets, per destination type. */
interface RegisteredOption {
  readonly flag: string;
  readonly value?: string;
  readonly byType: ReadonlyMap<string, { readonly help: DestinationOptionHelp; readonly schema: DestinationSettingSchema | undefined; readonly isPath: boolean }>;
}

/** The options a command registered, so the values can be applied once the destination's type is known. */
export interface DestinationOptionSet {
  readonly options: readonly RegisteredOption[];
}

const camelCase = (name: string): string => name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** The schema of a dotted setting in a descriptor's settings schema. */
function settingSchema(descriptor: AnyDestinationDescriptor, setting: string): DestinationSettingSchema | undefined {
  let schema: DestinationSettingSchema | undefined = descriptor.settingsSchema;
  for (const part of setting.split('.')) schema = schema?.properties?.[part];
  return schema;
}

const text = (value: string): string => {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty.');
  return value.trim();
};

/**
 * Turns an option's text into the stored value, by the setting's schema: a secret takes the NAME of
 * an environment variable (never the secret: shell history, `ps`), a number a number, a choice its
 * canonical spelling. The schema's other rules are checked with the whole configuration, by option.
 */
function parserFor(schema: DestinationSettingSchema | undefined): (value: string) => unknown {
  if (schema?.['x-secret'] === true) {
    return (value) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) throw new InvalidArgumentError('must be the NAME of an environment variable (letters, digits and _), not the secret itself.');
      return { env: value };
    };
  }
  if (schema?.enum !== undefined) {
    const allowed = schema.enum;
    return (value) => {
      const match = allowed.find((candidate) => String(candidate).toLowerCase() === value.trim().toLowerCase());
      if (match === undefined) throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}.`);
      return match;
    };
  }
  if (schema?.type === 'integer' || schema?.type === 'number') {
    const whole = schema.type === 'integer';
    return (value) => {
      const parsed = Number(value.trim());
      const fits = value.trim() !== '' && Number.isFinite(parsed) && (!whole || Number.isSafeInteger(parsed));
      const inRange = fits && (schema.minimum === undefined || parsed >= schema.minimum) && (schema.maximum === undefined || parsed <= schema.maximum);
      if (!inRange) {
        const range = [schema.minimum === undefined ? undefined : `${schema.minimum} or more`, schema.maximum === undefined ? undefined : `at most ${schema.maximum}`].filter((part) => part !== undefined).join(', ');
        throw new InvalidArgumentError(`must be ${whole ? 'a whole number' : 'a number'}${range === '' ? '' : `, ${range}`}.`);
      }
      return parsed;
    };
  }
  return text;
}

/** The options of `descriptors`, one per flag; a flag several types share sets each type's own setting. */
function collectOptions(descriptors: readonly AnyDestinationDescriptor[]): RegisteredOption[] {
  const byFlag = new Map<string, { flag: string; value?: string; byType: Map<string, { help: DestinationOptionHelp; schema: DestinationSettingSchema | undefined; isPath: boolean }> }>();
  for (const descriptor of descriptors) {
    for (const help of descriptor.options) {
      const schema = settingSchema(descriptor, help.setting);
      const option = byFlag.get(help.flag) ?? { flag: help.flag, ...(help.value === undefined ? {} : { value: help.value }), byType: new Map() };
      option.byType.set(descriptor.type, { help, schema, isPath: schema?.['x-path'] === true });
      byFlag.set(help.flag, option);
    }
  }
  return [...byFlag.values()];
}

/** One line of help: the description, prefixed by the types it is for when several could be meant. */
function helpLine(option: RegisteredOption, prefixed: boolean): string {
  const entries = [...option.byType.entries()];
  if (!prefixed) return entries[0]?.[1].help.description ?? '';
  const same = entries.every(([, entry]) => entry.help.description === entries[0]?.[1].help.description);
  if (same) return `${entries.map(([type]) => type).join(', ')}: ${entries[0]?.[1].help.description ?? ''}`;
  return entries.map(([type, entry]) => `${type}: ${entry.help.description}`).join('; ');
}

/**
 * Adds the destination options of `descriptors` to `command`; switches get a `--no-` form too, so
 * `edit` can turn them off. An option of one type is parsed as commander reads it; one that several
 * types share (the type not known yet), once the type is.
 */
export function addFieldOptions(command: Command, descriptors: readonly AnyDestinationDescriptor[]): DestinationOptionSet {
  const options = collectOptions(descriptors);
  const single = descriptors.length === 1;
  for (const option of options) {
    const description = helpLine(option, !single);
    if (option.value === undefined) {
      command.addOption(new Option(`--${option.flag}`, description));
      command.addOption(new Option(`--no-${option.flag}`).hideHelp());
    } else {
      const added = new Option(`--${option.flag} <${option.value}>`, description);
      const only = option.byType.size === 1 ? [...option.byType.values()][0] : undefined;
      command.addOption(only !== undefined ? added.argParser(parserFor(only.schema)) : added);
    }
  }
  return { options };
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

/** Parses `--clear`'s comma-separated option names, which must be among `set`'s. */
export function clearList(set: () => DestinationOptionSet): (value: string, previous: string[] | undefined) => string[] {
  return (value, previous) => {
    const names = value
      .split(',')
      .map((entry) => entry.trim().replace(/^--/, ''))
      .filter((entry) => entry !== '');
    for (const name of names) {
      if (!set().options.some((option) => option.flag === name)) throw new InvalidArgumentError(`"${name}" is not a destination option (see --help).`);
    }
    return [...(previous ?? []), ...names];
  };
}

/** The option values commander parsed, by camelCase name. */
export type ParsedOptions = Readonly<Record<string, unknown>>;

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
 * Applies the destination options given (and `--clear`ed ones) to an entry of `descriptor`'s type.
 * An option that does not apply to the type is a usage error naming it. Relative paths are taken
 * from the current folder and stored relative to `baseDir`, the configuration file's folder.
 */
export function applyFieldOptions(descriptor: AnyDestinationDescriptor, set: DestinationOptionSet, base: object, options: ParsedOptions, baseDir: string, clear: readonly string[] = []): DestinationConfig {
  const type = descriptor.type;
  const entry: Record<string, unknown> = structuredClone(base) as Record<string, unknown>;
  const own = (option: RegisteredOption) => {
    const forType = option.byType.get(type);
    if (forType === undefined) {
      throw usage(`--${option.flag} does not apply to ${type} destinations (it is for ${[...option.byType.keys()].join(', ')}).`, 'Run `sentcopy destinations connect --type TYPE --help` for the options of a type.');
    }
    return forType;
  };
  for (const name of clear) {
    const option = set.options.find((candidate) => candidate.flag === name) as RegisteredOption;
    setPath(entry, own(option).help.setting, undefined);
  }
  for (const option of set.options) {
    const given = options[camelCase(option.flag)];
    if (given === undefined) continue;
    const forType = own(option);
    if (clear.includes(option.flag)) throw usage(`--${option.flag} is both set and cleared.`, `Give --${option.flag} or --clear ${option.flag}, not both.`);
    let value: unknown = given;
    if (typeof given === 'string' && option.byType.size > 1) {
      try {
        value = parserFor(forType.schema)(given);
      } catch (error) {
        throw usage(`option '--${option.flag} <${option.value ?? 'value'}>' argument '${given}' is invalid. ${(error as Error).message}`, `Run \`sentcopy destinations connect --type ${type} --help\` for its options.`);
      }
    }
    setPath(entry, forType.help.setting, forType.isPath && typeof value === 'string' ? storedPath(value, baseDir) : value);
  }
  dropEmptyObjects(entry);
  const { type: _type, acknowledge_personal_data: _acknowledged, ...fields } = entry;
  // The entry's own order: type first, fields, then the acknowledgement.
  return { type, ...fields, acknowledge_personal_data: true };
}

/** The option that sets a setting of `descriptor`'s type, e.g. `object_lock.mode` → `--object-lock-mode`. */
export function optionForField(descriptor: AnyDestinationDescriptor, setting: string): string | undefined {
  const option = descriptor.options.find((candidate) => candidate.setting === setting);
  return option === undefined ? undefined : `--${option.flag}`;
}

/** The settings a new destination cannot do without (its schema's `required`), checked before the whole configuration is validated. */
export function checkRequiredOptions(descriptor: AnyDestinationDescriptor, entry: DestinationConfig): void {
  const missing = (descriptor.settingsSchema.required ?? []).filter((setting) => entry[setting] === undefined);
  if (missing.length === 0) return;
  const named = missing.map((setting) => optionForField(descriptor, setting) ?? setting);
  const what = (setting: string) => descriptor.settingsSchema.properties[setting]?.description;
  throw usage(
    `${named.join(' and ')} ${named.length === 1 ? 'is' : 'are'} required for ${/^[aeiou]/i.test(descriptor.type) ? 'an' : 'a'} ${descriptor.type} destination${missing.length === 1 && what(missing[0] as string) !== undefined ? ` (${what(missing[0] as string)})` : ''}.`,
    `Run \`sentcopy destinations connect --type ${descriptor.type} --help\` for its options and examples.`,
  );
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

/** Whether any destination option (or `--project`) was given. */
export function anyChangeGiven(set: DestinationOptionSet, options: ParsedOptions): boolean {
  return set.options.some((option) => options[camelCase(option.flag)] !== undefined) || options['project'] !== undefined;
}

/**
 * The descriptor of a configured destination's type (looked up from the configuration's folder
 * first); an unusable one is a usage error saying what to do.
 */
export async function descriptorOf(entry: DestinationConfig, baseDir: string, at: string): Promise<AnyDestinationDescriptor> {
  const resolution = await resolveDestinationDescriptor(entry.type, { baseDir });
  if (resolution.ok) return resolution.descriptor;
  throw usage(`${at}.type: ${resolution.problem}.`, 'Install the package the type names, or correct the type.');
}
