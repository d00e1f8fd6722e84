import { maxObjectKeyBytes, objectKeyProblem } from '../destination/object-key.js';
import { baseFieldRules, channelFieldRules, type FieldRule } from '../payload/message-fields.js';
import { md5Hex, MessageValidationError, sha256Hex, type Channel, type Message } from '../payload/index.js';
import { KeyLayoutError } from './key-layout-error.js';
import { normalizeRecipient } from './normalize-recipient.js';
import { safeSegment } from './safe-segment.js';

/** A compiled key layout: turns a validated message into its object key. */
export interface KeyLayout {
  /** The template it was compiled from. */
  readonly template: string;
  /** The placeholders the template uses, as written (e.g. `campaign_id|canvas_step_id|unassociated`), in order. */
  readonly placeholders: readonly string[];
  /**
   * The object key of a validated message (the output of `parseMessage`). Throws a
   * `MessageValidationError` naming the field when a placeholder without a literal fallback has no
   * value, or when the key would be longer than the object key limit.
   */
  render(message: Message): string;
}

// Only scalar fields can fill a segment; `to` is reachable solely through the explicit `recipient`.
const scalarRules: ReadonlySet<FieldRule> = new Set(['message-id', 'epoch-milliseconds', 'string', 'non-empty-string', 'identifier']);
const fieldNames: ReadonlySet<string> = new Set(
  [baseFieldRules, ...Object.values(channelFieldRules).map((rules) => rules.fields)].flatMap((rules) =>
    Object.entries(rules)
      .filter(([field, rule]) => field !== 'to' && scalarRules.has(rule))
      .map(([field]) => field),
  ),
);

const clevertapChannelNames: Readonly<Record<Channel, string>> = { email: 'Email', sms: 'Sms', push: 'Push', whatsapp: 'WhatsApp' };
const two = (value: number) => String(value).padStart(2, '0');

type Derive = (message: Message, date: () => Date, recipient: () => string) => string;
const derived: Readonly<Record<string, Derive>> = {
  channel: (message) => message.channel,
  Channel: (message) => clevertapChannelNames[message.channel],
  recipient: (_message, _date, recipient) => safeSegment(recipient()),
  'md5(recipient)': (_message, _date, recipient) => md5Hex(recipient()),
  'sha256(recipient)': (_message, _date, recipient) => sha256Hex(Buffer.from(recipient(), 'utf8')),
  yyyy: (_message, date) => String(date().getUTCFullYear()).padStart(4, '0'),
  mm: (_message, date) => two(date().getUTCMonth() + 1),
  dd: (_message, date) => two(date().getUTCDate()),
  hh: (_message, date) => two(date().getUTCHours()),
  yyyymm: (message, date) => `${derived['yyyy']!(message, date, () => '')}${two(date().getUTCMonth() + 1)}`,
  yyyymmdd: (message, date) => `${derived['yyyy']!(message, date, () => '')}${two(date().getUTCMonth() + 1)}${two(date().getUTCDate())}`,
};

const extrasName = /^extras\.([A-Za-z0-9_-]+)$/;
const safeLiteral = /^[A-Za-z0-9_.-]+$/;

/** One alternative of a placeholder: a value source, or a literal fallback. */
type Alternative = { kind: 'derived'; name: string } | { kind: 'field'; name: string } | { kind: 'extras'; name: string } | { kind: 'literal'; text: string };
type Part = { kind: 'text'; text: string } | { kind: 'placeholder'; source: string; alternatives: Alternative[] };

function isKnownName(name: string): boolean {
  return Object.hasOwn(derived, name) || fieldNames.has(name) || extrasName.test(name);
}

