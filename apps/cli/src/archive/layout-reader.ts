import { createHmac } from 'node:crypto';
import { compileKeyLayout, keyLayoutPresets, parseVersionKey, RecipientKeyError, safeSegment, type Channel, type KeyLayout, type KeyLayoutPresetName } from '@sentcopy/core';
import { CliError, exitCodes } from '../cli-kit/index.js';

/** How a key names the recipient: a hash of the normalized recipient (`hmac`: keyed with the deployment's secret), or the normalized recipient itself. */
export type RecipientEncoding = 'md5' | 'sha256' | 'hmac' | 'clear';

/** The fields a key tells about its object, as far as the layout puts them in the key. */
export interface KeyFields {
  /** The channel, from `{channel}` or `{Channel}`. */
  readonly channel?: Channel;
  /** The `{project_id}` segment (made key-safe). */
  readonly projectId?: string;
  /** The segment of the placeholder holding `campaign_id` (or its fallback, e.g. `unassociated`). */
  readonly campaign?: string;
  /** The recipient's hash (or clear recipient) as the key holds it. */
  readonly recipient?: string;
  /** The `{message_id}` segment (made key-safe). */
  readonly messageId?: string;
  /** UTC interval the key's date segments cover, in epoch ms: `[start, end)`. */
  readonly dateRange?: { readonly start: number; readonly end: number };
  /** The key's date as text, as precise as the layout: `2026-01-31`, `2026-01`, `2026-01-31T09`. */
  readonly dateText?: string;
  /**
   * For a version key (a second, different message stored next to the first under the same message
   * id): the version id, 16 hex digits of its content SHA-256. The other fields are those of the first copy's key.
   */
  readonly versionId?: string;
  /** For a version key: the key of the first copy it sits next to. */
  readonly originalKey?: string;
}

type Part = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'placeholder'; readonly source: string; readonly alternatives: readonly string[] };

/** A layout read backwards: from keys to fields, and from filters to the longest key prefix. */
export interface LayoutReader {
  /** The template. */
  readonly template: string;
  /** The preset name, when the template is one. */
  readonly preset?: KeyLayoutPresetName;
  /**
   * The compiled layout, to render the key a message belongs at. For a layout with
   * `{hmac(recipient)}` read without the recipient key, reading it throws a `CliError` saying how
   * to give the key.
   */
  readonly layout: KeyLayout;
  /** HMAC-SHA-256 of a normalized recipient under the recipient key, as `{hmac(recipient)}` writes it; only when the layout uses it and the key was given. */
  readonly hmacRecipient?: (normalized: string) => string;
  /** How keys name the recipient; `undefined` when they do not. */
  readonly recipientEncoding?: RecipientEncoding;
  /** Which filterable fields the keys hold. */
  readonly has: { readonly channel: boolean; readonly projectId: boolean; readonly campaign: boolean; readonly recipient: boolean; readonly date: boolean };
  /** The fields of `key` (a first copy's or a version's), or `undefined` when the key does not fit the layout. */
  parseKey(key: string): KeyFields | undefined;
  /** The longest prefix every key matching `known` starts with. */
  prefixFor(known: PrefixFilters): string;
}

/** Filter values that can narrow a listing by prefix (already key-safe where the layout needs it). */
export interface PrefixFilters {
  readonly channel?: Channel;
  readonly projectId?: string;
  readonly campaign?: string;
  /** The recipient as the key holds it (hash or clear), when exactly one is possible. */
  readonly recipient?: string;
  /** Inclusive UTC interval, in epoch ms. */
  readonly from?: number;
  readonly to?: number;
}

const channelNames: Readonly<Record<string, Channel>> = { email: 'email', sms: 'sms', push: 'push', whatsapp: 'whatsapp', Email: 'email', Sms: 'sms', Push: 'push', WhatsApp: 'whatsapp' };
const capitalized: Readonly<Record<Channel, string>> = { email: 'Email', sms: 'Sms', push: 'Push', whatsapp: 'WhatsApp' };

const patterns: Readonly<Record<string, string>> = {
  channel: '(email|sms|push|whatsapp)',
  Channel: '(Email|Sms|Push|WhatsApp)',
  'md5(recipient)': '([0-9a-f]{32})',
  'sha256(recipient)': '([0-9a-f]{64})',
  'hmac(recipient)': '([0-9a-f]{64})',
  yyyy: '(\\d{4})',
  mm: '(\\d{2})',
  dd: '(\\d{2})',
  hh: '(\\d{2})',
  yyyymm: '(\\d{6})',
  yyyymmdd: '(\\d{8})',
};

