const marker = Symbol.for('sentcopy.recipient-key-error');

/**
 * The secret of `{hmac(recipient)}` is missing or unusable: thrown by `compileKeyLayout()` (and so
 * by `createArchiver()`) when a layout that keys recipients with HMAC-SHA-256 gets no
 * `recipientKey`, or one too short to keep recipients secret; by `readKeyLayout()` for one too
 * short, and (reason `missing`) by its reader when a recipient must be hashed without one. The
 * message names the option and never contains the secret.
 */
export class RecipientKeyError extends Error {
  private readonly [marker] = true;
  /** `missing`: the layout needs a secret and none was given; `too_short`: fewer than 16 bytes; `invalid`: not a string or bytes. */
  readonly reason: 'missing' | 'too_short' | 'invalid';
  /** The template that needs the secret. */
  readonly template: string;

  constructor(template: string, reason: RecipientKeyError['reason'], problem: string) {
    super(problem);
    this.name = 'RecipientKeyError';
    this.reason = reason;
    this.template = template;
  }

  /** True for a `RecipientKeyError` from any copy of this package (works across duplicate installs). */
  static isInstance(error: unknown): error is RecipientKeyError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}
