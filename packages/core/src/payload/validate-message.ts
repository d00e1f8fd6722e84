import { channels, isChannel } from './channel.js';
import { exceedsCodePoints } from '../limits/index.js';
import { indexPath, keyPath } from './field-path.js';
import type { Message } from './message.js';
import { attachmentFieldRules, baseFieldRules, baseRequiredFields, channelFieldRules, customChannelFieldRules, maxMessageIdLength, maxSentAt, minSentAt, type ChannelFieldRules, type FieldRule } from './message-fields.js';
import type { ValidationIssue } from './message-validation-error.js';
import { isJsonNumberText, JsonNumber } from './json-value.js';
import { readJsonNumber, toDecimal } from './parse-json.js';
import { addressesIn, isBase64, isMailbox, toE164 } from './recipient-formats.js';

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

const isNumber = (value: unknown): boolean => typeof value === 'number' || value instanceof JsonNumber;

/** Checks a recipient field that holds one value or a non-empty list of them; `item` checks one value and returns its problem. */
function checkRecipients(value: unknown, path: string, issues: IssueList, item: (text: string) => string | undefined, allowEmptyList: boolean): void {
  const one = (entry: unknown, entryPath: string) => {
    if (typeof entry !== 'string') {
      issues.add(entryPath, 'must be a string');
      return;
    }
    const problem = item(entry);
    if (problem !== undefined) issues.add(entryPath, problem);
  };
  if (!Array.isArray(value)) {
    if (typeof value === 'string') one(value, path);
    else issues.add(path, 'must be a string or an array of strings');
    return;
  }
  if (value.length === 0 && !allowEmptyList) {
    issues.add(path, 'must not be an empty array (give at least one recipient)');
    return;
  }
  value.forEach((entry, index) => one(entry, indexPath(path, index)));
}

const addressListProblem = (text: string): string | undefined => (addressesIn(text) === undefined ? 'must be an email address, optionally with a display name ("Jane Doe <jane@example.com>"), or several separated by commas' : undefined);
const phoneProblem = (text: string): string | undefined => {
  const phone = toE164(text);
  return phone.ok ? undefined : phone.problem;
};
const tokenProblem = (text: string): string | undefined => (text.length === 0 ? 'must not be empty' : undefined);

function checkHeaders(value: unknown, path: string, issues: IssueList): void {
  if (typeof value === 'string') return;
  if (!isJsonObject(value)) {
    issues.add(path, 'must be an object mapping header names to values, or the headers as one string');
    return;
  }
  for (const key of Object.keys(value)) {
    const header = value[key];
    if (header === null || typeof header === 'string' || isNumber(header)) continue;
    const headerPath = keyPath(path, key);
    if (!Array.isArray(header)) {
      issues.add(headerPath, 'must be a string, a number or an array of them');
      continue;
    }
    header.forEach((item, index) => {
      if (typeof item !== 'string' && !isNumber(item)) issues.add(indexPath(headerPath, index), 'must be a string or a number');
    });
  }
}

/** Checks the fields of `container` that `rules` name; `null` counts as absent. */
function checkFields(container: Record<string, unknown>, rules: Readonly<Record<string, FieldRule>>, parent: string, issues: IssueList): void {
  for (const [field, rule] of Object.entries(rules)) {
    if (!Object.hasOwn(container, field)) continue;
    const value = container[field];
    if (value !== null) checkRule(rule, value, keyPath(parent, field), issues);
  }
}

