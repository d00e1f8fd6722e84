import { describe, expect, it } from 'vitest';
import { decideRetry, defaultRetryPolicy, formatDuration, resolveRetryPolicy } from '../../src/retry/index.js';
import type { DestinationErrorKind } from '../../src/destination/index.js';

const hour = 3_600_000;
const day = 24 * hour;
const t0 = Date.UTC(2026, 10, 23, 12, 0, 0);

/** Fails every attempt with `kind`, following each decision, until the engine gives up. */
function runSchedule(kind: DestinationErrorKind, random: () => number, limit = 10_000) {
  const retries: { at: number; delayMs: number; phase: string }[] = [];
  let now = t0;
  for (let attempts = 1; attempts <= limit; attempts++) {
    const decision = decideRetry({ kind, attempts, firstAttemptAt: t0, now, random });
    if (decision.action === 'give_up') return { retries, attempts, reason: decision.reason, now };
    expect(decision.at).toBe(now + decision.delayMs);
    retries.push(decision);
    now = decision.at;
  }
  return { retries, attempts: limit, reason: undefined, now };
}

describe('decideRetry', () => {
  it.each(['conflict', 'invalid'] as const)('never retries %s', (kind) => {
    const decision = decideRetry({ kind, attempts: 1, firstAttemptAt: t0, now: t0 });
    expect(decision.action).toBe('give_up');
    expect(decision.action === 'give_up' && decision.reason.length).toBeGreaterThan(10);
  });

  it('retries rate limits indefinitely with capped exponential full-jitter backoff', () => {
    const ceilings = [1, 2, 3, 4, 5, 10, 20, 1000, 100_000].map((attempts) => {
      const decision = decideRetry({ kind: 'rate_limited', attempts, firstAttemptAt: t0 - 30 * day, now: t0, random: () => 0.999999 });
      expect(decision.action).toBe('retry');
      return decision.action === 'retry' ? decision.delayMs : -1;
    });
    expect(ceilings).toEqual([1000, 2000, 4000, 8000, 16000, 300_000, 300_000, 300_000, 300_000]);
    const low = decideRetry({ kind: 'rate_limited', attempts: 5, firstAttemptAt: t0, now: t0, random: () => 0 });
    expect(low).toMatchObject({ action: 'retry', delayMs: 0, phase: 'backoff' });
  });

  it('honours Retry-After as a lower bound', () => {
    const decision = decideRetry({ kind: 'rate_limited', attempts: 1, firstAttemptAt: t0, now: t0, random: () => 0, retryAfterMs: 7000 });
    expect(decision).toMatchObject({ action: 'retry', delayMs: 7000, at: t0 + 7000 });
  });

  it.each(['unreachable', 'unauthorized', 'unknown'] as const)('retries %s quickly three times, then every 8 hours, and gives up within 7 days', (kind) => {
    const { retries, attempts, reason, now } = runSchedule(kind, () => 0);
    expect(retries.slice(0, 3).map((r) => [r.phase, r.delayMs])).toEqual([
      ['quick', 500],
      ['quick', 1000],
      ['quick', 2000],
    ]);
    const slow = retries.slice(3);
    expect(slow.every((r) => r.phase === 'slow' && r.delayMs === 8 * hour)).toBe(true);
    // 3.5 s of quick retries + 20 × 8 h fit in 7 days; a 21st slow retry would not.
    expect(slow).toHaveLength(20);
    expect(attempts).toBe(24);
    expect(now - t0).toBeLessThanOrEqual(7 * day);
    expect(now + 8 * hour - t0).toBeGreaterThan(7 * day);
    expect(reason).toContain('7d');
  });

  it('keeps jittered delays within their windows', () => {
    for (const value of [0, 0.25, 0.5, 0.75, 0.999]) {
      const { retries } = runSchedule('unreachable', () => value);
      retries.slice(0, 3).forEach((retry, index) => {
        const base = 1000 * 2 ** index;
        expect(retry.delayMs).toBeGreaterThanOrEqual(base / 2);
        expect(retry.delayMs).toBeLessThanOrEqual(base);
      });
      for (const retry of retries.slice(3)) {
        expect(retry.delayMs).toBeGreaterThanOrEqual(8 * hour);
        expect(retry.delayMs).toBeLessThanOrEqual(8 * hour * 1.05);
      }
    }
  });

  it('is a pure function of its input', () => {
    const input = { kind: 'unreachable' as const, attempts: 2, firstAttemptAt: t0, now: t0 + 5000, random: () => 0.42 };
    expect(decideRetry(input)).toEqual(decideRetry(input));
  });

  it('follows a custom policy', () => {
    const policy = resolveRetryPolicy({ outage: { quickRetries: 1, slowIntervalMs: hour, maxAgeMs: 3 * hour } });
    const first = decideRetry({ kind: 'unauthorized', attempts: 1, firstAttemptAt: t0, now: t0, policy, random: () => 0 });
    expect(first).toMatchObject({ phase: 'quick', delayMs: 500 });
    const second = decideRetry({ kind: 'unauthorized', attempts: 2, firstAttemptAt: t0, now: t0 + 500, policy, random: () => 0 });
    expect(second).toMatchObject({ phase: 'slow', delayMs: hour });
    const late = decideRetry({ kind: 'unauthorized', attempts: 4, firstAttemptAt: t0, now: t0 + 2.5 * hour, policy, random: () => 0 });
    expect(late.action).toBe('give_up');
  });
});

describe('resolveRetryPolicy', () => {
  it('returns the defaults when given nothing', () => {
    expect(resolveRetryPolicy()).toEqual(defaultRetryPolicy);
  });

  it.each([
    [{ outage: { quickRetries: -1 } }, 'outage.quickRetries'],
    [{ outage: { quickRetries: 1.5 } }, 'outage.quickRetries'],
    [{ outage: { slowIntervalMs: 0 } }, 'outage.slowIntervalMs'],
    [{ rateLimited: { multiplier: 0.5 } }, 'rateLimited.multiplier'],
    [{ rateLimited: { maxDelayMs: 10 } }, 'rateLimited.maxDelayMs'],
    [{ outage: { maxAgeMs: Number.NaN } }, 'outage.maxAgeMs'],
  ])('names the bad field (%j)', (overrides, field) => {
    expect(() => resolveRetryPolicy(overrides)).toThrow(new RegExp(`^Invalid retry policy: ${field.replace('.', '\\.')} must`));
  });
});

describe('formatDuration', () => {
  it('formats human durations', () => {
    expect([500, 1500, 90_000, 8 * hour, 7 * day, 26 * hour, Infinity].map(formatDuration)).toEqual(['500ms', '1.5s', '1m 30s', '8h 0m', '7d', '1d 2h', 'forever']);
  });
});
