import type { DestinationErrorKind } from '../destination/destination-error.js';
import { defaultRetryPolicy, type RetryPolicy } from './retry-policy.js';

/** What {@link decideRetry} needs to know about a failed attempt. */
export interface RetryInput {
  /** Kind of the error the latest attempt failed with. */
  readonly kind: DestinationErrorKind;
  /** Attempts made so far, including the one that just failed (so at least 1). */
  readonly attempts: number;
  /** When the first attempt started, in epoch milliseconds. */
  readonly firstAttemptAt: number;
  /** The current time, in epoch milliseconds. */
  readonly now: number;
  /** Delay the store asked for (`Retry-After`), in milliseconds; used as a lower bound. */
  readonly retryAfterMs?: number;
  /** The policy to apply. @default defaultRetryPolicy */
  readonly policy?: RetryPolicy;
  /** Source of randomness in [0, 1) for jitter. @default Math.random */
  readonly random?: () => number;
}

/** Which stage of the schedule a retry belongs to. */
export type RetryPhase = 'backoff' | 'quick' | 'slow';

/** The decision: retry at a given time, or give up with a reason. */
export type RetryDecision =
  | {
      readonly action: 'retry';
      /** When to try again, in epoch milliseconds. */
      readonly at: number;
      /** `at - now`, in milliseconds. */
      readonly delayMs: number;
      /** `backoff` for rate limits, `quick` for the first outage retries, `slow` for the long cadence. */
      readonly phase: RetryPhase;
    }
  | {
      readonly action: 'give_up';
      /** A human sentence saying why no further attempt will be made. */
      readonly reason: string;
    };

/**
 * Decides whether and when to retry a failed write. Pure: the same input always gives the same
 * decision (randomness and the clock come in as arguments).
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const policy = input.policy ?? defaultRetryPolicy;
  const random = input.random ?? Math.random;
  const attempts = Math.max(1, Math.floor(input.attempts));
  const floor = Math.max(0, input.retryAfterMs ?? 0);
  const elapsed = Math.max(0, input.now - input.firstAttemptAt);

  switch (input.kind) {
    case 'conflict':
      return { action: 'give_up', reason: 'The key already holds different content; write-once storage never overwrites it.' };
    case 'invalid':
      return { action: 'give_up', reason: 'The destination rejected the request as invalid; retrying cannot succeed.' };
    case 'rate_limited': {
      const { initialDelayMs, multiplier, maxDelayMs, maxAgeMs } = policy.rateLimited;
      const ceiling = Math.min(maxDelayMs, initialDelayMs * multiplier ** (attempts - 1));
      // Full jitter spreads a throttled fleet's retries evenly over the window.
      const delayMs = Math.max(floor, Math.round(random() * ceiling));
      if (elapsed + delayMs > maxAgeMs) {
        return { action: 'give_up', reason: `Still rate limited after ${formatDuration(elapsed)} and ${attempts} attempts.` };
      }
      return { action: 'retry', at: input.now + delayMs, delayMs, phase: 'backoff' };
    }
    case 'unreachable':
    case 'unauthorized':
    case 'unknown': {
      const outage = policy.outage;
      let delayMs: number;
      let phase: RetryPhase;
      if (attempts <= outage.quickRetries) {
        const base = Math.min(outage.quickMaxDelayMs, outage.quickInitialDelayMs * 2 ** (attempts - 1));
        // Equal jitter: never closer than half the base, so quick retries still give the store room.
        delayMs = Math.round(base / 2 + (random() * base) / 2);
        phase = 'quick';
      } else {
        delayMs = Math.round(outage.slowIntervalMs * (1 + random() * outage.slowJitterRatio));
        phase = 'slow';
      }
      delayMs = Math.max(floor, delayMs);
      if (elapsed + delayMs > outage.maxAgeMs) {
        return {
          action: 'give_up',
          reason: `Gave up after ${attempts} attempts over ${formatDuration(elapsed)}: the destination stayed ${describeKind(input.kind)} for the whole retry window (${formatDuration(outage.maxAgeMs)}).`,
        };
      }
      return { action: 'retry', at: input.now + delayMs, delayMs, phase };
    }
    default: {
      const unknownKind: never = input.kind;
      return { action: 'give_up', reason: `Unknown error kind ${JSON.stringify(unknownKind)}.` };
    }
  }
}

function describeKind(kind: 'unreachable' | 'unauthorized' | 'unknown'): string {
  if (kind === 'unreachable') return 'unreachable';
  if (kind === 'unauthorized') return 'unauthorized (credentials rejected)';
  return 'failing';
}

/** Formats milliseconds as a short human duration, e.g. `7d`, `8h 0m`, `1.5s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'forever';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10}s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m ${Math.round((ms % 60_000) / 1000)}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days}d` : `${days}d ${hours % 24}h`;
}
