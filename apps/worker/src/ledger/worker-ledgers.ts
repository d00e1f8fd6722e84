import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { assertWriterId, compileKeyLayout, createLedgerWriter, randomWriterId, type Archiver, type DestinationV1, type LedgerError, type LedgerWriter } from '@sentcopy/core';
import type { LedgerConfig } from '../config/worker-config.js';
import type { LogLevel, WorkerLogger } from '../logging/index.js';
import type { GateRecord } from '../intake/intake-options.js';
import type { LeaseRef, MessageQueue, QueueMessageInput } from '../queue/index.js';
import { layoutRecipientHash } from './layout-recipient-hash.js';

/** How the worker writes the archive ledger; the configuration file's `ledger` section, resolved. */
export interface WorkerLedgerSettings {
  /** Whether destinations get a ledger at all. @default true */
  readonly enabled: boolean;
  /** Destinations (by name) that get none although `enabled` is true. @default none */
  readonly disabledDestinations: readonly string[];
  /** A segment is closed once it holds this many entries. @default 5000 */
  readonly segmentMaxEntries: number;
  /** A segment is closed this long after its first entry, in milliseconds. @default 10000 */
  readonly segmentMaxAgeMs: number;
  /** After a failed segment write, how long until it is tried again, in milliseconds. @default 30000 */
  readonly retryDelayMs: number;
}

/** The defaults of {@link WorkerLedgerSettings}. */
export const defaultLedgerSettings: WorkerLedgerSettings = Object.freeze({ enabled: true, disabledDestinations: Object.freeze([]) as readonly string[], segmentMaxEntries: 5_000, segmentMaxAgeMs: 10_000, retryDelayMs: 30_000 });

const resolved = new WeakMap<object, WorkerLedgerSettings>();

/** The settings of a configuration's `ledger` section (defaults for what it leaves out). Cached per section. */
export function ledgerSettingsOf(config: LedgerConfig | undefined): WorkerLedgerSettings {
  if (config === undefined) return defaultLedgerSettings;
  let settings = resolved.get(config);
  if (settings === undefined) {
    settings = Object.freeze({
      enabled: config.enabled ?? defaultLedgerSettings.enabled,
      disabledDestinations: Object.freeze([...(config.disabled_destinations ?? [])]),
      segmentMaxEntries: config.segment_max_entries ?? defaultLedgerSettings.segmentMaxEntries,
      segmentMaxAgeMs: config.segment_max_age_ms ?? defaultLedgerSettings.segmentMaxAgeMs,
      retryDelayMs: config.retry_delay_ms ?? defaultLedgerSettings.retryDelayMs,
    });
    resolved.set(config, settings);
  }
  return settings;
}

/** Options for {@link createWorkerLedgers}. */
export interface WorkerLedgersOptions {
  /**
   * Folder where each destination's writer id is kept (`<folder>/ledger/<destination name>.id`,
   * mode 0600), so a restarted worker continues its chains: the embedded queue's folder. Leave out
   * in a cluster: each process then writes chains of its own, with random ids. A function is asked
   * when the first writer is created (the queue's folder is known only once the configuration is
   * read). @default random ids
   */
  readonly stateDirectory?: string | (() => string | undefined);
  /** Receives `ledger.*` log entries. @default none */
  readonly logger?: WorkerLogger;
  /** The clock, in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** How often each ledger's health is looked at, in milliseconds. @default 1000 */
  readonly watchIntervalMs?: number;
}

