import path from 'node:path';
import type { Archiver, DestinationV1 } from '@sentcopy/core';
import { apiKeyHashesEqual, hashApiKey, type ProjectRoute } from '../projects/index.js';
import type { DestinationStatus, StartupSettings } from './config-runtime-options.js';
import { retryPolicyFromConfig } from './validate-config.js';
import type { ProjectConfig, WorkerConfig } from './worker-config.js';

/** One built destination of the configuration in use, with what its probes found and its archivers. */
export interface DestinationEntry {
  readonly name: string;
  readonly type: string;
  /** SHA-256 of its settings: an entry whose settings did not change is kept across reloads. */
  readonly fingerprint: string;
  readonly destination: DestinationV1;
  /**
   * The destination as the queue's archivers write to it: its writes run on a thread of their own
   * (`createWriteThread`), every other call goes to `destination`. Absent without write threads;
   * the before-send gate always writes on the calling thread (a thread hop would only add latency).
   */
  readonly writer?: DestinationV1;
  ready: boolean;
  problem?: string;
  retryTimer?: NodeJS.Timeout;
  retired: boolean;
  /** Its archivers, by use, project and everything that shapes what they write. */
  readonly archivers: Map<string, Archiver>;
}

/** Closes the entry's write thread and its destination; never throws. */
export async function closeDestinationEntry(entry: DestinationEntry): Promise<void> {
  await Promise.all([entry.writer?.close?.().catch(() => undefined), entry.destination.close?.().catch(() => undefined)]);
}

/** One applied configuration and everything derived from it. */
export interface ConfigState {
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

/** The project's settings, or `undefined` when it is not configured. */
export const projectConfigOf = (config: WorkerConfig, projectId: string): ProjectConfig | undefined => (Object.hasOwn(config.projects, projectId) ? config.projects[projectId] : undefined);

/** The projects that write to `entry`. */
export const projectsOf = (state: ConfigState, entry: DestinationEntry): string[] =>
  Object.entries(state.config.projects)
    .filter(([, project]) => project.destination === entry.name && state.destinations.get(entry.name) === entry)
    .map(([id]) => id);

/** The project an API key belongs to, or `undefined`. */
export function authenticate(state: ConfigState, apiKey: string): ProjectRoute | undefined {
  if (typeof apiKey !== 'string' || apiKey === '') return undefined;
  // Looked up by the SHA-256 of the presented key: the map's timing depends on that digest, not on how much of a stored hash matched.
  const hash = hashApiKey(apiKey);
  const projectId = state.keys.get(hash);
  if (projectId === undefined) return undefined;
  const stored = state.config.projects[projectId]?.api_keys.find((key) => apiKeyHashesEqual(key.sha256, hash));
  // A rotated key stops working once its grace period ends, with no reload needed.
  if (stored === undefined || (stored.expires_at !== undefined && Date.parse(stored.expires_at) <= Date.now())) return undefined;
  return state.routes.get(projectId);
}

/** Every destination's state, as `ConfigRuntime.destinations()` answers. */
export const destinationStatuses = (state: ConfigState): DestinationStatus[] =>
  [...state.destinations.values()].map((entry) => ({
    name: entry.name,
    type: entry.type,
    id: entry.destination.id,
    ready: entry.ready,
    ...(entry.problem === undefined ? {} : { problem: entry.problem }),
  }));

/** The start-time settings of `config`, with relative paths resolved against `baseDir`. */
export function startupSettings(config: WorkerConfig, baseDir: string): StartupSettings {
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
}

/** Why a project's messages have nowhere to go, as `ConfigRuntime.missingDestinationReason()` answers. */
export function missingDestinationReason(state: ConfigState, projectId: string): string | undefined {
  const { config, detached } = state;
  if (!Object.hasOwn(config.projects, projectId)) return `Project "${projectId}" is not configured (it was deleted, or never existed), so its messages have no destination.`;
  if (config.projects[projectId]?.destination !== undefined) return undefined;
  const lost = detached.get(projectId);
  if (lost === undefined) return `Project "${projectId}" has no destination configured.`;
  return Object.hasOwn(config.destinations, lost.destination)
    ? `Project "${projectId}" was disconnected from destination "${lost.destination}" (configuration version ${lost.version}) and has no destination now.`
    : `Destination "${lost.destination}" of project "${projectId}" was deleted from the configuration (version ${lost.version}); the project has no destination now.`;
}
