import { createHmac } from 'node:crypto';
import { maxObjectKeyBytes, objectKeyProblem } from '../destination/object-key.js';
import { keyPath } from '../payload/field-path.js';
import { JsonNumber, md5Hex, MessageValidationError, sha256Hex, type Channel, type Message } from '../payload/index.js';
import { baseFieldRules, channelFieldRules, type FieldRule } from '../payload/message-fields.js';
import { KeyLayoutError } from './key-layout-error.js';
import { isKeyLayoutPresetName, keyLayoutPresets } from './key-layout-presets.js';
import { RecipientKeyError } from './recipient-key-error.js';
import { normalizeRecipient } from './normalize-recipient.js';
import { safeSegment } from './safe-segment.js';
import { escapeVersionLikeKey } from './version-key.js';

/** A compiled key layout: turns a validated message into its object key. */
export interface KeyLayout {
  /** The template it was compiled from. */
  readonly template: string;
  /**
   * The placeholders the template uses, as written between the braces and in order, e.g.
   * `['channel', 'md5(recipient)', 'campaign_id|canvas_step_id|unassociated', 'message_id']`.
   */
  readonly placeholders: readonly string[];
  /**
   * The object key of a validated message (the output of `parseMessage`). Throws a
   * `MessageValidationError` whose issue path is the field (e.g. `campaign_id`) when a placeholder
   * without a literal fallback has no value, or when the key would be longer than the object key
   * limit (1,024 UTF-8 bytes; the issue then names the field that made it longest). Issues never
   * contain values.
   */
  render(message: Message): string;
  /** True when the template uses `{hmac(recipient)}`, so its keys depend on the `recipientKey` it was compiled with. */
  readonly usesRecipientKey: boolean;
  /**
   * `key` (rendered by this layout) with every segment that holds the recipient in clear or as an
   * unkeyed hash (`{recipient}`, `{md5(recipient)}`, `{sha256(recipient)}`) replaced by that
   * segment of the template, e.g. `shop/{sha256(recipient)}/sms/20260101/m1.json.gz`: what logs may
   * print. `{hmac(recipient)}` segments are kept (they cannot be reversed without the secret).
   * A key with another number of segments gives the whole template.
   */
  redact(key: string): string;
}

/** Options for {@link compileKeyLayout}. */
export interface KeyLayoutOptions {
  /**
   * The per-deployment secret `{hmac(recipient)}` keys recipients with (HMAC-SHA-256): a string
   * (its UTF-8 bytes are the key) or bytes, at least 16 bytes; 32 random bytes are recommended
   * (`sentcopy init` and the worker's first run generate one into an env file). Read it from the
   * environment or a secret store, never from the archive.
   *
   * Keep it with the archive's configuration for as long as the archive lives: a message is found
   * by its recipient only with the secret it was stored with, so after changing it, older messages
   * are no longer found under a recipient with the new one (they stay in the bucket, by date).
   * Required by layouts that use `{hmac(recipient)}` (the `sentcopy` preset, sentcopy's default);
   * ignored by the others. @default none
   */
  readonly recipientKey?: string | Uint8Array;
}

type RenderContext = { readonly message: Message; readonly date: () => Date; readonly recipient: () => string; readonly hmacKey: Uint8Array | undefined };

/** A placeholder computed from the message rather than copied from a field; its value is always key-safe. */
interface DerivedPlaceholder {
  /** The field an error about this placeholder names. */
  readonly field: string;
  readonly value: (context: RenderContext) => string;
}

const clevertapChannelNames: Readonly<Record<string, string>> = { email: 'Email', sms: 'Sms', push: 'Push', whatsapp: 'WhatsApp' };
const twoDigits = (value: number) => String(value).padStart(2, '0');
const year = (date: Date) => String(date.getUTCFullYear()).padStart(4, '0');
const month = (date: Date) => twoDigits(date.getUTCMonth() + 1);
const day = (date: Date) => twoDigits(date.getUTCDate());

