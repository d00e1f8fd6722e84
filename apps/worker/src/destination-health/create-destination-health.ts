import { DestinationError, formatDuration, type DestinationErrorKind, type DestinationV1 } from '@sentcopy/core';
import { redactReason } from '../alerts/redact-reason.js';
import { destinationBehind } from '../write-thread/index.js';
import type { LogLevel } from '../logging/index.js';
import type { DestinationHealth, DestinationHealthEvent, DestinationHealthOptions, DestinationHealthState, DestinationProblemKind, WriteReport } from './destination-health-options.js';

interface Problem {
  readonly kind: DestinationProblemKind;
  readonly reason: string;
  readonly since: number;
  /** When it turned unhealthy: only a write started after this proves recovery. */
  readonly at: number;
  readonly source: 'writes' | 'probe';
}

interface Pause {
  readonly error: DestinationError;
  readonly at: number;
  timer?: NodeJS.Timeout;
}

interface State {
  readonly name: string;
  destination?: DestinationV1;
  configured: boolean;
  awaitingProbe: boolean;
  configuredProjects: Set<string>;
  readonly seenProjects: Set<string>;
  problem?: Problem;
  consecutiveFailures: number;
  runStartedAt?: number;
  recoveredAt?: number;
  /** Latest start of a stored write or a passing probe. */
  okAt: number;
  /** Latest start of a failed write (of a kind that says the destination is in trouble) or a failed probe. */
  failedAt: number;
  pause?: Pause;
  /** Messages were set to wait for this destination since its last hurry. */
  backlog: boolean;
  lastHurryAt?: number;
  hurryTimer?: NodeJS.Timeout;
  hurried: number;
}

const troubleKinds = new Set<DestinationErrorKind>(['unreachable', 'unauthorized', 'unknown']);

function positiveInteger(name: string, value: number, allowZero = false): number {
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) throw new RangeError(`Invalid destination health options: ${name} must be ${allowZero ? 'a whole number, 0 or more' : 'a positive integer'}.`);
  return value;
}

function duration(name: string, value: number, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(`Invalid destination health options: ${name} must be a finite number of milliseconds${allowZero ? ', 0 or more' : ' above 0'}.`);
  }
  return value;
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Creates the tracker that owns each destination's health: failed writes in a row and their kind,
 * the last probe, whether writes are paused, and when waiting messages are made ready again. A
 * stored write, or a passing probe, after messages were set to wait makes them ready at once (at
 * most once per `hurryIntervalMs`), whatever kind of failure set them back.
 */
