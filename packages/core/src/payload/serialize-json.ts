import { indexPath, keyPath } from './field-path.js';

/** Deepest nesting `serializeJson` accepts; deeper values are refused rather than risking a stack overflow. */
export const maxSerializeDepth = 1000;

const encoder = new TextEncoder();

function describe(path: string): string {
  return path === '' ? 'the value' : `the value at ${path}`;
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

function write(value: unknown, path: string, depth: number, ancestors: Set<object>, out: string[]): void {
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`Cannot serialize ${describe(path)} as JSON: ${String(value)} is not a finite number.`);
      out.push(JSON.stringify(value));
      return;
    case 'undefined':
      throw new TypeError(`Cannot serialize ${describe(path)} as JSON: undefined is not a JSON value.`);
    case 'function':
    case 'symbol':
    case 'bigint':
      throw new TypeError(`Cannot serialize ${describe(path)} as JSON: a ${typeof value} is not a JSON value.`);
    default:
      break;
  }
  if (value === null) {
    out.push('null');
    return;
  }
  const container = value as object;
  if (depth >= maxSerializeDepth) throw new TypeError(`Cannot serialize ${describe(path)} as JSON: it nests more than ${maxSerializeDepth} levels deep.`);
  if (ancestors.has(container)) throw new TypeError(`Cannot serialize ${describe(path)} as JSON: it contains itself (a circular reference).`);
  ancestors.add(container);
  if (Array.isArray(container)) {
    out.push('[');
    for (let index = 0; index < container.length; index++) {
      if (index > 0) out.push(',');
      const itemPath = indexPath(path, index);
      if (!(index in container)) throw new TypeError(`Cannot serialize ${describe(itemPath)} as JSON: the array has a hole there.`);
      write(container[index], itemPath, depth + 1, ancestors, out);
    }
    out.push(']');
  } else {
    if (!isPlainObject(container)) {
      throw new TypeError(`Cannot serialize ${describe(path)} as JSON: only plain objects are accepted, not instances such as a Date, Map or Buffer.`);
    }
    const record = container as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is the documented key order.
    const keys = Object.keys(record).sort();
    out.push('{');
    let first = true;
    for (const key of keys) {
      const item = record[key];
      if (item === undefined) continue;
      if (!first) out.push(',');
      first = false;
      out.push(JSON.stringify(key), ':');
      write(item, keyPath(path, key), depth + 1, ancestors, out);
    }
    out.push('}');
  }
  ancestors.delete(container);
}

/**
 * Serializes `value` as deterministic, compact UTF-8 JSON: object keys sorted recursively by
 * UTF-16 code unit order, no white space, arrays in order, strings exactly as given (only the
 * escapes JSON requires). The same value always yields the same bytes.
 *
 * Object properties holding `undefined` are left out (as `JSON.stringify` does). Throws a
 * `TypeError` naming the path for anything JSON cannot represent: `undefined`, functions,
 * symbols or bigints elsewhere, NaN or Infinity, array holes, circular references, non-plain
 * objects (Date, Map, Buffer, class instances) and nesting deeper than {@link maxSerializeDepth}.
 */
export function serializeJson(value: unknown): Uint8Array {
  const out: string[] = [];
  write(value, '', 0, new Set(), out);
  return encoder.encode(out.join(''));
}