const derivedPlaceholders: ReadonlyMap<string, DerivedPlaceholder> = new Map<string, DerivedPlaceholder>([
  ['channel', { field: 'channel', value: ({ message }) => message.channel }],
  ['Channel', { field: 'channel', value: ({ message }) => clevertapChannelNames[message.channel] ?? `${message.channel.charAt(0).toUpperCase()}${message.channel.slice(1)}` }],
  ['recipient', { field: 'to', value: ({ recipient }) => safeSegment(recipient()) }],
  ['md5(recipient)', { field: 'to', value: ({ recipient }) => md5Hex(recipient()) }],
  ['sha256(recipient)', { field: 'to', value: ({ recipient }) => sha256Hex(Buffer.from(recipient(), 'utf8')) }],
  // Only compiled with a key (compileKeyLayout refuses the placeholder without one).
  ['hmac(recipient)', { field: 'to', value: ({ recipient, hmacKey }) => createHmac('sha256', hmacKey as Uint8Array).update(recipient(), 'utf8').digest('hex') }],
  ['yyyy', { field: 'sent_at', value: ({ date }) => year(date()) }],
  ['mm', { field: 'sent_at', value: ({ date }) => month(date()) }],
  ['dd', { field: 'sent_at', value: ({ date }) => day(date()) }],
  ['hh', { field: 'sent_at', value: ({ date }) => twoDigits(date().getUTCHours()) }],
  ['yyyymm', { field: 'sent_at', value: ({ date }) => `${year(date())}${month(date())}` }],
  ['yyyymmdd', { field: 'sent_at', value: ({ date }) => `${year(date())}${month(date())}${day(date())}` }],
]);

// Fields whose rule only admits objects or lists can never fill a segment, so naming one is a template error.
const structuredRules: ReadonlySet<FieldRule> = new Set<FieldRule>(['address-lists', 'string-or-strings', 'headers', 'json-object', 'string-or-object', 'json-list-or-object', 'attachments']);
const allFieldRules = [baseFieldRules, ...Object.values(channelFieldRules).map((rules) => rules.fields)].flatMap((rules) => Object.entries(rules));
const valueFields: ReadonlySet<string> = new Set(allFieldRules.filter(([field, rule]) => field !== 'to' && !structuredRules.has(rule)).map(([field]) => field));
const structuredFields: ReadonlySet<string> = new Set(allFieldRules.filter(([field, rule]) => field !== 'to' && structuredRules.has(rule)).map(([field]) => field));

const extrasPrefix = 'extras.';
const extrasKey = /^[A-Za-z0-9_-]+$/;
const safeLiteral = /^[A-Za-z0-9_.-]+$/;

type Alternative =
  | { readonly kind: 'derived'; readonly derived: DerivedPlaceholder }
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'extras'; readonly key: string; readonly path: string }
  | { readonly kind: 'literal'; readonly text: string };
type Part = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'placeholder'; readonly source: string; readonly alternatives: readonly Alternative[] };

const placeholderHelp =
  'use a message field (such as campaign_id), extras.NAME, channel, Channel, recipient, md5(recipient), sha256(recipient), hmac(recipient), yyyy, mm, dd, hh, yyyymm or yyyymmdd';

/** The alternative `name` stands for, or `undefined` when it is not a placeholder name (it may still be a literal fallback). */
function nameToAlternative(template: string, source: string, name: string, position: number): Alternative | undefined {
  const derived = derivedPlaceholders.get(name);
  if (derived !== undefined) return { kind: 'derived', derived };
  if (valueFields.has(name)) return { kind: 'field', name };
  if (name.startsWith(extrasPrefix)) {
    const key = name.slice(extrasPrefix.length);
    if (!extrasKey.test(key)) throw new KeyLayoutError(template, `in {${source}}, the NAME of extras.NAME may use only letters, digits, "-" and "_"`, position);
    return { kind: 'extras', key, path: keyPath('extras', key) };
  }
  if (name === 'to') {
    throw new KeyLayoutError(template, `in {${source}}, "to" would put the recipient in the key as typed; use hmac(recipient) (keyed hash), recipient (normalized, in clear), md5(recipient) or sha256(recipient)`, position);
  }
  if (structuredFields.has(name)) {
    throw new KeyLayoutError(template, `in {${source}}, the field "${name}" holds a list or an object, which cannot fill a key segment (for a value inside extras use extras.NAME)`, position);
  }
  return undefined;
}

