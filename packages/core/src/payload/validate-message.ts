import { channels, isChannel, type Channel } from './channel.js';
import { exceedsCodePoints } from '../limits/index.js';
import { indexPath, keyPath } from './field-path.js';
import type { Message } from './message.js';
import {
  attachmentFieldRules,
  baseFieldRules,
  baseRequiredFields,
  channelFieldRules,
  maxMessageIdLength,
  maxSentAt,
  minSentAt,
  type ChannelFieldRules,
  type FieldRule,
} from './message-fields.js';
import type { ValidationIssue } from './message-validation-error.js';
import { isJsonNumberText, JsonNumber } from './json-value.js';
import { readJsonNumber, toDecimal } from './parse-json.js';
import { isBase64, isEmailAddress, toE164 } from './recipient-formats.js';

/** The outcome of {@link validateMessage}: the validated message, or every problem found. */
export type MessageValidationResult = { ok: true; message: Message } | { ok: false; issues: ValidationIssue[] };

/**
 * Most problems listed for one message. When more are found, one last issue (path `''`) says so,
 * so a result holds at most `maxValidationIssues + 1` issues.
 */
export const maxValidationIssues = 100;

/** Deepest nesting accepted, counting the message object itself as level 1. */
export const maxMessageDepth = 64;

const issueLimitReached = Symbol('issue limit reached');
const invalid = Symbol('invalid');
type Copied = unknown;

class IssueList {
  readonly items: ValidationIssue[] = [];

