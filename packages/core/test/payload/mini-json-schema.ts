// A deliberately small JSON Schema evaluator for the payload tests (no dependency may be added).
// It understands exactly the keywords message-v1 uses and throws on any other, so a keyword it does
// not know can never be ignored silently. It is not a general validator.

type Schema = Readonly<Record<string, unknown>> | boolean;

const annotations = new Set(['$schema', '$id', '$defs', 'title', 'description', 'contentEncoding']);
const assertions = new Set(['type', 'const', 'enum', 'minLength', 'maxLength', 'minimum', 'maximum', 'pattern', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'not', 'anyOf', 'oneOf', '$ref']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    default:
      throw new Error(`mini-json-schema: unknown type ${type}`);
  }
}

function jsonEqual(left: unknown, right: unknown): boolean {
  return JSON.stringify(left) === JSON.stringify(right);
}

/** Resolves `#/$defs/name` (the only kind of reference message-v1 uses) against `root`. */
export function resolveRef(root: Readonly<Record<string, unknown>>, ref: string): Schema {
  const match = /^#\/\$defs\/([A-Za-z]+)$/.exec(ref);
  if (match === null) throw new Error(`mini-json-schema: unsupported $ref ${ref}`);
  const target = (root['$defs'] as Record<string, unknown> | undefined)?.[match[1]!];
  if (target === undefined) throw new Error(`mini-json-schema: unresolved $ref ${ref}`);
  return target as Schema;
}

/** True when `value` (JSON data) is valid against `schema`. */
export function isValid(root: Readonly<Record<string, unknown>>, schema: Schema, value: unknown): boolean {
  if (schema === true) return true;
  if (schema === false) return false;
  let valid = true;
  for (const [keyword, argument] of Object.entries(schema)) {
    if (annotations.has(keyword)) continue;
    if (!assertions.has(keyword)) throw new Error(`mini-json-schema: unsupported keyword ${keyword}`);
    if (!check(root, keyword, argument, value, schema)) valid = false;
  }
  return valid;
}

function check(root: Readonly<Record<string, unknown>>, keyword: string, argument: unknown, value: unknown, schema: Readonly<Record<string, unknown>>): boolean {
  switch (keyword) {
    case 'type':
      return (Array.isArray(argument) ? argument : [argument]).some((type) => typeMatches(type as string, value));
    case 'const':
      return jsonEqual(argument, value);
    case 'enum':
      return (argument as unknown[]).some((item) => jsonEqual(item, value));
    case 'minLength':
      return typeof value !== 'string' || [...value].length >= (argument as number);
    case 'maxLength':
      return typeof value !== 'string' || [...value].length <= (argument as number);
    case 'minimum':
      return typeof value !== 'number' || value >= (argument as number);
    case 'maximum':
      return typeof value !== 'number' || value <= (argument as number);
    case 'pattern':
      return typeof value !== 'string' || new RegExp(argument as string, 'u').test(value);
    case 'required':
      return !isObject(value) || (argument as string[]).every((field) => Object.hasOwn(value, field));
    case 'properties':
      return !isObject(value) || Object.entries(argument as Record<string, Schema>).every(([field, schema]) => !Object.hasOwn(value, field) || isValid(root, schema, value[field]));
    case 'additionalProperties': {
      if (!isObject(value)) return true;
      const declared = (schema['properties'] ?? {}) as Record<string, unknown>;
      return Object.keys(value).every((field) => Object.hasOwn(declared, field) || isValid(root, argument as Schema, value[field]));
    }
    case 'items':
      return !Array.isArray(value) || value.every((item) => isValid(root, argument as Schema, item));
    case 'minItems':
      return !Array.isArray(value) || value.length >= (argument as number);
    case 'not':
      return !isValid(root, argument as Schema, value);
    case 'anyOf':
      return (argument as Schema[]).some((schema) => isValid(root, schema, value));
    case 'oneOf':
      return (argument as Schema[]).filter((schema) => isValid(root, schema, value)).length === 1;
    case '$ref':
      return isValid(root, resolveRef(root, argument as string), value);
    default:
      throw new Error(`mini-json-schema: unsupported keyword ${keyword}`);
  }
}

/** Every `$ref` in `schema`, at any depth. */
export function refsIn(schema: unknown): string[] {
  if (Array.isArray(schema)) return schema.flatMap(refsIn);
  if (!isObject(schema)) return [];
  return Object.entries(schema).flatMap(([key, value]) => (key === '$ref' && typeof value === 'string' ? [value] : refsIn(value)));
}
