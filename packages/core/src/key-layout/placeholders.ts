import { createHmac } from 'node:crypto';
import { keyPath } from '../payload/field-path.js';
import { isChannel, JsonNumber, md5Hex, sha256Hex, type Channel, type Message } from '../payload/index.js';
import { baseFieldRules, channelFieldRules, type FieldRule } from '../payload/message-fields.js';
import { safeSegment } from './safe-segment.js';

// The key-layout grammar: every placeholder is described here once (what it is made from, how it
// renders, how it reads back, which filter narrows it, its date precision). Rendering
// (compile-key-layout.ts), parsing and listing prefixes (read-key-layout.ts) are all derived from it.

/** How a key names the recipient: a hash of the normalized recipient (`hmac`: keyed with the deployment's secret), or the normalized recipient itself (`clear`). */
export type RecipientEncoding = 'md5' | 'sha256' | 'hmac' | 'clear';

/**
 * The fields a key can tell about its message, and so the filters a listing prefix can narrow:
 * the channel, the project, the campaign (the placeholder whose first alternative is
 * `campaign_id`, fallbacks included), the recipient (hashed or clear), the message id and the
 * send date.
 */
export type KeyFieldName = 'channel' | 'projectId' | 'campaign' | 'recipient' | 'messageId' | 'date';

/** Units of a send date a key can hold, coarsest first. */
export type DateUnit = 'year' | 'month' | 'day' | 'hour';

/** The digits of each date unit a key holds (`{ year: '2026', month: '01' }`). */
export type DateDigits = Partial<Record<DateUnit, string>>;

/** The date units, coarsest first: a finer unit narrows a date only below the coarser ones. */
export const dateUnitOrder: readonly DateUnit[] = ['year', 'month', 'day', 'hour'];

/** What a placeholder's value is made from, for one message. */
export interface PlaceholderContext {
  readonly message: Message;
  /** The normalized recipient (computed once, only when a placeholder needs it). */
  readonly recipient: () => string;
}

/** What key text tells back about its placeholder. */
export interface DecodedText {
  /** For `{channel}` and `{Channel}`: the channel name. */
  readonly channel?: Channel;
  /** For date placeholders: the digits of the units they hold. */
  readonly date?: DateDigits;
}

/** One entry of the grammar. */
export interface Placeholder {
  /** The name as written between the braces: `channel`, `md5(recipient)`, `yyyymm`, `campaign_id`, `extras.region`. */
  readonly name: string;
  /** The message field it comes from, which errors about it name: `channel`, `to`, `sent_at`, `campaign_id`, `extras.region`. */
  readonly field: string;
  /** The key field it holds, which a filter on that field narrows; `undefined` for the others (`user_id`, `extras.NAME`, …). */
  readonly slot: KeyFieldName | undefined;
  /** True when every valid message has a value for it, so an alternative after it is never used. */
  readonly alwaysPresent: boolean;
  /** A regular expression (without capturing groups) that every text it renders matches. */
  readonly pattern: string;
  /** For date placeholders: the units it holds, coarsest first (`yyyymm`: year and month). */
  readonly dateUnits?: readonly DateUnit[];
  /** For recipient placeholders: how the recipient is written. */
  readonly recipientEncoding?: RecipientEncoding;
  /**
   * The value it is made from: the channel, the normalized recipient, `sent_at`, or a field's
   * text. `undefined` when the message has no value for it (only fields can lack one).
   */
  source(context: PlaceholderContext): string | number | undefined;
  /**
   * The key text of a value of its source. A filter's value (a channel, a normalized recipient,
   * epoch milliseconds, a field as sent) renders the same way, which is what makes prefixes.
   * `recipientKey` is needed by `{hmac(recipient)}` only.
   */
  encode(value: string | number, recipientKey: Uint8Array | undefined): string;
  /** What `text` (matched by `pattern`) tells back, or `undefined` when no value renders as `text`. */
  decode(text: string): DecodedText | undefined;
}

/** Characters `safeSegment()` writes: a field's text in a key matches this. */
const safeText = '[A-Za-z0-9._~%-]+?';
const noDecodedFields: DecodedText = Object.freeze({});

