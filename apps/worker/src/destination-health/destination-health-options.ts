import type { DestinationErrorKind, DestinationV1 } from '@sentcopy/core';
import type { WorkerLogger } from '../logging/index.js';
import type { OutcomeInfo, ProcessOutcome } from '../processor/process-outcome.js';
import type { MessageQueue } from '../queue/index.js';

/** Options for {@link createDestinationHealth}. */
export interface DestinationHealthOptions {
  /**
   * The queue whose waiting messages are made ready (`hurry`) when a destination shows it takes
   * writes again. May be connected later with {@link DestinationHealth.connectQueue}. @default none
   */
  readonly queue?: Pick<MessageQueue, 'hurry'>;
  /**
   * Failed writes in a row (`unreachable` or `unknown`) after which a destination counts as
   * unhealthy; `unauthorized` counts at once. @default 5
   */
  readonly unhealthyAfterFailures?: number;
  /**
   * How long a run of failed writes (no write stored in between) may last before the destination
   * counts as unhealthy, whatever their number, in milliseconds. Checked at each failure. @default 60000
   */
  readonly unhealthyAfterMs?: number;
  /**
   * Failed writes in a row (`unreachable`, `unauthorized` or `unknown`) after which writes to the
   * destination pause: its messages then record a failed attempt without a request, and a probe
   * every `pauseProbeMs` resumes writes once it passes. 0 never pauses. @default 0
   */
  readonly pauseAfterFailures?: number;
  /** How often a paused destination is probed, in milliseconds. @default 10000 */
  readonly pauseProbeMs?: number;
  /**
   * Shortest time between two hurries of one destination's messages, in milliseconds, so a
   * destination whose writes alternate between passing and failing does not have its waiting
   * messages retried in a loop. A hurry due sooner runs when the interval ends. @default 5000
   */
  readonly hurryIntervalMs?: number;
  /** Receives `destination.*` log entries. @default none */
  readonly logger?: WorkerLogger;
  /** Clock, in epoch milliseconds; use the processor's clock. @default Date.now */
  readonly now?: () => number;
}

/** What a destination's trouble is. `probe_failed`: its probe (reachable, writable, not public) did not pass. */
export type DestinationProblemKind = 'unauthorized' | 'unreachable' | 'unknown' | 'probe_failed';

/** One destination as {@link DestinationHealth} sees it. */
export interface DestinationHealthState {
  /** Its name in the configuration (its id when it was never given a name). */
  readonly name: string;
  /**
   * `true` while nothing says it is failing and, for a configured destination, its probe passed.
   * `false` once writes keep failing (see `unhealthyAfterFailures`) or its probe failed, until a
   * write started after that is stored (or, for a failed probe, the probe passes).
   */
  readonly healthy: boolean;
  /** `true` until the first probe of a configured destination has an answer. */
  readonly awaitingProbe: boolean;
  /** What is wrong, while unhealthy. */
  readonly kind?: DestinationProblemKind;
  /** Why, while unhealthy, in a sentence (redacted: no addresses, numbers or URL queries). */
  readonly reason?: string;
  /** When the trouble began (the first failure of the run), in epoch milliseconds, while unhealthy. */
  readonly since?: number;
  /** Failed writes in a row so far (`unreachable`, `unauthorized` or `unknown`). */
  readonly consecutiveFailures: number;
  /** `true` while writes are paused after repeated failures (see `pauseAfterFailures`). */
  readonly paused: boolean;
  /** Messages made ready at once because the destination took writes again, since start. */
  readonly hurried: number;
}

/** A change in a destination's health. */
export type DestinationHealthEvent =
  | {
      /** It turned unhealthy (`since` is when the trouble began) or recovered from that (`kind`, `reason` and `since` describe the trouble it had). */
      readonly type: 'unhealthy' | 'recovered';
      /** Its name. */
      readonly destination: string;
      /** What is (or was) wrong. */
      readonly kind: DestinationProblemKind;
      /** Why, in a sentence (redacted). */
      readonly reason: string;
      /** When the trouble began, in epoch milliseconds. */
      readonly since: number;
      /** When this transition happened, in epoch milliseconds. */
      readonly at: number;
    }
  | {
      /** Messages waiting for a retry were made ready at once because the destination takes writes again. */
      readonly type: 'hurried';
      /** Its name. */
      readonly destination: string;
      /** How many messages were made ready. */
      readonly moved: number;
    }
  | {
      /** It left the configuration. */
      readonly type: 'removed';
      /** Its name. */
      readonly destination: string;
    };

/** What a write attempt came to, as the processor reports it. */
export interface WriteReport {
  /** The project of the message written. */
  readonly project: string;
  /** When the attempt started, in epoch milliseconds. */
  readonly startedAt: number;
  /** What it failed with; absent when the object is stored. */
  readonly failure?: { readonly kind: DestinationErrorKind; readonly reason: string };
}

/**
 * The one owner of "is this destination taking writes": the processor reports writes, the
 * configuration reports probes, and readiness, metrics and alerts read or subscribe. When a
 * destination shows it takes writes again (a stored write, or a passing probe) after messages were
 * set to wait for it, those messages are made ready at once instead of at their scheduled retry.
 */
export interface DestinationHealth {
  /**
   * Registers a configured destination under its name, with the projects whose messages go to it
   * (call again on every configuration change). A new instance under a known name starts with no
   * failures and unpaused; its messages are made ready once it shows it takes writes.
   */
  track(destination: DestinationV1, details: { readonly name: string; readonly projects: readonly string[] }): void;
  /** Forgets a destination that left the configuration (or was replaced); later reports about this instance are ignored. */
  untrack(destination: DestinationV1): void;
  /** Reports a write attempt to `destination`. A destination never tracked is tracked under its id. */
  recordWrite(destination: DestinationV1, report: WriteReport): void;
  /** Reports a message of `project` set to wait for `destination` without a write (writes are paused). */
  recordWaiting(destination: DestinationV1, project: string): void;
  /** Reports the outcome of a probe of a tracked destination. */
  recordProbe(destination: DestinationV1, result: { readonly ok: boolean; readonly reason?: string }): void;
  /**
   * Feeds a processing outcome, for callers that see outcomes rather than writes (a standalone
   * alert notifier). Destinations are named by `info.destination`, else the outcome's destination id.
   */
  observeOutcome(outcome: ProcessOutcome, info?: OutcomeInfo): void;
  /** The error paused messages are failed with, while writes to `destination` are paused. */
  pausedError(destination: DestinationV1): Error | undefined;
  /** Connects the queue to hurry; destinations that already showed they take writes are hurried now. */
  connectQueue(queue: Pick<MessageQueue, 'hurry'>): void;
  /** One destination's state by name, if known. */
  state(name: string): DestinationHealthState | undefined;
  /** Every known destination's state. */
  snapshot(): DestinationHealthState[];
  /** Calls `listener` on every change; returns a function that stops it. Listeners must not throw. */
  subscribe(listener: (event: DestinationHealthEvent) => void): () => void;
  /** Stops probe and hurry timers and resumes paused destinations. Reports afterwards start them again. */
  close(): void;
}