const datePlaceholders = new Set(['yyyy', 'mm', 'dd', 'hh', 'yyyymm', 'yyyymmdd']);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function parseSegment(segment: string): Part[] {
  const parts: Part[] = [];
  let index = 0;
  while (index < segment.length) {
    const open = segment.indexOf('{', index);
    if (open === -1) {
      parts.push({ kind: 'text', text: segment.slice(index) });
      break;
    }
    if (open > index) parts.push({ kind: 'text', text: segment.slice(index, open) });
    const close = segment.indexOf('}', open);
    const source = segment.slice(open + 1, close);
    parts.push({ kind: 'placeholder', source, alternatives: source.split('|') });
    index = close + 1;
  }
  return parts;
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** The date parts of `time` as each date placeholder writes them. */
function datePlaceholderValue(source: string, time: number): string {
  const date = new Date(time);
  const year = pad(date.getUTCFullYear(), 4);
  const month = pad(date.getUTCMonth() + 1);
  const day = pad(date.getUTCDate());
  switch (source) {
    case 'yyyy':
      return year;
    case 'mm':
      return month;
    case 'dd':
      return day;
    case 'hh':
      return pad(date.getUTCHours());
    case 'yyyymm':
      return `${year}${month}`;
    default:
      return `${year}${month}${day}`;
  }
}

function commonPrefix(a: string, b: string): string {
  let index = 0;
  while (index < a.length && index < b.length && a[index] === b[index]) index += 1;
  return a.slice(0, index);
}

/** The interval covered by the date parts a key holds, or `undefined` when it holds no year. */
function dateRangeOf(parts: { yyyy?: string; mm?: string; dd?: string; hh?: string }): { start: number; end: number; text: string } | undefined {
  if (parts.yyyy === undefined) return undefined;
  const year = Number(parts.yyyy);
  if (parts.mm === undefined) return { start: Date.UTC(year, 0, 1), end: Date.UTC(year + 1, 0, 1), text: parts.yyyy };
  const month = Number(parts.mm) - 1;
  if (month < 0 || month > 11) return undefined;
  if (parts.dd === undefined) return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1), text: `${parts.yyyy}-${parts.mm}` };
  const day = Number(parts.dd);
  if (parts.hh === undefined) return { start: Date.UTC(year, month, day), end: Date.UTC(year, month, day + 1), text: `${parts.yyyy}-${parts.mm}-${parts.dd}` };
  const hour = Number(parts.hh);
  return { start: Date.UTC(year, month, day, hour), end: Date.UTC(year, month, day, hour + 1), text: `${parts.yyyy}-${parts.mm}-${parts.dd}T${parts.hh}` };
}

/** The preset a `--layout` value names, or `undefined` for a template. */
export function presetName(value: string): KeyLayoutPresetName | undefined {
  return Object.hasOwn(keyLayoutPresets, value) ? (value as KeyLayoutPresetName) : undefined;
}

/** Options for {@link createLayoutReader}. */
export interface LayoutReaderOptions {
  /** The deployment's recipient key, for layouts with `{hmac(recipient)}`. @default none */
  readonly recipientKey?: string;
}

/** The error of a command that needs the recipient key and was not given it. Names variables, never a value. */
export function recipientKeyRequired(doing: string): CliError {
  return new CliError(`${doing} needs the recipient key: this archive's keys hold a keyed hash of each recipient ({hmac(recipient)}), which only the deployment's secret reproduces.`, {
    exitCode: exitCodes.usage,
    code: 'recipient_key_required',
    hint: 'Set the variable the configuration\'s recipient_hash_key names (SENTCOPY_RECIPIENT_KEY by default), or keep it in the env file beside the configuration (sentcopy.config.env), as `sentcopy init` does.',
  });
}

/**
 * Reads a layout backwards. `layout` is a preset name or a template; the template is compiled (and
 * so validated) by core, which throws a `KeyLayoutError` naming the problem. A layout with
 * `{hmac(recipient)}` is read without `options.recipientKey` too (listing needs no secret), but
 * then cannot find a recipient or render a key.
 */
