import type { DestinationHealth } from '../destination-health/index.js';
import type { WorkerLedgers } from '../ledger/index.js';
import { describeError, type ConfigLog } from './config-log.js';
import type { ProbeEvent } from './config-runtime-options.js';
import { closeDestinationEntry, projectsOf, type ConfigState, type DestinationEntry } from './config-state.js';

/** Options for {@link createDestinationLifecycle}. */
export interface DestinationLifecycleOptions {
  /** Where destinations are registered and their probe results reported. */
  readonly health: DestinationHealth;
  /** How long to wait before probing a destination again after its probe failed, in milliseconds. */
  readonly probeRetryMs: number;
  /** How long a retired destination stays open for writes already under way, in milliseconds. */
  readonly retiredCloseDelayMs: number;
  /** Retires a destination's ledger writer along with it. @default no ledger */
  readonly ledgers?: WorkerLedgers;
  readonly log: ConfigLog;
  /** Told after every probe; must not throw. */
  readonly onProbe: (event: ProbeEvent) => void;
}

/** What becomes of the destinations of each applied configuration: registered, probed until ready, retired and closed. */
export interface DestinationLifecycle {
  /** Registers the destinations of the state now in use with the health, and retires `removed` (which stop being tracked). */
  takeOver(next: ConfigState, removed: readonly DestinationEntry[]): void;
  /** Probes a new destination: ready once it passes; after a failure it is probed again every `probeRetryMs`. */
  probe(entry: DestinationEntry): Promise<void>;
  /** Stops probing a destination and closes it after `retiredCloseDelayMs`. */
  retire(entry: DestinationEntry): void;
  /** Closes every retired destination now. */
  close(): Promise<void>;
}

async function runProbe(entry: DestinationEntry): Promise<ProbeEvent> {
  try {
    const result = await entry.destination.probe();
    if (result.ok) return { destination: entry.name, ok: true, checks: result.checks, result };
    const failed = result.checks.filter((check) => check.status === 'failed').map((check) => `${check.name}: ${check.detail ?? 'failed'}`);
    return { destination: entry.name, ok: false, checks: result.checks, result, reason: failed.join('; ') || 'the probe failed' };
  } catch (error) {
    return { destination: entry.name, ok: false, checks: [], reason: describeError(error) };
  }
}

/** Creates the lifecycle of the runtime's destinations. */
export function createDestinationLifecycle(options: DestinationLifecycleOptions): DestinationLifecycle {
  const { health, probeRetryMs, log } = options;
  const retiring = new Set<{ timer: NodeJS.Timeout; close: () => Promise<void> }>();

  function markReady(entry: DestinationEntry): void {
    delete entry.problem;
    log('info', 'destination.ready', `Destination "${entry.name}" passed its probe and takes writes.`, { destination: entry.name, id: entry.destination.id });
  }

  function probeAgainLater(entry: DestinationEntry, event: ProbeEvent): ProbeEvent {
    const retryAt = Date.now() + probeRetryMs;
    entry.problem = `Its probe failed: ${event.reason}. Messages for it wait in the queue; the probe is repeated every ${Math.round(probeRetryMs / 1000)} s.`;
    log('warn', 'destination.probe_failed', `Destination "${entry.name}" failed its probe; its messages wait in the queue.`, { destination: entry.name, reason: event.reason, checks: event.checks });
    entry.retryTimer = setTimeout(() => void probe(entry), probeRetryMs);
    entry.retryTimer.unref();
    return { ...event, retryAt };
  }

  async function probe(entry: DestinationEntry): Promise<void> {
    if (entry.retired) return;
    let event = await runProbe(entry);
    if (entry.retired) return;
    entry.ready = event.ok;
    if (event.ok) markReady(entry);
    else event = probeAgainLater(entry, event);
    // The health makes the messages held back while it was not ready (or parked by an outage before a restart) ready now.
    health.recordProbe(entry.destination, event.ok ? { ok: true } : { ok: false, ...(event.reason === undefined ? {} : { reason: event.reason }) });
    options.onProbe(event);
  }

  function retire(entry: DestinationEntry): void {
    entry.retired = true;
    options.ledgers?.retire(entry.destination);
    entry.ready = false;
    clearTimeout(entry.retryTimer);
    // Writes already under way keep the old instance; close it once they have had time to finish.
    const close = async () => {
      retiring.delete(item);
      await closeDestinationEntry(entry);
    };
    const item = { timer: setTimeout(() => void close(), options.retiredCloseDelayMs), close };
    item.timer.unref();
    retiring.add(item);
  }

  return {
    takeOver(next, removed) {
      // Tracked before the old instances are forgotten, so a destination edited under the same name keeps its health record.
      for (const entry of next.destinations.values()) health.track(entry.destination, { name: entry.name, projects: projectsOf(next, entry) });
      for (const entry of removed) {
        retire(entry);
        health.untrack(entry.destination);
      }
    },
    probe,
    retire,
    async close() {
      await Promise.all(
        [...retiring].map((item) => {
          clearTimeout(item.timer);
          return item.close();
        }),
      );
    },
  };
}
