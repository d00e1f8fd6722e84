import { defaultRetryPolicy, type RetryPolicy } from '@sentcopy/core';
import type { ProcessorOptions } from './processor-options.js';

/** The processor's options, checked, with their defaults filled in. */
export interface ProcessorSettings {
  readonly concurrencyPerDestination: number;
  readonly maxInFlight: number;
  readonly maxBytesInFlight: number;
  readonly leaseMs: number;
  readonly idleWaitMs: number;
  readonly policy: RetryPolicy;
  readonly now: () => number;
  readonly random: () => number;
  /** For the processor's own destination health (when none is given). */
  readonly breakerFailures: number;
  readonly breakerProbeMs: number;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`Invalid processor options: ${name} must be a positive integer.`);
  return value;
}

function positiveDuration(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RangeError(`Invalid processor options: ${name} must be a finite number of milliseconds above 0.`);
  return value;
}

/** Checks the options; throws a RangeError naming the first one out of range. */
export function processorSettings(options: ProcessorOptions): ProcessorSettings {
  const concurrencyPerDestination = positiveInteger('concurrencyPerDestination', options.concurrencyPerDestination ?? 32);
  const maxInFlight = positiveInteger('maxInFlight', options.maxInFlight ?? 256);
  const maxBytesInFlight = positiveInteger('maxBytesInFlight', options.maxBytesInFlight ?? 64 * 1024 * 1024);
  const leaseMs = positiveDuration('leaseMs', options.leaseMs ?? 60_000);
  const idleWaitMs = positiveDuration('idleWaitMs', options.idleWaitMs ?? 1_000);
  if (options.health !== undefined && (options.breakerFailures !== undefined || options.breakerProbeMs !== undefined)) {
    throw new RangeError("Invalid processor options: breakerFailures and breakerProbeMs configure the processor's own destination health; with `health`, set pauseAfterFailures and pauseProbeMs on it instead.");
  }
  const breakerFailures = options.breakerFailures ?? 0;
  if (!Number.isSafeInteger(breakerFailures) || breakerFailures < 0) throw new RangeError('Invalid processor options: breakerFailures must be a whole number, 0 or more.');
  const breakerProbeMs = positiveDuration('breakerProbeMs', options.breakerProbeMs ?? 10_000);
  return {
    concurrencyPerDestination,
    maxInFlight,
    maxBytesInFlight,
    leaseMs,
    idleWaitMs,
    policy: options.retryPolicy ?? defaultRetryPolicy,
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
    breakerFailures,
    breakerProbeMs,
  };
}
