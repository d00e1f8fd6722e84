import type { PreparePool, ProbeCheck, ProbeResult, RetryPolicy } from '@sentcopy/core';
import type { DestinationHealth } from '../destination-health/index.js';
import type { WorkerLedgers } from '../ledger/index.js';
import type { WorkerLogger } from '../logging/index.js';
import type { ProjectDirectory } from '../projects/index.js';
import type { MessageQueue } from '../queue/index.js';
import type { ConfigError } from './config-error.js';
import type { ConfigTextSource } from './config-text-source.js';
import type { DescriptorSourceOptions } from './destination-descriptors.js';
import type { WorkerConfig } from './worker-config.js';

/** Options for {@link createConfigRuntime}. */
export interface ConfigRuntimeOptions {
  /**
   * Path of the configuration file: relative paths in the configuration are resolved against its
   * folder, and the env file beside it is read for secrets. Without a `source` it is also where the
   * text is read from; with one, it only names the configuration in messages when the source has no
   * `description`.
   */
  readonly file: string;
  /**
   * Where the configuration text comes from, e.g. a JetStream key-value bucket shared by a cluster
   * of workers (`openJetStreamConfigStore`); the file is then neither read nor watched.
   * @default `createFileConfigSource()` on `file`, with `watch`, `pollIntervalMs` and `debounceMs`
   */
  readonly source?: ConfigTextSource;
  /**
   * Where `{ "env": … }` secrets are read from; variables it lacks are read from the env file
   * beside the configuration file (`sentcopy.config.env` for `sentcopy.config.json`, mode 0600),
   * read again at every reload. @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /** Without a `source`: follow the file with `fs.watch` (changes apply within `debounceMs`); the poll runs either way, as a fallback. @default true */
  readonly watch?: boolean;
  /** Without a `source`: how often the file's size and times are checked for changes, in milliseconds (a `stat`, not a read). @default 1000 */
  readonly pollIntervalMs?: number;
  /** Without a `source`: quiet time after a watch event before the file is read, so an editor's several writes apply once, in milliseconds. @default 100 */
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
  /**
   * Give each destination a thread for the queue's writes, which builds its own instance of the
   * destination from the same entry (see `createWriteThread`), so signing and sending writes stays
   * off the event loop; the before-send gate still writes on the event loop. Not with `importPackage` or `descriptors`
   * (a thread cannot be handed them). A thread that cannot start is logged
   * (`destination.write_thread_failed`), and its writes run on the event loop meanwhile.
   * @default false
   */
  readonly writeThreads?: boolean;
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
  /** Called when a changed configuration was refused; the previous one keeps running. Must not throw. */
  readonly onReloadError?: (error: ConfigError) => void;
  /** Called after every destination probe. Must not throw. */
  readonly onProbe?: (event: ProbeEvent) => void;
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

/** The live configuration: a {@link ProjectDirectory} that follows its source (the file, or a cluster's bucket). */
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
  /** Reads the source now and applies its text if it changed. Resolves `false` (and reports) when the text is refused. */
  reload(): Promise<boolean>;
  /** Stops watching and probing, and closes every destination. */
  close(): Promise<void>;
}
