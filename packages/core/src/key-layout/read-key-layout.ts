import type { Channel } from '../payload/index.js';
import { compileKeyLayout, recipientKeyBytes, recipientKeyOf, usesKeyedHash, type KeyLayout, type KeyLayoutOptions } from './compile-key-layout.js';
import { isKeyLayoutPresetName, type KeyLayoutPresetName } from './key-layout-presets.js';
import { escapeRegExp, parseKeyLayoutTemplate, type PlaceholderPart } from './key-layout-template.js';
import { dateUnitOrder, type DateDigits, type DateUnit, type KeyFieldName, type RecipientEncoding } from './placeholders.js';
import { RecipientKeyError } from './recipient-key-error.js';
import { escapeVersionLikeKey, parseVersionKey, unescapeVersionLikeKey, versionStem } from './version-key.js';

/** What a key tells about its object, as far as its layout puts it in the key. Values are as the key holds them (made key-safe, recipients hashed). */
export interface ParsedKey {
  /** The channel, from `{channel}` or `{Channel}` (always lower-case here: `whatsapp`, not `WhatsApp`). */
  readonly channel?: Channel;
  /** The `{project_id}` segment, as `safeSegment()` wrote it. */
  readonly projectId?: string;
  /** The text of the placeholder whose first alternative is `campaign_id`, fallbacks included (`unassociated`, a Canvas step id). */
  readonly campaign?: string;
  /** The recipient as the key holds it: the hash (see `recipientEncoding`), or the normalized recipient made key-safe. */
  readonly recipient?: string;
  /** The `{message_id}` segment, as `safeSegment()` wrote it. */
  readonly messageId?: string;
  /** The UTC interval the key's date placeholders cover, in epoch milliseconds: `[start, end)`. Only from a run of units down from the year. */
  readonly dateRange?: { readonly start: number; readonly end: number };
  /** The key's date as text, as precise as the layout: `2026`, `2026-01`, `2026-01-31`, `2026-01-31T09`. */
  readonly dateText?: string;
  /**
   * For a version key (a second, different message stored next to the first under the same
   * message id): the version id, 16 hex digits of its content SHA-256. The other fields are those of the first copy's key.
   */
  readonly versionId?: string;
  /** For a version key: the key of the first copy it sits next to. */
  readonly originalKey?: string;
  /** Every placeholder's text in the key, by the placeholder as written between the braces (`'campaign_id|unassociated'`, `'md5(recipient)'`, `'extras.region'`). */
  readonly values: Readonly<Record<string, string>>;
}

/**
 * Filters on the fields a key can hold, with values as the message has them: the reader writes
 * each one the way its placeholder renders it. Absent filters match everything.
 */
export interface KeyFilters {
  /** The channel (`email`, not `Email`, whatever the layout writes). */
  readonly channel?: Channel;
  /** The project id, as sent. */
  readonly projectId?: string;
  /** A campaign id as sent, or what stands in for one in the layout (a Canvas step id, `unassociated`). */
  readonly campaign?: string;
  /**
   * The normalized recipient (see `normalizeRecipient`), or several of which any may match. The
   * reader hashes it as the layout does; a prefix holds it only when there is exactly one.
   */
  readonly recipient?: string | readonly string[];
  /** The message id, as sent. */
  readonly messageId?: string;
  /** Start of the send date range, epoch milliseconds (inclusive). */
  readonly from?: number;
  /** End of the send date range, epoch milliseconds (exclusive). A prefix narrows by date only when both ends are given. */
  readonly to?: number;
}

