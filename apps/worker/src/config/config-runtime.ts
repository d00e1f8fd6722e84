import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createArchiver, type Archiver, type DestinationV1, type PreparePool, type ProbeCheck, type ProbeResult, type RetryPolicy, type ValidationIssue } from '@sentcopy/core';
import { createDestinationHealth, type DestinationHealth } from '../destination-health/index.js';
import { ledgerSettingsOf, type WorkerLedgers } from '../ledger/index.js';
import type { LogLevel, WorkerLogger } from '../logging/index.js';
import type { MessageQueue } from '../queue/index.js';
import { apiKeyHashesEqual, hashApiKey, type ArchiverUse, type ProjectDirectory, type ProjectRoute } from '../projects/index.js';
import { buildDestination } from './build-destination.js';
import type { DescriptorSourceOptions } from './destination-descriptors.js';
import { ConfigError } from './config-error.js';
import { environmentWithEnvFile } from './env-file.js';
import { projectKeyLayout, projectsOnUnkeyedDefault, readRecipientKey, unkeyedDefaultWarning } from './recipient-key.js';
import { joinPath } from './schema-check.js';
import { parseConfigText, retryPolicyFromConfig } from './validate-config.js';
import type { WorkerConfig } from './worker-config.js';

/** Options for {@link createConfigRuntime}. */
export interface ConfigRuntimeOptions {
  /**
   * Path of the configuration file. With a `source`, only names the configuration in messages and
   * sets the folder relative paths are resolved against.
   */
  readonly file: string;
  /**
   * Where the configuration text comes from instead of the file, e.g. a JetStream key-value bucket
   * shared by a cluster of workers. The file is then neither read nor watched. @default the file
   */
  readonly source?: ConfigTextSource;
  /**
   * Where `{ "env": … }` secrets are read from; variables it lacks are read from the env file
   * beside the configuration file (`sentcopy.config.env` for `sentcopy.config.json`, mode 0600),
   * read again at every reload. @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /** Follow the file with `fs.watch` (changes apply within `debounceMs`); the poll runs either way, as a fallback. @default true */
  readonly watch?: boolean;
  /** How often the file's size and times are checked for changes, in milliseconds (a `stat`, not a read). @default 1000 */
  readonly pollIntervalMs?: number;
  /** Quiet time after a watch event before the file is read, so an editor's several writes apply once, in milliseconds. @default 100 */
  readonly debounceMs?: number;
  /** How long to wait before probing a destination again after its probe failed, in milliseconds. @default 30000 */
  readonly probeRetryMs?: number;
  /** Longest `createConfigRuntime()` waits for the first probes, in milliseconds; destinations not ready by then keep their messages queued. @default 15000 */
  readonly startupProbeWaitMs?: number;
  /**
   * How long a destination that was removed or replaced stays open for writes already under way,
   * in milliseconds, before it is closed. @default 60000
   */
  readonly retiredCloseDelayMs?: number;
  /** Shared by the queue's archivers, so preparing messages stays off the event loop (the before-send gate prepares inline). @default none */
  readonly preparePool?: PreparePool;
  /**
   * The worker's queue. When projects lose their destination, their waiting messages are made ready
   * so the processor dead-letters them now rather than at their next retry; without `health`, it is
   * also the queue the runtime's own destination health hurries. @default none
   */
  readonly queue?: Pick<MessageQueue, 'hurry'>;
  /**
   * Where destinations are registered (name, projects) and their probe results reported. When a
   * destination passes its probe, the health makes the waiting messages of its projects ready at once.
   * Share it with the processor, readiness, metrics and alerts. @default one of the runtime's own, hurrying `queue`
   */
  readonly health?: DestinationHealth;
  /** How destination packages are imported from the worker's own installation (bundled deployments, tests). @default `import(name)` */
  readonly importPackage?: DescriptorSourceOptions['importPackage'];
  /** Destination descriptors to use before any package is looked up, matched by type (bundled deployments, tests). @default none */
  readonly descriptors?: DescriptorSourceOptions['descriptors'];
  /**
   * The archive ledgers: each destination's archivers write its ledger (as the configuration's
   * `ledger` section says), and a destination removed or rebuilt retires its writer. @default no ledger
   */
  readonly ledgers?: WorkerLedgers;
  /** Receives structured log entries. @default none */
  readonly logger?: WorkerLogger;
  /** Called after a configuration was applied (the first load included, as version 1). Must not throw. */
  readonly onReload?: (event: ReloadEvent) => void;
  /** Called when a changed file was refused; the previous configuration keeps running. Must not throw. */
  readonly onReloadError?: (error: ConfigError) => void;
  /** Called after every destination probe. Must not throw. */
  readonly onProbe?: (event: ProbeEvent) => void;
}

