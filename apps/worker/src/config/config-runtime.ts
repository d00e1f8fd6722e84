import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createArchiver, type Archiver, type DestinationV1, type PreparePool, type ProbeResult } from '@sentcopy/core';
import type { LogLevel, WorkerLogger } from '../logging/index.js';
import { hashApiKey, type ArchiverUse, type ProjectDirectory, type ProjectRoute } from '../projects/index.js';
import { buildDestination } from './build-destination.js';
import { ConfigError } from './config-error.js';
import { parseConfigText } from './validate-config.js';
import type { DestinationConfig, ProjectConfig, WorkerConfig } from './worker-config.js';

/** Options for {@link createConfigRuntime}. */
export interface ConfigRuntimeOptions {
  /** Path of the configuration file. */
  readonly file: string;
  /** Where `{ "env": … }` secrets are read from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** How often the file is checked for changes, in milliseconds. @default 1000 */
  readonly pollIntervalMs?: number;
  /** How long to wait before probing a destination again after its probe failed, in milliseconds. @default 30000 */
  readonly probeRetryMs?: number;
  /** Longest `start()` waits for the first probes, in milliseconds; destinations not ready by then keep their messages queued. @default 15000 */
  readonly startupProbeWaitMs?: number;
  /** Shared by the queue's archivers, so preparing messages stays off the event loop (the before-send gate prepares inline). @default none */
  readonly preparePool?: PreparePool;
  /** Receives structured log entries. @default none */
  readonly logger?: WorkerLogger;
  /** Called after a configuration was applied. */
  readonly onReload?: (event: ReloadEvent) => void;
  /** Called when a changed file was refused; the previous configuration keeps running. */
  readonly onReloadError?: (error: ConfigError) => void;
  /** Called after every destination probe. */
  readonly onProbe?: (event: ProbeEvent) => void;
}

/** What a reload changed. */
export interface ReloadEvent {
  /** Increases by one with every applied configuration, starting at 1. */
  readonly version: number;
  /** Destinations created (new, or changed and rebuilt). */
  readonly destinationsCreated: readonly string[];
  /** Destinations removed. */
  readonly destinationsRemoved: readonly string[];
  /** Number of projects configured now. */
  readonly projects: number;
}

/** The outcome of probing one destination. */
export interface ProbeEvent {
  /** The destination's name in the configuration. */
  readonly destination: string;
  /** Whether it may now take writes. */
  readonly ok: boolean;
  /** The checks and their results; absent when the probe itself threw. */
  readonly result?: ProbeResult;
  /** Why it failed, in a sentence, when it did. */
  readonly reason?: string;
}

/** The state of one configured destination. */
export interface DestinationStatus {
  /** Its name in the configuration. */
  readonly name: string;
  /** The destination's id (no secrets), once built. */
  readonly id?: string;
  /** `true` once its probe passed; messages for it wait in the queue until then. */
  readonly ready: boolean;
  /** Why it is not ready, when it is not. */
  readonly problem?: string;
}

/** The live configuration: a {@link ProjectDirectory} that follows the file. */
export interface ConfigRuntime extends ProjectDirectory {
  /** The configuration in use. */
  readonly config: () => WorkerConfig;
  /** Every destination's state. */
  destinations(): DestinationStatus[];
  /** Reads the file now and applies it if it changed. Resolves `false` (and logs) when the file is refused. */
  reload(): Promise<boolean>;
  /** Stops watching and probing, and closes every destination. */
  close(): Promise<void>;
}

interface DestinationEntry {
  readonly name: string;
  readonly fingerprint: string;
  destination?: DestinationV1;
  ready: boolean;
  problem?: string;
  retryTimer?: NodeJS.Timeout;
  closed: boolean;
  readonly archivers: Map<string, Archiver>;
}

interface State {
  readonly config: WorkerConfig;
  readonly destinations: ReadonlyMap<string, DestinationEntry>;
  readonly routes: ReadonlyMap<string, ProjectRoute>;
  readonly keys: ReadonlyMap<string, string>;
}

const fingerprint = (config: DestinationConfig): string => createHash('sha256').update(JSON.stringify(config)).digest('hex');

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Loads the configuration file and keeps following it: an edit applies within about a second,
 * without a restart and without touching queued messages. A file that fails validation is refused
 * as a whole and the previous configuration keeps running. A new or changed destination takes
 * writes only once its probe passes (reachable, writable, not public); its messages wait in the
 * queue meanwhile. A project without a destination refuses new messages, and its queued ones are
 * dead-lettered by the processor with the reason.
 */
