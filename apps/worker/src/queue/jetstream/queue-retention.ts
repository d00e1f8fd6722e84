import type { RetryPolicy } from '@sentcopy/core';

const day = 24 * 60 * 60 * 1000;

/**
 * How long the JetStream stream must keep a message so that no retry the policy schedules outlives
 * it: the longest give-up age, plus one slow interval with its jitter (the last retry may be
 * scheduled that late) and a day of margin. `0` (keep until settled) when a kind retries forever.
 */
export function queueRetentionMs(policy: RetryPolicy): number {
  const outage = policy.outage.maxAgeMs + policy.outage.slowIntervalMs * (1 + policy.outage.slowJitterRatio);
  const horizon = Math.max(outage, policy.rateLimited.maxAgeMs);
  return Number.isFinite(horizon) ? Math.ceil(horizon + day) : 0;
}
