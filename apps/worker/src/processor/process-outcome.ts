import type { Channel, DestinationErrorKind, RetryPhase, ValidationIssue } from '@sentcopy/core';
import type { DeadLetterKind } from '../queue/index.js';

/** Which message an outcome is about. */
export interface OutcomeMessage {
  /** The queue's id. */
  readonly id: string;
  /** The project it was submitted to. */
  readonly project: string;
  /** Its message id. */
  readonly messageId: string;
  /** How many times it has been claimed, this claim included. */
  readonly deliveries: number;
}

/** What became of one claimed message. */
export type ProcessOutcome =
  | {
      /** Stored (or found already stored) and removed from the queue. */
      readonly type: 'archived';
      readonly message: OutcomeMessage;
      /** The message's channel. */
      readonly channel: Channel;
      /** Id of the destination written to. */
      readonly destination: string;
      /** The object's key. */
      readonly key: string;
      /** SHA-256 of the stored bytes. */
      readonly sha256: string;
      /** Size of the stored object, in bytes. */
      readonly size: number;
      /** `false` when an identical copy was already stored. */
      readonly created: boolean;
      /**
       * `true` when the message's key already held a different copy (its message id was sent
       * before with other content): it is stored under a version key next to the first.
       * @default false
       */
      readonly version?: boolean;
      /** The first copy's key, when `version` is `true`. */
      readonly originalKey?: string;
      /** Attempts made in total, this one included. */
      readonly attempts: number;
      /** How long this attempt took (prepare and write), in milliseconds. */
      readonly durationMs: number;
    }
  | {
      /** The write failed; the message waits in the queue for another attempt. */
      readonly type: 'retry_scheduled';
      readonly message: OutcomeMessage;
      /** Id of the destination that failed. */
      readonly destination: string;
      /** What the write failed with. */
      readonly kind: DestinationErrorKind;
      /** Why, in a sentence. */
      readonly reason: string;
      /** Failed attempts so far, this one included. */
      readonly attempts: number;
      /** When it will be tried again, in epoch milliseconds. */
      readonly retryAt: number;
      /** Which stage of the retry schedule. */
      readonly phase: RetryPhase;
      /** When this attempt started, in epoch milliseconds. */
      readonly attemptAt: number;
    }
  | {
      /** Given up on: moved to the dead letters. */
      readonly type: 'dead_lettered';
      readonly message: OutcomeMessage;
      /** Why. */
      readonly kind: DeadLetterKind;
      /** Why, in a sentence. */
      readonly reason: string;
      /** Failed write attempts in total (0 when none was made, e.g. an invalid message). */
      readonly attempts: number;
      /** For an invalid message, the problems by field path. */
      readonly issues: readonly ValidationIssue[];
      /** When the last attempt (or the check that failed) started, in epoch milliseconds. */
      readonly attemptAt: number;
    }
  | {
      /** Returned to the queue unattempted or mid-write (shutdown); it will be claimed again. */
      readonly type: 'returned';
      readonly message: OutcomeMessage;
    }
  | {
      /** The work finished but the lease had been lost (claimed again elsewhere); the queue was left as is. */
      readonly type: 'lease_lost';
      readonly message: OutcomeMessage;
      /** What the processor tried to do. */
      readonly settle: 'ack' | 'release' | 'reschedule' | 'dead_letter';
    };

/** What the caller knows about an outcome beyond what it carries. */
export interface OutcomeInfo {
  /** The message's channel, when known (outcomes other than `archived` do not carry one). */
  readonly channel?: string;
  /**
   * The destination's name in the configuration (e.g. `prod`). @default the destination id the
   * outcome carries (e.g. `s3://bucket/prefix`)
   */
  readonly destination?: string;
}
