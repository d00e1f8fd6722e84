import { maxObjectKeyBytes } from '../destination/object-key.js';
import { KeyLayoutError } from './key-layout-error.js';
import { isKeyLayoutPresetName, keyLayoutPresets } from './key-layout-presets.js';
import { extrasName, extrasPlaceholder, extrasPrefix, fieldPlaceholder, namedPlaceholders, placeholderHelp, structuredFields, valueFields, type DateUnit, type KeyFieldName, type Placeholder } from './placeholders.js';

/** One alternative of `{a|b|c}`: a grammar entry, or the literal text a last alternative may be. */
export type Alternative = { readonly kind: 'placeholder'; readonly placeholder: Placeholder } | { readonly kind: 'literal'; readonly text: string };

/** A `{placeholder}` of a template, with what the grammar says of it as a whole. */
export interface PlaceholderPart {
  readonly kind: 'placeholder';
  /** As written between the braces. */
  readonly source: string;
  readonly alternatives: readonly Alternative[];
  /**
   * The key field it holds: its first alternative's. Later alternatives stand in only when the
   * first has no value, so `{campaign_id|canvas_step_id|unassociated}` holds the campaign "or
   * what stands in for it"; `{canvas_step_id|campaign_id}` holds none.
   */
  readonly slot: KeyFieldName | undefined;
  /** Its first alternative, which writes a filter's value for the slot (literal fallbacks are written as they are). */
  readonly first: Placeholder;
  /** The grammar entry whose rendering alone fills it (its first alternative, when every message has a value for it); a reader decodes with it. */
  readonly exact: Placeholder | undefined;
  /** A regular expression (without capturing groups) matching every text it renders. */
  readonly pattern: string;
  /** The date units it holds, when `exact` is a date placeholder. */
  readonly dateUnits: readonly DateUnit[] | undefined;
}

/** A piece of one template segment. */
export type TemplatePart = { readonly kind: 'text'; readonly text: string } | PlaceholderPart;

/** A validated template, split into segments of parts. */
export interface KeyLayoutTemplate {
  /** The template (a preset's name resolved to its template). */
  readonly template: string;
  readonly segments: readonly (readonly TemplatePart[])[];
  /** Every placeholder, in order. */
  readonly placeholders: readonly PlaceholderPart[];
}

const safeLiteral = /^[A-Za-z0-9_.-]+$/;

/** The regular expression source that matches `text` literally. */
export const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The grammar entry `name` stands for, or `undefined` when it is not a placeholder name (it may still be a literal fallback). */
function placeholderNamed(template: string, source: string, name: string, position: number): Placeholder | undefined {
  const named = namedPlaceholders.get(name);
  if (named !== undefined) return named;
  if (valueFields.has(name)) return fieldPlaceholder(name);
  if (name.startsWith(extrasPrefix)) {
    const key = name.slice(extrasPrefix.length);
    if (!extrasName.test(key)) throw new KeyLayoutError(template, `in {${source}}, the NAME of extras.NAME may use only letters, digits, "-" and "_"`, position);
    return extrasPlaceholder(key);
  }
  if (name === 'to') {
    throw new KeyLayoutError(template, `in {${source}}, "to" would put the recipient in the key as typed; use hmac(recipient) (keyed hash), recipient (normalized, in clear), md5(recipient) or sha256(recipient)`, position);
  }
  if (structuredFields.has(name)) {
    throw new KeyLayoutError(template, `in {${source}}, the field "${name}" holds a list or an object, which cannot fill a key segment (for a value inside extras use extras.NAME)`, position);
  }
  return undefined;
}