  add(path: string, problem: string): void {
    if (this.items.length >= maxValidationIssues) {
      this.items.push({ path: '', problem: `more problems were found; only the first ${maxValidationIssues} are listed` });
      throw issueLimitReached;
    }
    this.items.push({ path, problem });
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  // Accepts Object.prototype of any realm (vm contexts, iframes) as well as null-prototype objects.
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

/** Sets a property as own data, so a `__proto__` key stays data and never changes a prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}

const unreadableProblem = 'could not be read (a property getter or proxy trap threw an error)';

/** Reads one property; a getter or proxy trap that throws yields `invalid` and an issue at the property's path. */
function readProperty(container: object, key: string | number, path: string, issues: IssueList): unknown {
  try {
    return (container as Record<string | number, unknown>)[key];
  } catch {
    issues.add(path, unreadableProblem);
    return invalid;
  }
}

/**
 * Copies `value` as pure JSON data (plain objects, arrays, strings, finite numbers, JsonNumbers, booleans, null),
 * reporting everything that is not. Object properties holding `undefined` are left out, as
 * `JSON.stringify` does.
 */
function copyJson(value: unknown, path: string, depth: number, ancestors: Set<object>, issues: IssueList): Copied | typeof invalid {
  switch (typeof value) {
    case 'string':
      if (value.isWellFormed()) return value;
      issues.add(path, 'must be well-formed Unicode text (it contains a lone surrogate)');
      return invalid;
    case 'number':
      if (Number.isFinite(value)) return value;
      issues.add(path, 'must be a finite number (NaN and Infinity are not JSON)');
      return invalid;
    case 'boolean':
      return value;
    case 'undefined':
      issues.add(path, 'must be a JSON value, not undefined');
      return invalid;
    case 'bigint':
      issues.add(path, 'must be a JSON value; a bigint is not one (use a number or a string)');
      return invalid;
    case 'function':
    case 'symbol':
      issues.add(path, `must be a JSON value; a ${typeof value} is not one`);
      return invalid;
    default:
      break;
  }
  if (value === null) return null;
  const container = value as object;
  let exactNumber: boolean;
  try {
    // instanceof, not isInstance: a proxy's get trap must only be met at the property it guards (a JsonNumber of another copy of this package is recognised below).
    exactNumber = container instanceof JsonNumber;
  } catch {
    issues.add(path, unreadableProblem);
    return invalid;
  }
  if (exactNumber) return copyJsonNumber(container as JsonNumber, path, issues);
  if (depth >= maxMessageDepth) {
    issues.add(path, `nests too deeply (more than ${maxMessageDepth} levels)`);
    return invalid;
  }
  if (ancestors.has(container)) {
    issues.add(path, 'must not contain itself (a circular reference)');
    return invalid;
  }
  ancestors.add(container);
  try {
    return copyContainer(container, path, depth, ancestors, issues);
  } catch (error) {
    // Traps of a proxy (isArray, getPrototypeOf, ownKeys, has) can throw; the message stays answerable.
    if (error === issueLimitReached) throw error;
    issues.add(path, unreadableProblem);
    return invalid;
  } finally {
    ancestors.delete(container);
  }
}

/** A JsonNumber as its validated copy: a JS number when a double holds its value exactly (one spelling per value), else a JsonNumber of this package. */
function copyJsonNumber(value: JsonNumber, path: string, issues: IssueList): Copied | typeof invalid {
  const text: unknown = value.text;
  if (!isJsonNumberText(text)) {
    issues.add(path, 'must be a JSON value (a JsonNumber whose text is not a JSON number)');
    return invalid;
  }
  return readJsonNumber(text);
}

function copyContainer(container: object, path: string, depth: number, ancestors: Set<object>, issues: IssueList): Copied | typeof invalid {
  if (Array.isArray(container)) {
    const copy: unknown[] = [];
    let valid = true;
    for (let index = 0; index < container.length; index++) {
      const itemPath = indexPath(path, index);
      if (!(index in container)) {
        issues.add(itemPath, 'must not be a hole in the array');
        valid = false;
        continue;
      }
      const raw = readProperty(container, index, itemPath, issues);
      const item = raw === invalid ? invalid : copyJson(raw, itemPath, depth + 1, ancestors, issues);
      if (item === invalid) valid = false;
      else copy.push(item);
    }
    return valid ? copy : invalid;
  }
  if (!isPlainObject(container)) {
    if (JsonNumber.isInstance(container)) return copyJsonNumber(container, path, issues);
    issues.add(path, 'must be a JSON value (a plain object, not an instance such as a Date, Map or Buffer)');
    return invalid;
  }
  const copy: Record<string, unknown> = {};
  let valid = true;
  for (const key of Object.keys(container)) {
    const itemPath = keyPath(path, key);
    if (!key.isWellFormed()) {
      issues.add(itemPath, 'has a key that is not well-formed Unicode (it contains a lone surrogate)');
      valid = false;
      continue;
    }
    const raw = readProperty(container, key, itemPath, issues);
    if (raw === undefined) continue;
    const item = raw === invalid ? invalid : copyJson(raw, itemPath, depth + 1, ancestors, issues);
    if (item === invalid) valid = false;
    else setOwn(copy, key, item);
  }
  return valid ? copy : invalid;
}

// The copy holds only this package's JsonNumbers, so instanceof suffices.
function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof JsonNumber);
}

function checkString(value: unknown, path: string, issues: IssueList, nonEmpty: boolean): value is string {
  if (typeof value !== 'string') {
    issues.add(path, 'must be a string');
    return false;
  }
  if (nonEmpty && value.length === 0) {
    issues.add(path, 'must not be empty');
    return false;
  }
  return true;
}

function checkAttachments(value: unknown, path: string, issues: IssueList): void {
  if (!Array.isArray(value)) {
    issues.add(path, 'must be an array of attachments');
    return;
  }
  value.forEach((attachment, index) => {
    const attachmentPath = indexPath(path, index);
    if (!isJsonObject(attachment)) {
      issues.add(attachmentPath, 'must be an object with file_name and bytes');
      return;
    }
    for (const field of attachmentFieldRules.required) {
      if (!(field in attachment)) issues.add(keyPath(attachmentPath, field), 'is required');
    }
    const fileName = attachment['file_name'];
    if (fileName !== undefined) checkString(fileName, keyPath(attachmentPath, 'file_name'), issues, true);
    const contentType = attachment['content_type'];
    if (contentType !== undefined) checkString(contentType, keyPath(attachmentPath, 'content_type'), issues, false);
    const bytes = attachment['bytes'];
    if (bytes !== undefined && checkString(bytes, keyPath(attachmentPath, 'bytes'), issues, false) && !isBase64(bytes)) {
      issues.add(keyPath(attachmentPath, 'bytes'), 'must be standard base64 (A-Z, a-z, 0-9, + and /, padded with =, no line breaks)');
    }
  });
}

