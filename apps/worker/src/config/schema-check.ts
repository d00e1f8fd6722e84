import type { ValidationIssue } from '@sentcopy/core';

/** The part of JSON Schema the configuration schema uses. */
interface Schema {
  readonly type?: string;
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | Schema;
  readonly propertyNames?: { readonly pattern: string };
  readonly items?: Schema;
  readonly minItems?: number;
  readonly uniqueItems?: boolean;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly oneOf?: readonly Schema[];
  readonly 'x-secret'?: boolean;
  readonly 'x-path'?: boolean;
}

const plainKey = /^[A-Za-z_$][\w$]*$/;
/** Keywords `checkSchema` enforces, and annotations it may skip; the schema-file test checks the schema uses no others. */
export const understoodSchemaKeywords: readonly string[] = [
  'type',
  'const',
  'enum',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'items',
  'minItems',
  'uniqueItems',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'oneOf',
  'x-secret',
  'x-path',
  '$schema',
  '$id',
  'title',
  'description',
];

/** Appends a key or index to a JSON path as errors show it: `a.b`, `a[1]`, `a["odd key"]`. */
export const joinPath = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : plainKey.test(key) ? (path === '' ? key : `${path}.${key}`) : `${path}[${JSON.stringify(key)}]`);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const show = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : String(value));

/**
 * Checks `value` against the configuration schema, collecting every problem with its path. Values
 * are named only when they are the schema's own constants, never the file's (it may hold secrets).
 */
export function checkSchema(value: unknown, schema: Schema, path = '', issues: ValidationIssue[] = []): ValidationIssue[] {
  const add = (problem: string, at = path) => issues.push({ path: at, problem });
  if (schema['x-secret'] === true && typeof value === 'string') {
    add('must be a reference such as { "env": "VARIABLE_NAME" }: secrets are read from the environment, never written in the configuration file');
    return issues;
  }
  if (schema.const !== undefined && value !== schema.const) return (add(`must be ${show(schema.const)}`), issues);
  if (schema.enum !== undefined && !schema.enum.includes(value)) return (add(`must be one of ${schema.enum.map(show).join(', ')}`), issues);
  if (schema.type !== undefined) {
    const actual = typeOf(value);
    const fits = actual === schema.type || (schema.type === 'number' && actual === 'integer');
    if (!fits)
      return (
        add(`must be ${schema.type === 'array' || schema.type === 'object' || schema.type === 'integer' ? 'an' : 'a'} ${schema.type}, not ${actual === 'array' || actual === 'object' || actual === 'integer' ? 'an' : 'a'} ${actual}`), issues
      );
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) add(schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters long`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) add(`must be at most ${schema.maxLength} characters long`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) add(`must match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) add(`must be at least ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) add(`must be at most ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) add(`must list at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
    if (schema.uniqueItems === true && new Set(value.map((item) => JSON.stringify(item))).size !== value.length) add('must not list an item twice');
    if (schema.items !== undefined) value.forEach((item, index) => checkSchema(item, schema.items as Schema, joinPath(path, index), issues));
  }
  if (typeOf(value) === 'object') {
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) if (!Object.hasOwn(record, name)) add('is required', joinPath(path, name));
    for (const [key, child] of Object.entries(record)) {
      const at = joinPath(path, key);
      if (schema.propertyNames !== undefined && !new RegExp(schema.propertyNames.pattern, 'u').test(key)) add(`is not a valid name (must match ${schema.propertyNames.pattern})`, at);
      const known = schema.properties?.[key];
      if (known !== undefined) checkSchema(child, known, at, issues);
      else if (schema.additionalProperties === false) add('is not a known setting', at);
      else if (typeof schema.additionalProperties === 'object') checkSchema(child, schema.additionalProperties, at, issues);
    }
    if (schema.oneOf !== undefined) {
      // The branches are told apart by their `type` constant, so the problems reported are those of the branch meant.
      const branch = schema.oneOf.find((candidate) => candidate.properties?.type?.const === record.type);
      if (branch !== undefined) checkSchema(value, { ...branch, type: 'object' }, path, issues);
    }
  }
  return issues;
}
