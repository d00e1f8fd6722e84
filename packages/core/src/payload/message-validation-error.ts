const marker = Symbol.for('sentcopy.message-validation-error');

/** One problem found in a message. Never contains the offending value: messages hold personal data. */
export interface ValidationIssue {
  /**
   * Where the problem is: a field path such as `to`, `attachments[2].bytes` or `headers.X-Foo`
   * (keys that are not plain identifiers are quoted: `extras["a b"]`). Empty for the message itself.
   */
  path: string;
  /** A human sentence saying what is wrong, e.g. `must be a valid email address`. */
  problem: string;
}

/** How many issues the error message lists before summarising the rest. */
const issuesInMessage = 10;

/** Formats issues as `path: problem; path: problem` (a problem without a path stands alone). */
export function formatIssues(issues: readonly ValidationIssue[]): string {
  const shown = issues.slice(0, issuesInMessage).map((issue) => (issue.path === '' ? issue.problem : `${issue.path}: ${issue.problem}`));
  const hidden = issues.length - shown.length;
  return hidden > 0 ? `${shown.join('; ')}; and ${hidden} more problem${hidden === 1 ? '' : 's'}` : shown.join('; ');
}

/**
 * A message failed validation: thrown by `parseMessage()` and by profiles' `parse()`.
 * The message and the issues name fields and problems, never values.
 */
export class MessageValidationError extends Error {
  private readonly [marker] = true;
  /** Every problem found: at most 100, then one last issue saying more were left out (see `validateMessage`). */
  readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[]) {
    super(`Invalid message: ${formatIssues(issues)}`);
    this.name = 'MessageValidationError';
    this.issues = issues;
  }

  /** True for a `MessageValidationError` from any copy of this package (works across duplicate installs). */
  static isInstance(error: unknown): error is MessageValidationError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}
