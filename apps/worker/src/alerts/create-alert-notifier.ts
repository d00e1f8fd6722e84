import { createHmac } from 'node:crypto';
import type { LogLevel } from '../logging/index.js';
import { createDestinationHealth, type DestinationHealth, type DestinationHealthEvent } from '../destination-health/index.js';
import type { QueueHealth } from '../queue/index.js';
import type { AlertNotification, AlertNotifier, AlertNotifierOptions, DestinationAlertState, LedgerAlertNotification, QueueAlertNotification } from './alert-notifier-options.js';
import { redactReason } from './redact-reason.js';

interface PendingNotification {
  readonly notification: AlertNotification | QueueAlertNotification | LedgerAlertNotification;
  readonly body: string;
}

function positiveInteger(name: string, value: number, allowZero = false): number {
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) throw new RangeError(`Invalid alert notifier options: ${name} must be ${allowZero ? 'an integer, 0 or more' : 'a positive integer'}.`);
  return value;
}

function duration(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RangeError(`Invalid alert notifier options: ${name} must be a finite number of milliseconds above 0.`);
  return value;
}

function parseUrl(value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The value itself is not echoed: webhook URLs often carry a token.
    throw new TypeError('Invalid alert notifier options: url must be an absolute http: or https: URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`Invalid alert notifier options: url must use http: or https:, not ${url.protocol}`);
  return url;
}

// Names the failure without any text that could echo the URL.
function describeDeliveryError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'timed out';
    const cause = (error as { cause?: unknown }).cause;
    const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    if (typeof code === 'string') return code;
    return error.name;
  }
  return `a thrown ${typeof error}`;
}

const retryableStatus = (status: number) => status === 408 || status === 429 || status >= 500;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * Creates a notifier that follows destination health (a shared {@link DestinationHealth}, or its
 * own fed by processing outcomes) and POSTs a JSON {@link AlertNotification} to a webhook when a
 * destination turns unhealthy (its probe fails; writes refused as `unauthorized`: at once;
 * `unreachable` or `unknown`: after `unreachableAfterFailures` failures in a row or
 * `unreachableAfterMs`) and when it recovers (the next write started after that is stored, or, for
 * a failed probe, the probe passes).
 * Deliveries run in the background, one at a time and in order, with a timeout, retries and a
 * bounded queue: the processor is never held up.
 */
