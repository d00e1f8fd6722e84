import type { MessageQueue, QueueHealth } from '../queue/index.js';

/** Options for {@link watchQueueHealth}. */
export interface WatchQueueHealthOptions {
  /** The queue to watch; a queue without `health()` is never reported unhealthy. */
  readonly queue: MessageQueue;
  /** Called once at start with the current health, then on every change (to unhealthy, to another problem, back to healthy). Must not throw. */
  readonly onChange: (health: QueueHealth, previous: QueueHealth | undefined) => void;
  /** How often the queue's health is read, in milliseconds. @default 1000 */
  readonly intervalMs?: number;
}

/** A running {@link watchQueueHealth}. */
export interface QueueHealthWatch {
  /** Stops watching. */
  stop(): void;
}

/**
 * Polls `queue.health()` and reports changes, so logs and alerts hear of a damaged, vanished or
 * full queue store even while no message arrives.
 */
export function watchQueueHealth(options: WatchQueueHealthOptions): QueueHealthWatch {
  const intervalMs = options.intervalMs ?? 1_000;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new RangeError('Invalid queue health watch options: intervalMs must be a finite number of milliseconds above 0.');
  let previous: QueueHealth | undefined;
  const check = () => {
    let health: QueueHealth;
    try {
      health = options.queue.health?.() ?? { ok: true };
    } catch {
      return;
    }
    if (previous !== undefined && previous.ok === health.ok && previous.problem === health.problem) return;
    const before = previous;
    previous = health;
    options.onChange(health, before);
  };
  check();
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
