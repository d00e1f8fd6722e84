import { randomUUID } from 'node:crypto';
import { indexPath, keyPath } from './field-path.js';
import { isJsonNumberText, JsonNumber, resetJsonNumberStringified, wasJsonNumberStringified } from './json-value.js';

/** Deepest nesting `serializeJson` accepts; deeper values are refused rather than risking a stack overflow. */
export const maxSerializeDepth = 1000;

const encoder = new TextEncoder();

/** Where a value sits, as keys and indexes; turned into a path only for an error message. */
type Trail = (string | number)[];

function describe(trail: Trail): string {
  if (trail.length === 0) return 'the value';
  const path = trail.reduce<string>((parent, step) => (typeof step === 'number' ? indexPath(parent, step) : keyPath(parent, step)), '');
  return `the value at ${path}`;
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

// Checked again here: a JsonNumber from another copy of this package, or a forged one, must not inject text.
function jsonNumberText(value: JsonNumber, trail: Trail): string {
  if (!isJsonNumberText(value.text)) throw new TypeError(`Cannot serialize ${describe(trail)} as JSON: its JsonNumber text is not a JSON number.`);
  return value.text;
}

// Returns the JSON text; strings are concatenated (V8 ropes) and paths are built only on failure, since this runs for every archived message.
function write(value: unknown, trail: Trail, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`Cannot serialize ${describe(trail)} as JSON: ${String(value)} is not a finite number.`);
      return JSON.stringify(value);
    case 'undefined':
      throw new TypeError(`Cannot serialize ${describe(trail)} as JSON: undefined is not a JSON value.`);
    case 'function':
    case 'symbol':
    case 'bigint':
      throw new TypeError(`Cannot serialize ${describe(trail)} as JSON: a ${typeof value} is not a JSON value.`);
    default:
      break;
  }
  if (value === null) return 'null';
  const container = value as object;
  if (trail.length >= maxSerializeDepth) throw new TypeError(`Cannot serialize ${describe(trail)} as JSON: it nests more than ${maxSerializeDepth} levels deep.`);
  if (ancestors.has(container)) throw new TypeError(`Cannot serialize ${describe(trail)} as JSON: it contains itself (a circular reference).`);
  ancestors.add(container);
  let text: string;
  if (Array.isArray(container)) {
    text = '[';
    for (let index = 0; index < container.length; index++) {
      trail.push(index);
      if (!(index in container)) throw new TypeError(`Cannot serialize ${describe(trail)} as JSON: the array has a hole there.`);
      text += (index > 0 ? ',' : '') + write(container[index], trail, ancestors);
      trail.pop();
    }
    text += ']';
  } else {
    if (!isPlainObject(container)) {
      if (JsonNumber.isInstance(container)) {
        ancestors.delete(container);
        return jsonNumberText(container, trail);
      }
      throw new TypeError(`Cannot serialize ${describe(trail)} as JSON: only plain objects are accepted, not instances such as a Date, Map or Buffer.`);
    }
    const record = container as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is the documented key order.
    const keys = Object.keys(record).sort();
    text = '{';
    let first = true;
    for (const key of keys) {
      const item = record[key];
      if (item === undefined) continue;
      trail.push(key);
      text += (first ? '' : ',') + JSON.stringify(key) + ':' + write(item, trail, ancestors);
      trail.pop();
      first = false;
    }
    text += '}';
  }
  ancestors.delete(container);
  return text;
}

/**
 * Serializes `value` as deterministic, compact UTF-8 JSON: object keys sorted recursively by
 * UTF-16 code unit order, no white space, arrays in order, strings exactly as given (only the
 * escapes JSON requires), numbers in their shortest form (`String(number)`, so `1.50` is written
 * `1.5` and `1e2` is written `100`) and a {@link JsonNumber} as its text, verbatim. The same value
 * always yields the same bytes.
 *
 * Object properties holding `undefined` are left out (as `JSON.stringify` does). Throws a
 * `TypeError` naming the path for anything JSON cannot represent: `undefined`, functions,
 * symbols or bigints elsewhere, NaN or Infinity, array holes, circular references, non-plain
 * objects (Date, Map, Buffer, class instances) and nesting deeper than {@link maxSerializeDepth}.
 */
export function serializeJson(value: unknown): Uint8Array {
  return encoder.encode(write(value, [], new Set()));
}

/**
 * `JSON.stringify(value, null, space)`, except that a {@link JsonNumber} is written as its number
 * text (where `JSON.stringify` alone writes it as a string). Keys keep their order. For values that
 * hold no JsonNumber this is exactly one `JSON.stringify` call; otherwise a second one marks each
 * JsonNumber with a random placeholder string and puts its text in the placeholder's place.
 *
 * @param space Indentation, as for `JSON.stringify` (a number of spaces or a string). @default none (compact)
 */
export function stringifyJson(value: unknown, space?: number | string): string {
  resetJsonNumberStringified();
  const text = JSON.stringify(value, null, space);
  if (!wasJsonNumberStringified()) return text;
  // The value exists before the nonce does, so no string in it can pose as a placeholder.
  const nonce = randomUUID();
  const texts: string[] = [];
  const marked = JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, item: unknown) {
      const original = this[key];
      if (!JsonNumber.isInstance(original)) return item;
      texts.push(jsonNumberText(original, [key]));
      return `${nonce}:${texts.length - 1}`;
    },
    space,
  );
  return marked.replace(new RegExp(`"${nonce}:(\\d+)"`, 'g'), (_placeholder, index: string) => texts[Number(index)] as string);
}
