import { createArchiver, type Archiver, type PreparePool } from '@sentcopy/core';
import { ledgerSettingsOf, type ProjectLedger, type WorkerLedgers } from '../ledger/index.js';
import type { ArchiverUse } from '../projects/index.js';
import { projectConfigOf, type ConfigState, type DestinationEntry } from './config-state.js';
import { projectKeyLayout } from './recipient-key.js';
import type { ProjectConfig } from './worker-config.js';

/** What the archivers of every project share. */
export interface ProjectArchiverOptions {
  /** Prepares the queue's messages off the event loop. @default none */
  readonly preparePool?: PreparePool;
  /** Each destination's archivers write its ledger. @default no ledger */
  readonly ledgers?: WorkerLedgers;
  /**
   * Why this worker refused the current configuration, while it runs an older one: a project
   * without a destination then waits rather than being dead-lettered. @default none refused
   */
  readonly refusedProblem?: string;
}

/** Creates an archiver for `use`, writing to `entry` as `project` says. */
function createProjectArchiver(state: ConfigState, entry: DestinationEntry, project: ProjectConfig, layout: string, use: Exclude<ArchiverUse, 'check'>, ledger: ProjectLedger | undefined, options: ProjectArchiverOptions): Archiver {
  const { recipientKey } = state;
  return createArchiver({
    destination: use === 'queued' ? (entry.writer ?? entry.destination) : entry.destination,
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
}

/**
 * The archiver for a project's messages in `state`, as `ConfigRuntime.archiverFor()` answers:
 * `undefined` when the project has no destination; throws when its destination is not ready (except
 * to check). Archivers are cached on their destination entry, so a rebuilt destination gets new ones.
 */
export function projectArchiver(state: ConfigState, projectId: string, use: ArchiverUse, options: ProjectArchiverOptions): Archiver | undefined {
  const { config, destinations, recipientKeyId } = state;
  const project = projectConfigOf(config, projectId);
  if (project?.destination === undefined) {
    // The configuration this worker refused may well give the project a destination (a cluster's
    // other workers run on it): the message waits for a worker that can serve it, never dead-lettered here.
    // Given back after a second, so a worker that applied it takes it soon.
    if (options.refusedProblem !== undefined)
      throw Object.assign(new Error(`This worker refused the current configuration (${options.refusedProblem}), and the one it runs has no destination for project "${projectId}".`), { retryAfterMs: 1_000 });
    return undefined;
  }
  const entry = destinations.get(project.destination) as DestinationEntry;
  if (!entry.ready && use !== 'check') {
    throw new Error(`Destination "${entry.name}" of project "${projectId}" is not ready. ${entry.problem ?? 'Its probe has not finished yet.'}`);
  }
  // Checking needs no archiver of its own: the queue's has the same profile, layout and codec.
  const archiverUse = use === 'check' ? 'queued' : use;
  const layout = projectKeyLayout(config, project);
  const ledger = options.ledgers?.writerFor(entry.name, entry.destination, ledgerSettingsOf(config.ledger), layout, state.recipientKey);
  const cacheKey = `${archiverUse}\n${projectId}\n${project.profile ?? ''}\n${layout}\n${recipientKeyId}\n${project.codec ?? ''}\n${ledger?.key ?? ''}`;
  let archiver = entry.archivers.get(cacheKey);
  if (archiver === undefined) {
    archiver = createProjectArchiver(state, entry, project, layout, archiverUse, ledger, options);
    if (ledger !== undefined) options.ledgers?.bind(archiver, ledger);
    entry.archivers.set(cacheKey, archiver);
  }
  return archiver;
}
