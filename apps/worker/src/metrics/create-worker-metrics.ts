import { channels, isChannel } from '@sentcopy/core';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LedgerState } from '../ledger/index.js';
import { deadLetterKinds, queueProblems, type QueueHealth, type QueueStats } from '../queue/index.js';
import { metricsRejectReasons, metricsRoutes, type WorkerMetrics, type WorkerMetricsOptions } from './worker-metrics-options.js';

const knownChannels = new Set<string>(channels);
const knownKinds = new Set<string>(deadLetterKinds);
const knownReasons = new Set<string>(metricsRejectReasons);
const knownRoutes = new Set<string>(metricsRoutes);

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`Invalid metrics options: ${name} must be a positive integer.`);
  return value;
}

/** A set of label values that stops growing at `limit`; later values map to `other`. */
function boundedValues(limit: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (seen.size >= limit) return 'other';
    seen.add(value);
    return value;
  };
}

/** Creates the worker's metrics, all named `sentcopy_*`. Labels carry project ids, destination names, channels and kinds only. */
export function createWorkerMetrics(options: WorkerMetricsOptions): WorkerMetrics {
  const maxProjects = positiveInteger('maxProjects', options.maxProjects ?? 1000);
  const maxDestinations = positiveInteger('maxDestinations', options.maxDestinations ?? 100);
  const statsCacheMs = options.statsCacheMs ?? 1000;
  if (!Number.isFinite(statsCacheMs) || statsCacheMs < 0) throw new RangeError('Invalid metrics options: statsCacheMs must be a finite number of milliseconds, 0 or more.');
  const now = options.now ?? Date.now;
  const isKnownProject = options.isKnownProject;
  const registry = new Registry();

  const boundedProject = boundedValues(maxProjects);
  const project = (id: string | undefined) => {
    if (id === undefined || id === '') return 'unknown';
    if (isKnownProject !== undefined && !isKnownProject(id)) return 'other';
    return boundedProject(id);
  };
  const destination = boundedValues(maxDestinations);
  const isDeclaredChannel = options.isDeclaredChannel;
  const boundedChannel = boundedValues(positiveInteger('maxChannels', options.maxChannels ?? 100));
  const labelledChannels = new Set<string>();
  /** `unknown` when no channel is known (a request refused before one was read), `other` for one no project declares. */
  const channel = (value: string | undefined) => {
    if (value === undefined) return 'unknown';
    if (knownChannels.has(value) || labelledChannels.has(value)) return value;
    if (isDeclaredChannel === undefined || !isChannel(value) || !isDeclaredChannel(value)) return 'other';
    const label = boundedChannel(value);
    if (label === value) labelledChannels.add(value);
    return label;
  };
  const kind = (value: string | undefined) => (value !== undefined && knownKinds.has(value) ? value : 'unknown');
  const reason = (value: string) => (knownReasons.has(value) ? value : 'other');
  const route = (value: string) => (knownRoutes.has(value) ? value : 'other');
  const status = (value: number) => (Number.isInteger(value) && value >= 100 && value <= 599 ? String(value) : 'other');

  // Queue numbers are read once per render, before the registry serialises, so every gauge and the
  // failure counter describe the same read.
  let latest: QueueStats | undefined;
  let readAt: number | undefined;
  let pending: Promise<void> | undefined;
  const refreshStats = (): Promise<void> => {
    if (readAt !== undefined && now() - readAt < statsCacheMs) return Promise.resolve();
    pending ??= options.queue
      .stats()
      .then((fresh) => {
        latest = fresh;
        readAt = now();
      })
      // A scrape must still answer while the queue is closing or failing: the queue gauges keep their
      // last values and the failure is counted.
      .catch(() => statsFailures.inc())
      .finally(() => (pending = undefined));
    return pending;
  };

  const archived = new Counter({
    name: 'sentcopy_messages_archived_total',
    help: 'Messages stored (or found already stored) and removed from the queue, or stored by a before-send archive call.',
    labelNames: ['project', 'channel'],
    registers: [registry],
  });
  const accepted = new Counter({ name: 'sentcopy_messages_accepted_total', help: 'Messages accepted at intake (durable in the queue); result is accepted or duplicate.', labelNames: ['project', 'channel', 'result'], registers: [registry] });
  const versions = new Counter({
    name: 'sentcopy_message_versions_total',
    help: 'Messages whose id was already sent with other content, kept as a second version: stage "intake" when the queue accepted one (within its de-duplication window), "archive" when one was stored under a version key.',
    labelNames: ['project', 'channel', 'stage'],
    registers: [registry],
  });
  const rejected = new Counter({ name: 'sentcopy_messages_rejected_total', help: 'Messages refused at intake, by reason.', labelNames: ['project', 'channel', 'reason'], registers: [registry] });
  const failures = new Counter({ name: 'sentcopy_archive_failures_total', help: 'Failed write attempts, by destination error kind.', labelNames: ['project', 'kind'], registers: [registry] });
  const retries = new Counter({ name: 'sentcopy_retries_scheduled_total', help: 'Retries scheduled through the queue, by the kind of the failure.', labelNames: ['project', 'kind'], registers: [registry] });
  const deadLettered = new Counter({ name: 'sentcopy_dead_lettered_total', help: 'Messages moved to the dead letters, by kind.', labelNames: ['project', 'kind'], registers: [registry] });
  const putSeconds = new Histogram({
    name: 'sentcopy_archive_duration_seconds',
    help: 'Time to prepare and write one message to its destination, in seconds (successful attempts from the queue).',
    labelNames: ['destination'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const gateSeconds = new Histogram({
    name: 'sentcopy_gate_duration_seconds',
    help: 'Time a before-send archive call (POST /v1/archive) took from request to answer, in seconds.',
    labelNames: ['result'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const requests = new Counter({ name: 'sentcopy_http_requests_total', help: 'Intake HTTP requests answered, by route and status.', labelNames: ['route', 'status'], registers: [registry] });
  const reloads = new Counter({ name: 'sentcopy_config_reloads_total', help: 'Configuration reloads, applied or refused.', labelNames: ['result'], registers: [registry] });
  // Created on first use: a worker without TLS must not export a 0 that an expiry alert would read as expired.
  let tlsNotAfter: Gauge | undefined;
  const current = new Gauge({ name: 'sentcopy_config_current', help: '1 when the worker runs the newest configuration, 0 while it refuses the newest one and keeps running an older one.', registers: [registry] });
  current.set(1);
  const health = options.destinationHealth;
  const healthy = new Gauge({
    name: 'sentcopy_destination_healthy',
    help: '1 when the destination passed its probe and its writes are not failing, else 0 (its probe failed or is pending, or writes keep failing).',
    labelNames: ['destination'],
    registers: [registry],
    collect() {
      if (health === undefined) return;
      this.reset();
      for (const state of health.snapshot()) this.set({ destination: destination(state.name) }, state.healthy ? 1 : 0);
    },
  });
  if (health !== undefined) {
    new Gauge({
      name: 'sentcopy_destination_consecutive_failures',
      help: 'Failed writes in a row (unreachable, unauthorized or unknown) to the destination; 0 after a stored write.',
      labelNames: ['destination'],
      registers: [registry],
      collect() {
        this.reset();
        for (const state of health.snapshot()) this.set({ destination: destination(state.name) }, state.consecutiveFailures);
      },
    });
    new Gauge({
      name: 'sentcopy_destination_paused',
      help: '1 while writes to the destination are paused after repeated failures (its messages wait in the queue; a probe resumes them).',
      labelNames: ['destination'],
      registers: [registry],
      collect() {
        this.reset();
        for (const state of health.snapshot()) this.set({ destination: destination(state.name) }, state.paused ? 1 : 0);
      },
    });
    const hurried = new Counter({ name: 'sentcopy_messages_hurried_total', help: 'Messages waiting for a retry made ready at once because their destination took writes again.', labelNames: ['destination'], registers: [registry] });
    health.subscribe((event) => {
      if (event.type === 'hurried') hurried.inc({ destination: destination(event.destination) }, event.moved);
    });
  }
  const ledgers = options.ledgers;
  if (ledgers !== undefined) {
    const read = (): readonly LedgerState[] => {
      try {
        return ledgers.snapshot();
      } catch {
        return [];
      }
    };
    for (const [name, help, value] of [
      ['sentcopy_ledger_pending_entries', 'Ledger entries appended but not yet in a written segment, per destination.', (state: LedgerState) => state.pendingEntries],
      ['sentcopy_ledger_held_messages', 'Messages the queue holds as stored, not yet in the ledger (removed once their entries are written), per destination.', (state: LedgerState) => state.heldMessages],
      [
        'sentcopy_ledger_oldest_pending_age_seconds',
        'Age of the oldest ledger entry not yet in a written segment, in seconds; 0 when none is pending.',
        (state: LedgerState) => (state.oldestPendingAt === undefined ? 0 : Math.max(0, (now() - state.oldestPendingAt) / 1000)),
      ],
      ['sentcopy_ledger_healthy', "1 while the destination's ledger segments are written, 0 while they fail (archiving goes on; entries wait).", (state: LedgerState) => (state.healthy ? 1 : 0)],
    ] as const) {
      new Gauge({
        name,
        help,
        labelNames: ['destination'],
        registers: [registry],
        collect() {
          this.reset();
          for (const state of read()) this.set({ destination: destination(state.destination) }, value(state));
        },
      });
    }
    new Counter({
      name: 'sentcopy_ledger_write_failures_total',
      help: 'Failed ledger segment writes (each is tried again), per destination.',
      labelNames: ['destination'],
      registers: [registry],
      collect() {
        this.reset();
        for (const state of read()) this.inc({ destination: destination(state.destination) }, state.failures);
      },
    });
  }
  const statsFailures = new Counter({ name: 'sentcopy_queue_stats_failures_total', help: 'Scrapes whose queue numbers could not be read (the queue gauges then keep their last values).', registers: [registry] });
  for (const [name, help, read] of [
    ['sentcopy_queue_depth', 'Messages in the queue: ready, waiting for a retry, or in flight.', (value: QueueStats) => value.depth],
    ['sentcopy_queue_in_flight', 'Messages claimed and being archived right now.', (value: QueueStats) => value.inFlight],
    ['sentcopy_dead_letters', 'Messages in the dead letters now.', (value: QueueStats) => value.deadLetters],
    [
      'sentcopy_queue_oldest_pending_age_seconds',
      'Age of the oldest message in the queue, in seconds; 0 when empty.',
      (value: QueueStats) => (value.oldestEnqueuedAt === undefined ? 0 : Math.max(0, (now() - value.oldestEnqueuedAt) / 1000)),
    ],
  ] as const) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (latest !== undefined) this.set(read(latest));
      },
    });
  }
  // Read at scrape time from the queue itself, so a damaged, vanished or full store shows even when no stats can be read.
  const queueHealth = (): QueueHealth => {
    try {
      return options.queue.health?.() ?? { ok: true };
    } catch {
      return { ok: true };
    }
  };
  new Gauge({
    name: 'sentcopy_queue_healthy',
    help: '1 while the queue stores new messages; 0 while it refuses them because its store is damaged, deleted, replaced, full or failing (see sentcopy_queue_problem).',
    registers: [registry],
    collect() {
      this.set(queueHealth().ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sentcopy_queue_problem',
    help: "1 for what is wrong with the queue's store (damaged, file_missing, file_replaced, disk_full, io_error), 0 for the others.",
    labelNames: ['problem'],
    registers: [registry],
    collect() {
      const current = queueHealth();
      for (const problem of queueProblems) this.set({ problem }, !current.ok && current.problem === problem ? 1 : 0);
    },
  });
  for (const result of ['applied', 'refused']) reloads.inc({ result }, 0);
  const tlsReloads = new Counter({
    name: 'sentcopy_tls_reloads_total',
    help: "Reloads of the HTTPS listener's certificate and key after their files changed; refused ones keep the previous pair serving.",
    labelNames: ['result'],
    registers: [registry],
  });

  return {
    contentType: registry.contentType,
    async render() {
      await refreshStats();
      return registry.metrics();
    },
    observeOutcome(outcome, info = {}) {
      const id = project(outcome.message.project);
      switch (outcome.type) {
        case 'archived':
          archived.inc({ project: id, channel: channel(outcome.channel ?? info.channel) });
          if (outcome.version && outcome.created) versions.inc({ project: id, channel: channel(outcome.channel ?? info.channel), stage: 'archive' });
          putSeconds.observe({ destination: destination(info.destination ?? outcome.destination) }, outcome.durationMs / 1000);
          break;
        case 'retry_scheduled':
          failures.inc({ project: id, kind: kind(outcome.kind) });
          retries.inc({ project: id, kind: kind(outcome.kind) });
          break;
        case 'dead_lettered':
          // The last write attempt failed too; an invalid message or a missing destination made none.
          if (outcome.attempts > 0 && outcome.kind !== 'invalid' && outcome.kind !== 'no_destination') failures.inc({ project: id, kind: kind(outcome.kind) });
          deadLettered.inc({ project: id, kind: kind(outcome.kind) });
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
          if (event.type === 'accepted' && event.version === true) versions.inc({ project: project(event.project), channel: channel(event.channel), stage: 'intake' });
          break;
        case 'rejected':
          rejected.inc({ project: project(event.project), channel: channel(event.channel), reason: reason(event.reason) });
          break;
        case 'gate':
          gateSeconds.observe({ result: event.result === 'archived' ? 'archived' : 'failed' }, event.seconds);
          if (event.result === 'archived') archived.inc({ project: project(event.project), channel: channel(event.channel) });
          if (event.result === 'archived' && event.version === true) versions.inc({ project: project(event.project), channel: channel(event.channel), stage: 'archive' });
          else if (event.kind !== undefined) failures.inc({ project: project(event.project), kind: kind(event.kind) });
          break;
        case 'request':
          requests.inc({ route: route(event.route), status: status(event.status) });
          break;
        default:
          break;
      }
    },
    observeReload(result) {
      reloads.inc({ result: result === 'applied' ? 'applied' : 'refused' });
      current.set(result === 'applied' ? 1 : 0);
    },
    observeTlsReload(result) {
      tlsReloads.inc({ result });
    },
    setTlsCertificateNotAfter(epochMs) {
      tlsNotAfter ??= new Gauge({ name: 'sentcopy_tls_certificate_not_after_seconds', help: 'When the HTTPS certificate being served expires, in Unix seconds (only with http.tls).', registers: [registry] });
      tlsNotAfter.set(Math.floor(epochMs / 1000));
    },
    setDestinationHealth: (name, isHealthy) => healthy.set({ destination: destination(name) }, isHealthy ? 1 : 0),
    removeDestination(name) {
      healthy.remove({ destination: name });
    },
  };
}
