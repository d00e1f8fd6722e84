import type { Archiver, RetryPolicy } from '@sentcopy/core';
import type { DestinationHealth } from '../destination-health/index.js';
import type { ProcessOutcome } from './process-outcome.js';
import type { WorkerLogger } from '../logging/index.js';
import type { LeaseRef, MessageQueue } from '../queue/index.js';

/** Options for {@link createProcessor}. */
export interface ProcessorOptions {
  /** Where messages come from and go back to. */
  readonly queue: MessageQueue;
  /**
   * The archiver for a project's messages, or `undefined` when the project has no destination (its
   * messages are then dead-lettered with kind `no_destination`). Create archivers with
   * `retry: false`: retries go through the queue. Called for every message, so cache them. When it
   * throws, the message goes back to the queue untried, for 5 seconds or the error's `retryAfterMs`.
   */
  readonly archiverFor: (project: string) => Archiver | undefined;
  /**
   * Most writes in flight to one destination at once; destinations are told apart by their `id`,
   * so projects sharing a destination share the limit. A message takes its slot once it is
   * prepared, for the write alone. @default 32
   */
  readonly concurrencyPerDestination?: number;
  /**
   * Most messages claimed at once, over all destinations, from their claim until they are settled;
   * those beyond a destination's concurrency wait (leased) for a slot. Settling waits for the
   * queue's commit, so this is set well above the concurrency to keep the slots busy. @default 256
   */
  readonly maxInFlight?: number;
  /**
   * Most payload bytes of claimed messages held at once (the JSON text of every message claimed and
   * not yet settled), in bytes. Claims stop while this much is held, and a claim takes no more than
   * what is left (`ClaimOptions.maxBytes`); a claim always takes at least one message, so a message
   * larger than what is left still flows, and the bytes held stay below this plus one message.
   * Sized like the prepare pool's `maxBytesInFlight`, which works on the messages claimed here.
   * @default 67108864 (64 MiB)
   */
  readonly maxBytesInFlight?: number;
  /** Lease taken on each claimed message, in milliseconds; renewed every third of it while the message is worked on. @default 60000 */
  readonly leaseMs?: number;
  /** How long one claim waits for work when nothing is ready, in milliseconds. @default 1000 */
  readonly idleWaitMs?: number;
  /** How failed writes are retried. @default defaultRetryPolicy */
  readonly retryPolicy?: RetryPolicy;
  /** The clock, in epoch milliseconds (tests inject a compressed one; use the queue's clock). @default Date.now */
  readonly now?: () => number;
  /** Randomness in [0, 1) for retry jitter. @default Math.random */
  readonly random?: () => number;
  /** Receives structured log entries. @default none */
  readonly logger?: WorkerLogger;
  /**
   * Why a project has no destination, for the dead-letter reason (e.g. which destination was
   * deleted). @default a sentence naming the project
   */
  readonly missingDestinationReason?: (project: string) => string | undefined;
  /**
   * Where a message whose archiver wrote a ledger entry (`ArchiveResult.ledgerPosition`) waits until
   * the entry is durable, instead of being acknowledged at once: `createWorkerLedgers()`, whose
   * `hold()` keeps it in the queue as "stored, not yet in the ledger". @default acknowledge at once
   */
  readonly ledger?: { hold(message: LeaseRef, archiver: Archiver, position: number): Promise<boolean> };
  /** Called once per settled claim, for metrics and tests. Must not throw. */
  readonly onOutcome?: (outcome: ProcessOutcome) => void;
  /**
   * Where every write's result is reported, and which says whether writes to a destination are
   * paused. Share one with the configuration runtime, readiness, metrics and alerts (`runWorker()`
   * does). Whatever failure set messages back, they are made ready at once when their destination
   * stores a write again or passes a probe. @default one of the processor's own, which hurries `queue`
   */
  readonly health?: DestinationHealth;
  /**
   * Consecutive `unreachable`, `unauthorized` or `unknown` write failures after which writes to a
   * destination pause: its messages then record a failed attempt (and follow the retry policy)
   * without a request, so an outage costs neither the destination nor the worker a request per
   * message. A probe every `breakerProbeMs` resumes writes once it passes, and the messages waiting
   * for a retry are made ready at once. 0 never pauses. Only for the processor's own destination
   * health: with `health`, set its `pauseAfterFailures` instead. @default 0
   */
  readonly breakerFailures?: number;
  /** How often a paused destination is probed, in milliseconds (the processor's own destination health only). @default 10000 */
  readonly breakerProbeMs?: number;
}

/** Options for {@link Processor.stop}. */
export interface StopOptions {
  /**
   * How long writes already under way may take to finish, in milliseconds; then they are aborted
   * and their messages returned to the queue. Messages still waiting for a slot are returned at once.
   * @default 10000
   */
  readonly timeoutMs?: number;
}

/** What {@link Processor.stop} did with the work in hand. */
export interface StopReport {
  /** Messages whose work finished (archived, rescheduled or dead-lettered) during the stop. */
  readonly finished: number;
  /** Messages returned to the queue, ready to be claimed again. */
  readonly returned: number;
  /**
   * Messages whose write ignored the abort and had not ended 2 s later; they stay leased in the
   * queue and come back when the lease runs out (or the queue is reopened).
   */
  readonly abandoned: number;
}

/** The loop that takes messages from the queue and archives them. */
export interface Processor {
  /** Starts claiming and archiving in the background until {@link Processor.stop}. */
  start(): void;
  /**
   * Stops claiming, lets writes under way finish (up to `timeoutMs`), returns everything else to
   * the queue, and resolves once nothing is held. Does not close the queue.
   */
  stop(options?: StopOptions): Promise<StopReport>;
  /**
   * Processes until nothing is ready at the current time and nothing is in flight, then resolves.
   * For tests, tools and one-shot drains; not while started.
   */
  processAvailable(): Promise<void>;
  /** Whether the background loop is running. */
  readonly running: boolean;
  /** Messages claimed and not yet settled. */
  readonly inFlight: number;
  /** Payload bytes of the messages claimed and not yet settled, in bytes (see `maxBytesInFlight`). */
  readonly bytesInFlight: number;
}
