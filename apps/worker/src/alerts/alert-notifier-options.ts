import type { DestinationHealth, DestinationProblemKind } from '../destination-health/index.js';
import type { WorkerLogger } from '../logging/index.js';
import type { OutcomeInfo } from '../metrics/index.js';
import type { ProcessOutcome } from '../processor/index.js';
import type { QueueHealth, QueueProblem } from '../queue/index.js';

/** Options for {@link createAlertNotifier}. */
export interface AlertNotifierOptions {
  /**
   * Where notifications are POSTed (`http:` or `https:`). Webhook URLs often hold a token, so the
   * URL is never logged: log entries name its origin only.
   */
  readonly url: string | URL;
  /**
   * Shared secret: when set, each request carries `X-Sentcopy-Signature: sha256=<hex>`, the
   * HMAC-SHA256 of the exact body bytes under this secret. @default no signature
   */
  readonly secret?: string;
  /**
   * The destination health to follow: the notifier tells the webhook about its `unhealthy` and
   * `recovered` transitions (a destination already unhealthy when the notifier is created is
   * notified at once), and {@link AlertNotifier.onOutcome} is then not needed and ignored.
   * @default one of the notifier's own, fed by `onOutcome` and set up by the two options below
   */
  readonly health?: DestinationHealth;
  /**
   * Consecutive `unreachable` or `unknown` write failures after which a destination counts as
   * unhealthy (`unauthorized` counts at once). Only without `health`. @default 5
   */
  readonly unreachableAfterFailures?: number;
  /**
   * How long a run of failures (no write stored in between) may last before the destination counts
   * as unhealthy, whatever their number, in milliseconds. Checked at each failure. Only without
   * `health`. @default 60000
   */
  readonly unreachableAfterMs?: number;
  /** Time allowed for one delivery attempt (connect, send, answer), in milliseconds. @default 5000 */
  readonly timeoutMs?: number;
  /** Further attempts after a failed delivery (network error, timeout, 408, 429 or 5xx). @default 3 */
  readonly retries?: number;
  /** Wait before the first retry, in milliseconds; doubled for each further one. @default 1000 */
  readonly retryDelayMs?: number;
  /**
   * Most notifications waiting to be delivered; when full, the oldest waiting one is dropped (and
   * logged), so an unreachable receiver cannot grow memory. @default 100
   */
  readonly maxPending?: number;
  /** How long {@link AlertNotifier.close} keeps delivering what is pending, in milliseconds. @default 5000 */
  readonly closeTimeoutMs?: number;
  /** Receives `alert.*` log entries (deliveries failed or dropped). @default none */
  readonly logger?: WorkerLogger;
  /** Clock, in epoch milliseconds: use the processor's clock. @default Date.now */
  readonly now?: () => number;
}

/**
 * Kind of a destination problem that alerts are raised for: what its writes failed with
 * (`unauthorized`, `unreachable`, `unknown`), or `probe_failed` when it did not pass its probe.
 */
export type AlertKind = DestinationProblemKind;

/** The JSON body POSTed to the webhook. Holds no message content, recipient or secret. */
export interface AlertNotification {
  /** What happened. */
  readonly event: 'destination.unhealthy' | 'destination.recovered';
  /** The destination's name (or id when no name was given). */
  readonly destination: string;
  /** What writes failed with (for `destination.recovered`: what they had failed with). */
  readonly kind: AlertKind;
  /** Why, in a sentence (redacted: shapes of addresses and phone numbers are masked). */
  readonly reason: string;
  /**
   * ISO 8601 time the destination became unhealthy: for `destination.unhealthy`, the first failure
   * of the run that made it so; for `destination.recovered`, when the outage began.
   */
  readonly since: string;
  /** ISO 8601 time of this transition. */
  readonly at: string;
}

/**
 * The JSON body POSTed when the queue's store turns unhealthy (damaged, deleted or replaced file,
 * full disk, I/O errors: new messages are refused) or works again. Holds no message content,
 * recipient or secret.
 */
