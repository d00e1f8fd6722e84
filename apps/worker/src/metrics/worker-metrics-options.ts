import type { Channel, DestinationErrorKind } from '@sentcopy/core';
import type { DestinationHealth } from '../destination-health/index.js';
import type { LedgerState } from '../ledger/index.js';
import type { OutcomeInfo, ProcessOutcome } from '../processor/process-outcome.js';
import type { MessageQueue } from '../queue/index.js';

/** Options for {@link createWorkerMetrics}. */
export interface WorkerMetricsOptions {
  /** Queue whose depth, in-flight count, dead letters and oldest message are reported at scrape time. */
  readonly queue: MessageQueue;
  /**
   * Most distinct `project` label values; projects beyond it are counted under `other`, so a flood of
   * made-up project ids cannot grow the series without bound. @default 1000
   */
  readonly maxProjects?: number;
  /** Most distinct `destination` label values; the rest are counted under `other`. @default 100 */
  readonly maxDestinations?: number;
  /**
   * Whether a project id is one the configuration knows. When given, unknown ids are counted under
   * `other` and never take a label value of their own (useful when ids can come from unauthenticated
   * input). @default every id is taken, up to `maxProjects`
   */
  readonly isKnownProject?: (project: string) => boolean;
  /**
   * Whether a channel beyond the four built-in ones (`email`, `sms`, `push`, `whatsapp`) is declared
   * by a project of the configuration (e.g. `rcs` in `projects.shop.channels`). A declared channel
   * is labelled by its name; any other name is counted under `other`, so channel names sent by
   * producers cannot grow the series. Asked again for a name it refused (a reload may declare it);
   * a name once labelled keeps its label. @default none: channels beyond the four count as `other`
   */
  readonly isDeclaredChannel?: (channel: string) => boolean;
  /** Most distinct label values for channels beyond the four built-in ones; the rest count under `other`. @default 100 */
  readonly maxChannels?: number;
  /**
   * How long queue numbers are reused between scrapes, in milliseconds, so frequent scrapes cannot
   * hammer the queue's store. @default 1000
   */
  readonly statsCacheMs?: number;
  /** Clock, in epoch milliseconds (use the queue's clock). @default Date.now */
  readonly now?: () => number;
  /**
   * The destination health to report: `sentcopy_destination_healthy`,
   * `sentcopy_destination_consecutive_failures` and `sentcopy_destination_paused` are read from it
   * at scrape time, and `sentcopy_messages_hurried_total` counts its hurries. @default none: only
   * {@link WorkerMetrics.setDestinationHealth} sets the healthy gauge
   */
  readonly destinationHealth?: DestinationHealth;
  /**
   * The archive ledgers to report at scrape time, one series per destination:
   * `sentcopy_ledger_pending_entries`, `sentcopy_ledger_oldest_pending_age_seconds`,
   * `sentcopy_ledger_held_messages`, `sentcopy_ledger_healthy` and
   * `sentcopy_ledger_write_failures_total`. @default none
   */
  readonly ledgers?: { snapshot(): readonly LedgerState[] };
}

/** Why intake refused a message or a request. Values outside this set are counted as `other`. */
export type MetricsRejectReason = 'invalid' | 'wrong_project' | 'channel_disabled' | 'no_destination' | 'too_large' | 'unauthorized' | 'bad_request' | 'queue_unavailable';

/** Every {@link MetricsRejectReason}, in a stable order. */
export const metricsRejectReasons: readonly MetricsRejectReason[] = ['invalid', 'wrong_project', 'channel_disabled', 'no_destination', 'too_large', 'unauthorized', 'bad_request', 'queue_unavailable'];

/** Routes counted in `sentcopy_http_requests_total`; any other path is counted as `other`. */
export type MetricsRoute = '/v1/messages' | '/v1/archive' | '/v1/dead-letters' | '/v1/dead-letters/replay' | '/v1/dead-letters/discard' | '/v1/dead-letters/discarded' | '/healthz' | '/readyz' | '/metrics' | 'other';