const clevertapChannelNames: Readonly<Record<string, string>> = { email: 'Email', sms: 'Sms', push: 'Push', whatsapp: 'WhatsApp' };
const capitalize = (channel: string): string => clevertapChannelNames[channel] ?? `${channel.charAt(0).toUpperCase()}${channel.slice(1)}`;
const uncapitalize = (text: string): string => Object.keys(clevertapChannelNames).find((channel) => clevertapChannelNames[channel] === text) ?? `${text.charAt(0).toLowerCase()}${text.slice(1)}`;

const dateUnitWidth: Readonly<Record<DateUnit, number>> = { year: 4, month: 2, day: 2, hour: 2 };
const dateUnitRange: Readonly<Record<DateUnit, readonly [number, number]>> = { year: [0, 9999], month: [1, 12], day: [1, 31], hour: [0, 23] };

function dateUnitText(unit: DateUnit, date: Date): string {
  const value = unit === 'year' ? date.getUTCFullYear() : unit === 'month' ? date.getUTCMonth() + 1 : unit === 'day' ? date.getUTCDate() : date.getUTCHours();
  return String(value).padStart(dateUnitWidth[unit], '0');
}

function datePlaceholder(name: string, units: readonly DateUnit[]): Placeholder {
  return {
    name,
    field: 'sent_at',
    slot: 'date',
    alwaysPresent: true,
    pattern: units.map((unit) => `\\d{${dateUnitWidth[unit]}}`).join(''),
    dateUnits: units,
    source: ({ message }) => message.sent_at,
    encode: (value) => {
      const date = new Date(value);
      return units.map((unit) => dateUnitText(unit, date)).join('');
    },
    decode: (text) => {
      const date: DateDigits = {};
      let offset = 0;
      for (const unit of units) {
        const digits = text.slice(offset, offset + dateUnitWidth[unit]);
        offset += dateUnitWidth[unit];
        const [lowest, highest] = dateUnitRange[unit];
        if (!/^\d+$/.test(digits) || digits.length !== dateUnitWidth[unit] || Number(digits) < lowest || Number(digits) > highest) return undefined;
        date[unit] = digits;
      }
      return offset === text.length ? { date } : undefined;
    },
  };
}

function recipientPlaceholder(name: string, recipientEncoding: RecipientEncoding, pattern: string, encode: Placeholder['encode']): Placeholder {
  return {
    name,
    field: 'to',
    slot: 'recipient',
    alwaysPresent: true,
    pattern,
    recipientEncoding,
    source: ({ recipient }) => recipient(),
    encode,
    decode: () => noDecodedFields,
  };
}

/** The placeholders with a name of their own (not a message field), in the order the documentation lists them. */
export const namedPlaceholders: ReadonlyMap<string, Placeholder> = new Map(
  [
    {
      name: 'channel',
      field: 'channel',
      slot: 'channel',
      alwaysPresent: true,
      pattern: '[a-z][a-z0-9_-]{0,31}',
      source: ({ message }) => message.channel,
      encode: (value) => String(value),
      decode: (text) => (isChannel(text) ? { channel: text } : undefined),
    } satisfies Placeholder,
    {
      name: 'Channel',
      field: 'channel',
      slot: 'channel',
      alwaysPresent: true,
      pattern: '[A-Z][A-Za-z0-9_-]{0,31}',
      source: ({ message }) => message.channel,
      encode: (value) => capitalize(String(value)),
      decode: (text) => {
        const channel = uncapitalize(text);
        return isChannel(channel) && capitalize(channel) === text ? { channel } : undefined;
      },
    } satisfies Placeholder,
    recipientPlaceholder('recipient', 'clear', safeText, (value) => safeSegment(String(value))),
    recipientPlaceholder('md5(recipient)', 'md5', '[0-9a-f]{32}', (value) => md5Hex(String(value))),
    recipientPlaceholder('sha256(recipient)', 'sha256', '[0-9a-f]{64}', (value) => sha256Hex(Buffer.from(String(value), 'utf8'))),
    recipientPlaceholder('hmac(recipient)', 'hmac', '[0-9a-f]{64}', (value, recipientKey) => {
      // Callers check for the secret first (compileKeyLayout and readKeyLayout throw a RecipientKeyError without it).
      if (recipientKey === undefined) throw new Error('{hmac(recipient)} needs the recipient key.');
      return createHmac('sha256', recipientKey).update(String(value), 'utf8').digest('hex');
    }),
    datePlaceholder('yyyy', ['year']),
    datePlaceholder('mm', ['month']),
    datePlaceholder('dd', ['day']),
    datePlaceholder('hh', ['hour']),
    datePlaceholder('yyyymm', ['year', 'month']),
    datePlaceholder('yyyymmdd', ['year', 'month', 'day']),
  ].map((placeholder): [string, Placeholder] => [placeholder.name, Object.freeze(placeholder)]),
);