function parseAlternatives(template: string, source: string, position: number): Alternative[] {
  const names = source.split('|');
  return names.map((name, index): Alternative => {
    if (name === '') throw new KeyLayoutError(template, `the placeholder {${source}} has an empty alternative`, position);
    const alternative = nameToAlternative(template, source, name, position);
    if (alternative !== undefined) return alternative;
    if (index === 0 || index < names.length - 1) throw new KeyLayoutError(template, `unknown placeholder "${name}"; ${placeholderHelp}`, position);
    if (!safeLiteral.test(name) || name === '.' || name === '..') {
      throw new KeyLayoutError(template, `the fallback "${name}" in {${source}} is not a placeholder name, and as literal text it may use only letters, digits, "-", "_" and "." (and not be "." or "..")`, position);
    }
    return { kind: 'literal', text: name };
  });
}

function parseSegment(template: string, segment: string, offset: number): Part[] {
  const parts: Part[] = [];
  let index = 0;
  while (index < segment.length) {
    const open = segment.indexOf('{', index);
    const close = segment.indexOf('}', index);
    if (close !== -1 && (open === -1 || close < open)) throw new KeyLayoutError(template, 'a "}" has no matching "{"', offset + close);
    const textEnd = open === -1 ? segment.length : open;
    if (textEnd > index) parts.push({ kind: 'text', text: segment.slice(index, textEnd) });
    if (open === -1) break;
    if (close === -1) throw new KeyLayoutError(template, 'a "{" is never closed', offset + open);
    const nested = segment.indexOf('{', open + 1);
    if (nested !== -1 && nested < close) throw new KeyLayoutError(template, 'placeholders cannot be nested', offset + nested);
    const source = segment.slice(open + 1, close);
    if (source === '') throw new KeyLayoutError(template, 'a placeholder is empty ("{}")', offset + open);
    parts.push({ kind: 'placeholder', source, alternatives: parseAlternatives(template, source, offset + open) });
    index = close + 1;
  }
  return parts;
}

function parseTemplate(template: string): Part[][] {
  if (typeof template !== 'string') throw new KeyLayoutError(String(template), 'the template must be a string');
  if (template.length === 0) throw new KeyLayoutError(template, 'the template is empty');
  // eslint-disable-next-line no-control-regex
  const forbidden = /[\u0000-\u001f\u007f\\]/.exec(template);
  if (forbidden !== null) throw new KeyLayoutError(template, 'the template must not contain control characters or a backslash', forbidden.index);
  if (!template.isWellFormed()) throw new KeyLayoutError(template, 'the template must be well-formed Unicode (it contains a lone surrogate)');
  if (template.startsWith('/')) throw new KeyLayoutError(template, 'the template must not start with "/"', 0);
  if (template.endsWith('/')) throw new KeyLayoutError(template, 'the template must not end with "/"', template.length - 1);
  const segments: Part[][] = [];
  let offset = 0;
  for (const segment of template.split('/')) {
    if (segment === '') throw new KeyLayoutError(template, 'the template has an empty segment ("//")', offset);
    if (segment === '.' || segment === '..') throw new KeyLayoutError(template, `the template has a "${segment}" segment`, offset);
    segments.push(parseSegment(template, segment, offset));
    offset += segment.length + 1;
  }
  const parts = segments.flat();
  if (!parts.some((part) => part.kind === 'placeholder' && part.source === 'message_id')) {
    throw new KeyLayoutError(template, 'the template must contain {message_id} (without a fallback), or different messages would share one key');
  }
  // Slashes count as literal text: they are part of every key.
  const literalBytes = Buffer.byteLength(parts.map((part) => (part.kind === 'text' ? part.text : '')).join(''), 'utf8') + segments.length - 1;
  const placeholderCount = parts.length - parts.filter((part) => part.kind === 'text').length;
  if (literalBytes + placeholderCount > maxObjectKeyBytes) {
    throw new KeyLayoutError(template, `its literal text takes ${literalBytes} UTF-8 bytes, so with its ${placeholderCount} placeholder(s) no key could fit the ${maxObjectKeyBytes}-byte limit`);
  }
  return segments;
}

function hasOwnValue(container: unknown, key: string): string | undefined {
  if (typeof container !== 'object' || container === null || !Object.hasOwn(container, key)) return undefined;
  const value: unknown = (container as Record<string, unknown>)[key];
  if (typeof value === 'string' && value.length > 0) return safeSegment(value);
  if (typeof value === 'number' && Number.isFinite(value)) return safeSegment(String(value));
  if (JsonNumber.isInstance(value)) return safeSegment(value.text);
  return undefined;
}

