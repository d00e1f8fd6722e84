import path from 'node:path';
import { createDestinationHealth } from '../destination-health/index.js';
import type { MessageQueue } from '../queue/index.js';
import { applyConfig, discardApplied, type AppliedConfig } from './apply-config.js';
import { ConfigError } from './config-error.js';
import { configLog, describeError, type ConfigLog } from './config-log.js';
import type { ConfigRuntime, ConfigRuntimeOptions, ReloadEvent } from './config-runtime-options.js';
import { authenticate, destinationStatuses, missingDestinationReason, startupSettings, type ConfigState } from './config-state.js';
import type { ConfigTextSource } from './config-text-source.js';
import { createDestinationLifecycle } from './destination-lifecycle.js';
import { environmentWithEnvFile } from './env-file.js';
import { createFileConfigSource } from './file-config-source.js';
import { projectArchiver, type ProjectArchiverOptions } from './project-archivers.js';
import { projectsOnUnkeyedDefault, unkeyedDefaultWarning } from './recipient-key.js';
import { parseConfigText } from './validate-config.js';
import { writeThreadRetryMs, type WriteThreadOptions } from '../write-thread/index.js';

const names = (list: readonly string[]) => list.map((name) => `"${name}"`).join(', ');

/** A user hook that cannot throw: a hook that throws must not stop the reload or probe that called it. */
function safeHook<T>(hook: ((event: T) => void) | undefined, log: ConfigLog): (event: T) => void {
  return (event) => {
    try {
      hook?.(event);
    } catch (error) {
      log('error', 'config.hook_failed', `A configuration hook threw: ${describeError(error)}`);
    }
  };
}

/** The source's current text, or the {@link ConfigError} saying why there is none. */
async function readSource(source: ConfigTextSource, where: string): Promise<string | ConfigError> {
  try {
    const text = await source.read();
    return text ?? new ConfigError(where, [{ path: '', problem: 'it holds no configuration' }]);
  } catch (error) {
    if (ConfigError.isInstance(error)) return error;
    return new ConfigError(where, [{ path: '', problem: `it cannot be read (${(error as NodeJS.ErrnoException).code ?? describeError(error)})` }]);
  }
}

/** Makes the waiting messages of projects that lost their destination ready now, so they are dead-lettered without waiting for their next retry. */
async function hurryLostProjects(queue: Pick<MessageQueue, 'hurry'> | undefined, projects: readonly string[], log: ConfigLog): Promise<void> {
  if (projects.length === 0 || queue === undefined) return;
  try {
    const moved = await queue.hurry(projects);
    if (moved > 0) log('info', 'config.queue_hurried', `Made ${moved} waiting message(s) ready now: project(s) ${names(projects)} lost their destination.`, { projects, moved });
  } catch (error) {
    // The messages still come up at their scheduled time; nothing is lost.
    log('warn', 'config.queue_hurry_failed', `Could not make waiting messages ready now: ${describeError(error)}`, { projects });
  }
}

/** Resolves once every probe finished, or after `waitMs`, whichever comes first. */
async function waitForProbes(probes: readonly Promise<void>[], waitMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(probes), new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
  clearTimeout(timer);
}

/**
 * Loads the configuration from its source (the file by default, see {@link createFileConfigSource};
 * or a cluster's bucket) and keeps following it: an edit applies within about a second, without a
 * restart and without touching queued messages. A text that fails validation (secret references
 * included) is refused as a whole and the previous configuration keeps running. A new or changed
 * destination takes writes only once its probe passes (reachable, writable, not public unless
 * overridden); its projects answer `ready: false` and `archiverFor()` throws meanwhile, so their
 * messages wait in the queue. An unchanged destination keeps its instance. A project without a
 * destination refuses new messages, and its queued ones are dead-lettered by the processor.
 *
 * Each reload runs one way: read the source → validate → apply (build destinations, route
 * projects) → put in use (health, probes, retired destinations) → report.
 *
 * Throws a {@link ConfigError} when the configuration cannot be used at start.
 */