function checkAttachments(value: unknown, path: string, issues: IssueList): void {
  if (!Array.isArray(value)) {
    issues.add(path, 'must be an array of attachments');
    return;
  }
  value.forEach((attachment, index) => {
    const attachmentPath = indexPath(path, index);
    if (!isJsonObject(attachment)) {
      issues.add(attachmentPath, 'must be an object (an attachment, such as { "file_name": …, "bytes": … })');
      return;
    }
    checkFields(attachment, attachmentFieldRules, attachmentPath, issues);
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
      if (typeof value !== 'string') issues.add(path, `must be a string: ${channels.join(', ')}, or a channel the project declares`);
      else if (!isChannel(value)) issues.add(path, `must be ${channels.join(', ')}, or a channel name of lower-case letters, digits, "_" and "-" (at most 32, starting with a letter)`);
      return;
    case 'message-id':
      if (isNumber(value)) return;
      if (typeof value !== 'string') issues.add(path, 'must be a string or a number');
      else if (value.length === 0) issues.add(path, 'must not be empty');
      // JSON Schema's maxLength counts code points, so the validator does too.
      else if (exceedsCodePoints(value, maxMessageIdLength)) issues.add(path, `must be at most ${maxMessageIdLength} characters`);
      return;
    case 'required-identifier':
      if (isNumber(value)) return;
      if (typeof value !== 'string') issues.add(path, 'must be a string or a number');
      else if (value.length === 0) issues.add(path, 'must not be empty');
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
    case 'identifier':
      if (!isNumber(value) && typeof value !== 'string') issues.add(path, 'must be a string or a number');
      return;
    case 'mailbox':
      if (checkString(value, path, issues, false) && !isMailbox(value)) {
        issues.add(path, 'must be one email address, optionally with a display name ("Jane Doe <jane@example.com>")');
      }
      return;
    case 'email-recipients':
      checkRecipients(value, path, issues, addressListProblem, false);
      return;
    case 'phone-recipients':
      checkRecipients(value, path, issues, phoneProblem, false);
      return;
    case 'token-recipients':
      checkRecipients(value, path, issues, tokenProblem, false);
      return;
    case 'address-lists':
      checkRecipients(value, path, issues, addressListProblem, true);
      return;
    case 'string-or-strings':
      checkRecipients(value, path, issues, () => undefined, true);
      return;
    case 'headers':
      checkHeaders(value, path, issues);
      return;
    case 'json-object':
      if (!isJsonObject(value)) issues.add(path, 'must be a JSON object');
      return;
    case 'string-or-object':
      if (typeof value !== 'string' && !isJsonObject(value)) issues.add(path, 'must be a string or a JSON object');
      return;
    case 'json-list-or-object':
      if (!Array.isArray(value) && !isJsonObject(value)) issues.add(path, 'must be an array or an object');
      return;
    case 'attachments':
      checkAttachments(value, path, issues);
      return;
    case 'base64':
      if (checkString(value, path, issues, false) && !isBase64(value)) {
        issues.add(path, 'must be base64 (A-Z, a-z, 0-9 with + and / or - and _, padded with = or not, line breaks only between groups of 4 characters)');
      }
      return;
  }
}

/** The field rules of `channel`: the base fields first (required ones first of all), then the channel's own. */
function rulesFor(channelRules: ChannelFieldRules): readonly (readonly [field: string, rule: FieldRule])[] {
  const ruleOf = new Map<string, FieldRule>([...Object.entries(baseFieldRules), ...Object.entries(channelRules.fields)]);
  const ordered = [...baseRequiredFields, ...[...ruleOf.keys()].filter((field) => !baseRequiredFields.includes(field))];
  return ordered.map((field) => [field, ruleOf.get(field)!] as const);
}

// Built once: validation runs for every message on the hot path.
const knownRules = new Map<string, ReturnType<typeof rulesFor>>(channels.map((channel) => [channel, rulesFor(channelFieldRules[channel])] as const));
const customRules = rulesFor(customChannelFieldRules);
const required = new Set(baseRequiredFields);

function checkMessage(message: Record<string, unknown>, unreadable: ReadonlySet<string>, issues: IssueList): void {
  const channel = message['channel'];
  const rules = (typeof channel === 'string' ? knownRules.get(channel) : undefined) ?? customRules;
  for (const [field, rule] of rules) {
    if (unreadable.has(field)) continue;
    const value = Object.hasOwn(message, field) ? message[field] : undefined;
    if (value === undefined || value === null) {
      if (required.has(field)) issues.add(field, value === null ? 'is required (it is null)' : 'is required');
      continue;
    }
    checkRule(rule, value, field, issues);
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
 * Refuses only what cannot be archived: no `message_id`, channel, usable `sent_at` or recipient to
 * key by, values that are not JSON, and fields of the wrong type. An optional field holding `null`
 * counts as absent and is kept, as received, in the copy. A `channel` beyond the known four (any
 * name matching `channelNamePattern`) gets the generic rules: the base fields and a recipient.
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