export function createAlertNotifier(options: AlertNotifierOptions): AlertNotifier {
  const url = parseUrl(options.url);
  const origin = url.origin;
  const secret = options.secret;
  if (secret !== undefined && (typeof secret !== 'string' || secret === '')) throw new TypeError('Invalid alert notifier options: secret must be a non-empty string when given.');
  const unreachableAfterFailures = positiveInteger('unreachableAfterFailures', options.unreachableAfterFailures ?? 5);
  const unreachableAfterMs = duration('unreachableAfterMs', options.unreachableAfterMs ?? 60_000);
  const shared = options.health !== undefined;
  const timeoutMs = duration('timeoutMs', options.timeoutMs ?? 5_000);
  const retries = positiveInteger('retries', options.retries ?? 3, true);
  const retryDelayMs = duration('retryDelayMs', options.retryDelayMs ?? 1_000);
  const maxPending = positiveInteger('maxPending', options.maxPending ?? 100);
  const closeTimeoutMs = duration('closeTimeoutMs', options.closeTimeoutMs ?? 5_000);
  const now = options.now ?? Date.now;
  const log = (level: LogLevel, event: string, message: string, fields: Record<string, unknown> = {}) => {
    try {
      options.logger?.({ level, event, message, webhook: origin, ...fields });
    } catch {
      // A failing logger must not stop deliveries.
    }
  };

  let queueState: QueueHealth = { ok: true };
  const waiting: PendingNotification[] = [];
  let sending = false;
  let drained: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const abort = new AbortController();
  let delivered = 0;
  let failed = 0;
  let dropped = 0;

  const about = (notification: AlertNotification | QueueAlertNotification | LedgerAlertNotification) => ('destination' in notification ? { destination: notification.destination } : { problem: notification.problem });
  type Notification = AlertNotification | QueueAlertNotification | LedgerAlertNotification;

  function notify(notification: AlertNotification | QueueAlertNotification | LedgerAlertNotification): void {
    if (waiting.length >= maxPending) {
      const oldest = waiting.shift() as PendingNotification;
      dropped++;
      log('warn', 'alert.dropped', 'An alert notification was dropped: too many are waiting for the webhook.', { event_type: oldest.notification.event, ...about(oldest.notification) });
    }
    waiting.push({ notification, body: JSON.stringify(notification) });
    drained ??= drain();
  }

  async function drain(): Promise<void> {
    // Yield once so `drained` is assigned before the finally below can clear it.
    await null;
    try {
      while (waiting.length > 0 && !abort.signal.aborted) {
        const next = waiting.shift() as PendingNotification;
        sending = true;
        try {
          await deliver(next);
        } finally {
          sending = false;
        }
      }
    } finally {
      // Cleared in the same turn as the last emptiness check, so a notification queued later starts a new drain.
      drained = undefined;
    }
  }

  async function deliver(pending: PendingNotification): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'sentcopy-worker' };
    if (secret !== undefined) headers['x-sentcopy-signature'] = `sha256=${createHmac('sha256', secret).update(pending.body).digest('hex')}`;
    let problem = 'not attempted';
    let attempts = 0;
    for (let attempt = 0; attempt <= retries && !abort.signal.aborted; attempt++) {
      if (attempt > 0) await sleep(retryDelayMs * 2 ** (attempt - 1), abort.signal);
      if (abort.signal.aborted) break;
      attempts++;
      try {
        const response = await fetch(url, { method: 'POST', headers, body: pending.body, redirect: 'manual', signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), abort.signal]) });
        await response.body?.cancel().catch(() => undefined);
        if (response.status >= 200 && response.status < 300) {
          delivered++;
          return;
        }
        problem = `HTTP ${response.status}`;
        if (!retryableStatus(response.status)) break;
      } catch (error) {
        problem = describeDeliveryError(error);
      }
    }
    if (abort.signal.aborted) {
      dropped++;
      log('warn', 'alert.dropped', 'An alert notification was not delivered before shutdown.', { event_type: pending.notification.event, ...about(pending.notification), attempts });
      return;
    }
    failed++;
    log('error', 'alert.delivery_failed', `An alert notification could not be delivered to the webhook (${problem}).`, { event_type: pending.notification.event, ...about(pending.notification), attempts, problem });
  }

  // The notifier's own health (without a shared one) counts failures by the notifier's clock and options.
  const health = options.health ?? createDestinationHealth({ unhealthyAfterFailures: unreachableAfterFailures, unhealthyAfterMs: unreachableAfterMs, now });
  const onHealth = (event: DestinationHealthEvent) => {
    if (closing !== undefined || (event.type !== 'unhealthy' && event.type !== 'recovered')) return;
    notify({
      event: event.type === 'unhealthy' ? 'destination.unhealthy' : 'destination.recovered',
      destination: event.destination,
      kind: event.kind,
      reason: redactReason(event.reason),
      since: new Date(event.since).toISOString(),
      at: new Date(event.at).toISOString(),
    });
  };
  // A destination that is failing already (e.g. its probe failed at start-up, before the notifier existed) is reported now.
  for (const state of health.snapshot()) {
    if (state.kind !== undefined && state.since !== undefined) onHealth({ type: 'unhealthy', destination: state.name, kind: state.kind, reason: state.reason ?? '', since: state.since, at: now() });
  }
  const unsubscribe = health.subscribe(onHealth);

  return {
    onOutcome(outcome, info = {}) {
      if (closing !== undefined || shared) return;
      try {
        health.observeOutcome(outcome, info);
      } catch (error) {
        log('error', 'alert.unexpected', 'The alert notifier failed to take an outcome.', { error: error instanceof Error ? error.name : typeof error });
      }
    },
    onQueueHealth(health) {
      if (closing !== undefined) return;
      try {
        const previous = queueState;
        if (health.ok === previous.ok && health.problem === previous.problem) return;
        queueState = health;
        const at = new Date(now()).toISOString();
        if (!health.ok && health.problem !== undefined) {
          notify({ event: 'queue.unhealthy', problem: health.problem, reason: health.reason ?? '', since: new Date(health.since ?? now()).toISOString(), at });
        } else if (health.ok && previous.problem !== undefined) {
          notify({ event: 'queue.recovered', problem: previous.problem, reason: previous.reason ?? '', since: new Date(previous.since ?? now()).toISOString(), at });
        }
      } catch (error) {
        log('error', 'alert.unexpected', 'The alert notifier failed to take a queue health change.', { error: error instanceof Error ? error.name : typeof error });
      }
    },
    onLedgerHealth(change) {
      if (closing !== undefined) return;
      try {
        notify({
          event: change.type === 'unhealthy' ? 'ledger.unhealthy' : 'ledger.recovered',
          destination: change.destination,
          reason: redactReason(change.reason),
          pending_entries: change.pendingEntries,
          since: new Date(change.since).toISOString(),
          at: new Date(change.at).toISOString(),
        } satisfies Notification);
      } catch (error) {
        log('error', 'alert.unexpected', 'The alert notifier failed to take a ledger health change.', { error: error instanceof Error ? error.name : typeof error });
      }
    },
    health() {
      const destinations: Record<string, DestinationAlertState> = {};
      const states = health.snapshot();
      for (const state of states) {
        destinations[state.name] = {
          healthy: state.kind === undefined,
          consecutiveFailures: state.consecutiveFailures,
          ...(state.kind === undefined ? {} : { kind: state.kind }),
          ...(state.reason === undefined ? {} : { reason: state.reason }),
          ...(state.since === undefined ? {} : { since: state.since }),
        };
      }
      return {
        healthy: states.every((state) => state.kind === undefined),
        destinations,
        pending: waiting.length + (sending ? 1 : 0),
        delivered,
        failed,
        dropped,
      };
    },
    close() {
      closing ??= (async () => {
        unsubscribe();
        if (!shared) health.close();
        const inProgress = drained;
        if (inProgress === undefined) return;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, closeTimeoutMs);
        });
        await Promise.race([inProgress, timedOut]);
        clearTimeout(timer);
        if (drained !== undefined) {
          const left = waiting.length;
          abort.abort();
          await drained;
          dropped += left;
          waiting.length = 0;
          if (left > 0) log('warn', 'alert.dropped', `${left} alert notifications were not delivered before shutdown.`, { count: left });
        }
      })();
      return closing;
    },
  };
}