/** Every {@link MetricsRoute}, in a stable order. */
export const metricsRoutes: readonly MetricsRoute[] = ['/v1/messages', '/v1/archive', '/v1/dead-letters', '/v1/dead-letters/replay', '/v1/dead-letters/discard', '/v1/dead-letters/discarded', '/healthz', '/readyz', '/metrics', 'other'];

/**
 * What the metrics count from intake: one event per message decided, one per before-send archive
 * call, and one per request answered. The intake's own events have this shape.
 */
export type MetricsIntakeEvent =
  | {
      /** A message of a batch was stored in the queue (`accepted`) or was already there (`duplicate`). */
      readonly type: 'accepted' | 'duplicate';
      /** The authenticated project. */
      readonly project: string;
      /** The message's channel. */
      readonly channel: Channel;
      /** `true` on an accepted second version (same message id, other content); also counted in `sentcopy_message_versions_total`. */
      readonly version?: true;
    }
  | {
      /** A message (or a whole request) was refused. */
      readonly type: 'rejected';
      /** The authenticated project; leave out when the request was not authenticated (counted as `unknown`). */
      readonly project?: string;
      /** The message's channel, only when it named a valid one (labelled `other` unless declared, see `isDeclaredChannel`). */
      readonly channel?: Channel;
      /** Why. */
      readonly reason: MetricsRejectReason;
    }
  | {
      /** A before-send archive call (`POST /v1/archive`) ended. */
      readonly type: 'gate';
      /** The authenticated project. */
      readonly project: string;
      /** The message's channel. */
      readonly channel: Channel;
      /** `archived` when stored, `failed` when the answer was an error. */
      readonly result: 'archived' | 'failed';
      /** The destination error kind, when it failed. */
      readonly kind?: DestinationErrorKind;
      /** Time from the request's start to the answer, in seconds. */
      readonly seconds: number;
      /** `true` when it was stored as a version next to a different copy. */
      readonly version?: true;
    }
  | {
      /** An HTTP request was answered. */
      readonly type: 'request';
      /** The route, e.g. `/v1/messages`; any value outside {@link MetricsRoute} counts as `other`. */
      readonly route: string;
      /** The HTTP status answered. */
      readonly status: number;
    };

/** Result of a configuration reload. */
export type ReloadResult = 'applied' | 'refused';

/** The worker's Prometheus metrics. */
export interface WorkerMetrics {
  /** MIME type of {@link WorkerMetrics.render}'s text (Prometheus text exposition 0.0.4). */
  readonly contentType: string;
  /** The metrics in Prometheus text exposition format. Queue numbers are read at most once per `statsCacheMs`. */
  render(): Promise<string>;
  /** Counts a settled claim (wire to the processor's `onOutcome`). Never throws. */
  observeOutcome(outcome: ProcessOutcome, info?: OutcomeInfo): void;
  /** Counts an intake decision or request. Never throws. */
  observeIntake(event: MetricsIntakeEvent): void;
  /** Counts a configuration reload, and sets `sentcopy_config_current` (0 after a refusal, 1 after an applied one). */
  observeReload(result: ReloadResult): void;
  /** Counts a reload of the HTTPS listener's certificate and key (`sentcopy_tls_reloads_total`), applied or refused (the old pair keeps serving). */
  observeTlsReload(result: ReloadResult): void;
  /** Records when the HTTPS certificate being served expires (`sentcopy_tls_certificate_not_after_seconds`), in epoch milliseconds. */
  setTlsCertificateNotAfter(epochMs: number): void;
  /** Records whether a destination (by name) currently passes its probe and takes writes (without `destinationHealth`). */
  setDestinationHealth(destination: string, healthy: boolean): void;
  /** Drops a destination's health series (after it was removed from the configuration). */
  removeDestination(destination: string): void;
}
