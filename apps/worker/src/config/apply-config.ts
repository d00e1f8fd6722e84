import { createHash } from 'node:crypto';
import type { ValidationIssue } from '@sentcopy/core';
import type { ProjectRoute } from '../projects/index.js';
import { createWriteThread, type WriteThreadOptions } from '../write-thread/index.js';
import { buildDestination, type BuildDestinationOptions } from './build-destination.js';
import { ConfigError } from './config-error.js';
import { describeError } from './config-log.js';
import type { ConfigChanges } from './config-runtime-options.js';
import { closeDestinationEntry, type ConfigState, type DestinationEntry } from './config-state.js';
import { readRecipientKey } from './recipient-key.js';
import { joinPath } from './schema-check.js';
import type { WorkerConfig } from './worker-config.js';

/** What {@link applyConfig} needs besides the configuration: how destinations are built, and where the text came from. */
export interface ApplyContext extends BuildDestinationOptions {
  /** The number the new configuration gets. */
  readonly version: number;
  /** Names the configuration in errors: the file's path, or the bucket. */
  readonly where: string;
  /** The environment secrets are read from (the env file's variables included). */
  readonly env: NodeJS.ProcessEnv;
  /** Give each destination a write thread for the queue's writes (see `DestinationEntry.writer`). @default none */
  readonly writeThreads?: WriteThreadOptions;
}

/** A validated configuration, ready to take over from the previous one. */
export interface AppliedConfig {
  readonly next: ConfigState;
  /** Destinations built for it (new, or changed and rebuilt): not probed yet. */
  readonly created: readonly DestinationEntry[];
  /** Destinations of the previous state it no longer uses (deleted, or changed and rebuilt): to retire. */
  readonly removed: readonly DestinationEntry[];
  readonly changes: ConfigChanges;
}

interface BuiltDestinations {
  readonly destinations: ReadonlyMap<string, DestinationEntry>;
  readonly created: readonly DestinationEntry[];
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly unchanged: readonly string[];
}

interface RoutedProjects {
  readonly routes: ReadonlyMap<string, ProjectRoute>;
  readonly keys: ReadonlyMap<string, string>;
  readonly detached: ConfigState['detached'];
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly detachedNow: readonly string[];
  readonly removed: readonly string[];
}

const fingerprint = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

const closeAll = (entries: readonly DestinationEntry[]): Promise<unknown> => Promise.all(entries.map(closeDestinationEntry));

/** Keeps the entries whose settings did not change and builds the others; refuses the whole configuration when one cannot be built. */
async function buildDestinations(config: WorkerConfig, before: ReadonlyMap<string, DestinationEntry>, context: ApplyContext): Promise<BuiltDestinations> {
  const destinations = new Map<string, DestinationEntry>();
  const created: DestinationEntry[] = [];
  const issues: ValidationIssue[] = [];
  const added: string[] = [];
  const changed: string[] = [];
  const unchanged: string[] = [];
  for (const [name, destinationConfig] of Object.entries(config.destinations)) {
    const existing = before.get(name);
    const print = fingerprint(destinationConfig);
    if (existing !== undefined && existing.fingerprint === print) {
      destinations.set(name, existing);
      unchanged.push(name);
      continue;
    }
    try {
      const destination = await buildDestination(name, destinationConfig, context);
      // A thread builds its own instance from the entry; packages handed over in memory (importPackage, descriptors) cannot be.
      const writer =
        context.writeThreads === undefined || context.importPackage !== undefined || context.descriptors !== undefined
          ? undefined
          : createWriteThread(destination, { name, config: destinationConfig, baseDir: context.baseDir, env: { ...context.env } }, context.writeThreads);
      const entry: DestinationEntry = { name, type: destinationConfig.type, fingerprint: print, destination, ...(writer === undefined ? {} : { writer }), ready: false, retired: false, archivers: new Map() };
      destinations.set(name, entry);
      created.push(entry);
      (existing === undefined ? added : changed).push(name);
    } catch (error) {
      if (ConfigError.isInstance(error)) issues.push(...error.issues);
      else issues.push({ path: joinPath('destinations', name), problem: `cannot be created: ${describeError(error)}` });
    }
  }
  if (issues.length > 0) {
    await closeAll(created);
    throw new ConfigError(context.where, issues);
  }
  return { destinations, created, added, changed, unchanged };
}