/**
 * `sent_at` given as a JsonNumber: a double could not hold it, so it is a fraction, negative, or
 * far beyond the year 9999 (every whole number up to `maxSentAt` is exact as a double).
 */
function checkExactEpochMilliseconds(value: JsonNumber, path: string, issues: IssueList): void {
  const decimal = toDecimal(value.text);
  if (decimal.exponent < 0) issues.add(path, 'must be a whole number of epoch milliseconds');
  else if (decimal.negative) issues.add(path, 'must not be negative (epoch milliseconds)');
  else issues.add(path, 'must be epoch milliseconds before the year 10000');
}

function checkRule(rule: FieldRule, value: unknown, path: string, issues: IssueList): void {
  switch (rule) {
    case 'version':
      if (value !== 1) issues.add(path, 'must be 1 (the only payload format version)');
      return;
    case 'channel':
      if (!isChannel(value)) issues.add(path, `must be one of ${channels.join(', ')}`);
      return;
    case 'message-id':
      // JSON Schema's maxLength counts code points, so the validator does too.
      if (checkString(value, path, issues, true) && exceedsCodePoints(value, maxMessageIdLength)) {
        issues.add(path, `must be at most ${maxMessageIdLength} characters`);
      }
      return;
    case 'epoch-milliseconds':
      if (value instanceof JsonNumber) checkExactEpochMilliseconds(value, path, issues);
      else if (typeof value !== 'number') issues.add(path, 'must be a number of epoch milliseconds');
      else if (!Number.isInteger(value)) issues.add(path, 'must be a whole number of epoch milliseconds');
      else if (value < 0) issues.add(path, 'must not be negative (epoch milliseconds)');
      else if (value < minSentAt) issues.add(path, 'must be epoch milliseconds; this looks like epoch seconds (multiply by 1000)');
      else if (value > maxSentAt) issues.add(path, 'must be epoch milliseconds before the year 10000');
      return;
    case 'string':
      checkString(value, path, issues, false);
      return;
    case 'non-empty-string':
      checkString(value, path, issues, true);
      return;
    case 'identifier':
      if (typeof value === 'number' || value instanceof JsonNumber) return;
      if (typeof value !== 'string') issues.add(path, 'must be a string or a number');
      else if (value.length === 0) issues.add(path, 'must not be empty (leave the field out instead)');
      return;
    case 'email-address':
      if (checkString(value, path, issues, false) && !isEmailAddress(value)) issues.add(path, 'must be a valid email address');
      return;
    case 'phone-number':
      if (checkString(value, path, issues, false)) {
        const phone = toE164(value);
        if (!phone.ok) issues.add(path, phone.problem);
      }
      return;
    case 'string-list':
      if (!Array.isArray(value)) issues.add(path, 'must be an array of strings');
      else value.forEach((item, index) => checkString(item, indexPath(path, index), issues, false));
      return;
    case 'string-map':
      if (!isJsonObject(value)) issues.add(path, 'must be an object mapping names to strings');
      else for (const key of Object.keys(value)) checkString(value[key], keyPath(path, key), issues, false);
      return;
    case 'json-object':
      if (!isJsonObject(value)) issues.add(path, 'must be a JSON object');
      return;
    case 'json-list-or-object':
      if (!Array.isArray(value) && !isJsonObject(value)) issues.add(path, 'must be an array or an object');
      return;
    case 'attachments':
      checkAttachments(value, path, issues);
      return;
    case 'base64':
      if (checkString(value, path, issues, false) && !isBase64(value)) issues.add(path, 'must be standard base64 (A-Z, a-z, 0-9, + and /, padded with =, no line breaks)');
      return;
  }
}

