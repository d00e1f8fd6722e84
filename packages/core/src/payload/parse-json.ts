import { parse as parseLossless } from 'lossless-json';
import { JsonNumber, type JsonValue } from './json-value.js';

/** A decimal as sign, significant digits (no leading or trailing zeros) and the power of ten of the last digit. */
export interface Decimal {
  readonly negative: boolean;
  readonly digits: string;
  readonly exponent: number;
}

/** `text`, a JSON number, as a {@link Decimal}; zero is `{ negative: false, digits: '', exponent: 0 }`. */
export function toDecimal(text: string): Decimal {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (match === null) return { negative: false, digits: 'NaN', exponent: 0 };
  const fraction = match[3] ?? '';
  let digits = (match[2] as string) + fraction;
  let exponent = Number(match[4] ?? '0') - fraction.length;
  const leading = /^0*/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(leading);
  const trailing = /0*$/.exec(digits)?.[0].length ?? 0;
  if (trailing > 0) {
    digits = digits.slice(0, digits.length - trailing);
    exponent += trailing;
  }
  // Zero has one spelling whatever its sign or exponent: JSON.parse reads `-0` and `0e5` as zero and the serializer writes `0`.
  if (digits === '') return { negative: false, digits: '', exponent: 0 };
  return { negative: match[1] === '-', digits, exponent };
}

/**
 * True when the JSON number `text` read as a double and written back (the shortest form that reads
 * back the same, as `String(number)` writes it) has the same decimal value: `1.50`, `1e2` and
 * `-0` do; `12345678901234567891`, `0.1000000000000000055511151231257827`, `1e400` and `1e-400`
 * do not.
 */
export function keepsValueAsDouble(text: string): boolean {
  const number = Number(text);
  if (!Number.isFinite(number)) return false;
  const written = toDecimal(String(number));
  const read = toDecimal(text);
  return written.digits === read.digits && written.exponent === read.exponent && written.negative === read.negative;
}

/** `text` as a JS number when that keeps its value, else as a {@link JsonNumber}. */
export function readJsonNumber(text: string): number | JsonNumber {
  return keepsValueAsDouble(text) ? Number(text) : new JsonNumber(text);
}

// Only numbers with 16 or more significant digits, or an exponent of three digits, can change value
// as doubles: up to 15 significant digits a decimal survives the round trip through a double
// (DBL_DIG), and without a three-digit exponent every such number is far inside the double's range.
// A number's significant digits sit in one run of digits and dots, so 16 of them in a row is the
// first sign; the run is written out because V8 scans such a fixed-length pattern far faster than
// `[\d.]{16}`. Matches inside strings (long ids, hex tokens) only send the text to a slower path.
const longDigitRunOrExponent = /[\d.][\d.][\d.][\d.][\d.][\d.][\d.][\d.][\d.][\d.][\d.][\d.][\d.][\d.][\d.][\d.]|\d[eE]([-+]?)\d\d\d/g;

/** True when some number in `value` is not finite (JSON.parse reads a number beyond ±1.8e308 as Infinity). */
function holdsInfinity(value: unknown): boolean {
  // A loop, not recursion: JSON.parse accepts nesting deeper than the call stack.
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) return true;
    } else if (typeof item === 'object' && item !== null) {
      if (Array.isArray(item)) for (const element of item) pending.push(element);
      else for (const key in item) pending.push((item as Record<string, unknown>)[key]);
    }
  }
  return false;
}

/** Which way `text` must be read: `exact` (lossless parser), `check` (JSON.parse, then look for Infinity) or `fast`. */
function readingNeeded(text: string): 'exact' | 'check' | 'fast' {
  longDigitRunOrExponent.lastIndex = 0;
  let check = false;
  for (let match = longDigitRunOrExponent.exec(text); match !== null; match = longDigitRunOrExponent.exec(text)) {
    // A long digit run (no exponent group) or a negative exponent can lose digits or underflow silently.
    if (match[1] === undefined || match[1] === '-') return 'exact';
    // A positive three-digit exponent can only overflow, which JSON.parse shows as Infinity.
    check = true;
  }
  return check ? 'check' : 'fast';
}

function parseExact(text: string): JsonValue {
  try {
    return parseLossless(text, null, {
      parseNumber: readJsonNumber,
      // JSON.parse keeps the last of repeated keys; so does this, so both read the same text alike.
      onDuplicateKey: ({ newValue }) => newValue,
    }) as JsonValue;
  } catch (error) {
    // The lossless parser's messages quote the text (personal data): answer with JSON.parse's own error instead.
    JSON.parse(text);
    if (error instanceof RangeError) throw new SyntaxError('The JSON text nests too deeply to be read with exact numbers.');
    throw new SyntaxError('The JSON text could not be read with exact numbers.');
  }
}

/**
 * Parses JSON text as `JSON.parse` does, except that a number a double cannot hold exactly becomes
 * a {@link JsonNumber} holding its text (see `keepsValueAsDouble`); every other number is a JS
 * number. Repeated keys keep the last value, and `__proto__` is an ordinary key, as with `JSON.parse`.
 *
 * Fast: text whose numbers all have at most 15 significant digits and exponents of at most two
 * digits goes straight to `JSON.parse` after one scan; only the rest is read by a lossless parser.
 * Throws the `SyntaxError` `JSON.parse` throws for text that is not JSON.
 */
export function parseJson(text: string): JsonValue {
  switch (readingNeeded(text)) {
    case 'exact':
      return parseExact(text);
    case 'check': {
      const value = JSON.parse(text) as JsonValue;
      return holdsInfinity(value) ? parseExact(text) : value;
    }
    case 'fast':
      return JSON.parse(text) as JsonValue;
  }
}