/** The projects' routes and API keys over `destinations`, and how the projects changed since `previous`. */
function routeProjects(config: WorkerConfig, previous: ConfigState | undefined, destinations: ReadonlyMap<string, DestinationEntry>, version: number): RoutedProjects {
  const routes = new Map<string, ProjectRoute>();
  const keys = new Map<string, string>();
  const detached = new Map<string, { destination: string; version: number }>();
  const added: string[] = [];
  const changed: string[] = [];
  const detachedNow: string[] = [];
  for (const [id, project] of Object.entries(config.projects)) {
    const entry = project.destination === undefined ? undefined : destinations.get(project.destination);
    routes.set(id, {
      id,
      channels: project.channels,
      ...(entry === undefined ? {} : { destinationId: entry.destination.id }),
      // Read live: a probe that passes later makes the project ready without a reload.
      get ready() {
        return entry === undefined ? true : entry.ready;
      },
    });
    for (const key of project.api_keys) keys.set(key.sha256, id);
    const old = previous === undefined || !Object.hasOwn(previous.config.projects, id) ? undefined : previous.config.projects[id];
    if (old === undefined) added.push(id);
    else if (fingerprint(old) !== fingerprint(project)) changed.push(id);
    if (project.destination === undefined) {
      const earlier = previous?.detached.get(id);
      if (earlier !== undefined) detached.set(id, earlier);
      else if (old?.destination !== undefined) {
        detached.set(id, { destination: old.destination, version });
        detachedNow.push(id);
      }
    }
  }
  const removed = previous === undefined ? [] : Object.keys(previous.config.projects).filter((id) => !Object.hasOwn(config.projects, id));
  return { routes, keys, detached, added, changed, detachedNow, removed };
}

/** The `{hmac(recipient)}` secret and the digest that names it in archiver cache keys. */
function recipientKeyOf(config: WorkerConfig, env: NodeJS.ProcessEnv): Pick<ConfigState, 'recipientKey' | 'recipientKeyId'> {
  const recipientKey = readRecipientKey(config, env);
  if (recipientKey === undefined) return { recipientKeyId: '' };
  return { recipientKey, recipientKeyId: createHash('sha256').update(`sentcopy recipient key id\n${recipientKey}`).digest('hex').slice(0, 32) };
}

/**
 * Turns a validated configuration and the state in use into the next state: destinations whose
 * settings did not change keep their instance (and readiness), new and changed ones are built (not
 * probed), projects are routed to them. Changes nothing of `previous`; throws a {@link ConfigError}
 * (having closed what it built) when a destination cannot be built.
 */
export async function applyConfig(config: WorkerConfig, previous: ConfigState | undefined, context: ApplyContext): Promise<AppliedConfig> {
  const before = previous?.destinations ?? new Map<string, DestinationEntry>();
  const built = await buildDestinations(config, before, context);
  const projects = routeProjects(config, previous, built.destinations, context.version);
  const changes: ConfigChanges = {
    destinationsAdded: built.added,
    destinationsChanged: built.changed,
    destinationsRemoved: [...before.keys()].filter((name) => !Object.hasOwn(config.destinations, name)),
    destinationsUnchanged: built.unchanged,
    projectsAdded: projects.added,
    projectsChanged: projects.changed,
    projectsRemoved: projects.removed,
    projectsDetached: projects.detachedNow,
  };
  const next: ConfigState = { config, version: context.version, destinations: built.destinations, routes: projects.routes, keys: projects.keys, detached: projects.detached, ...recipientKeyOf(config, context.env) };
  const removed = [...before.values()].filter((entry) => built.destinations.get(entry.name) !== entry);
  return { next, created: built.created, removed, changes };
}

/** Closes the destinations an {@link AppliedConfig} built, when it is not used after all. */
export const discardApplied = (applied: AppliedConfig): Promise<unknown> => closeAll(applied.created);