export async function createConfigRuntime(options: ConfigRuntimeOptions): Promise<ConfigRuntime> {
  const file = path.resolve(options.file);
  const baseDir = path.dirname(file);
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const probeRetryMs = options.probeRetryMs ?? 30_000;
  const log = (level: LogLevel, event: string, message: string, fields: Record<string, unknown> = {}) => options.logger?.({ level, event, message, ...fields });

  let state: State | undefined;
  let lastText: string | undefined;
  let version = 0;
  let closed = false;
  let reloading: Promise<boolean> = Promise.resolve(true);

  async function probe(entry: DestinationEntry): Promise<void> {
    if (entry.closed || entry.destination === undefined) return;
    let event: ProbeEvent;
    try {
      const result = await entry.destination.probe();
      const failed = result.checks.filter((check) => check.status === 'failed').map((check) => `${check.name}: ${check.detail ?? 'failed'}`);
      event = result.ok ? { destination: entry.name, ok: true, result } : { destination: entry.name, ok: false, result, reason: failed.join('; ') || 'the probe failed' };
    } catch (error) {
      event = { destination: entry.name, ok: false, reason: describe(error) };
    }
    if (entry.closed) return;
    entry.ready = event.ok;
    if (event.ok) {
      delete entry.problem;
      log('info', 'destination.ready', `Destination "${entry.name}" passed its probe and takes writes.`, { destination: entry.name, id: entry.destination.id });
    } else {
      entry.problem = `Its probe failed: ${event.reason}. Messages for it wait in the queue; the probe is repeated every ${Math.round(probeRetryMs / 1000)} s.`;
      log('warn', 'destination.probe_failed', `Destination "${entry.name}" failed its probe.`, { destination: entry.name, reason: event.reason });
      entry.retryTimer = setTimeout(() => void probe(entry), probeRetryMs);
      entry.retryTimer.unref();
    }
    options.onProbe?.(event);
  }

  async function createEntry(name: string, config: DestinationConfig): Promise<DestinationEntry> {
    const entry: DestinationEntry = { name, fingerprint: fingerprint(config), ready: false, closed: false, archivers: new Map() };
    try {
      entry.destination = await buildDestination(name, config, { baseDir, ...(options.env === undefined ? {} : { env: options.env }) });
    } catch (error) {
      entry.problem = `It cannot be created: ${describe(error)}`;
      log('error', 'destination.invalid', `Destination "${name}" cannot be created.`, { destination: name, reason: describe(error) });
    }
    return entry;
  }

  async function closeEntry(entry: DestinationEntry): Promise<void> {
    entry.closed = true;
    entry.ready = false;
    clearTimeout(entry.retryTimer);
    await entry.destination?.close?.().catch(() => undefined);
  }

  async function apply(config: WorkerConfig): Promise<{ created: DestinationEntry[]; removed: DestinationEntry[]; next: State }> {
    const previous = state?.destinations ?? new Map<string, DestinationEntry>();
    const destinations = new Map<string, DestinationEntry>();
    const created: DestinationEntry[] = [];
    for (const [name, destinationConfig] of Object.entries(config.destinations)) {
      const existing = previous.get(name);
      if (existing !== undefined && existing.fingerprint === fingerprint(destinationConfig)) {
        destinations.set(name, existing);
        continue;
      }
      const entry = await createEntry(name, destinationConfig);
      destinations.set(name, entry);
      created.push(entry);
    }
    const removed = [...previous.values()].filter((entry) => destinations.get(entry.name) !== entry);
    const routes = new Map<string, ProjectRoute>();
    const keys = new Map<string, string>();
    for (const [id, project] of Object.entries(config.projects)) {
      const entry = project.destination === undefined ? undefined : destinations.get(project.destination);
      routes.set(id, {
        id,
        channels: project.channels,
        ...(entry === undefined ? {} : { destinationId: entry.destination?.id ?? `${entry.name} (not created)` }),
        get ready() {
          return entry?.ready ?? true;
        },
      });
      for (const key of project.api_keys) keys.set(key.sha256, id);
    }
    return { created, removed, next: { config, destinations, routes, keys } };
  }

  async function reloadNow(initial: boolean): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? describe(error);
      const problem = new ConfigError(file, [{ path: '', problem: code === 'ENOENT' ? 'the file does not exist' : `the file cannot be read (${code})` }]);
      if (initial) throw problem;
      // Reported once, not on every poll; the previous configuration keeps running.
      if (lastText !== `\0${code}`) report(problem);
      lastText = `\0${code}`;
      return false;
    }
    if (text === lastText) return true;
    let config: WorkerConfig;
    try {
      config = parseConfigText(text, file);
    } catch (error) {
      if (initial || !ConfigError.isInstance(error)) throw error;
      lastText = text;
      report(error);
      return false;
    }
    lastText = text;
    const { created, removed, next } = await apply(config);
    state = next;
    version += 1;
    await Promise.all(removed.map(closeEntry));
    const event: ReloadEvent = { version, destinationsCreated: created.map((entry) => entry.name), destinationsRemoved: removed.map((entry) => entry.name), projects: next.routes.size };
    log('info', initial ? 'config.loaded' : 'config.reloaded', initial ? 'Configuration loaded.' : 'Configuration reloaded.', { ...event });
    options.onReload?.(event);
    const probes = created.map((entry) => probe(entry));
    if (initial) await Promise.race([Promise.all(probes), new Promise((resolve) => setTimeout(resolve, options.startupProbeWaitMs ?? 15_000).unref())]);
    return true;
  }

  function report(error: ConfigError): void {
    log('error', 'config.refused', 'The changed configuration was refused; the previous one keeps running.', { issues: error.issues });
    options.onReloadError?.(error);
  }

  const reload = (initial = false): Promise<boolean> => {
    reloading = reloading.then(() => (closed ? false : reloadNow(initial)), () => (closed ? false : reloadNow(initial)));
    return reloading;
  };

  await reload(true);
  const poll = setInterval(() => void reload().catch((error: unknown) => log('error', 'config.reload_failed', `Reloading the configuration failed: ${describe(error)}`)), pollIntervalMs);
  poll.unref();

  const current = (): State => state as State;

  function archiverFor(projectId: string, use: ArchiverUse): Archiver | undefined {
    const { config, destinations } = current();
    const project: ProjectConfig | undefined = Object.hasOwn(config.projects, projectId) ? config.projects[projectId] : undefined;
    if (project?.destination === undefined) return undefined;
    const entry = destinations.get(project.destination) as DestinationEntry;
    if (!entry.ready || entry.destination === undefined) {
      throw new Error(`Destination "${entry.name}" of project "${projectId}" is not ready. ${entry.problem ?? 'Its probe has not finished yet.'}`);
    }
    const cacheKey = `${use}\n${projectId}\n${project.profile ?? ''}\n${project.layout ?? ''}\n${project.codec ?? ''}`;
    let archiver = entry.archivers.get(cacheKey);
    if (archiver === undefined) {
      archiver = createArchiver({
        destination: entry.destination,
        ...(project.profile === undefined ? {} : { profile: project.profile }),
        ...(project.layout === undefined ? {} : { layout: project.layout }),
        ...(project.codec === undefined ? {} : { codec: project.codec }),
        ...(use === 'queued' ? { retry: false as const } : {}),
        // The gate prepares on the calling thread: one message at a time, a thread hop would only add latency.
        ...(options.preparePool === undefined || use === 'gate' ? {} : { preparePool: options.preparePool }),
      });
      entry.archivers.set(cacheKey, archiver);
    }
    return archiver;
  }

  return {
    config: () => current().config,
    project: (id) => current().routes.get(id),
    authenticate(apiKey) {
      // Keys are looked up by their SHA-256, so response timing says nothing about the stored hashes.
      const projectId = current().keys.get(hashApiKey(apiKey));
      return projectId === undefined ? undefined : current().routes.get(projectId);
    },
    archiverFor,
    destinations: () =>
      [...current().destinations.values()].map((entry) => ({
        name: entry.name,
        ...(entry.destination === undefined ? {} : { id: entry.destination.id }),
        ready: entry.ready,
        ...(entry.problem === undefined ? {} : { problem: entry.problem }),
      })),
    reload: () => reload(),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      await reloading.catch(() => undefined);
      await Promise.all([...(state?.destinations.values() ?? [])].map(closeEntry));
    },
  };
}