/** A configuration kept somewhere other than a local file. */
export interface ConfigTextSource {
  /** Reads the current configuration text; `undefined` when there is none. */
  read(): Promise<string | undefined>;
  /** Names the source in errors and logs, e.g. `the sentcopy-config bucket`. @default the file's path */
  readonly description?: string;
  /** The text is shared by a cluster of workers, so it is validated as such (no relative paths). @default false */
  readonly shared?: boolean;
  /** Told what became of each new text: applied, or refused with the problems (paths, never values). */
  report?(outcome: { readonly text: string; readonly problem?: string }): void;
  /** Calls `onChange` whenever the text may have changed; returns a function that stops watching. */
  watch(onChange: () => void): () => void;
}

/** What one reload changed, by name. */
export interface ConfigChanges {
  /** Destinations that are new. */
  readonly destinationsAdded: readonly string[];
  /** Destinations whose settings changed: rebuilt, and probed again before they take writes. */
  readonly destinationsChanged: readonly string[];
  /** Destinations deleted. */
  readonly destinationsRemoved: readonly string[];
  /** Destinations kept as they were: same instance, same connections, still ready. */
  readonly destinationsUnchanged: readonly string[];
  /** Projects that are new. */
  readonly projectsAdded: readonly string[];
  /** Projects whose settings (destination, channels, profile, layout, codec or API keys) changed. */
  readonly projectsChanged: readonly string[];
  /** Projects deleted: their keys stop working and their queued messages are dead-lettered. */
  readonly projectsRemoved: readonly string[];
  /** Projects that had a destination and now have none: new messages are refused, queued ones dead-lettered. */
  readonly projectsDetached: readonly string[];
}

/** What a reload applied. */
export interface ReloadEvent {
  /** Increases by one with every applied configuration, starting at 1. */
  readonly version: number;
  /** What changed, by name. */
  readonly changes: ConfigChanges;
  /** Destinations created (new, or changed and rebuilt): `changes.destinationsAdded` and `changes.destinationsChanged`. */
  readonly destinationsCreated: readonly string[];
  /** Destinations closed (deleted, or changed and rebuilt). */
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
  /** The checks that ran and their results; empty when the probe itself threw. */
  readonly checks: readonly ProbeCheck[];
  /** The probe's whole answer; absent when the probe itself threw. */
  readonly result?: ProbeResult;
  /** Why it failed, in a sentence, when it did. */
  readonly reason?: string;
  /** When the next probe runs, in epoch milliseconds, after a failure. */
  readonly retryAt?: number;
}

/** The state of one configured destination. */
export interface DestinationStatus {
  /** Its name in the configuration. */
  readonly name: string;
  /** Its type. */
  readonly type: string;
  /** The destination's id (no secrets). */
  readonly id: string;
  /** `true` once its probe passed; messages for it wait in the queue until then. */
  readonly ready: boolean;
  /** Why it is not ready, when it is not. */
  readonly problem?: string;
}

/** Settings of the configuration file that are read once, when the worker starts. */
export interface StartupSettings {
  /** Absolute folder of the embedded queue. */
  readonly queueDirectory: string;
  /** Interface the HTTP intake listens on, when the file sets one. */
  readonly host?: string;
  /** Port of the HTTP intake, when the file sets one. */
  readonly port?: number;
  /** HTTP size limits the file sets (the intake's `IntakeLimits`). */
  readonly limits: { readonly maxBodyBytes?: number; readonly maxBatchMessages?: number; readonly maxMessageBytes?: number };
  /** The queue's retry policy: core's default with the file's `retry` overrides. */
  readonly retryPolicy: RetryPolicy;
}

