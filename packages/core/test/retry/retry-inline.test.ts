import { describe, expect, it } from 'vitest';
import { DestinationError, type DestinationErrorKind } from '../../src/destination/index.js';
import { retryInline, RetryExhaustedError } from '../../src/retry/index.js';

function fakeTime() {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    random: () => 0,
    sleep: async (ms: number, signal?: AbortSignal) => {
      signal?.throwIfAborted();
      sleeps.push(ms);
      now += ms;
    },
  };
}

const failure = (kind: DestinationErrorKind) => new DestinationError({ kind, message: `store said ${kind}` });

describe('retryInline', () => {
  it('retries outages and returns the eventual value', async () => {
    const time = fakeTime();
    const calls: number[] = [];
    const result = await retryInline(async (attempt) => {
      calls.push(attempt);
      if (attempt < 3) throw failure('unreachable');
      return 'stored';
    }, time);
    expect(result).toEqual({ value: 'stored', attempts: 3 });
    expect(calls).toEqual([1, 2, 3]);
    expect(time.sleeps).toEqual([500, 1000]);
  });

  it('stops at once on conflict, with kind and attempt count', async () => {
    const time = fakeTime();
    let calls = 0;
    const error = await retryInline(async () => {
      calls++;
      throw failure('conflict');
    }, time).catch((caught: unknown) => caught);
    expect(RetryExhaustedError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'conflict', attempts: 1 });
    expect(calls).toBe(1);
    expect(time.sleeps).toEqual([]);
  });

  it('gives up after the quick retries instead of waiting 8 hours', async () => {
    const time = fakeTime();
    let calls = 0;
    const error = await retryInline(
      async () => {
        calls++;
        throw failure('unauthorized');
      },
      { ...time, maxAttempts: 10 },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect((error as RetryExhaustedError).reason).toContain('inline budget');
    expect(calls).toBe(4);
    expect(time.sleeps).toEqual([500, 1000, 2000]);
  });

  it('respects the time budget', async () => {
    const time = fakeTime();
    let calls = 0;
    await expect(
      retryInline(
        async () => {
          calls++;
          throw failure('rate_limited');
        },
        { ...time, random: () => 0.99, budgetMs: 3500, maxAttempts: 100 },
      ),
    ).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(time.sleeps.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(3500);
    expect(calls).toBe(3);
  });

  it('rethrows errors that are not DestinationErrors without retrying', async () => {
    let calls = 0;
    const bug = new TypeError('bug');
    await expect(
      retryInline(async () => {
        calls++;
        throw bug;
      }, fakeTime()),
    ).rejects.toBe(bug);
    expect(calls).toBe(1);
  });

  it('never retries once aborted', async () => {
    const controller = new AbortController();
    let calls = 0;
    const promise = retryInline(
      async () => {
        calls++;
        controller.abort(new Error('caller gave up'));
        throw failure('unreachable');
      },
      { signal: controller.signal },
    );
    await expect(promise).rejects.toThrow('store said unreachable');
    expect(calls).toBe(1);
    await expect(retryInline(async () => 1, { signal: controller.signal })).rejects.toThrow('caller gave up');
  });
});