/** Placeholders whose value gives the recipient away to anyone who can list the bucket. */
const revealingPlaceholders: ReadonlySet<string> = new Set(['recipient', 'md5(recipient)', 'sha256(recipient)']);
const minimumRecipientKeyBytes = 16;
// The secret of each compiled layout, kept off the object so that logging or serializing a layout never shows it.
const recipientKeys = new WeakMap<KeyLayout, Uint8Array>();

/** The `recipientKey` a layout was compiled with (for a prepare pool, which compiles it again in its threads). Internal. */
export function recipientKeyOf(layout: KeyLayout): Uint8Array | undefined {
  return recipientKeys.get(layout);
}

function recipientKeyBytes(template: string, recipientKey: string | Uint8Array | undefined): Uint8Array {
  if (recipientKey === undefined || recipientKey === '') {
    throw new RecipientKeyError(
      template,
      'missing',
      `The key layout ${JSON.stringify(template)} uses {hmac(recipient)}, which needs a secret: pass the recipientKey option ` +
        '(a per-deployment secret of at least 16 bytes, e.g. from process.env.SENTCOPY_RECIPIENT_KEY; the worker reads it from recipient_hash_key), ' +
        'or use the layout "sentcopy-unkeyed" to keep the plain SHA-256 keys of earlier sentcopy versions.',
    );
  }
  let bytes: Uint8Array;
  if (typeof recipientKey === 'string') bytes = Buffer.from(recipientKey, 'utf8');
  else if (recipientKey instanceof Uint8Array) bytes = Uint8Array.from(recipientKey);
  else throw new RecipientKeyError(template, 'invalid', 'The recipientKey option must be a string or a Uint8Array.');
  if (bytes.byteLength < minimumRecipientKeyBytes) {
    throw new RecipientKeyError(
      template,
      'too_short',
      `The recipientKey option is ${bytes.byteLength} byte(s) long; it must be at least ${minimumRecipientKeyBytes} (32 random bytes are recommended, e.g. \`openssl rand -base64 32\`).`,
    );
  }
  return bytes;
}

/** Where a placeholder's value came from, for naming the field when the key is too long. */
type Filled = { readonly field: string; readonly source: string; readonly bytes: number };

/**
 * Compiles a key layout template, so that a bad layout is refused when the configuration is
 * loaded, not when the first message arrives. Throws a {@link KeyLayoutError} naming the problem
 * and, where it has one, its position and segment.
 *
 * A template is `/`-separated segments, each of literal text and `{placeholders}`:
 * - any field of payload format v1 that holds a string or a number: `{project_id}`,
 *   `{campaign_id}`, `{canvas_step_id}`, `{journey_id}`, `{user_id}`, `{provider}`, `{platform}`,
 *   `{template_name}`, … (not `to`, and not fields holding lists or objects);
 * - `{extras.NAME}`: a string or number at the top level of `extras` (NAME of letters, digits, `-`, `_`);
 * - `{channel}` (`email`, `sms`, `push`, `whatsapp`) and `{Channel}` (`Email`, `Sms`, `Push`, `WhatsApp`);
 * - `{hmac(recipient)}`: lower-case hex of the HMAC-SHA-256 of the normalized recipient's UTF-8
 *   (see `normalizeRecipient`) under `options.recipientKey`; without that secret nobody can tell
 *   whose messages a folder holds. Compiling it without the secret throws a {@link RecipientKeyError};
 * - `{md5(recipient)}`, `{sha256(recipient)}`: lower-case hex of the normalized recipient's UTF-8,
 *   unkeyed as the vendors document them (a phone number's is reversed in seconds), and
 *   `{recipient}`: that recipient in clear, only when asked for;
 * - UTC parts of `sent_at`: `{yyyy}`, `{mm}`, `{dd}`, `{hh}`, `{yyyymm}`, `{yyyymmdd}`.
 *
 * `{a|b|c}` takes the first alternative with a value (a non-empty string or a finite number,
 * written with `String()`, or a `JsonNumber`, written as its exact text). The last alternative may be literal text (letters, digits, `-`, `_`,
 * `.`) such as `unassociated`; any other alternative must be a placeholder name. Field values go
 * through `safeSegment()`, so message data can never add, remove or escape a segment.
 * `{message_id}` is required, so two messages never share a key. A key that would end like a
 * version key (`~v-` and 16 hex digits before the extension, see `versionKey`) has that `~`
 * percent-encoded, so first copies and versions can always be told apart. The template may not be empty,
 * start or end with `/`, contain `//`, `.` or `..` segments, unbalanced or nested braces, control
 * characters or a backslash, or more literal text than fits in a key.
 *
 * `template` may also be the name of a preset (see `keyLayoutPresets`); the layout's `template`
 * is then the preset's template.
 */