/** One destination's ledger as readiness, metrics and alerts see it. */
export interface LedgerState {
  /** The destination's name in the configuration. */
  readonly destination: string;
  /** The chain this worker writes. */
  readonly writerId: string;
  /** Entries appended but not yet in a written segment. */
  readonly pendingEntries: number;
  /** Messages the queue holds as "stored, not yet in the ledger" for this ledger. */
  readonly heldMessages: number;
  /** When the oldest pending entry was appended, in epoch milliseconds; `undefined` when none is pending. */
  readonly oldestPendingAt?: number;
  /** `false` while its segments cannot be written. */
  readonly healthy: boolean;
  /** Why, while not healthy (names the segment, never a recipient or a secret). */
  readonly reason?: string;
  /** When its segment writes started failing, in epoch milliseconds, while not healthy. */
  readonly since?: number;
  /** Failed segment writes since the worker started. */
  readonly failures: number;
}

/** A ledger turning unhealthy (its segments cannot be written) or writing again. */
export interface LedgerHealthEvent {
  readonly type: 'unhealthy' | 'recovered';
  /** The destination's name. */
  readonly destination: string;
  /** Why it failed (for `recovered`: why it had failed). */
  readonly reason: string;
  /** When the failures began, in epoch milliseconds. */
  readonly since: number;
  /** When this transition was seen, in epoch milliseconds. */
  readonly at: number;
  /** Entries waiting to be written at that moment. */
  readonly pendingEntries: number;
}

/** What an archiver of a project is given: the ledger to write, and a key that changes when it does. */
export interface ProjectLedger {
  /** The writer to pass as `createArchiver({ ledger })`: the destination's chain, with the project's recipient hash. */
  readonly ledger: LedgerWriter;
  /** Names the writer and hash, for archiver caches. */
  readonly key: string;
}

/** The worker's ledgers: one writer per destination, and the messages waiting for their entries. */
export interface WorkerLedgers {
  /**
   * The ledger an archiver of a project on destination `name` writes to, or `undefined` when the
   * settings turn it off for that destination. One writer per destination instance (its chain);
   * each project's entries hash recipients as its key layout does (`layout`, a template or preset).
   * A change of settings retires the writer (it writes what it has) and starts a new one.
   */
  writerFor(name: string, destination: DestinationV1, settings: WorkerLedgerSettings, layout: string, recipientKey: string | undefined): ProjectLedger | undefined;
  /** Records that `archiver` writes to `ledger` (from {@link writerFor}), for {@link hold}. */
  bind(archiver: Archiver, ledger: ProjectLedger): void;
  /**
   * Settles a claimed message whose object `archiver` stored with entry `position`: the queue holds
   * it as "stored, not yet in the ledger" and removes it once the entry is durable. Without a
   * ledger on the archiver, acknowledges it at once. `false` if the lease is no longer held.
   */
  hold(message: LeaseRef, archiver: Archiver, position: number): Promise<boolean>;
  /** Whether `archiver` (bound with {@link bind}) writes a ledger: then what it stores outside the queue must be {@link recordStoring recorded}. */
  writes(archiver: Archiver): boolean;
  /**
   * For a message the before-send gate is storing with `archiver`: records it in the queue as
   * "stored, not yet in the ledger" (`enqueueStored`) while the object is written. Once stored, the
   * record is removed when its entry is durable, as {@link hold} does for claimed messages; if the
   * write fails it is discarded (`discardStored`). `recorded` resolves once the record is durable,
   * so a crash after the answer archives the message again and lists it, and rejects (a
   * `QueueError`) when the queue cannot store it: the caller must not confirm the message then.
   */
  recordStoring(message: QueueMessageInput, archiver: Archiver): GateRecord;
  /** The destination was removed or rebuilt: its writer writes what it has and closes; messages whose entries it could not write go back to the queue. */
  retire(destination: DestinationV1): void;
  /** The queue holding the messages; must be set before the first {@link hold}. */
  connectQueue(queue: MessageQueue): void;
  /** Every ledger's state. */
  snapshot(): LedgerState[];
  /** Calls `listener` on every health transition; returns a function that removes it. */
  subscribe(listener: (event: LedgerHealthEvent) => void): () => void;
  /** Writes every open segment of every ledger and closes them (graceful stop); failures are logged, and the held messages are archived again after a restart. */
  close(): Promise<void>;
}

