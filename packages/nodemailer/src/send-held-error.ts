const marker = Symbol.for('sentcopy.send-held-error');

/**
 * Gate mode: the message was not sent because its copy could not be archived. `sendMail` rejects
 * with it; nothing reached the transport.
 */
export class SendHeldError extends Error {
  private readonly [marker] = true;
  /** nodemailer-style error code. */
  readonly code = 'EARCHIVE';
  /** Why archiving failed: a sentence naming fields and error kinds, never values. */
  readonly reason: string;

  constructor(reason: string, options: { cause?: unknown } = {}) {
    super(`The message was not sent: its copy could not be archived (${reason}). sentcopy's gate holds sends it cannot archive; retry later.`, options);
    this.name = 'SendHeldError';
    this.reason = reason;
  }

  /** True for this error from any copy of this package. */
  static isInstance(error: unknown): error is SendHeldError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}