/** A key layout read backwards: from keys to fields, and from filters to listing prefixes. */
export interface KeyLayoutReader {
  /** The template (a preset's name resolved to its template). */
  readonly template: string;
  /** The preset's name, when the layout was given by one. */
  readonly preset?: KeyLayoutPresetName;
  /** The placeholders of the template, as written between the braces and in order. */
  readonly placeholders: readonly string[];
  /** True when the template uses `{hmac(recipient)}`, so recipients can be hashed (and keys rendered) only with the `recipientKey` option. */
  readonly usesRecipientKey: boolean;
  /**
   * The compiled layout, to render the key a message belongs at; `undefined` when the template uses
   * `{hmac(recipient)}` and the reader was made without `recipientKey` (listing and parsing need no secret).
   */
  readonly layout: KeyLayout | undefined;
  /** How keys write the recipient; absent when they hold none. */
  readonly recipientEncoding?: RecipientEncoding;
  /** Which fields keys hold, so which filters {@link KeyLayoutReader.matches} and prefixes can answer from the key alone (the others need the object's content). */
  readonly has: Readonly<Record<KeyFieldName, boolean>>;
  /**
   * The fields of `key` (a first copy's or a version's), or `undefined` when the key does not fit
   * the layout. A template with two placeholders side by side and no literal text between them
   * (`{campaign_id}{message_id}`) cannot always be split the way it was joined.
   */
  parse(key: string): ParsedKey | undefined;
  /**
   * The longest prefix that every key (and every version key) of a message matching `filters`
   * starts with, to list as few objects as possible: the layout's text up to the first placeholder
   * no filter fixes. A date placeholder narrows only below coarser units already fixed
   * (`{dd}` after `{yyyy}/{mm}`), and then by the digits `from` and `to` share.
   * Throws a `RecipientKeyError` for a recipient filter on a `{hmac(recipient)}` layout read without its secret.
   */
  prefixFor(filters: KeyFilters): string;
  /**
   * True when nothing in `parsed` (from {@link KeyLayoutReader.parse}) contradicts `filters`.
   * Filters on fields the keys do not hold are not checked (see `has`); a date filter matches a key
   * whose date interval overlaps it. Throws like `prefixFor` for a recipient filter without the secret.
   */
  matches(parsed: ParsedKey, filters: KeyFilters): boolean;
  /**
   * A normalized recipient (see `normalizeRecipient`) as this layout's keys hold it: hashed as
   * `recipientEncoding` says, or made key-safe when in clear; `undefined` when keys hold no
   * recipient. Throws a `RecipientKeyError` for a `{hmac(recipient)}` layout read without its secret.
   */
  recipientKeyForm(normalizedRecipient: string): string | undefined;
}

const keyFields: readonly KeyFieldName[] = ['channel', 'projectId', 'campaign', 'recipient', 'messageId', 'date'];

function commonPrefix(a: string, b: string): string {
  let index = 0;
  while (index < a.length && index < b.length && a[index] === b[index]) index += 1;
  return a.slice(0, index);
}

/** The interval a run of date units down from the year covers, or `undefined` without a year. */
function dateRangeOf(date: DateDigits): { start: number; end: number; text: string } | undefined {
  const run: DateUnit[] = [];
  for (const unit of dateUnitOrder) {
    if (date[unit] === undefined) break;
    run.push(unit);
  }
  if (run.length === 0) return undefined;
  const [year, month = 1, day = 1, hour = 0] = run.map((unit) => Number(date[unit]));
  const start = Date.UTC(year!, month - 1, day, hour);
  const end = Date.UTC(year! + (run.length === 1 ? 1 : 0), month - 1 + (run.length === 2 ? 1 : 0), day + (run.length === 3 ? 1 : 0), hour + (run.length === 4 ? 1 : 0));
  const text = [date.year, run.length > 1 ? `-${date.month}` : '', run.length > 2 ? `-${date.day}` : '', run.length > 3 ? `T${date.hour}` : ''].join('');
  return { start, end, text };
}

/**
 * Reads a key layout backwards, from the same grammar that renders keys (`compileKeyLayout`):
 * `parse(key)` gives the fields a key holds, `prefixFor(filters)` the longest listing prefix,
 * `matches(parsed, filters)` whether a listed key can hold a wanted message.
 *
 * `templateOrPreset` is a template or a preset's name; it is validated as `compileKeyLayout`
 * does (a `KeyLayoutError` names the problem). `options.recipientKey` is the secret of
 * `{hmac(recipient)}`: without it a keyed layout is still read (listing needs no secret), but
 * cannot render keys or hash a recipient filter. A secret that is too short throws a
 * `RecipientKeyError`.
 */