/** A field's value as key text (a non-empty string, a finite number, or a `JsonNumber`'s exact text), or `undefined` when it has none. */
function ownValue(container: unknown, key: string): string | undefined {
  if (typeof container !== 'object' || container === null || !Object.hasOwn(container, key)) return undefined;
  const value: unknown = (container as Record<string, unknown>)[key];
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (JsonNumber.isInstance(value)) return value.text;
  return undefined;
}

/** The fields a filter names, by the message field that holds them. */
const fieldSlots: Readonly<Record<string, KeyFieldName>> = { project_id: 'projectId', message_id: 'messageId', campaign_id: 'campaign' };
/** Fields every valid message has. */
const requiredFields: ReadonlySet<string> = new Set(['project_id', 'message_id']);

function textPlaceholder(name: string, field: string, slot: KeyFieldName | undefined, alwaysPresent: boolean, source: Placeholder['source']): Placeholder {
  return Object.freeze({ name, field, slot, alwaysPresent, pattern: safeText, source, encode: (value: string | number) => safeSegment(String(value)), decode: () => noDecodedFields });
}

/** `{FIELD}`: a field of payload format v1 that holds a string or a number, made key-safe by `safeSegment()`. */
export function fieldPlaceholder(field: string): Placeholder {
  return textPlaceholder(field, field, fieldSlots[field], requiredFields.has(field), ({ message }) => ownValue(message, field));
}

/** The prefix of `{extras.NAME}`. */
export const extrasPrefix = 'extras.';
/** The NAMEs `{extras.NAME}` accepts. */
export const extrasName = /^[A-Za-z0-9_-]+$/;

/** `{extras.NAME}`: a string or number at the top level of `extras`, made key-safe by `safeSegment()`. */
export function extrasPlaceholder(name: string): Placeholder {
  return textPlaceholder(`${extrasPrefix}${name}`, keyPath('extras', name), undefined, false, ({ message }) => ownValue(message.extras, name));
}

// Fields whose rule only admits objects or lists can never fill a segment, so naming one is a template error.
const structuredRules: ReadonlySet<FieldRule> = new Set<FieldRule>(['address-lists', 'string-or-strings', 'headers', 'json-object', 'string-or-object', 'json-list-or-object', 'attachments']);
const allFieldRules = [baseFieldRules, ...Object.values(channelFieldRules).map((rules) => rules.fields)].flatMap((rules) => Object.entries(rules));

/** Fields `{FIELD}` accepts: every field of payload format v1 that holds a string or a number, except `to`. */
export const valueFields: ReadonlySet<string> = new Set(allFieldRules.filter(([field, rule]) => field !== 'to' && !structuredRules.has(rule)).map(([field]) => field));
/** Fields that hold lists or objects, which cannot fill a segment. */
export const structuredFields: ReadonlySet<string> = new Set(allFieldRules.filter(([field, rule]) => field !== 'to' && structuredRules.has(rule)).map(([field]) => field));

/** What to write instead of an unknown placeholder, built from the grammar. */
export const placeholderHelp = (() => {
  const names = [...namedPlaceholders.keys()];
  return `use a message field (such as campaign_id), extras.NAME, ${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
})();