function parseAlternatives(template: string, source: string, position: number): Alternative[] {
  const names = source.split('|');
  return names.map((name, index): Alternative => {
    if (name === '') throw new KeyLayoutError(template, `the placeholder {${source}} has an empty name`, position);
    if (Object.hasOwn(derived, name)) return { kind: 'derived', name };
    if (fieldNames.has(name)) return { kind: 'field', name };
    const extras = extrasName.exec(name);
    if (extras !== null) return { kind: 'extras', name: extras[1]! };
    if (index === names.length - 1 && names.length > 1) {
      if (!safeLiteral.test(name) || name === '.' || name === '..') {
        throw new KeyLayoutError(template, `the fallback "${name}" in {${source}} may use only letters, digits, "-", "_" and "." (and not be "." or "..")`, position);
      }
      return { kind: 'literal', text: name };
    }
    throw new KeyLayoutError(
      template,
      `unknown placeholder "${name}"; use a message field (such as campaign_id), extras.NAME, channel, Channel, recipient, md5(recipient), sha256(recipient), yyyy, mm, dd, hh, yyyymm or yyyymmdd`,
      position,
    );
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
  if (typeof template !== 'string' || template.length === 0) throw new KeyLayoutError(String(template), 'the template is empty');
  if (template.startsWith('/')) throw new KeyLayoutError(template, 'the template must not start with "/"', 0);
  if (template.endsWith('/')) throw new KeyLayoutError(template, 'the template must not end with "/"', template.length - 1);
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u001f\u007f\\]/.exec(template);
  if (bad !== null) throw new KeyLayoutError(template, 'the template must not contain control characters or a backslash', bad.index);
  if (!template.isWellFormed()) throw new KeyLayoutError(template, 'the template must be well-formed Unicode');
  const segments: Part[][] = [];
  let offset = 0;
  for (const segment of template.split('/')) {
    if (segment === '') throw new KeyLayoutError(template, 'the template has an empty segment ("//")', offset);
    if (segment === '.' || segment === '..') throw new KeyLayoutError(template, `the template has a "${segment}" segment`, offset);
    segments.push(parseSegment(template, segment, offset));
    offset += segment.length + 1;
  }
  const literalBytes = Buffer.byteLength(segments.flat().map((part) => (part.kind === 'text' ? part.text : '')).join(''), 'utf8');
  if (literalBytes > maxObjectKeyBytes / 2) throw new KeyLayoutError(template, `its literal text takes ${literalBytes} bytes, leaving too little of the ${maxObjectKeyBytes}-byte key limit for message data`);
  const usesMessageId = segments.flat().some((part) => part.kind === 'placeholder' && part.source === 'message_id');
  if (!usesMessageId) throw new KeyLayoutError(template, 'the template must contain {message_id}, or different messages would share one key');
  return segments;
}

function fieldValue(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return safeSegment(value);
  if (typeof value === 'number' && Number.isFinite(value)) return safeSegment(String(value));
  return undefined;
}

/**
 * Compiles a key layout template. Throws a {@link KeyLayoutError} naming the problem and its
 * position when the template is malformed, so a bad layout is refused when the config is loaded,
 * not when the first message arrives.
 *
 * A template is `/`-separated segments of literal text and `{placeholders}`:
 * message fields (`{campaign_id}`, `{user_id}`, …), `{extras.NAME}`, `{channel}`, `{Channel}`
 * (`Email`, `Sms`, `Push`, `WhatsApp`), `{recipient}` (the normalized recipient, in clear),
 * `{md5(recipient)}`, `{sha256(recipient)}`, and UTC parts of `sent_at`: `{yyyy}`, `{mm}`, `{dd}`,
 * `{hh}`, `{yyyymm}`, `{yyyymmdd}`. `{a|b|literal}` takes the first alternative with a value; the
 * last alternative may be a literal such as `unassociated`. Values from message data go through
 * `safeSegment()`, so they can never add, remove or escape a segment. `{message_id}` is required.
 */
export function compileKeyLayout(template: string): KeyLayout {
  const segments = parseTemplate(template);
  const placeholders = segments.flat().flatMap((part) => (part.kind === 'placeholder' ? [part.source] : []));

  function render(message: Message): string {
    let date: Date | undefined;
    let recipient: string | undefined;
    const dateOf = () => (date ??= new Date(message.sent_at));
    const recipientOf = () => (recipient ??= normalizeRecipient(message.channel, message.to));
    const filled: { source: string; field: string; length: number }[] = [];
    const rendered = segments.map((parts) =>
      parts
        .map((part) => {
          if (part.kind === 'text') return part.text;
          for (const alternative of part.alternatives) {
            let value: string | undefined;
            if (alternative.kind === 'literal') return alternative.text;
            if (alternative.kind === 'derived') value = derived[alternative.name]!(message, dateOf, recipientOf);
            else if (alternative.kind === 'field') value = fieldValue(message[alternative.name]);
            else {
              const extras = message.extras;
              value = extras === undefined ? undefined : fieldValue(extras[alternative.name]);
            }
            if (value !== undefined) {
              const field = alternative.kind === 'extras' ? `extras.${alternative.name}` : alternative.kind === 'derived' && alternative.name.includes('recipient') ? 'to' : alternative.name;
              filled.push({ source: part.source, field, length: value.length });
              return value;
            }
          }
          const names = part.alternatives.map((alternative) => (alternative.kind === 'extras' ? `extras.${alternative.name}` : 'name' in alternative ? alternative.name : ''));
          throw new MessageValidationError([
            {
              path: names[0]!,
              problem:
                names.length === 1
                  ? `is required by the key layout (placeholder {${part.source}})`
                  : `is required by the key layout: none of ${names.join(', ')} has a value (placeholder {${part.source}})`,
            },
          ]);
        })
        .join(''),
    );
    const key = rendered.join('/');
    if (Buffer.byteLength(key, 'utf8') > maxObjectKeyBytes) {
      const longest = filled.reduce((a, b) => (b.length > a.length ? b : a));
      throw new MessageValidationError([{ path: longest.field, problem: `makes the object key longer than ${maxObjectKeyBytes} bytes (placeholder {${longest.source}})` }]);
    }
    const problem = objectKeyProblem(key);
    if (problem !== undefined) throw new MessageValidationError([{ path: '', problem: `the key layout produced an invalid object key: it ${problem}` }]);
    return key;
  }

  return Object.freeze({ template, placeholders: Object.freeze(placeholders), render });
}