function placeholderPart(template: string, source: string, position: number): PlaceholderPart {
  const names = source.split('|');
  const alternatives = names.map((name, index): Alternative => {
    if (name === '') throw new KeyLayoutError(template, `the placeholder {${source}} has an empty alternative`, position);
    const placeholder = placeholderNamed(template, source, name, position);
    if (placeholder !== undefined) return { kind: 'placeholder', placeholder };
    if (index === 0 || index < names.length - 1) throw new KeyLayoutError(template, `unknown placeholder "${name}"; ${placeholderHelp}`, position);
    if (!safeLiteral.test(name) || name === '.' || name === '..') {
      throw new KeyLayoutError(template, `the fallback "${name}" in {${source}} is not a placeholder name, and as literal text it may use only letters, digits, "-", "_" and "." (and not be "." or "..")`, position);
    }
    return { kind: 'literal', text: name };
  });
  // The parser guarantees a first alternative that is a placeholder.
  const first = (alternatives[0] as Extract<Alternative, { kind: 'placeholder' }>).placeholder;
  const exact = first.alwaysPresent ? first : undefined;
  const pattern = exact?.pattern ?? alternatives.map((alternative) => (alternative.kind === 'literal' ? escapeRegExp(alternative.text) : `(?:${alternative.placeholder.pattern})`)).join('|');
  return { kind: 'placeholder', source, alternatives, slot: first.slot, first, exact, pattern: exact === undefined ? `(?:${pattern})` : pattern, dateUnits: exact?.dateUnits };
}

function parseSegment(template: string, segment: string, offset: number): TemplatePart[] {
  const parts: TemplatePart[] = [];
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
    parts.push(placeholderPart(template, source, offset + open));
    index = close + 1;
  }
  return parts;
}

/**
 * Validates a template (or resolves a preset's name) and splits it into segments of text and
 * placeholders, each placeholder resolved to its grammar entries. Throws a {@link KeyLayoutError}
 * naming the problem and, where it has one, its position.
 */
export function parseKeyLayoutTemplate(templateOrPreset: string): KeyLayoutTemplate {
  const template = isKeyLayoutPresetName(templateOrPreset) ? keyLayoutPresets[templateOrPreset] : templateOrPreset;
  if (typeof template !== 'string') throw new KeyLayoutError(String(template), 'the template must be a string');
  if (template.length === 0) throw new KeyLayoutError(template, 'the template is empty');
  // eslint-disable-next-line no-control-regex
  const forbidden = /[\u0000-\u001f\u007f\\]/.exec(template);
  if (forbidden !== null) throw new KeyLayoutError(template, 'the template must not contain control characters or a backslash', forbidden.index);
  if (!template.isWellFormed()) throw new KeyLayoutError(template, 'the template must be well-formed Unicode (it contains a lone surrogate)');
  if (template.startsWith('/')) throw new KeyLayoutError(template, 'the template must not start with "/"', 0);
  if (template.endsWith('/')) throw new KeyLayoutError(template, 'the template must not end with "/"', template.length - 1);
  const segments: TemplatePart[][] = [];
  let offset = 0;
  for (const segment of template.split('/')) {
    if (segment === '') throw new KeyLayoutError(template, 'the template has an empty segment ("//")', offset);
    if (segment === '.' || segment === '..') throw new KeyLayoutError(template, `the template has a "${segment}" segment`, offset);
    segments.push(parseSegment(template, segment, offset));
    offset += segment.length + 1;
  }
  const parts = segments.flat();
  const placeholders = parts.filter((part): part is PlaceholderPart => part.kind === 'placeholder');
  if (!placeholders.some((part) => part.source === 'message_id')) {
    throw new KeyLayoutError(template, 'the template must contain {message_id} (without a fallback), or different messages would share one key');
  }
  // Slashes count as literal text: they are part of every key.
  const literalBytes = Buffer.byteLength(parts.map((part) => (part.kind === 'text' ? part.text : '')).join(''), 'utf8') + segments.length - 1;
  if (literalBytes + placeholders.length > maxObjectKeyBytes) {
    throw new KeyLayoutError(template, `its literal text takes ${literalBytes} UTF-8 bytes, so with its ${placeholders.length} placeholder(s) no key could fit the ${maxObjectKeyBytes}-byte limit`);
  }
  return { template, segments, placeholders };
}
