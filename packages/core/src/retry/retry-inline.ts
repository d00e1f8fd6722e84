import { DestinationError, type DestinationErrorKind } from '../destination/destination-error.js';
import { decideRetry } from './decide-retry.js';
import { defaultRetryPolicy, type RetryPolicy } from './retry-policy.js';

/** Clock, randomness and sleep, injectable so tests can compress time. */
export interface RetryEnvironment {
  /** Current time in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Randomness in [0, 1) for jitter. @default Math.random */
  readonly random?: () => number;
  /** Waits `ms` milliseconds, rejecting when `signal` aborts. @default a timer-based sleep */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Options for inline (before-send) retries. */
export interface InlineRetryOptions extends RetryEnvironment {
  /** The policy whose quick phase is followed. @default defaultRetryPolicy */
  readonly policy?: RetryPolicy;
  /** Longest total time spent retrying, in milliseconds; a retry that would end later is not attempted. @default 10000 */
  readonly budgetMs?: number;
  /** Most attempts in total, the first included. @default 4 */
  readonly maxAttempts?: number;
  /** Aborts waiting and further attempts. */
  readonly signal?: AbortSignal;
}

const marker = Symbol.for('sentcopy.retry-exhausted-error');

/** Thrown when inline retries stop: the error kind was not retryable, or the budget ran out. */
export class RetryExhaustedError extends Error {
  private readonly [marker] = true;
  /** Kind of the last error. */
  readonly kind: DestinationErrorKind;
  /** Why no further attempt was made. */
  readonly reason: string;
  /** Attempts made, the first included. */
  readonly attempts: number;
  /** The last `DestinationError`. */
  readonly lastError: DestinationError;

  constructor(lastError: DestinationError, attempts: number, reason: string) {
    super(`${lastError.message} (${attempts} attempt${attempts === 1 ? '' : 's'}; ${reason})`, { cause: lastError });
    this.name = 'RetryExhaustedError';
    this.kind = lastError.kind;
    this.reason = reason;
    this.attempts = attempts;
    this.lastError = lastError;
  }

  /** True for this error from any copy of this package. */
  static isInstance(error: unknown): error is RetryExhaustedError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}

/** Waits `ms` milliseconds; rejects with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `operation`, retrying `DestinationError`s the policy calls retryable within a time budget
 * (only quick and backoff retries; the slow cadence belongs to the durable queue).
 * Errors that are not `DestinationError`s, and aborts, are rethrown at once.
 * Resolves with the result and the number of attempts made.
 */
export async function retryInline<T>(operation: (attempt: number) => Promise<T>, options: InlineRetryOptions = {}): Promise<{ value: T; attempts: number }> {
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  const policy = options.policy ?? defaultRetryPolicy;
  const budgetMs = options.budgetMs ?? 10_000;
  const maxAttempts = options.maxAttempts ?? 4;
  const firstAttemptAt = now();
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return { value: await operation(attempt), attempts: attempt };
    } catch (error) {
      if (!DestinationError.isInstance(error) || options.signal?.aborted) throw error;
      const decision = decideRetry({
        kind: error.kind,
        attempts: attempt,
        firstAttemptAt,
        now: now(),
        policy,
        random: options.random,
        retryAfterMs: error.retryAfterMs,
      });
      if (decision.action === 'give_up') throw new RetryExhaustedError(error, attempt, decision.reason);
      if (attempt >= maxAttempts) throw new RetryExhaustedError(error, attempt, `gave up after ${maxAttempts} attempts`);
      if (decision.phase === 'slow' || decision.at - firstAttemptAt > budgetMs) {
        throw new RetryExhaustedError(error, attempt, `the next retry would exceed the ${budgetMs} ms inline budget`);
      }
      await wait(decision.delayMs, options.signal);
    }
  }
}