export interface QueueAlertNotification {
  /** What happened. */
  readonly event: 'queue.unhealthy' | 'queue.recovered';
  /** What is (for `queue.recovered`: was) wrong. */
  readonly problem: QueueProblem;
  /** What is wrong and how to recover, in a sentence written by the worker (names the queue's file or folder). */
  readonly reason: string;
  /** ISO 8601 time the problem was first seen. */
  readonly since: string;
  /** ISO 8601 time of this transition. */
  readonly at: string;
}

/**
 * The JSON body POSTed when a destination's archive ledger cannot be written (its segments fail:
 * the destination refuses them, the disk is full) and when it is written again. Archiving goes on
 * meanwhile: the messages wait in the queue as stored, not yet in the ledger. Holds no message
 * content, recipient or secret.
 */
export interface LedgerAlertNotification {
  /** What happened. */
  readonly event: 'ledger.unhealthy' | 'ledger.recovered';
  /** The destination's name. */
  readonly destination: string;
  /** Why its segments fail (for `ledger.recovered`: why they had failed), redacted. */
  readonly reason: string;
  /** Entries waiting to be written at the transition. */
  readonly pending_entries: number;
  /** ISO 8601 time the failures began. */
  readonly since: string;
  /** ISO 8601 time of this transition. */
  readonly at: string;
}

/** A ledger health transition, as {@link AlertNotifier.onLedgerHealth} takes it (the worker's `WorkerLedgers` emit these). */
export interface LedgerHealthChange {
  readonly type: 'unhealthy' | 'recovered';
  /** The destination's name. */
  readonly destination: string;
  /** Why its segments fail (or had failed). */
  readonly reason: string;
  /** When the failures began, in epoch milliseconds. */
  readonly since: number;
  /** When the transition was seen, in epoch milliseconds. */
  readonly at: number;
  /** Entries waiting to be written. */
  readonly pendingEntries: number;
}

/** A destination's state as the notifier sees it. */
export interface DestinationAlertState {
  /** `false` from the transition to unhealthy until a write started after it is stored. */
  readonly healthy: boolean;
  /** What writes failed with, while unhealthy. */
  readonly kind?: AlertKind;
  /** Why, while unhealthy (redacted). */
  readonly reason?: string;
  /** When it became unhealthy (first failure of the run), in epoch milliseconds, while unhealthy. */
  readonly since?: number;
  /** Failed writes in a row so far (`unreachable`, `unauthorized` or `unknown`). */
  readonly consecutiveFailures: number;
}

/** What {@link AlertNotifier.health} reports, e.g. for `GET /readyz` checks. */
export interface AlertNotifierHealth {
  /** `true` when no destination the notifier has seen is unhealthy. */
  readonly healthy: boolean;
  /** Every destination seen, by name. */
  readonly destinations: Readonly<Record<string, DestinationAlertState>>;
  /** Notifications waiting to be delivered (the one being sent included). */
  readonly pending: number;
  /** Notifications delivered (2xx answer). */
  readonly delivered: number;
  /** Notifications given up on after every attempt failed. */
  readonly failed: number;
  /** Notifications dropped because the queue was full or `close()` ran out of time. */
  readonly dropped: number;
}

/** Watches outcomes for destinations that turn unhealthy or recover, and tells a webhook. */
export interface AlertNotifier {
  /**
   * Feeds one settled claim (wire to the processor's `onOutcome`) when the notifier has no shared
   * `health`; ignored otherwise. Returns at once: delivery happens in the background. Never throws.
   */
  onOutcome(outcome: ProcessOutcome, info?: OutcomeInfo): void;
  /**
   * Feeds the queue's current health (poll `MessageQueue.health()`): a change to unhealthy, or to
   * another problem, sends `queue.unhealthy`; the return to healthy sends `queue.recovered`. Never throws.
   */
  onQueueHealth(health: QueueHealth): void;
  /** Feeds a ledger health transition: sends `ledger.unhealthy` or `ledger.recovered`. Never throws. */
  onLedgerHealth(change: LedgerHealthChange): void;
  /** Current destination states and delivery counts. */
  health(): AlertNotifierHealth;
  /**
   * Stops taking outcomes and delivers what is pending, for at most `closeTimeoutMs`; whatever is
   * left is dropped (and logged). Resolves once done.
   */
  close(): Promise<void>;
}
