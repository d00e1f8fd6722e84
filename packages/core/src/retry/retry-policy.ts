/** Backoff for `rate_limited`: retried with exponential backoff and full jitter. */
export interface RateLimitedPolicy {
  /** Delay ceiling for the first retry, in milliseconds. @default 1000 */
  readonly initialDelayMs: number;
  /** Growth factor of the delay ceiling per attempt. @default 2 */
  readonly multiplier: number;
  /** Largest delay ceiling, in milliseconds. @default 300000 (5 minutes) */
  readonly maxDelayMs: number;
  /** Give up after this long since the first attempt, in milliseconds. `Infinity` retries forever. @default Infinity */
  readonly maxAgeMs: number;
}

/** Schedule for `unreachable`, `unauthorized` and `unknown`: a few quick retries, then a slow cadence. */
export interface OutagePolicy {
  /** Number of quick retries before switching to the slow cadence. @default 3 */
  readonly quickRetries: number;
  /** Base delay of the first quick retry, in milliseconds; doubles per retry. @default 1000 */
  readonly quickInitialDelayMs: number;
  /** Largest quick-retry delay, in milliseconds. @default 30000 */
  readonly quickMaxDelayMs: number;
  /** Interval of the slow cadence, in milliseconds. @default 28800000 (8 hours) */
  readonly slowIntervalMs: number;
  /** Extra random delay added to each slow retry, as a fraction of `slowIntervalMs`, so recovering workers don't stampede. @default 0.05 */
  readonly slowJitterRatio: number;
  /** Give up once a retry would fall later than this after the first attempt, in milliseconds. @default 604800000 (7 days) */
  readonly maxAgeMs: number;
}

/** The retry policy: how each error kind is retried. `conflict` and `invalid` are never retried. */
export interface RetryPolicy {
  /** How `rate_limited` errors are retried. */
  readonly rateLimited: RateLimitedPolicy;
  /** How `unreachable`, `unauthorized` and `unknown` errors are retried. */
  readonly outage: OutagePolicy;
}

/** Partial overrides of a {@link RetryPolicy}. */
export interface RetryPolicyOverrides {
  /** Overrides for `rate_limited`. */
  readonly rateLimited?: Partial<RateLimitedPolicy>;
  /** Overrides for `unreachable`, `unauthorized` and `unknown`. */
  readonly outage?: Partial<OutagePolicy>;
}

const hour = 60 * 60 * 1000;

/**
 * The default policy: rate limits are retried indefinitely with capped exponential backoff;
 * outages and rejected credentials get three quick retries, then one every 8 hours for 7 days.
 */
export const defaultRetryPolicy: RetryPolicy = Object.freeze({
  rateLimited: Object.freeze({ initialDelayMs: 1000, multiplier: 2, maxDelayMs: 5 * 60 * 1000, maxAgeMs: Infinity }),
  outage: Object.freeze({
    quickRetries: 3,
    quickInitialDelayMs: 1000,
    quickMaxDelayMs: 30_000,
    slowIntervalMs: 8 * hour,
    slowJitterRatio: 0.05,
    maxAgeMs: 7 * 24 * hour,
  }),
});

/** Returns `defaultRetryPolicy` with `overrides` applied; throws a `RangeError` naming the field on a bad value. */
export function resolveRetryPolicy(overrides: RetryPolicyOverrides = {}): RetryPolicy {
  const policy: RetryPolicy = {
    rateLimited: { ...defaultRetryPolicy.rateLimited, ...overrides.rateLimited },
    outage: { ...defaultRetryPolicy.outage, ...overrides.outage },
  };
  const check = (path: string, value: number, valid: boolean, expected: string) => {
    if (typeof value !== 'number' || Number.isNaN(value) || !valid) {
      throw new RangeError(`Invalid retry policy: ${path} must be ${expected}.`);
    }
  };
  const { rateLimited: r, outage: o } = policy;
  check('rateLimited.initialDelayMs', r.initialDelayMs, r.initialDelayMs >= 0 && Number.isFinite(r.initialDelayMs), 'a finite number >= 0');
  check('rateLimited.multiplier', r.multiplier, r.multiplier >= 1 && Number.isFinite(r.multiplier), 'a finite number >= 1');
  check('rateLimited.maxDelayMs', r.maxDelayMs, r.maxDelayMs >= r.initialDelayMs && Number.isFinite(r.maxDelayMs), 'finite and >= rateLimited.initialDelayMs');
  check('rateLimited.maxAgeMs', r.maxAgeMs, r.maxAgeMs > 0, 'a number > 0 (Infinity allowed)');
  check('outage.quickRetries', o.quickRetries, Number.isInteger(o.quickRetries) && o.quickRetries >= 0, 'an integer >= 0');
  check('outage.quickInitialDelayMs', o.quickInitialDelayMs, o.quickInitialDelayMs >= 0 && Number.isFinite(o.quickInitialDelayMs), 'a finite number >= 0');
  check('outage.quickMaxDelayMs', o.quickMaxDelayMs, o.quickMaxDelayMs >= o.quickInitialDelayMs && Number.isFinite(o.quickMaxDelayMs), 'finite and >= outage.quickInitialDelayMs');
  check('outage.slowIntervalMs', o.slowIntervalMs, o.slowIntervalMs > 0 && Number.isFinite(o.slowIntervalMs), 'a finite number > 0');
  check('outage.slowJitterRatio', o.slowJitterRatio, o.slowJitterRatio >= 0 && o.slowJitterRatio <= 1, 'between 0 and 1');
  check('outage.maxAgeMs', o.maxAgeMs, o.maxAgeMs > 0, 'a number > 0 (Infinity allowed)');
  return policy;
}