/** The live configuration: a {@link ProjectDirectory} that follows the file. */
export interface ConfigRuntime extends ProjectDirectory {
  /** The configuration in use. */
  readonly config: () => WorkerConfig;
  /** Number of the configuration in use: 1 for the first load, one more per applied change. */
  readonly version: () => number;
  /** Every destination's state. */
  destinations(): DestinationStatus[];
  /** Start-time settings of the configuration in use (queue folder, HTTP, retry policy). */
  settings(): StartupSettings;
  /**
   * Why a project's messages have nowhere to go, in a sentence for dead letters, naming the deleted
   * destination when that is the cause; `undefined` when the project has a destination.
   */
  missingDestinationReason(projectId: string): string | undefined;
  /**
   * Why the current configuration text (the file, or the cluster's bucket) could not be applied,
   * while the previous one keeps running; `undefined` when the text in use is the current one.
   * Meanwhile `archiverFor()` throws for projects the running configuration cannot serve, so their
   * messages wait instead of being dead-lettered.
   */
  configProblem(): { readonly since: number; readonly problem: string } | undefined;
  /** Reads the file now and applies it if it changed. Resolves `false` (and reports) when the file is refused. */
  reload(): Promise<boolean>;
  /** Stops watching and probing, and closes every destination. */
  close(): Promise<void>;
}

interface DestinationEntry {
  readonly name: string;
  readonly type: string;
  readonly fingerprint: string;
  readonly destination: DestinationV1;
  ready: boolean;
  problem?: string;
  retryTimer?: NodeJS.Timeout;
  retired: boolean;
  readonly archivers: Map<string, Archiver>;
}

interface State {
  readonly config: WorkerConfig;
  readonly version: number;
  readonly destinations: ReadonlyMap<string, DestinationEntry>;
  readonly routes: ReadonlyMap<string, ProjectRoute>;
  /** API-key hash → project id. */
  readonly keys: ReadonlyMap<string, string>;
  /** Project id → the destination it lost and the configuration version that deleted it. */
  readonly detached: ReadonlyMap<string, { readonly destination: string; readonly version: number }>;
  /** The secret of `{hmac(recipient)}` layouts, when the configuration has `recipient_hash_key`. */
  readonly recipientKey?: string;
  /** Names the secret in archiver cache keys without holding it: a digest of it, or empty. */
  readonly recipientKeyId: string;
}

const fingerprint = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const names = (list: readonly string[]) => list.map((name) => `"${name}"`).join(', ');

/**
 * Loads the configuration file and keeps following it (`fs.watch`, with a cheap `stat` poll as a
 * fallback): an edit applies within about a second, without a restart and without touching queued
 * messages. A file that fails validation (secret references included) is refused as a whole and
 * the previous configuration keeps running. A new or changed destination takes writes only once
 * its probe passes (reachable, writable, not public unless overridden); its projects answer
 * `ready: false` and `archiverFor()` throws meanwhile, so their messages wait in the queue. An
 * unchanged destination keeps its instance. A project without a destination refuses new messages,
 * and its queued ones are dead-lettered by the processor.
 *
 * Throws a {@link ConfigError} when the file cannot be used at start.
 */
