const marker = Symbol.for('sentcopy.key-layout-error');

/** A key layout template is malformed: thrown by `compileKeyLayout()` when a config is loaded. */
export class KeyLayoutError extends Error {
  private readonly [marker] = true;
  /** The template that was refused. */
  readonly template: string;
  /** Zero-based character offset of the problem in the template, when it has one. */
  readonly position?: number;

  constructor(template: string, problem: string, position?: number) {
    super(`Invalid key layout "${template}": ${problem}${position === undefined ? '' : ` (at character ${position + 1})`}.`);
    this.name = 'KeyLayoutError';
    this.template = template;
    if (position !== undefined) this.position = position;
  }

  /** True for a `KeyLayoutError` from any copy of this package. */
  static isInstance(error: unknown): error is KeyLayoutError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}