interface FieldPlan {
  readonly required: ReadonlySet<string>;
  /** Required fields first, so a missing one is reported before problems with the others. */
  readonly checks: readonly (readonly [field: string, rule: FieldRule | undefined])[];
}

function planFor(channelRules: ChannelFieldRules | undefined): FieldPlan {
  const required = [...baseRequiredFields, ...(channelRules?.required ?? [])];
  const channelFields: Readonly<Record<string, FieldRule>> = channelRules?.fields ?? { to: 'string' };
  const ruleOf = new Map<string, FieldRule>([...Object.entries(baseFieldRules), ...Object.entries(channelFields)]);
  const ordered = [...required, ...[...ruleOf.keys()].filter((field) => !required.includes(field))];
  return { required: new Set(required), checks: ordered.map((field) => [field, ruleOf.get(field)] as const) };
}

// Built once: validation runs for every message on the hot path.
const plans = new Map<Channel | undefined, FieldPlan>([[undefined, planFor(undefined)], ...channels.map((channel) => [channel, planFor(channelFieldRules[channel])] as const)]);

function checkMessage(message: Record<string, unknown>, unreadable: ReadonlySet<string>, issues: IssueList): void {
  const channel = message['channel'];
  const channelRules = isChannel(channel) ? channelFieldRules[channel] : undefined;
  const plan = plans.get(isChannel(channel) ? channel : undefined)!;
  for (const [field, rule] of plan.checks) {
    if (unreadable.has(field)) continue;
    if (!Object.hasOwn(message, field)) {
      if (plan.required.has(field)) issues.add(field, 'is required');
      continue;
    }
    if (rule !== undefined) checkRule(rule, message[field], field, issues);
  }
  const oneOf = channelRules?.requireOneOf ?? [];
  if (oneOf.length > 0 && !oneOf.some((field) => Object.hasOwn(message, field) || unreadable.has(field))) {
    const names = `${oneOf.slice(0, -1).join(', ')} or ${oneOf.at(-1)}`;
    issues.add('', `the ${String(channel)} message must have at least one of ${names}`);
  }
}

/**
 * Checks that `input` is a valid payload-format-v1 message and returns a deep copy of it as pure
 * JSON data. Reports every problem found (up to {@link maxValidationIssues}), each with the field
 * path and a sentence that never repeats the value. Unknown fields are kept as received.
 *
 * A {@link JsonNumber} is a number: it is kept when a double cannot hold its value, and becomes a
 * JS number when one can (so each value has one stored form).
 *
 * Never throws: any input, including proxies whose traps throw, is answered with a result.
 * A `__proto__` key (as `JSON.parse` creates it) is kept as an ordinary field.
 * Properties holding `undefined` count as absent, as in `JSON.stringify`.
 */
export function validateMessage(input: unknown): MessageValidationResult {
  const issues = new IssueList();
  try {
    if (!isPlainObject(input)) {
      issues.add('', 'the message must be a JSON object');
      return { ok: false, issues: issues.items };
    }
    const copy: Record<string, unknown> = {};
    const unreadable = new Set<string>();
    const ancestors = new Set<object>([input]);
    for (const key of Object.keys(input)) {
      const path = keyPath('', key);
      if (!key.isWellFormed()) {
        issues.add(path, 'has a key that is not well-formed Unicode (it contains a lone surrogate)');
        continue;
      }
      const raw = readProperty(input, key, path, issues);
      if (raw === undefined) continue;
      const value = raw === invalid ? invalid : copyJson(raw, path, 1, ancestors, issues);
      if (value === invalid) unreadable.add(key);
      else setOwn(copy, key, value);
    }
    checkMessage(copy, unreadable, issues);
    if (issues.items.length > 0) return { ok: false, issues: issues.items };
    return { ok: true, message: copy as Message };
  } catch (error) {
    if (error !== issueLimitReached) {
      issues.items.push({ path: '', problem: 'the message could not be read as JSON data (a property getter or proxy failed)' });
    }
    return { ok: false, issues: issues.items };
  }
}