export function compileKeyLayout(templateOrPreset: string, options: KeyLayoutOptions = {}): KeyLayout {
  const template = isKeyLayoutPresetName(templateOrPreset) ? keyLayoutPresets[templateOrPreset] : templateOrPreset;
  const segments = parseTemplate(template);
  const placeholders = segments.flat().flatMap((part) => (part.kind === 'placeholder' ? [part.source] : []));
  const usesRecipientKey = segments.flat().some((part) => part.kind === 'placeholder' && part.alternatives.some((alternative) => alternative.kind === 'derived' && alternative.derived === derivedPlaceholders.get('hmac(recipient)')));
  const hmacKey = usesRecipientKey ? recipientKeyBytes(template, options.recipientKey) : undefined;
  const revealing = segments.map((parts) => parts.some((part) => part.kind === 'placeholder' && part.source.split('|').some((name) => revealingPlaceholders.has(name))));
  const templateSegments = template.split('/');

  function fill(part: Extract<Part, { kind: 'placeholder' }>, context: RenderContext, filled: Filled[]): string {
    for (const alternative of part.alternatives) {
      let value: string | undefined;
      let field: string;
      switch (alternative.kind) {
        case 'literal':
          return alternative.text;
        case 'derived':
          value = alternative.derived.value(context);
          field = alternative.derived.field;
          break;
        case 'field':
          value = hasOwnValue(context.message, alternative.name);
          field = alternative.name;
          break;
        case 'extras':
          value = hasOwnValue(context.message.extras, alternative.key);
          field = alternative.path;
          break;
      }
      if (value !== undefined) {
        filled.push({ field, source: part.source, bytes: value.length });
        return value;
      }
    }
    // Only field and extras alternatives can lack a value, and a derived one would have returned.
    const names = part.alternatives.map((alternative) => (alternative.kind === 'field' ? alternative.name : alternative.kind === 'extras' ? alternative.path : ''));
    const problem =
      names.length === 1
        ? `is required by the key layout (placeholder {${part.source}})`
        : `is required by the key layout: none of ${names.join(', ')} has a value (placeholder {${part.source}})`;
    throw new MessageValidationError([{ path: names[0] ?? '', problem }]);
  }

  function render(message: Message): string {
    let date: Date | undefined;
    let recipient: string | undefined;
    const context: RenderContext = {
      message,
      date: () => (date ??= new Date(message.sent_at)),
      recipient: () => (recipient ??= normalizeRecipient(message.channel, message.to)),
      hmacKey,
    };
    const filled: Filled[] = [];
    // Version keys (a second copy next to the first) end in "~v-<hex>"; no first copy may look like one.
    const key = escapeVersionLikeKey(segments.map((parts) => parts.map((part) => (part.kind === 'text' ? part.text : fill(part, context, filled))).join('')).join('/'));
    const keyBytes = Buffer.byteLength(key, 'utf8');
    if (keyBytes > maxObjectKeyBytes) {
      const longest = filled.reduce((a, b) => (b.bytes > a.bytes ? b : a));
      throw new MessageValidationError([
        { path: longest.field, problem: `makes the object key ${keyBytes} bytes, more than the ${maxObjectKeyBytes}-byte limit (it fills {${longest.source}}, the longest part of the key)` },
      ]);
    }
    const problem = objectKeyProblem(key);
    if (problem !== undefined) throw new MessageValidationError([{ path: '', problem: `the key layout produced an invalid object key: the key ${problem}` }]);
    return key;
  }

  function redact(key: string): string {
    const keySegments = key.split('/');
    if (keySegments.length !== templateSegments.length) return template;
    return keySegments.map((segment, index) => (revealing[index] === true ? templateSegments[index] : segment)).join('/');
  }

  const layout: KeyLayout = Object.freeze({ template, placeholders: Object.freeze(placeholders), usesRecipientKey, render, redact });
  if (hmacKey !== undefined) recipientKeys.set(layout, hmacKey);
  return layout;
}
