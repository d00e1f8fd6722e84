import type { QueueProblem } from './message-queue.js';

const marker = Symbol.for('sentcopy.queue-error');

/**
 * What went wrong with a queue call.
 * - `invalid_input`: an argument is malformed (empty project, payload too large, unknown id format…).
 * - `closed`: the queue was closed.
 * - `locked`: another process has the queue's store open.
 * - `incompatible`: the store was written by a newer, unknown format version.
 * - `storage`: the store failed (disk full, I/O error, corruption).
 */
export type QueueErrorKind = 'invalid_input' | 'closed' | 'locked' | 'incompatible' | 'storage';

/** The error every queue implementation throws. */
export class QueueError extends Error {
  private readonly [marker] = true;
  /** What went wrong. */
  readonly kind: QueueErrorKind;
  /** For a `storage` error: what is wrong with the store, when the queue could tell. */
  readonly problem?: QueueProblem;

  constructor(kind: QueueErrorKind, message: string, options?: { cause?: unknown; problem?: QueueProblem }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'QueueError';
    this.kind = kind;
    if (options?.problem !== undefined) this.problem = options.problem;
  }

  /** True for a `QueueError` from any copy of this package. */
  static isInstance(error: unknown): error is QueueError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}
