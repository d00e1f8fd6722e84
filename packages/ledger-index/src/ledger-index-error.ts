const marker = Symbol.for('sentcopy.ledger-index-error');

/**
 * What went wrong with the local index:
 * - `invalid`: a bad argument (a cursor the index did not print, a malformed filter);
 * - `unreadable`: the index file is not an index of this version (or not SQLite at all);
 * - `closed`: the index was closed;
 * - `text_disabled`: a full-text query or update on an index without its full-text table.
 */
export type LedgerIndexErrorKind = 'invalid' | 'unreadable' | 'closed' | 'text_disabled';

/** An error of the ledger index. Never carries recipients, only hashes' counts and field names. */
export class LedgerIndexError extends Error {
  private readonly [marker] = true;
  /** The classification. */
  readonly kind: LedgerIndexErrorKind;

  constructor(kind: LedgerIndexErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerIndexError';
    this.kind = kind;
  }

  /** True for a `LedgerIndexError` from any copy of this package. */
  static isInstance(error: unknown): error is LedgerIndexError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}