export async function createConfigRuntime(options: ConfigRuntimeOptions): Promise<ConfigRuntime> {
  const file = path.resolve(options.file);
  const where = options.source?.description ?? file;
  const baseDir = path.dirname(file);
  const env = options.env ?? process.env;
  const descriptorSources: Omit<DescriptorSourceOptions, 'baseDir'> = {
    ...(options.importPackage === undefined ? {} : { importPackage: options.importPackage }),
    ...(options.descriptors === undefined ? {} : { descriptors: options.descriptors }),
  };
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const debounceMs = options.debounceMs ?? 100;
  const probeRetryMs = options.probeRetryMs ?? 30_000;
  const retiredCloseDelayMs = options.retiredCloseDelayMs ?? 60_000;
  const log = (level: LogLevel, event: string, message: string, fields: Record<string, unknown> = {}) => options.logger?.({ level, event, message, ...fields });
  // A hook that throws must not stop the reload or probe that called it.
  const call = <T>(hook: ((event: T) => void) | undefined, event: T) => {
    try {
      hook?.(event);
    } catch (error) {
      log('error', 'config.hook_failed', `A configuration hook threw: ${describe(error)}`);
    }
  };

  let state: State | undefined;
  let lastText: string | undefined;
  let closed = false;
  /** The current text, refused: when and why (values never appear, only paths and problems). */
  let refused: { readonly at: number; readonly problem: string } | undefined;
  let reloading: Promise<boolean> = Promise.resolve(true);
  const retiring = new Set<{ timer: NodeJS.Timeout; close: () => Promise<void> }>();
  const ownHealth = options.health === undefined;
  const health = options.health ?? createDestinationHealth({ ...(options.queue === undefined ? {} : { queue: options.queue }), ...(options.logger === undefined ? {} : { logger: options.logger }) });

  const projectsOf = (entry: DestinationEntry): string[] =>
    state === undefined ? [] : Object.entries(state.config.projects).filter(([, project]) => project.destination === entry.name && state?.destinations.get(entry.name) === entry).map(([id]) => id);

  async function hurry(projects: readonly string[], why: string): Promise<void> {
    if (projects.length === 0 || options.queue === undefined) return;
    try {
      const moved = await options.queue.hurry(projects);
      if (moved > 0) log('info', 'config.queue_hurried', `Made ${moved} waiting message(s) ready now: ${why}.`, { projects, moved });
    } catch (error) {
      // The messages still come up at their scheduled time; nothing is lost.
      log('warn', 'config.queue_hurry_failed', `Could not make waiting messages ready now: ${describe(error)}`, { projects });
    }
  }

  async function probe(entry: DestinationEntry): Promise<void> {
    if (entry.retired) return;
    let event: ProbeEvent;
    try {
      const result = await entry.destination.probe();
      const failed = result.checks.filter((check) => check.status === 'failed').map((check) => `${check.name}: ${check.detail ?? 'failed'}`);
      event = result.ok ? { destination: entry.name, ok: true, checks: result.checks, result } : { destination: entry.name, ok: false, checks: result.checks, result, reason: failed.join('; ') || 'the probe failed' };
    } catch (error) {
      event = { destination: entry.name, ok: false, checks: [], reason: describe(error) };
    }
    if (entry.retired) return;
    entry.ready = event.ok;
    if (event.ok) {
      delete entry.problem;
      log('info', 'destination.ready', `Destination "${entry.name}" passed its probe and takes writes.`, { destination: entry.name, id: entry.destination.id });
    } else {
      const retryAt = Date.now() + probeRetryMs;
      event = { ...event, retryAt };
      entry.problem = `Its probe failed: ${event.reason}. Messages for it wait in the queue; the probe is repeated every ${Math.round(probeRetryMs / 1000)} s.`;
      log('warn', 'destination.probe_failed', `Destination "${entry.name}" failed its probe; its messages wait in the queue.`, { destination: entry.name, reason: event.reason, checks: event.checks });
      entry.retryTimer = setTimeout(() => void probe(entry), probeRetryMs);
      entry.retryTimer.unref();
    }
    // The health makes the messages held back while it was not ready (or parked by an outage before a restart) ready now.
    health.recordProbe(entry.destination, event.ok ? { ok: true } : { ok: false, ...(event.reason === undefined ? {} : { reason: event.reason }) });
    call(options.onProbe, event);
  }

  function retire(entry: DestinationEntry): void {
    entry.retired = true;
    options.ledgers?.retire(entry.destination);
    entry.ready = false;
    clearTimeout(entry.retryTimer);
    // Writes already under way keep the old instance; close it once they have had time to finish.
    const close = async () => {
      retiring.delete(item);
      await entry.destination.close?.().catch(() => undefined);
    };
    const item = { timer: setTimeout(() => void close(), retiredCloseDelayMs), close };
    item.timer.unref();
    retiring.add(item);
  }

  /** Builds the new state; builds new and changed destinations first, and refuses the whole file when one cannot be built. */
  async function prepare(config: WorkerConfig, version: number, env: NodeJS.ProcessEnv): Promise<{ next: State; created: DestinationEntry[]; removed: DestinationEntry[]; changes: ConfigChanges }> {
    const previous = state;
    const before = previous?.destinations ?? new Map<string, DestinationEntry>();
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
        const destination = await buildDestination(name, destinationConfig, { baseDir, env, ...descriptorSources });
        const entry: DestinationEntry = { name, type: destinationConfig.type, fingerprint: print, destination, ready: false, retired: false, archivers: new Map() };
        destinations.set(name, entry);
        created.push(entry);
        (existing === undefined ? added : changed).push(name);
      } catch (error) {
        if (ConfigError.isInstance(error)) issues.push(...error.issues);
        else issues.push({ path: joinPath('destinations', name), problem: `cannot be created: ${describe(error)}` });
      }
    }
    if (issues.length > 0) {
      await Promise.all(created.map((entry) => entry.destination.close?.().catch(() => undefined)));
      throw new ConfigError(where, issues);
    }
    const removed = [...before.values()].filter((entry) => destinations.get(entry.name) !== entry);

    const routes = new Map<string, ProjectRoute>();
    const keys = new Map<string, string>();
    const detached = new Map<string, { destination: string; version: number }>();
    const projectsAdded: string[] = [];
    const projectsChanged: string[] = [];
    const projectsDetached: string[] = [];
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
      if (old === undefined) projectsAdded.push(id);
      else if (fingerprint(old) !== fingerprint(project)) projectsChanged.push(id);
      if (project.destination === undefined) {
        const earlier = previous?.detached.get(id);
        if (earlier !== undefined) detached.set(id, earlier);
        else if (old?.destination !== undefined) {
          detached.set(id, { destination: old.destination, version });
          projectsDetached.push(id);
        }
      }
    }
    const projectsRemoved = previous === undefined ? [] : Object.keys(previous.config.projects).filter((id) => !Object.hasOwn(config.projects, id));
    const changes: ConfigChanges = {
      destinationsAdded: added,
      destinationsChanged: changed,
      destinationsRemoved: [...before.keys()].filter((name) => !Object.hasOwn(config.destinations, name)),
      destinationsUnchanged: unchanged,
      projectsAdded,
      projectsChanged,
      projectsRemoved,
      projectsDetached,
    };
    const recipientKey = readRecipientKey(config, env);
    const recipientKeyId = recipientKey === undefined ? '' : createHash('sha256').update(`sentcopy recipient key id\n${recipientKey}`).digest('hex').slice(0, 32);
    return { next: { config, version, destinations, routes, keys, detached, ...(recipientKey === undefined ? {} : { recipientKey }), recipientKeyId }, created, removed, changes };
  }

  function refuse(error: ConfigError): void {
    log('error', 'config.refused', 'The changed configuration was refused; the previous one keeps running.', { file: where, issues: error.issues });
    refused = { at: Date.now(), problem: error.issues.map((issue) => (issue.path === '' ? issue.problem : `${issue.path}: ${issue.problem}`)).join('; ') };
    call(options.onReloadError, error);
  }

  async function reloadNow(initial: boolean): Promise<boolean> {
    let text: string;
    try {
      const read = options.source === undefined ? await readFile(file, 'utf8') : await options.source.read();
      if (read === undefined) throw Object.assign(new Error('no configuration'), { code: 'ENOENT' });
      text = read;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? describe(error);
      const problem = new ConfigError(where, [{ path: '', problem: code === 'ENOENT' ? (options.source === undefined ? 'the file does not exist' : 'it holds no configuration') : `${options.source === undefined ? 'the file' : 'it'} cannot be read (${code})` }]);
      if (initial) throw problem;
      // Reported once, not on every poll; the previous configuration keeps running.
      if (lastText !== `\0${code}`) refuse(problem);
      lastText = `\0${code}`;
      return false;
    }
    if (text === lastText) return refused === undefined;
    const version = (state?.version ?? 0) + 1;
    let prepared: Awaited<ReturnType<typeof prepare>>;
    try {
      const environment = await environmentWithEnvFile(file, env);
      prepared = await prepare(await parseConfigText(text, where, { env: environment, shared: options.source?.shared === true, baseDir, ...descriptorSources }), version, environment);
    } catch (error) {
      if (initial || !ConfigError.isInstance(error)) throw error;
      lastText = text;
      refuse(error);
      options.source?.report?.({ text, problem: refused?.problem ?? 'refused' });
      return false;
    }
    lastText = text;
    if (closed) {
      await Promise.all(prepared.created.map((entry) => entry.destination.close?.().catch(() => undefined)));
      return false;
    }
    const { next, created, removed, changes } = prepared;
    state = next;
    refused = undefined;
    options.source?.report?.({ text });
    // Tracked before the old instances are forgotten, so a destination edited under the same name keeps its health record.
    for (const entry of next.destinations.values()) health.track(entry.destination, { name: entry.name, projects: projectsOf(entry) });
    for (const entry of removed) {
      retire(entry);
      health.untrack(entry.destination);
    }
    const event: ReloadEvent = { version, changes, destinationsCreated: created.map((entry) => entry.name), destinationsRemoved: removed.map((entry) => entry.name), projects: next.routes.size };
    log('info', initial ? 'config.loaded' : 'config.reloaded', initial ? 'Configuration loaded.' : 'Configuration reloaded.', { file: where, version, ...changes });
    const unkeyed = projectsOnUnkeyedDefault(next.config);
    if (unkeyed.length > 0) log('warn', 'config.recipient_key_missing', unkeyedDefaultWarning(unkeyed), { file: where, projects: unkeyed });
    call(options.onReload, event);
    const probes = created.map((entry) => probe(entry));
    const gone = [...changes.projectsDetached, ...changes.projectsRemoved];
    if (gone.length > 0) void hurry(gone, `project(s) ${names(gone)} lost their destination`);
    if (initial) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(probes), new Promise((resolve) => (timer = setTimeout(resolve, options.startupProbeWaitMs ?? 15_000)))]);
      clearTimeout(timer);
    }
    return true;
  }

  const reload = (initial = false): Promise<boolean> => {
    const run = () => (closed ? false : reloadNow(initial));
    reloading = reloading.then(run, run);
    return reloading;
  };
  const reloadInBackground = () =>
    void reload().catch((error: unknown) => log('error', 'config.reload_failed', `Reloading the configuration failed: ${describe(error)}`, { file: where }));

  await reload(true);

  let poll: NodeJS.Timeout | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  const stopSource = options.source?.watch(reloadInBackground);
  if (options.source === undefined) {
    // The poll compares a stat, so it costs no read; fs.watch makes most edits apply sooner.
    const statKey = async () => {
      const info = await stat(file).catch(() => undefined);
      return info === undefined ? 'missing' : `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
    };
    let lastStat = await statKey();
    let polling = false;
    poll = setInterval(() => {
      if (polling) return;
      polling = true;
      void statKey()
        .then((key) => {
          if (key !== lastStat) {
            lastStat = key;
            reloadInBackground();
          }
        })
        .finally(() => (polling = false));
    }, pollIntervalMs);
    poll.unref();

    if (options.watch !== false) {
      try {
        // The folder, not the file: editors often save by writing a new file and renaming it over the old one.
        watcher = watch(baseDir, { persistent: false }, (_, name) => {
          if (name !== null && name !== path.basename(file)) return;
          clearTimeout(debounce);
          debounce = setTimeout(reloadInBackground, debounceMs);
          debounce.unref();
        });
        watcher.on('error', (error) => {
          log('warn', 'config.watch_failed', `Watching the configuration file failed (${describe(error)}); changes are still picked up by polling.`, { file });
          watcher?.close();
        });
      } catch (error) {
        log('warn', 'config.watch_failed', `Cannot watch the configuration file (${describe(error)}); changes are picked up by polling.`, { file });
      }
    }
  }

  const current = (): State => state as State;

  function archiverFor(projectId: string, use: ArchiverUse): Archiver | undefined {
    const { config, destinations, recipientKey, recipientKeyId } = current();
    const project = Object.hasOwn(config.projects, projectId) ? config.projects[projectId] : undefined;
    if (project?.destination === undefined) {
      // The configuration this worker refused may well give the project a destination (a cluster's
      // other workers run on it): the message waits for a worker that can serve it, never dead-lettered here.
      // Given back after a second, so a worker that applied it takes it soon.
      if (refused !== undefined) throw Object.assign(new Error(`This worker refused the current configuration (${refused.problem}), and the one it runs has no destination for project "${projectId}".`), { retryAfterMs: 1_000 });
      return undefined;
    }
    const entry = destinations.get(project.destination) as DestinationEntry;
    if (!entry.ready && use !== 'check') {
      throw new Error(`Destination "${entry.name}" of project "${projectId}" is not ready. ${entry.problem ?? 'Its probe has not finished yet.'}`);
    }
    // Checking needs no archiver of its own: the queue's has the same profile, layout and codec.
    if (use === 'check') use = 'queued';
    const layout = projectKeyLayout(config, project);
    const ledger = options.ledgers?.writerFor(entry.name, entry.destination, ledgerSettingsOf(config.ledger), layout, recipientKey);
    const cacheKey = `${use}\n${projectId}\n${project.profile ?? ''}\n${layout}\n${recipientKeyId}\n${project.codec ?? ''}\n${ledger?.key ?? ''}`;
    let archiver = entry.archivers.get(cacheKey);
    if (archiver === undefined) {
      archiver = createArchiver({
        destination: entry.destination,
        ...(project.profile === undefined ? {} : { profile: project.profile }),
        layout,
        ...(recipientKey === undefined ? {} : { recipientKey }),
        ...(project.codec === undefined ? {} : { codec: project.codec }),
        // The queue retries through its own schedule; the gate retries quickly inline (core's default).
        ...(use === 'queued' ? { retry: false as const } : {}),
        // The gate prepares on the calling thread: one message at a time, a thread hop would only add latency.
        ...(options.preparePool === undefined || use === 'gate' ? {} : { preparePool: options.preparePool }),
        ...(ledger === undefined ? {} : { ledger: ledger.ledger }),
      });
      if (ledger !== undefined) options.ledgers?.bind(archiver, ledger);
      entry.archivers.set(cacheKey, archiver);
    }
    return archiver;
  }

  return {
    config: () => current().config,
    version: () => current().version,
    project: (id) => current().routes.get(id),
    authenticate(apiKey) {
      if (typeof apiKey !== 'string' || apiKey === '') return undefined;
      const { keys, routes, config } = current();
      // Looked up by the SHA-256 of the presented key: the map's timing depends on that digest, not on how much of a stored hash matched.
      const hash = hashApiKey(apiKey);
      const projectId = keys.get(hash);
      if (projectId === undefined) return undefined;
      const stored = config.projects[projectId]?.api_keys.find((key) => apiKeyHashesEqual(key.sha256, hash));
      // A rotated key stops working once its grace period ends, with no reload needed.
      if (stored === undefined || (stored.expires_at !== undefined && Date.parse(stored.expires_at) <= Date.now())) return undefined;
      return routes.get(projectId);
    },
    archiverFor,
    destinations: () =>
      [...current().destinations.values()].map((entry) => ({
        name: entry.name,
        type: entry.type,
        id: entry.destination.id,
        ready: entry.ready,
        ...(entry.problem === undefined ? {} : { problem: entry.problem }),
      })),
    settings() {
      const { config } = current();
      const limits = config.http?.limits;
      return {
        queueDirectory: path.resolve(baseDir, config.queue?.path ?? path.join('.sentcopy', 'queue')),
        ...(config.http?.host === undefined ? {} : { host: config.http.host }),
        ...(config.http?.port === undefined ? {} : { port: config.http.port }),
        limits: {
          ...(limits?.max_body_bytes === undefined ? {} : { maxBodyBytes: limits.max_body_bytes }),
          ...(limits?.max_batch_messages === undefined ? {} : { maxBatchMessages: limits.max_batch_messages }),
          ...(limits?.max_message_bytes === undefined ? {} : { maxMessageBytes: limits.max_message_bytes }),
        },
        retryPolicy: retryPolicyFromConfig(config.retry),
      };
    },
    missingDestinationReason(projectId) {
      const { config, detached } = current();
      if (!Object.hasOwn(config.projects, projectId)) return `Project "${projectId}" is not configured (it was deleted, or never existed), so its messages have no destination.`;
      if (config.projects[projectId]?.destination !== undefined) return undefined;
      const lost = detached.get(projectId);
      if (lost === undefined) return `Project "${projectId}" has no destination configured.`;
      return Object.hasOwn(config.destinations, lost.destination)
        ? `Project "${projectId}" was disconnected from destination "${lost.destination}" (configuration version ${lost.version}) and has no destination now.`
        : `Destination "${lost.destination}" of project "${projectId}" was deleted from the configuration (version ${lost.version}); the project has no destination now.`;
    },
    configProblem: () => (refused === undefined ? undefined : { since: refused.at, problem: refused.problem }),
    reload: () => reload(),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      clearTimeout(debounce);
      watcher?.close();
      stopSource?.();
      await reloading.catch(() => undefined);
      for (const entry of state?.destinations.values() ?? []) retire(entry);
      if (ownHealth) health.close();
      await Promise.all(
        [...retiring].map((item) => {
          clearTimeout(item.timer);
          return item.close();
        }),
      );
    },
  };
}
