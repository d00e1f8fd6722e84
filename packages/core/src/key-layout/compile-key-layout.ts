import { maxObjectKeyBytes, objectKeyProblem } from '../destination/object-key.js';
import { MessageValidationError, type Message } from '../payload/index.js';
import { parseKeyLayoutTemplate, type PlaceholderPart } from './key-layout-template.js';
import { normalizeRecipient } from './normalize-recipient.js';
import type { Placeholder, PlaceholderContext } from './placeholders.js';
import { RecipientKeyError } from './recipient-key-error.js';
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

const minimumRecipientKeyBytes = 16;
// The secret of each compiled layout, kept off the object so that logging or serializing a layout never shows it.
const recipientKeys = new WeakMap<KeyLayout, Uint8Array>();

/** The `recipientKey` a layout was compiled with (for a prepare pool, which compiles it again in its threads). Internal. */
export function recipientKeyOf(layout: KeyLayout): Uint8Array | undefined {
  return recipientKeys.get(layout);
}

/** The secret of `{hmac(recipient)}` as bytes; throws a {@link RecipientKeyError} when it is missing or too short. Internal. */
export function recipientKeyBytes(template: string, recipientKey: string | Uint8Array | undefined): Uint8Array {
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
    throw new RecipientKeyError(template, 'too_short', `The recipientKey option is ${bytes.byteLength} byte(s) long; it must be at least ${minimumRecipientKeyBytes} (32 random bytes are recommended, e.g. \`openssl rand -base64 32\`).`);
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
  const { template, segments, placeholders } = parseKeyLayoutTemplate(templateOrPreset);
  const usesRecipientKey = usesKeyedHash(placeholders);
  const hmacKey = usesRecipientKey ? recipientKeyBytes(template, options.recipientKey) : undefined;
  // A segment gives the recipient away when any alternative in it is a recipient written without the secret.
  const revealing = segments.map((parts) => parts.some((part) => part.kind === 'placeholder' && part.alternatives.some((alternative) => alternative.kind === 'placeholder' && revealsRecipient(alternative.placeholder))));
  const templateSegments = template.split('/');

  function fill(part: PlaceholderPart, context: PlaceholderContext, filled: Filled[]): string {
    for (const alternative of part.alternatives) {
      if (alternative.kind === 'literal') return alternative.text;
      const { placeholder } = alternative;
      const value = placeholder.source(context);
      if (value === undefined) continue;
      const text = placeholder.encode(value, hmacKey);
      filled.push({ field: placeholder.field, source: part.source, bytes: text.length });
      return text;
    }
    // Only field and extras alternatives can lack a value, and one that always has a value would have returned.
    const names = part.alternatives.map((alternative) => (alternative.kind === 'placeholder' ? alternative.placeholder.field : ''));
    const problem = names.length === 1 ? `is required by the key layout (placeholder {${part.source}})` : `is required by the key layout: none of ${names.join(', ')} has a value (placeholder {${part.source}})`;
    throw new MessageValidationError([{ path: names[0] ?? '', problem }]);
  }

  function render(message: Message): string {
    let recipient: string | undefined;
    const context: PlaceholderContext = { message, recipient: () => (recipient ??= normalizeRecipient(message.channel, message.to)) };
    const filled: Filled[] = [];
    // Version keys (a second copy next to the first) end in "~v-<hex>"; no first copy may look like one.
    const key = escapeVersionLikeKey(segments.map((parts) => parts.map((part) => (part.kind === 'text' ? part.text : fill(part, context, filled))).join('')).join('/'));
    const keyBytes = Buffer.byteLength(key, 'utf8');
    if (keyBytes > maxObjectKeyBytes) {
      const longest = filled.reduce((a, b) => (b.bytes > a.bytes ? b : a));
      throw new MessageValidationError([{ path: longest.field, problem: `makes the object key ${keyBytes} bytes, more than the ${maxObjectKeyBytes}-byte limit (it fills {${longest.source}}, the longest part of the key)` }]);
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

  const layout: KeyLayout = Object.freeze({ template, placeholders: Object.freeze(placeholders.map((part) => part.source)), usesRecipientKey, render, redact });
  if (hmacKey !== undefined) recipientKeys.set(layout, hmacKey);
  return layout;
}

/** True when a template uses `{hmac(recipient)}`, so its keys depend on the secret. */
export function usesKeyedHash(placeholders: readonly PlaceholderPart[]): boolean {
  return placeholders.some((part) => part.alternatives.some((alternative) => alternative.kind === 'placeholder' && alternative.placeholder.recipientEncoding === 'hmac'));
}

const revealsRecipient = (placeholder: Placeholder): boolean => placeholder.recipientEncoding !== undefined && placeholder.recipientEncoding !== 'hmac';
