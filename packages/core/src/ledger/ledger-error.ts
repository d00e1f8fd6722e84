const marker = Symbol.for('sentcopy.ledger-error');

/**
 * What went wrong with the ledger.
 * - `corrupt`: a segment's bytes do not decode, or contradict their recorded SHA-256, so a chain
 *   cannot be continued provably;
 * - `conflict`: another writer keeps taking this chain's next sequence number;
 * - `destination`: the destination failed (see `cause`, a `DestinationError`); entries stay
 *   pending and the segment is tried again;
 * - `closed`: the writer was closed.
 */
export type LedgerErrorKind = 'corrupt' | 'conflict' | 'destination' | 'closed';

/** Options for {@link LedgerError}. */
export interface LedgerErrorOptions {
  /** The classification. */
  readonly kind: LedgerErrorKind;
  /** A human sentence; never contains secrets or raw recipients. */
  readonly message: string;
  /** The segment key involved, if any. */
  readonly key?: string;
  /** The underlying error. */
  readonly cause?: unknown;
}

/** An error of the archive ledger's writer or reader. */
export class LedgerError extends Error {
  private readonly [marker] = true;
  /** The classification. */
  readonly kind: LedgerErrorKind;
  /** The segment key involved, if any. */
  readonly key: string | undefined;

  constructor(options: LedgerErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LedgerError';
    this.kind = options.kind;
    this.key = options.key;
  }

  /** True for a `LedgerError` from any copy of this package. */
  static isInstance(error: unknown): error is LedgerError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}