interface Held {
  readonly id: string;
}

interface WriterState {
  readonly name: string;
  readonly destination: DestinationV1;
  readonly writer: LedgerWriter;
  readonly settingsKey: string;
  /** When the queue should hand out a gate's record again if it is still held (see `enqueueStored`), in milliseconds. */
  readonly recoverAfterMs: number;
  readonly projects: Map<string, ProjectLedger>;
  /** Position → the message waiting for it. */
  readonly held: Map<number, Held>;
  /** When each entry from `firstPending` on was appended (positions are consecutive), oldest first. */
  readonly appendedAt: number[];
  firstPending: number;
  retired: boolean;
  /** The retired writer could not write its last entries: messages still arriving for it go back to the queue. */
  abandoned: boolean;
  failures: number;
  failing?: { since: number; reason: string };
  reported?: { since: number; reason: string };
}

const settingsKeyOf = (settings: WorkerLedgerSettings) => `${settings.segmentMaxEntries}/${settings.segmentMaxAgeMs}/${settings.retryDelayMs}`;

/** The writer id in `file`, created (exclusively, mode 0600, fsynced) on first use. Synchronous: read once per destination. */
export function persistentWriterIdSync(file: string): string {
  try {
    const existing = readFileSync(file, 'utf8').trim();
    assertWriterId(existing);
    return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const id = randomWriterId();
  let handle: number;
  try {
    handle = openSync(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return persistentWriterIdSync(file);
    throw error;
  }
  try {
    writeSync(handle, `${id}\n`);
    fsyncSync(handle);
  } finally {
    closeSync(handle);
  }
  return id;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates the worker's ledgers. Each destination gets one writer (one chain), created with its
 * first archiver; the queue keeps each stored message until its entry is in a written segment
 * ({@link WorkerLedgers.hold}). A ledger whose segments cannot be written is loud — logs, health
 * events for alerts, {@link WorkerLedgers.snapshot} for readiness and metrics — but archiving goes
 * on: the messages wait in the queue as "stored, not yet in the ledger" until it writes again.
 */
export function createWorkerLedgers(options: WorkerLedgersOptions = {}): WorkerLedgers {
  const now = options.now ?? Date.now;
  const states = new Map<DestinationV1, WriterState>();
  const bound = new WeakMap<Archiver, WriterState>();
  const byLedger = new WeakMap<LedgerWriter, WriterState>();
  const listeners = new Set<(event: LedgerHealthEvent) => void>();
  const closing = new Set<Promise<void>>();
  // Removals of messages whose entries were written, awaited before the queue closes.
  const settlings = new Set<Promise<void>>();
  let queue: MessageQueue | undefined;
  let closed = false;
  const log = (level: LogLevel, event: string, message: string, fields: Record<string, unknown> = {}) => {
    try {
      options.logger?.({ level, event, message, ...fields });
    } catch {
      // A failing logger must not stop the ledger.
    }
  };
  const emit = (event: LedgerHealthEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // Listeners cannot break the ledger.
      }
    }
  };

  // Tells recipient keys apart in the views' cache without keeping them as map keys twice over.
  const digests = new Map<string, string>();
  const keyDigest = (key: string): string => {
    let digest = digests.get(key);
    if (digest === undefined) {
      digest = createHash('sha256').update(`sentcopy ledger view\n${key}`).digest('hex').slice(0, 32);
      digests.set(key, digest);
    }
    return digest;
  };

  const writerIdFor = (name: string): string => {
    const folder = typeof options.stateDirectory === 'function' ? options.stateDirectory() : options.stateDirectory;
    if (folder === undefined) return randomWriterId();
    const file = path.join(folder, 'ledger', `${name}.id`);
    try {
      return persistentWriterIdSync(file);
    } catch (error) {
      // A full or read-only disk must not stop archiving: this process writes a chain of its own instead.
      const id = randomWriterId();
      log(
        'warn',
        'ledger.writer_id_unsaved',
        `Cannot keep the ledger writer id of destination "${name}" in ${file} (${(error as NodeJS.ErrnoException).code ?? describe(error)}); this process writes chain ${id}, and a restart starts another.`,
        { destination: name, writerId: id },
      );
      return id;
    }
  };

  async function settleDurable(state: WriterState, durable: number): Promise<void> {
    const written = Math.min(state.appendedAt.length, durable - state.firstPending + 1);
    if (written > 0) {
      state.appendedAt.splice(0, written);
      state.firstPending += written;
    }
    const ids: string[] = [];
    for (const [position, held] of state.held) {
      if (position > durable) continue;
      state.held.delete(position);
      ids.push(held.id);
    }
    if (ids.length === 0 || queue === undefined) return;
    try {
      await queue.ackStored(ids);
    } catch (error) {
      // They stay in the queue as stored: archived again (one more entry, counted once) after a restart.
      log('error', 'ledger.settle_failed', `Could not remove ${ids.length} message(s) whose ledger entries are written; they are archived again after a restart (readers count each object once).`, {
        destination: state.name,
        count: ids.length,
        error: describe(error),
      });
    }
  }

  function create(name: string, destination: DestinationV1, settings: WorkerLedgerSettings): WriterState {
    const writerId = writerIdFor(name);
    let state: WriterState | undefined;
    const writer = createLedgerWriter({
      destination,
      writerId,
      // Each project's archiver writes through a view with its own layout's hash (see writerFor); this one is never used.
      recipientHash: () => {
        throw new TypeError('The worker hashes ledger recipients per project.');
      },
      maxEntries: settings.segmentMaxEntries,
      maxAgeMs: settings.segmentMaxAgeMs,
      retryDelayMs: settings.retryDelayMs,
      onError: (error: LedgerError) => {
        if (state === undefined) return;
        state.failures++;
        state.failing ??= { since: now(), reason: error.message };
        state.failing.reason = error.message;
        log(
          'error',
          'ledger.write_failed',
          `The ledger of destination "${name}" could not be written; its ${writer.pendingEntries} pending entries are kept and tried again. Archiving goes on: the messages wait in the queue as stored, not yet in the ledger.`,
          {
            destination: name,
            writerId,
            kind: error.kind,
            reason: error.message,
            pendingEntries: writer.pendingEntries,
          },
        );
      },
    });
    state = {
      name,
      destination,
      writer,
      settingsKey: settingsKeyOf(settings),
      recoverAfterMs: 2 * settings.segmentMaxAgeMs,
      projects: new Map(),
      held: new Map(),
      appendedAt: [],
      firstPending: 1,
      retired: false,
      abandoned: false,
      failures: 0,
    };
    const created = state;
    writer.onDurable((durable) => {
      created.failing = undefined;
      const settling = settleDurable(created, durable).finally(() => settlings.delete(settling));
      settlings.add(settling);
    });
    log('info', 'ledger.opened', `Destination "${name}" writes the archive ledger as chain ${writerId}.`, { destination: name, writerId });
    return created;
  }

  function retireState(state: WriterState): void {
    if (state.retired) return;
    state.retired = true;
    if (states.get(state.destination) === state) states.delete(state.destination);
    const done = state.writer
      .close()
      .catch(async (error: unknown) => {
        // What it could not write is archived again through the destination's new ledger.
        state.abandoned = true;
        const ids = [...state.held.values()].map((held) => held.id);
        state.held.clear();
        log('error', 'ledger.retired_unwritten', `The retired ledger of destination "${state.name}" could not write its last entries (${describe(error)}); their ${ids.length} message(s) are archived again.`, {
          destination: state.name,
          count: ids.length,
        });
        if (ids.length > 0 && queue !== undefined && !closed) await queue.releaseStored(ids).catch(() => undefined);
      })
      .finally(() => closing.delete(done));
    closing.add(done);
  }

  function view(state: WriterState, layout: string, recipientKey: string | undefined): LedgerWriter {
    const { hash } = layoutRecipientHash(compileKeyLayout(layout, recipientKey === undefined ? {} : { recipientKey }), recipientKey);
    const writer = state.writer;
    const ledger: LedgerWriter = {
      destination: writer.destination,
      writerId: writer.writerId,
      recipientHash: hash,
      get appendedPosition() {
        return writer.appendedPosition;
      },
      get durablePosition() {
        return writer.durablePosition;
      },
      get pendingEntries() {
        return writer.pendingEntries;
      },
      get lastError() {
        return writer.lastError;
      },
      append(entry) {
        const position = writer.append(entry);
        if (state.appendedAt.length === 0) state.firstPending = position;
        state.appendedAt.push(now());
        return position;
      },
      onDurable: (listener) => writer.onDurable(listener),
      flush: () => writer.flush(),
      // The destination's writer outlives every archiver: closing a view only writes what is open.
      close: async () => {
        await writer.flush();
      },
    };
    byLedger.set(ledger, state);
    return ledger;
  }

  // Transitions are looked at on a timer too, so a ledger that fails while nothing is archived is still reported.
  const watch = setInterval(() => {
    for (const state of states.values()) {
      const failing = state.failing;
      if (failing !== undefined && state.reported === undefined) {
        state.reported = { ...failing };
        log('error', 'ledger.unhealthy', `The ledger of destination "${state.name}" cannot be written: ${failing.reason} Messages wait in the queue as stored, not yet in the ledger.`, {
          destination: state.name,
          pendingEntries: state.writer.pendingEntries,
        });
        emit({ type: 'unhealthy', destination: state.name, reason: failing.reason, since: failing.since, at: now(), pendingEntries: state.writer.pendingEntries });
      } else if (failing === undefined && state.reported !== undefined) {
        const was = state.reported;
        state.reported = undefined;
        log('info', 'ledger.recovered', `The ledger of destination "${state.name}" is written again.`, { destination: state.name, since: new Date(was.since).toISOString() });
        emit({ type: 'recovered', destination: state.name, reason: was.reason, since: was.since, at: now(), pendingEntries: state.writer.pendingEntries });
      }
    }
  }, options.watchIntervalMs ?? 1_000);
  watch.unref();

  return {
    writerFor(name, destination, settings, layout, recipientKey) {
      let state = states.get(destination);
      const on = settings.enabled && !settings.disabledDestinations.includes(name);
      if (state !== undefined && (!on || state.settingsKey !== settingsKeyOf(settings) || state.name !== name)) {
        retireState(state);
        state = undefined;
      }
      if (!on || closed) return undefined;
      if (state === undefined) {
        state = create(name, destination, settings);
        states.set(destination, state);
      }
      const projectKey = `${layout}\n${recipientKey === undefined ? '' : keyDigest(recipientKey)}`;
      let project = state.projects.get(projectKey);
      if (project === undefined) {
        project = { ledger: view(state, layout, recipientKey), key: `${state.writer.writerId}/${state.settingsKey}` };
        state.projects.set(projectKey, project);
      }
      return project;
    },
    bind(archiver, ledger) {
      const state = byLedger.get(ledger.ledger);
      if (state !== undefined) bound.set(archiver, state);
    },
    async hold(message, archiver, position) {
      if (queue === undefined) throw new Error('The ledgers have no queue: call connectQueue() first.');
      const state = bound.get(archiver);
      if (state === undefined) return queue.ack(message);
      if (!(await queue.holdStored(message))) return false;
      if (state.writer.durablePosition >= position) {
        await queue.ackStored([message.id]);
        return true;
      }
      if (state.abandoned) {
        await queue.releaseStored([message.id]);
        return true;
      }
      state.held.set(position, { id: message.id });
      return true;
    },
    writes(archiver) {
      return bound.has(archiver);
    },
    recordStoring(message, archiver) {
      if (queue === undefined) throw new Error('The ledgers have no queue: call connectQueue() first.');
      const connected = queue;
      const state = bound.get(archiver);
      let id: string | undefined;
      // One event-loop turn later: undici writes a request to a reused keep-alive socket only in the
      // turn's check phase (its idle-socket check), and the embedded queue commits a durable write
      // in the check phase of the turn it is submitted in. Submitted now, the record's fsync would
      // run before the request is sent; submitted then, it runs while the request is answered.
      const recorded = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => connected.enqueueStored(message, state === undefined ? {} : { recoverAfterMs: state.recoverAfterMs }))
        .then((value) => {
          id = value;
        });
      // Whoever discards does not await it: the rejection is the caller's to read, never unhandled.
      recorded.catch(() => undefined);
      const track = (settling: Promise<unknown>, what: string) => {
        const tracked = settling.then(
          () => undefined,
          (error: unknown) => log('error', 'ledger.settle_failed', what, { destination: state?.name, count: 1, error: describe(error) }),
        );
        const done = tracked.finally(() => settlings.delete(done));
        settlings.add(done);
      };
      return {
        recorded,
        stored(position) {
          // Undefined: the same message is queued already, and is archived and listed with an entry of its own.
          if (id === undefined) return;
          if (state === undefined || position === undefined || state.writer.durablePosition >= position) {
            track(connected.ackStored([id]), 'Could not settle a message whose ledger entry is written; it is archived again after a restart (readers count each object once).');
          } else if (state.abandoned) {
            track(connected.releaseStored([id]), 'Could not settle a message whose ledger entry is abandoned; it is archived again after a restart (readers count each object once).');
          } else {
            state.held.set(position, { id });
          }
        },
        discard() {
          track(
            // A record the queue could not store leaves nothing to remove.
            recorded.then(
              () => (id === undefined ? undefined : connected.discardStored([id])),
              () => undefined,
            ),
            'Could not remove the record of a before-send message whose write failed; it is archived after a restart although the caller was told it was not stored.',
          );
        },
      };
    },
    retire(destination) {
      const state = states.get(destination);
      if (state !== undefined) retireState(state);
    },
    connectQueue(connected) {
      queue = connected;
    },
    snapshot() {
      return [...states.values()].map((state): LedgerState => {
        const oldest = state.appendedAt[0];
        return {
          destination: state.name,
          writerId: state.writer.writerId,
          pendingEntries: state.writer.pendingEntries,
          heldMessages: state.held.size,
          ...(oldest === undefined || state.writer.pendingEntries === 0 ? {} : { oldestPendingAt: oldest }),
          healthy: state.failing === undefined,
          ...(state.failing === undefined ? {} : { reason: state.failing.reason, since: state.failing.since }),
          failures: state.failures,
        };
      });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      clearInterval(watch);
      for (const state of [...states.values()]) {
        state.retired = true;
        const done = state.writer.close().then(
          () => undefined,
          (error: unknown) => {
            // Kept in the queue as stored: a restart archives them again and appends their entries.
            log(
              'error',
              'ledger.close_failed',
              `The ledger of destination "${state.name}" could not write its last entries before the stop (${describe(error)}); their ${state.held.size} message(s) stay in the queue and are archived again after a restart.`,
              {
                destination: state.name,
                count: state.held.size,
              },
            );
          },
        );
        closing.add(done);
      }
      await Promise.all(closing);
      // Acks of the last segments run from onDurable; give them their turn before the queue closes.
      await new Promise((resolve) => setImmediate(resolve));
      await Promise.all([...states.values()].map((state) => settleDurable(state, state.writer.durablePosition)));
      await Promise.all(settlings);
      closed = true;
      states.clear();
    },
  };
}