export async function createConfigRuntime(options: ConfigRuntimeOptions): Promise<ConfigRuntime> {
  const file = path.resolve(options.file);
  const baseDir = path.dirname(file);
  const env = options.env ?? process.env;
  const log = configLog(options.logger);
  const source = options.source ?? createFileConfigSource({ file, watch: options.watch, pollIntervalMs: options.pollIntervalMs, debounceMs: options.debounceMs, logger: options.logger });
  const where = source.description ?? file;
  const ownHealth = options.health === undefined;
  const health = options.health ?? createDestinationHealth({ ...(options.queue === undefined ? {} : { queue: options.queue }), ...(options.logger === undefined ? {} : { logger: options.logger }) });
  const lifecycle = createDestinationLifecycle({
    health,
    probeRetryMs: options.probeRetryMs ?? 30_000,
    retiredCloseDelayMs: options.retiredCloseDelayMs ?? 60_000,
    ledgers: options.ledgers,
    log,
    onProbe: safeHook(options.onProbe, log),
  });
  const onReload = safeHook(options.onReload, log);
  const onReloadError = safeHook(options.onReloadError, log);
  const archiverOptions: ProjectArchiverOptions = { preparePool: options.preparePool, ledgers: options.ledgers };
  const writeThreads: WriteThreadOptions | undefined =
    options.writeThreads === true
      ? {
          onThreadError: (error) => log('error', 'destination.write_thread_failed', `${error.message} Its writes run on the main thread meanwhile (slower; nothing is lost); a thread is tried again in ${writeThreadRetryMs / 1000} s.`),
          onThreadStopped: (error) => log('error', 'destination.write_thread_stopped', `${error.message} The writes it held are retried (the destination is not blamed for them); a new thread takes the next writes.`),
        }
      : undefined;

  let state: ConfigState | undefined;
  /** The text last read (applied or refused), or `\0` and the problem when the source could not be read. */
  let lastText: string | undefined;
  let closed = false;
  /** The current text, refused: when and why (values never appear, only paths and problems). */
  let refused: { readonly at: number; readonly problem: string } | undefined;
  let reloading: Promise<boolean> = Promise.resolve(true);

  function refuse(error: ConfigError): string {
    log('error', 'config.refused', 'The changed configuration was refused; the previous one keeps running.', { file: where, issues: error.issues });
    refused = { at: Date.now(), problem: error.issues.map((issue) => (issue.path === '' ? issue.problem : `${issue.path}: ${issue.problem}`)).join('; ') };
    onReloadError(error);
    return refused.problem;
  }

  /** Step 1: the source's text; `undefined` (reported once, not on every poll) when it cannot be read after the start. */
  async function readText(initial: boolean): Promise<string | undefined> {
    const text = await readSource(source, where);
    if (typeof text === 'string') return text;
    if (initial) throw text;
    const marker = `\0${text.message}`;
    if (lastText !== marker) refuse(text);
    lastText = marker;
    return undefined;
  }

  /** Step 2: validates the text (secrets from the environment and the env file) and builds what it needs, without putting it in use. */
  async function validateAndApply(text: string, version: number): Promise<AppliedConfig> {
    const environment = await environmentWithEnvFile(file, env);
    const descriptorSources = { ...(options.importPackage === undefined ? {} : { importPackage: options.importPackage }), ...(options.descriptors === undefined ? {} : { descriptors: options.descriptors }) };
    const config = await parseConfigText(text, where, { env: environment, shared: source.shared === true, baseDir, ...descriptorSources });
    return applyConfig(config, state, { version, where, env: environment, baseDir, ...descriptorSources, ...(writeThreads === undefined ? {} : { writeThreads }) });
  }

  /** Step 3: puts the applied configuration in use, reports it, and starts probing its new destinations. */
  function putInUse(applied: AppliedConfig, text: string, initial: boolean): Promise<void>[] {
    const { next, created, removed, changes } = applied;
    state = next;
    refused = undefined;
    source.report?.({ text });
    lifecycle.takeOver(next, removed);
    const event: ReloadEvent = { version: next.version, changes, destinationsCreated: created.map((entry) => entry.name), destinationsRemoved: removed.map((entry) => entry.name), projects: next.routes.size };
    log('info', initial ? 'config.loaded' : 'config.reloaded', initial ? 'Configuration loaded.' : 'Configuration reloaded.', { file: where, version: next.version, ...changes });
    const unkeyed = projectsOnUnkeyedDefault(next.config);
    if (unkeyed.length > 0) log('warn', 'config.recipient_key_missing', unkeyedDefaultWarning(unkeyed), { file: where, projects: unkeyed });
    onReload(event);
    const probes = created.map((entry) => lifecycle.probe(entry));
    void hurryLostProjects(options.queue, [...changes.projectsDetached, ...changes.projectsRemoved], log);
    return probes;
  }

  async function reloadNow(initial: boolean): Promise<boolean> {
    const text = await readText(initial);
    if (text === undefined) return false;
    if (text === lastText) return refused === undefined;
    let applied: AppliedConfig;
    try {
      applied = await validateAndApply(text, (state?.version ?? 0) + 1);
    } catch (error) {
      if (initial || !ConfigError.isInstance(error)) throw error;
      lastText = text;
      const problem = refuse(error);
      source.report?.({ text, problem });
      return false;
    }
    lastText = text;
    if (closed) {
      await discardApplied(applied);
      return false;
    }
    const probes = putInUse(applied, text, initial);
    if (initial) await waitForProbes(probes, options.startupProbeWaitMs ?? 15_000);
    return true;
  }

  const reload = (initial = false): Promise<boolean> => {
    const run = () => (closed ? false : reloadNow(initial));
    reloading = reloading.then(run, run);
    return reloading;
  };
  const reloadInBackground = () => void reload().catch((error: unknown) => log('error', 'config.reload_failed', `Reloading the configuration failed: ${describeError(error)}`, { file: where }));

  await reload(true);
  const stopWatching = source.watch(reloadInBackground);
  const current = (): ConfigState => state as ConfigState;

  return {
    config: () => current().config,
    version: () => current().version,
    project: (id) => current().routes.get(id),
    authenticate: (apiKey) => authenticate(current(), apiKey),
    archiverFor: (projectId, use) => projectArchiver(current(), projectId, use, refused === undefined ? archiverOptions : { ...archiverOptions, refusedProblem: refused.problem }),
    destinations: () => destinationStatuses(current()),
    settings: () => startupSettings(current().config, baseDir),
    missingDestinationReason: (projectId) => missingDestinationReason(current(), projectId),
    configProblem: () => (refused === undefined ? undefined : { since: refused.at, problem: refused.problem }),
    reload: () => reload(),
    async close() {
      if (closed) return;
      closed = true;
      stopWatching();
      await reloading.catch(() => undefined);
      for (const entry of state?.destinations.values() ?? []) lifecycle.retire(entry);
      if (ownHealth) health.close();
      await lifecycle.close();
    },
  };
}