export function createDestinationHealth(options: DestinationHealthOptions = {}): DestinationHealth {
  const unhealthyAfterFailures = positiveInteger('unhealthyAfterFailures', options.unhealthyAfterFailures ?? 5);
  const unhealthyAfterMs = duration('unhealthyAfterMs', options.unhealthyAfterMs ?? 60_000);
  const pauseAfterFailures = positiveInteger('pauseAfterFailures', options.pauseAfterFailures ?? 0, true);
  const pauseProbeMs = duration('pauseProbeMs', options.pauseProbeMs ?? 10_000);
  const hurryIntervalMs = duration('hurryIntervalMs', options.hurryIntervalMs ?? 5_000, true);
  const now = options.now ?? Date.now;
  let queue = options.queue;
  const log = (level: LogLevel, event: string, message: string, fields: Record<string, unknown> = {}) => {
    try {
      options.logger?.({ level, event, message, ...fields });
    } catch {
      // A failing logger must not stop health tracking.
    }
  };

  const states = new Map<string, State>();
  // Instance → name, kept for replaced instances too so their late reports can be recognised and set aside.
  const names = new WeakMap<DestinationV1, string>();
  const listeners = new Set<(event: DestinationHealthEvent) => void>();

  const emit = (event: DestinationHealthEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        log('error', 'destination.listener_failed', `A destination health listener threw: ${describe(error)}`);
      }
    }
  };

  const newState = (name: string, configured: boolean): State => ({
    name,
    configured,
    awaitingProbe: configured,
    configuredProjects: new Set(),
    seenProjects: new Set(),
    consecutiveFailures: 0,
    okAt: -Infinity,
    failedAt: -Infinity,
    backlog: configured,
    hurried: 0,
  });

  const byName = (name: string): State => {
    let state = states.get(name);
    if (state === undefined) {
      state = newState(name, false);
      states.set(name, state);
    }
    return state;
  };

  /** The state an instance reports into; `current: false` for an instance replaced or removed since. */
  const stateOf = (reported: DestinationV1): { state: State | undefined; current: boolean } => {
    const destination = destinationBehind(reported);
    const name = names.get(destination);
    if (name === undefined) {
      const state = byName(destination.id);
      // Without a configuration naming it, the latest instance under an id is the one that counts.
      if (!state.configured) state.destination = destination;
      names.set(destination, state.name);
      return { state, current: state.destination === destination };
    }
    const state = states.get(name);
    return { state, current: state?.destination === destination };
  };

  const clearPause = (state: State) => {
    if (state.pause === undefined) return;
    clearTimeout(state.pause.timer);
    delete state.pause;
  };

  function turnUnhealthy(state: State, problem: Omit<Problem, 'at' | 'reason'> & { reason: string }): void {
    const at = now();
    state.problem = { ...problem, reason: redactReason(problem.reason), at };
    log(problem.source === 'probe' ? 'warn' : 'error', 'destination.unhealthy', `Destination "${state.name}" is unhealthy: ${state.problem.reason}`, {
      destination: state.name,
      kind: problem.kind,
      since: new Date(problem.since).toISOString(),
    });
    emit({ type: 'unhealthy', destination: state.name, kind: problem.kind, reason: state.problem.reason, since: problem.since, at });
  }

  function recover(state: State): void {
    const problem = state.problem;
    if (problem === undefined) return;
    const at = now();
    delete state.problem;
    state.recoveredAt = at;
    log('info', 'destination.recovered', `Destination "${state.name}" takes writes again.`, { destination: state.name, kind: problem.kind, since: new Date(problem.since).toISOString() });
    emit({ type: 'recovered', destination: state.name, kind: problem.kind, reason: problem.reason, since: problem.since, at });
  }

  function maybeHurry(state: State): void {
    if (!state.backlog || state.okAt <= state.failedAt || state.pause !== undefined || queue === undefined) return;
    const target = queue;
    const wait = state.lastHurryAt === undefined ? 0 : state.lastHurryAt + hurryIntervalMs - performance.now();
    if (wait > 0) {
      if (state.hurryTimer === undefined) {
        state.hurryTimer = setTimeout(() => {
          delete state.hurryTimer;
          maybeHurry(state);
        }, wait);
        state.hurryTimer.unref();
      }
      return;
    }
    const projects = [...new Set([...state.configuredProjects, ...state.seenProjects])];
    state.backlog = false;
    state.lastHurryAt = performance.now();
    if (projects.length === 0) return;
    void target.hurry(projects).then(
      (moved) => {
        if (moved === 0) return;
        state.hurried += moved;
        log('info', 'destination.queue_hurried', `Made ${moved} waiting message(s) ready now: destination "${state.name}" takes writes.`, { destination: state.name, projects, moved });
        emit({ type: 'hurried', destination: state.name, moved });
      },
      (error: unknown) => {
        // They still come up at their scheduled time; try again at the next sign of health.
        state.backlog = true;
        log('warn', 'destination.queue_hurry_failed', `Could not make waiting messages ready now: ${describe(error)}`, { destination: state.name, projects });
      },
    );
  }

  function pause(state: State, destination: DestinationV1, kind: DestinationErrorKind, reason: string): void {
    const error = new DestinationError({
      kind,
      provider: destination.provider,
      message: `Writes are paused after ${state.consecutiveFailures} failures in a row (last: ${redactReason(reason)}); a probe every ${formatDuration(pauseProbeMs)} resumes them`,
    });
    state.pause = { error, at: now() };
    log('warn', 'destination.paused', 'Writes to the destination are paused after repeated failures; its messages wait in the queue.', { destination: state.name, kind, reason: redactReason(reason) });
    probeWhilePaused(state, destination);
  }

  function probeWhilePaused(state: State, destination: DestinationV1): void {
    const current = state.pause;
    if (current === undefined) return;
    current.timer = setTimeout(() => {
      void destination.probe().then(
        (result) => (result.ok ? resume(state, current) : probeWhilePaused(state, destination)),
        () => probeWhilePaused(state, destination),
      );
    }, pauseProbeMs);
    current.timer.unref();
  }

  function resume(state: State, which: Pause): void {
    if (state.pause !== which) return;
    clearPause(state);
    state.consecutiveFailures = 0;
    delete state.runStartedAt;
    state.okAt = Math.max(state.okAt, now());
    log('info', 'destination.resumed', 'Writes to the destination resume; messages waiting for a retry are ready now.', { destination: state.name });
    maybeHurry(state);
  }

  function recordSuccess(state: State, startedAt: number): void {
    state.okAt = Math.max(state.okAt, startedAt);
    state.consecutiveFailures = 0;
    delete state.runStartedAt;
    if (state.problem !== undefined && startedAt > state.problem.at) recover(state);
    if (state.pause !== undefined && startedAt > state.pause.at) {
      clearPause(state);
      log('info', 'destination.resumed', 'A write to the paused destination was stored; writes resume.', { destination: state.name });
    }
    maybeHurry(state);
  }

  function recordFailure(state: State, destination: DestinationV1 | undefined, startedAt: number, kind: DestinationErrorKind, reason: string): void {
    if (!troubleKinds.has(kind)) return;
    // The message now waits for a retry, whenever its attempt began.
    state.backlog = true;
    // Writes settle out of order: a failure of an attempt begun before the last recovery is old news.
    if (state.recoveredAt !== undefined && startedAt <= state.recoveredAt) return maybeHurry(state);
    state.failedAt = Math.max(state.failedAt, startedAt);
    state.consecutiveFailures++;
    state.runStartedAt ??= startedAt;
    if (state.problem === undefined) {
      if (kind === 'unauthorized') turnUnhealthy(state, { kind, reason, since: startedAt, source: 'writes' });
      else if (state.consecutiveFailures >= unhealthyAfterFailures || startedAt - state.runStartedAt >= unhealthyAfterMs) {
        turnUnhealthy(state, { kind: kind as 'unreachable' | 'unknown', reason, since: state.runStartedAt, source: 'writes' });
      }
    }
    if (destination !== undefined && pauseAfterFailures > 0 && state.pause === undefined && state.consecutiveFailures >= pauseAfterFailures) pause(state, destination, kind, reason);
    maybeHurry(state);
  }

  const snapshotOf = (state: State): DestinationHealthState => ({
    name: state.name,
    healthy: state.problem === undefined && !state.awaitingProbe,
    awaitingProbe: state.awaitingProbe,
    consecutiveFailures: state.consecutiveFailures,
    paused: state.pause !== undefined,
    hurried: state.hurried,
    ...(state.problem === undefined ? {} : { kind: state.problem.kind, reason: state.problem.reason, since: state.problem.since }),
  });

  return {
    track(destination, details) {
      const state = states.get(details.name) ?? newState(details.name, true);
      states.set(details.name, state);
      state.configured = true;
      state.configuredProjects = new Set(details.projects);
      names.set(destination, details.name);
      if (state.destination === destination) return;
      // A new instance (new or edited settings): a fresh run, unpaused, probed before it takes writes.
      state.destination = destination;
      clearPause(state);
      state.consecutiveFailures = 0;
      delete state.runStartedAt;
      state.okAt = -Infinity;
      state.failedAt = -Infinity;
      state.awaitingProbe = true;
      state.backlog = true;
    },
    untrack(destination) {
      const name = names.get(destination);
      const state = name === undefined ? undefined : states.get(name);
      if (state === undefined || state.destination !== destination) return;
      clearPause(state);
      clearTimeout(state.hurryTimer);
      states.delete(state.name);
      emit({ type: 'removed', destination: state.name });
    },
    recordWrite(destination, report) {
      const { state, current } = stateOf(destination);
      if (state === undefined) return;
      state.seenProjects.add(report.project);
      if (!current) {
        // A replaced instance proves nothing about the new one, but its failed message still waits.
        if (report.failure !== undefined && troubleKinds.has(report.failure.kind)) {
          state.backlog = true;
          maybeHurry(state);
        }
        return;
      }
      if (report.failure === undefined) recordSuccess(state, report.startedAt);
      else recordFailure(state, destination, report.startedAt, report.failure.kind, report.failure.reason);
    },
    recordWaiting(destination, project) {
      const { state } = stateOf(destination);
      if (state === undefined) return;
      state.seenProjects.add(project);
      state.backlog = true;
    },
    recordProbe(destination, result) {
      const { state, current } = stateOf(destination);
      if (state === undefined || !current) return;
      state.awaitingProbe = false;
      const at = now();
      if (result.ok) {
        state.okAt = Math.max(state.okAt, at);
        if (state.problem?.source === 'probe') recover(state);
        maybeHurry(state);
      } else {
        state.failedAt = Math.max(state.failedAt, at);
        if (state.problem === undefined) turnUnhealthy(state, { kind: 'probe_failed', reason: result.reason ?? 'the probe failed', since: at, source: 'probe' });
      }
    },
    observeOutcome(outcome, info = {}) {
      const name = info.destination ?? (outcome.type === 'archived' || outcome.type === 'retry_scheduled' ? outcome.destination : undefined);
      if (name === undefined || name === '') return;
      if (outcome.type === 'archived') {
        const state = states.get(name);
        if (state !== undefined) recordSuccess(state, now() - outcome.durationMs);
        return;
      }
      if (outcome.type !== 'retry_scheduled' && outcome.type !== 'dead_lettered') return;
      if (!troubleKinds.has(outcome.kind as DestinationErrorKind)) return;
      recordFailure(byName(name), undefined, outcome.attemptAt, outcome.kind as DestinationErrorKind, outcome.reason);
    },
    pausedError(destination) {
      const { state, current } = stateOf(destination);
      return current ? state?.pause?.error : undefined;
    },
    connectQueue(next) {
      queue = next;
      for (const state of states.values()) maybeHurry(state);
    },
    state(name) {
      const state = states.get(name);
      return state === undefined ? undefined : snapshotOf(state);
    },
    snapshot: () => [...states.values()].map(snapshotOf),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      for (const state of states.values()) {
        clearPause(state);
        clearTimeout(state.hurryTimer);
        delete state.hurryTimer;
      }
    },
  };
}
