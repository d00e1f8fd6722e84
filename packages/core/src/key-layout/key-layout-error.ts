const marker = Symbol.for('sentcopy.key-layout-error');

/** Where `position` falls: the 1-based segment number and that segment's text. */
function segmentAt(template: string, position: number): { number: number; text: string } {
  const before = template.slice(0, position);
  const number = before.split('/').length;
  return { number, text: template.split('/')[number - 1] ?? '' };
}

/**
 * A key layout template is malformed: thrown by `compileKeyLayout()`, so a bad layout is refused
 * when the configuration is loaded rather than when the first message arrives. The message names
 * the problem and, when it has one, the character and the segment where it is (the template is
 * shown as a JSON string, so control characters in it cannot garble a log line).
 */
export class KeyLayoutError extends Error {
  private readonly [marker] = true;
  /** The template that was refused. */
  readonly template: string;
  /** Zero-based offset of the problem in the template, in UTF-16 code units; absent when the problem concerns the whole template. */
  readonly position?: number;

  constructor(template: string, problem: string, position?: number) {
    let where = '';
    if (position !== undefined) {
      const segment = segmentAt(template, position);
      where = ` (at character ${position + 1}, in segment ${segment.number} ${JSON.stringify(segment.text)})`;
    }
    super(`Invalid key layout ${JSON.stringify(template)}: ${problem}${where}.`);
    this.name = 'KeyLayoutError';
    this.template = template;
    if (position !== undefined) this.position = position;
  }

  /** True for a `KeyLayoutError` from any copy of this package (works across duplicate installs). */
  static isInstance(error: unknown): error is KeyLayoutError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}
