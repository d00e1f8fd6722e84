import { createDestinationHealth } from '../destination-health/index.js';
import type { ClaimedMessage } from '../queue/index.js';
import { describeError } from './classify-failure.js';
import { DestinationSlots } from './destination-slots.js';
import { healthReactions } from './health-reactions.js';
import { InFlightClaims } from './in-flight-claims.js';
import { startLeaseHeartbeat } from './lease-heartbeat.js';
import type { Processor, ProcessorOptions, StopReport } from './processor-options.js';
import { createProcessorReport, outcomeMessage } from './processor-report.js';
import { processorSettings } from './processor-settings.js';
import { createClaimRouter } from './route-claim.js';
import { createClaimSettler } from './settle-claim.js';

/** How long stop() waits for writes that were aborted to end. */
const abortGraceMs = 2_000;

function shutdownError(): Error {
  const error = new Error('The worker is shutting down; the message goes back to the queue.');
  error.name = 'AbortError';
  return error;
}

/**
 * Creates the processing loop: claims messages from the queue, archives each through the
 * project's archiver, and settles every claim — ack once stored (also when an identical copy was
 * already there), reschedule through the queue when the retry policy says so, or dead-letter with
 * the reason. Invalid messages are dead-lettered with their field issues; nothing a message
 * contains can stop the loop.
 *
 * A message's path runs one way: this claim loop (room in the in-flight budget, leases kept alive)
 * → `route-claim` (its archiver, a paused destination, a slot) → `archive-claim` (prepare, write)
 * → `settle-claim` (ack, ledger hold, retry, dead letter), with `health-reactions` reporting each
 * write to destination health.
 */
export function createProcessor(options: ProcessorOptions): Processor {
  const queue = options.queue;
  const settings = processorSettings(options);
  const { leaseMs, idleWaitMs, maxInFlight, maxBytesInFlight, now } = settings;
  const ownHealth = options.health === undefined;
  const health = options.health ?? createDestinationHealth({ queue, pauseAfterFailures: settings.breakerFailures, pauseProbeMs: settings.breakerProbeMs, now, ...(options.logger === undefined ? {} : { logger: options.logger }) });
  const report = createProcessorReport(options);
  const settler = createClaimSettler({ queue, report, policy: settings.policy, now, random: settings.random, ledger: options.ledger });
  const handle = createClaimRouter({
    archiverFor: options.archiverFor,
    missingDestinationReason: options.missingDestinationReason,
    slots: new DestinationSlots(settings.concurrencyPerDestination),
    settler,
    health: healthReactions(health, settler, now),
    report,
    now,
  });
  const inFlight = new InFlightClaims(maxInFlight, maxBytesInFlight);

  let running = false;
  let draining = false;
  let stopping = false;
  let loopAbort = new AbortController();
  let loopDone: Promise<void> = Promise.resolve();
  let stopHeartbeat: (() => void) | undefined;
  let tally = { finished: 0, returned: 0 };

  const dispatch = (message: ClaimedMessage) => {
    const entry = inFlight.add(message, stopping ? shutdownError() : undefined);
    void handle(entry)
      .catch((error: unknown) => {
        report.log('error', 'processor.unexpected_error', 'Handling a message failed unexpectedly; it will be delivered again when its lease runs out.', {
          ...outcomeMessage(message),
          error: describeError(error),
        });
        return 'returned' as const;
      })
      .then((result) => {
        if (stopping) tally[result]++;
        inFlight.remove(entry);
      });
  };

  const startLeases = () => {
    stopHeartbeat = startLeaseHeartbeat(queue, inFlight, leaseMs, report);
  };
  const stopLeases = () => {
    stopHeartbeat?.();
    stopHeartbeat = undefined;
    if (ownHealth) health.close();
  };

  const runLoop = async (signal: AbortSignal): Promise<void> => {
    while (!stopping) {
      if (!inFlight.hasRoom()) {
        await inFlight.capacityFreed();
        continue;
      }
      let batch: ClaimedMessage[];
      try {
        batch = await queue.claim({ ...inFlight.claimLimits(), leaseMs, waitMs: idleWaitMs, signal });
      } catch (error) {
        if (stopping) break;
        report.log('error', 'queue.claim_failed', 'Claiming messages failed; trying again in a second.', { error: describeError(error) });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1_000);
          signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
        continue;
      }
      for (const message of batch) dispatch(message);
    }
  };

  return {
    get running() {
      return running;
    },
    get inFlight() {
      return inFlight.size;
    },
    get bytesInFlight() {
      return inFlight.bytes;
    },

    start() {
      if (running) return;
      if (draining) throw new Error('The processor is running processAvailable(); wait for it before start().');
      running = true;
      stopping = false;
      loopAbort = new AbortController();
      startLeases();
      loopDone = runLoop(loopAbort.signal);
      report.log('info', 'processor.started', 'Processing queued messages.', { concurrencyPerDestination: settings.concurrencyPerDestination, maxInFlight, maxBytesInFlight });
    },

    async stop(stopOptions = {}): Promise<StopReport> {
      if (!running) return { finished: 0, returned: 0, abandoned: 0 };
      const timeoutMs = stopOptions.timeoutMs ?? 10_000;
      stopping = true;
      tally = { finished: 0, returned: 0 };
      loopAbort.abort();
      inFlight.wake();
      for (const entry of inFlight.entries()) if (!entry.writing) entry.abort.abort(shutdownError());
      await loopDone;
      await inFlight.waitUntilIdle(timeoutMs);
      for (const entry of inFlight.entries()) entry.abort.abort(shutdownError());
      await inFlight.waitUntilIdle(abortGraceMs);
      const stopped: StopReport = { ...tally, abandoned: inFlight.size };
      stopLeases();
      running = false;
      stopping = false;
      report.log('info', 'processor.stopped', 'Stopped processing.', { ...stopped });
      return stopped;
    },

    async processAvailable() {
      if (running) throw new Error('processAvailable() cannot run while the processor is started.');
      if (draining) throw new Error('processAvailable() is already running.');
      draining = true;
      startLeases();
      try {
        for (;;) {
          let batch: ClaimedMessage[] = [];
          try {
            if (inFlight.hasRoom()) batch = await queue.claim({ ...inFlight.claimLimits(), leaseMs });
          } catch (error) {
            await inFlight.waitUntilIdle(Infinity);
            throw error;
          }
          for (const message of batch) dispatch(message);
          if (inFlight.size === 0) {
            if (batch.length === 0) return;
            continue;
          }
          if (batch.length === 0 || !inFlight.hasRoom()) await inFlight.capacityFreed();
        }
      } finally {
        stopLeases();
        draining = false;
      }
    },
  };
}
