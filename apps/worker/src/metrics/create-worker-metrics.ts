import { channels } from '@sentcopy/core';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { IntakeEvent } from '../intake/index.js';
import type { ProcessOutcome } from '../processor/index.js';
import type { MessageQueue, QueueStats } from '../queue/index.js';

/** Options for {@link createWorkerMetrics}. */
export interface WorkerMetricsOptions {
  /** Queue whose depth, in-flight count, dead letters and oldest message are reported at scrape time. */
  readonly queue: MessageQueue;
  /**
   * Most distinct project label values; projects beyond it are counted under `other`, so a flood of
   * made-up project ids cannot grow the series without bound. @default 1000
   */
  readonly maxProjects?: number;
  /** How long queue numbers are reused between scrapes, in milliseconds. @default 1000 */
  readonly statsCacheMs?: number;
  /** Clock, in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** The worker's Prometheus metrics. */
export interface WorkerMetrics {
  /** MIME type of {@link WorkerMetrics.render}'s text. */
  readonly contentType: string;
  /** The metrics in Prometheus text exposition format. */
  render(): Promise<string>;
  /** Counts a processed message (wire to the processor's `onOutcome`). */
  observeOutcome(outcome: ProcessOutcome): void;
  /** Counts an intake decision or request (wire to the intake's `onEvent`). */
  observeIntake(event: IntakeEvent): void;
  /** Counts a configuration reload. */
  observeReload(result: 'applied' | 'refused'): void;
  /** Records whether a destination (by name) currently passes its probe and takes writes. */
  setDestinationHealth(destination: string, healthy: boolean): void;
}

const knownChannels = new Set<string>(channels);

/** Creates the worker's metrics, all named `sentcopy_*`. Labels carry project ids, destination ids, channels and kinds only. */
export function createWorkerMetrics(options: WorkerMetricsOptions): WorkerMetrics {
  const maxProjects = options.maxProjects ?? 1000;
  const statsCacheMs = options.statsCacheMs ?? 1000;
  const now = options.now ?? Date.now;
  const registry = new Registry();
  const seenProjects = new Set<string>();
  const project = (id: string) => {
    if (seenProjects.has(id)) return id;
    if (seenProjects.size >= maxProjects) return 'other';
    seenProjects.add(id);
    return id;
  };
  const channel = (value: string | undefined) => (value !== undefined && knownChannels.has(value) ? value : 'unknown');

  let cached: { at: number; stats: QueueStats } | undefined;
  let pending: Promise<QueueStats> | undefined;
  const stats = async (): Promise<QueueStats> => {
    if (cached !== undefined && now() - cached.at < statsCacheMs) return cached.stats;
    pending ??= options.queue.stats().finally(() => (pending = undefined));
    const fresh = await pending;
    cached = { at: now(), stats: fresh };
    return fresh;
  };

  const archived = new Counter({ name: 'sentcopy_messages_archived_total', help: 'Messages stored (or found already stored) and removed from the queue.', labelNames: ['project', 'channel'], registers: [registry] });
  const rejected = new Counter({ name: 'sentcopy_messages_rejected_total', help: 'Messages refused at intake, by reason.', labelNames: ['project', 'channel', 'reason'], registers: [registry] });
  const accepted = new Counter({ name: 'sentcopy_messages_accepted_total', help: 'Messages accepted at intake (durable in the queue), duplicates included.', labelNames: ['project', 'channel', 'result'], registers: [registry] });
  const failures = new Counter({ name: 'sentcopy_archive_failures_total', help: 'Failed archive attempts, by destination error kind.', labelNames: ['project', 'kind'], registers: [registry] });
  const retries = new Counter({ name: 'sentcopy_retries_scheduled_total', help: 'Retries scheduled through the queue, by kind.', labelNames: ['project', 'kind'], registers: [registry] });
  const deadLettered = new Counter({ name: 'sentcopy_dead_lettered_total', help: 'Messages moved to the dead letters, by kind.', labelNames: ['project', 'kind'], registers: [registry] });
  const putSeconds = new Histogram({
    name: 'sentcopy_archive_duration_seconds',
    help: 'Time to prepare and write one message to its destination (successful attempts).',
    labelNames: ['destination'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const gateSeconds = new Histogram({
    name: 'sentcopy_gate_duration_seconds',
    help: 'Time a before-send archive call took, from request to answer.',
    labelNames: ['result'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const requests = new Counter({ name: 'sentcopy_http_requests_total', help: 'Intake HTTP requests answered, by route and status.', labelNames: ['route', 'status'], registers: [registry] });
  const reloads = new Counter({ name: 'sentcopy_config_reloads_total', help: 'Configuration reloads, applied or refused.', labelNames: ['result'], registers: [registry] });
  const healthy = new Gauge({ name: 'sentcopy_destination_healthy', help: '1 when the destination passes its probe and takes writes, else 0.', labelNames: ['destination'], registers: [registry] });
  for (const [name, help, read] of [
    ['sentcopy_queue_depth', 'Messages in the queue: ready, waiting for a retry, or in flight.', (value: QueueStats) => value.depth],
    ['sentcopy_queue_in_flight', 'Messages being archived right now.', (value: QueueStats) => value.inFlight],
    ['sentcopy_dead_letters', 'Messages in the dead letters.', (value: QueueStats) => value.deadLetters],
    ['sentcopy_queue_oldest_pending_age_seconds', 'Age of the oldest message in the queue; 0 when empty.', (value: QueueStats) => (value.oldestEnqueuedAt === undefined ? 0 : Math.max(0, (now() - value.oldestEnqueuedAt) / 1000))],
  ] as const) {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(read(await stats()));
      },
    });
  }

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeOutcome(outcome) {
      const id = project(outcome.message.project);
      switch (outcome.type) {
        case 'archived':
          archived.inc({ project: id, channel: channel(outcome.channel) });
          putSeconds.observe({ destination: outcome.destination }, outcome.durationMs / 1000);
          break;
        case 'retry_scheduled':
          failures.inc({ project: id, kind: outcome.kind });
          retries.inc({ project: id, kind: outcome.kind });
          break;
        case 'dead_lettered':
          if (outcome.attempts > 0 && outcome.kind !== 'invalid' && outcome.kind !== 'no_destination') failures.inc({ project: id, kind: outcome.kind });
          deadLettered.inc({ project: id, kind: outcome.kind });
          break;
        default:
          break;
      }
    },
    observeIntake(event) {
      switch (event.type) {
        case 'accepted':
        case 'duplicate':
          accepted.inc({ project: project(event.project), channel: channel(event.channel), result: event.type });
          break;
        case 'rejected':
          rejected.inc({ project: project(event.project), channel: channel(event.channel), reason: event.reason });
          break;
        case 'gate':
          gateSeconds.observe({ result: event.result }, event.seconds);
          if (event.result === 'archived') archived.inc({ project: project(event.project), channel: channel(event.channel) });
          else if (event.kind !== undefined) failures.inc({ project: project(event.project), kind: event.kind });
          break;
        case 'request':
          requests.inc({ route: event.route, status: String(event.status) });
          break;
      }
    },
    observeReload: (result) => reloads.inc({ result }),
    setDestinationHealth: (destination, isHealthy) => healthy.set({ destination }, isHealthy ? 1 : 0),
  };
}
