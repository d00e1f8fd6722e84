/**
 * Any value JSON can represent: `null`, a boolean, a finite number, a {@link JsonNumber} (a number
 * a double cannot hold exactly, kept as its text), a string, an array or an object of these.
 */
export type JsonValue = null | boolean | number | JsonNumber | string | JsonValue[] | JsonObject;

/** A JSON object: string keys mapped to JSON values. */
export interface JsonObject {
  [key: string]: JsonValue;
}

const marker = Symbol.for('sentcopy.json-number');

/** The grammar of a JSON number (RFC 8259, section 6). */
const numberLiteral = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** True when `text` is a JSON number literal such as `12`, `-0.5` or `1e400`. */
export function isJsonNumberText(text: unknown): text is string {
  return typeof text === 'string' && numberLiteral.test(text);
}

// Set by every JsonNumber that JSON.stringify meets; stringifyJson reads it to know whether its fast path was exact.
let stringifiedJsonNumber = false;

/** Clears the flag {@link wasJsonNumberStringified} reads. Internal to the payload module. */
export function resetJsonNumberStringified(): void {
  stringifiedJsonNumber = false;
}

/** True when `JSON.stringify` met a {@link JsonNumber} since the last reset. Internal to the payload module. */
export function wasJsonNumberStringified(): boolean {
  return stringifiedJsonNumber;
}

function jsonNumberToJson(this: JsonNumber): string {
  stringifiedJsonNumber = true;
  return this.text;
}

/**
 * A JSON number kept as its exact text, because a JavaScript number (an IEEE 754 double) would
 * change its value: integers beyond 2^53 (`12345678901234567891`), more significant digits than a
 * double holds (`0.1000000000000000055511151231257827`), and numbers beyond a double's range
 * (`1e400`, `1e-400`). `parseJson` and `parseMessageJson` create them; `serializeJson` writes
 * `text` verbatim; validation treats them as numbers.
 *
 * Immutable. `JSON.stringify` writes it as a string holding `text` (it has no way to write raw
 * text on Node.js 20); use `serializeJson` or `stringifyJson` to write it as a number.
 * Structured clone (`postMessage`, `structuredClone`) refuses it rather than turn it into an object.
 */
export class JsonNumber {
  private readonly [marker] = true;
  /** The number exactly as written in the JSON text, e.g. `12345678901234567891`. */
  readonly text: string;
  /**
   * What `JSON.stringify` writes: `text` as a string. An own property, so that structured clone
   * throws a `DataCloneError` instead of silently copying a JsonNumber as a plain object.
   */
  readonly toJSON: () => string;

  /** Throws a `SyntaxError` when `text` is not a JSON number literal. */
  constructor(text: string) {
    if (!isJsonNumberText(text)) throw new SyntaxError('A JsonNumber needs the text of a JSON number, such as 12345678901234567891 or 1.5e-400.');
    this.text = text;
    this.toJSON = jsonNumberToJson;
    Object.freeze(this);
  }

  /** The number's exact text. */
  toString(): string {
    return this.text;
  }

  /** True for a `JsonNumber` from any copy of this package (works across duplicate installs). */
  static isInstance(value: unknown): value is JsonNumber {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}