export function createLayoutReader(layout: string, options: LayoutReaderOptions = {}): LayoutReader {
  const preset = presetName(layout);
  const template = preset === undefined ? layout : keyLayoutPresets[preset];
  let compiled: KeyLayout | undefined;
  try {
    compiled = compileKeyLayout(template, options.recipientKey === undefined ? {} : { recipientKey: options.recipientKey });
  } catch (error) {
    // Thrown only once the template itself is valid.
    if (!RecipientKeyError.isInstance(error) || error.reason !== 'missing') throw error;
  }
  const segments = template.split('/').map(parseSegment);
  const placeholders = segments.flat().filter((part): part is Extract<Part, { kind: 'placeholder' }> => part.kind === 'placeholder');

  let expression = '^';
  segments.forEach((parts, index) => {
    if (index > 0) expression += '/';
    for (const part of parts) {
      if (part.kind === 'text') expression += escapeRegExp(part.text);
      else expression += patterns[part.source] ?? '([^/]+?)';
    }
  });
  const matcher = new RegExp(`${expression}$`);

  const sources = placeholders.map((part) => part.source);
  const campaignSource = sources.find((source) => source.split('|').includes('campaign_id'));
  const encodings: Readonly<Record<string, RecipientEncoding>> = { recipient: 'clear', 'md5(recipient)': 'md5', 'sha256(recipient)': 'sha256', 'hmac(recipient)': 'hmac' };
  const recipientSource = sources.find((source) => Object.hasOwn(encodings, source));
  const recipientEncoding: RecipientEncoding | undefined = recipientSource === undefined ? undefined : encodings[recipientSource];
  const recipientKey = options.recipientKey;
  const hmacRecipient =
    recipientEncoding === 'hmac' && compiled !== undefined && recipientKey !== undefined ? (normalized: string) => createHmac('sha256', recipientKey).update(normalized, 'utf8').digest('hex') : undefined;

  function parseKey(key: string): KeyFields | undefined {
    const version = parseVersionKey(key);
    if (version !== undefined) {
      const fields = parseOriginalKey(version.originalKey);
      return fields === undefined ? undefined : { ...fields, versionId: version.versionId, originalKey: version.originalKey };
    }
    return parseOriginalKey(key);
  }

  function parseOriginalKey(key: string): KeyFields | undefined {
    const match = matcher.exec(key);
    if (match === null) return undefined;
    const values = new Map<string, string>();
    sources.forEach((source, index) => {
      const value = match[index + 1];
      // A placeholder used twice must have the same value both times.
      if (value !== undefined && !values.has(source)) values.set(source, value);
    });
    const date: { yyyy?: string; mm?: string; dd?: string; hh?: string } = {};
    const yyyymmdd = values.get('yyyymmdd');
    const yyyymm = values.get('yyyymm');
    if (yyyymmdd !== undefined) Object.assign(date, { yyyy: yyyymmdd.slice(0, 4), mm: yyyymmdd.slice(4, 6), dd: yyyymmdd.slice(6, 8) });
    else if (yyyymm !== undefined) Object.assign(date, { yyyy: yyyymm.slice(0, 4), mm: yyyymm.slice(4, 6) });
    for (const name of ['yyyy', 'mm', 'dd', 'hh'] as const) {
      const value = values.get(name);
      if (value !== undefined && date[name] === undefined) date[name] = value;
    }
    // Only a contiguous run from the year down means an interval (a layout with {dd} but no {mm} has none).
    if (date.mm === undefined) delete date.dd;
    if (date.dd === undefined) delete date.hh;
    const range = dateRangeOf(date);
    const channelValue = values.get('channel') ?? values.get('Channel');
    const fields: KeyFields = {
      ...(channelValue === undefined ? {} : { channel: channelNames[channelValue] }),
      ...(values.has('project_id') ? { projectId: values.get('project_id') } : {}),
      ...(campaignSource === undefined ? {} : { campaign: values.get(campaignSource) }),
      ...(recipientSource === undefined ? {} : { recipient: values.get(recipientSource) }),
      ...(values.has('message_id') ? { messageId: values.get('message_id') } : {}),
      ...(range === undefined ? {} : { dateRange: { start: range.start, end: range.end }, dateText: range.text }),
    };
    return fields;
  }

  function knownValue(source: string, known: PrefixFilters): { value: string; complete: boolean } | undefined {
    if (source === 'channel' && known.channel !== undefined) return { value: known.channel, complete: true };
    if (source === 'Channel' && known.channel !== undefined) return { value: capitalized[known.channel] ?? `${known.channel.charAt(0).toUpperCase()}${known.channel.slice(1)}`, complete: true };
    if (source === 'project_id' && known.projectId !== undefined) return { value: safeSegment(known.projectId), complete: true };
    if (source === campaignSource && known.campaign !== undefined) return { value: known.campaign, complete: true };
    if (source === recipientSource && known.recipient !== undefined) return { value: known.recipient, complete: true };
    if (datePlaceholders.has(source) && known.from !== undefined && known.to !== undefined) {
      const from = datePlaceholderValue(source, known.from);
      const to = datePlaceholderValue(source, known.to);
      // Finer parts ({mm} alone, {dd}, {hh}) only narrow the prefix when the coarser ones before them were equal, which the walk guarantees.
      if (from === to) return { value: from, complete: true };
      return { value: commonPrefix(from, to), complete: false };
    }
    return undefined;
  }

  function prefixFor(known: PrefixFilters): string {
    let prefix = '';
    for (const [index, parts] of segments.entries()) {
      if (index > 0) prefix += '/';
      for (const part of parts) {
        if (part.kind === 'text') {
          prefix += part.text;
          continue;
        }
        const value = knownValue(part.source, known);
        if (value === undefined) return prefix;
        prefix += value.value;
        if (!value.complete) return prefix;
      }
    }
    return prefix;
  }

  const has = {
    channel: sources.includes('channel') || sources.includes('Channel'),
    projectId: sources.includes('project_id'),
    campaign: campaignSource !== undefined,
    recipient: recipientSource !== undefined,
    date: sources.includes('yyyy') || sources.includes('yyyymm') || sources.includes('yyyymmdd'),
  };

  return Object.freeze({
    template,
    ...(preset === undefined ? {} : { preset }),
    get layout(): KeyLayout {
      if (compiled === undefined) throw recipientKeyRequired('Checking where a message belongs');
      return compiled;
    },
    ...(hmacRecipient === undefined ? {} : { hmacRecipient }),
    ...(recipientEncoding === undefined ? {} : { recipientEncoding }),
    has,
    parseKey,
    prefixFor,
  });
}
