import type { DestinationV1 } from '@sentcopy/core';
import type { ConformanceExpect, DestinationBackdoor, DestinationConformanceOptions } from './conformance-options.js';

/** What one check runs against. */
export interface ConformanceContext {
  /** The destination under test. */
  readonly destination: DestinationV1;
  /** Reads what really landed, bypassing the adapter. */
  readonly backdoor: DestinationBackdoor;
  /** The runner's assertions. */
  readonly expect: ConformanceExpect;
  /** A key prefix owned by this check alone, ending in `/`; the check writes only below it. */
  readonly prefix: string;
  /** The suite's options that some checks need (writer processes, fault hooks, secrets). */
  readonly options?: Pick<DestinationConformanceOptions, 'crossProcess' | 'faults' | 'secrets' | 'timeoutMs'>;
}

/** One conformance check: a named, self-contained test that throws (through `expect`) when the destination misbehaves. */
export interface ConformanceCheck {
  /** What the check asserts, as a test title. */
  readonly name: string;
  /** Runs the check; rejects when the destination does not conform. */
  run(context: ConformanceContext): Promise<void>;
}