export function readKeyLayout(templateOrPreset: string, options: KeyLayoutOptions = {}): KeyLayoutReader {
  const { template, segments, placeholders } = parseKeyLayoutTemplate(templateOrPreset);
  const usesRecipientKey = usesKeyedHash(placeholders);
  let layout: KeyLayout | undefined;
  try {
    layout = compileKeyLayout(template, options);
  } catch (error) {
    if (!RecipientKeyError.isInstance(error) || error.reason !== 'missing') throw error;
  }
  const recipientKey = layout === undefined ? undefined : recipientKeyOf(layout);

  const holding = new Map<KeyFieldName, PlaceholderPart>();
  for (const part of placeholders) if (part.slot !== undefined && part.slot !== 'date' && !holding.has(part.slot)) holding.set(part.slot, part);
  const has = Object.freeze(Object.fromEntries(keyFields.map((field) => [field, field === 'date' ? placeholders.some((part) => part.dateUnits?.includes('year') === true) : holding.has(field)])) as Record<KeyFieldName, boolean>);
  const recipientEncoding = holding.get('recipient')?.exact?.recipientEncoding;

  const matcher = new RegExp(`^${segments.map((parts) => parts.map((part) => (part.kind === 'text' ? escapeRegExp(part.text) : `(${part.pattern})`)).join('')).join('/')}$`);

  /** A filter's value as `part` writes it. */
  function keyText(part: PlaceholderPart, value: string | number): string {
    requireSecretFor(part);
    return part.first.encode(value, recipientKey);
  }

  /** Throws the `RecipientKeyError` compileKeyLayout gives when `part` is `{hmac(recipient)}` and the reader has no secret. */
  function requireSecretFor(part: PlaceholderPart | undefined): void {
    if (part?.first.recipientEncoding === 'hmac' && recipientKey === undefined) recipientKeyBytes(template, undefined);
  }

  function parseRendered(key: string): ParsedKey | undefined {
    const match = matcher.exec(key);
    if (match === null) return undefined;
    const values: Record<string, string> = {};
    const date: DateDigits = {};
    let channel: Channel | undefined;
    for (const [index, part] of placeholders.entries()) {
      const text = match[index + 1]!;
      // A placeholder used twice renders the same text both times.
      if (Object.hasOwn(values, part.source) && values[part.source] !== text) return undefined;
      values[part.source] = text;
      if (part.exact === undefined) continue;
      const decoded = part.exact.decode(text);
      if (decoded === undefined) return undefined;
      if (decoded.channel !== undefined) {
        if (channel !== undefined && channel !== decoded.channel) return undefined;
        channel = decoded.channel;
      }
      for (const [unit, digits] of Object.entries(decoded.date ?? {}) as [DateUnit, string][]) {
        if (date[unit] !== undefined && date[unit] !== digits) return undefined;
        date[unit] = digits;
      }
    }
    const range = dateRangeOf(date);
    const slotText = (field: KeyFieldName) => {
      const part = holding.get(field);
      return part === undefined ? {} : { [field]: values[part.source] };
    };
    return {
      ...(channel === undefined ? {} : { channel }),
      ...slotText('projectId'),
      ...slotText('campaign'),
      ...slotText('recipient'),
      ...slotText('messageId'),
      ...(range === undefined ? {} : { dateRange: { start: range.start, end: range.end }, dateText: range.text }),
      values: Object.freeze(values),
    };
  }

  function parseFirstCopy(key: string): ParsedKey | undefined {
    // A key whose ending looked like a version's was rendered with that "~" encoded; its fields are those of the text before.
    const rendered = unescapeVersionLikeKey(key);
    return (rendered === undefined ? undefined : parseRendered(rendered)) ?? parseRendered(key);
  }

  function parse(key: string): ParsedKey | undefined {
    const version = parseVersionKey(key);
    if (version === undefined) return parseFirstCopy(key);
    const fields = parseFirstCopy(version.originalKey);
    return fields === undefined ? undefined : { ...fields, versionId: version.versionId, originalKey: version.originalKey };
  }

  const recipientsOf = (filters: KeyFilters): readonly string[] | undefined => (filters.recipient === undefined ? undefined : typeof filters.recipient === 'string' ? [filters.recipient] : filters.recipient);

  /** The value a filter gives `part`, when it fixes it. */
  function filterValue(part: PlaceholderPart, filters: KeyFilters): string | undefined {
    switch (part.slot) {
      case 'channel':
        return filters.channel;
      case 'projectId':
        return filters.projectId;
      case 'campaign':
        return filters.campaign;
      case 'messageId':
        return filters.messageId;
      case 'recipient': {
        const recipients = recipientsOf(filters);
        return recipients?.length === 1 ? recipients[0] : undefined;
      }
      default:
        return undefined;
    }
  }

  // A recipient filter on a keyed layout read without its secret is refused whether or not the prefix gets as far as the recipient.
  function requireRecipientKey(filters: KeyFilters): void {
    if (filters.recipient !== undefined) requireSecretFor(holding.get('recipient'));
  }

  function prefixFor(filters: KeyFilters): string {
    requireRecipientKey(filters);
    const fixedUnits = new Set<DateUnit>();
    let prefix = '';
    for (const [index, parts] of segments.entries()) {
      if (index > 0) prefix += '/';
      const last = index === segments.length - 1;
      for (const part of parts) {
        if (part.kind === 'text') {
          prefix += part.text;
          continue;
        }
        let text: string | undefined;
        let complete = true;
        if (part.dateUnits !== undefined) {
          const units = part.dateUnits;
          const coarser = dateUnitOrder.slice(0, dateUnitOrder.indexOf(units[0]!));
          if (filters.from !== undefined && filters.to !== undefined && filters.to > filters.from && coarser.every((unit) => fixedUnits.has(unit))) {
            const first = keyText(part, filters.from);
            const final = keyText(part, filters.to - 1);
            text = commonPrefix(first, final);
            complete = first === final;
            if (complete) for (const unit of units) fixedUnits.add(unit);
          }
        } else {
          const value = filterValue(part, filters);
          if (value !== undefined) text = keyText(part, value);
        }
        if (text === undefined || !complete) return last ? beforeVersionSuffix(prefix + (text ?? '')) : prefix + (text ?? '');
        prefix += text;
      }
    }
    // The whole key is known: stop where a version suffix would go, in the key as it is really written.
    return versionStem(escapeVersionLikeKey(prefix));
  }

  function matches(parsed: ParsedKey, filters: KeyFilters): boolean {
    requireRecipientKey(filters);
    if (filters.channel !== undefined && has.channel && parsed.channel !== filters.channel) return false;
    for (const field of ['projectId', 'campaign', 'messageId'] as const) {
      const value = filters[field];
      const part = holding.get(field);
      if (value !== undefined && part !== undefined && parsed[field] !== keyText(part, value)) return false;
    }
    const recipients = recipientsOf(filters);
    const recipientPart = holding.get('recipient');
    if (recipients !== undefined && recipientPart !== undefined && !recipients.some((recipient) => keyText(recipientPart, recipient) === parsed.recipient)) return false;
    const range = parsed.dateRange;
    if (has.date && range !== undefined && ((filters.from !== undefined && range.end <= filters.from) || (filters.to !== undefined && range.start >= filters.to))) return false;
    return true;
  }

  function recipientKeyForm(normalizedRecipient: string): string | undefined {
    const part = holding.get('recipient');
    return part === undefined ? undefined : keyText(part, normalizedRecipient);
  }

  return Object.freeze({
    template,
    ...(isKeyLayoutPresetName(templateOrPreset) ? { preset: templateOrPreset } : {}),
    placeholders: Object.freeze(placeholders.map((part) => part.source)),
    usesRecipientKey,
    layout,
    ...(recipientEncoding === undefined ? {} : { recipientEncoding }),
    has,
    parse,
    prefixFor,
    matches,
    recipientKeyForm,
  });
}

/**
 * A prefix that ends in a key's last segment, cut before anything the end of a full key can change:
 * a version suffix goes in front of the extension (which starts with "."), and a "~" may be
 * written "%7E" when the key's ending looks like a version's. Shorter, so still a prefix of every key.
 */
function beforeVersionSuffix(prefix: string): string {
  const segmentStart = prefix.lastIndexOf('/') + 1;
  const cut = prefix.slice(segmentStart).search(/[.~]/);
  return cut === -1 ? prefix : prefix.slice(0, segmentStart + cut);
}
