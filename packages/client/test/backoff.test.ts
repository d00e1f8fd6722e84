import { describe, expect, it } from 'vitest';
import { backoffDelay, retryAfterMs } from '../src/index.js';

describe('backoff', () => {
  it('draws a delay below base · 2^failures, capped at the maximum', () => {
    expect([0, 1, 2, 3].map((failures) => backoffDelay(failures, 100, 30_000, () => 0.999999))).toEqual([99, 199, 399, 799]);
    expect(backoffDelay(40, 100, 30_000, () => 0.999999)).toBe(29_999);
    expect(backoffDelay(5, 100, 30_000, () => 0)).toBe(0);
  });

  it('reads Retry-After as seconds or an HTTP date, and ignores anything else', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    expect(retryAfterMs('5', now)).toBe(5000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Fri, 04 Dec 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Fri, 04 Dec 2026 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs('-3', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
