// The one definition of the limits a single message is held to. The validator, the worker's intake and its queues import them from here.

/** Longest `message_id`, in characters (Unicode code points, as JSON Schema's `maxLength` counts). */
export const maxMessageIdLength = 512;

/**
 * Default largest single message, in bytes of its JSON text (UTF-8): 40 MiB. Mail servers accept
 * 25 MB of attachments per email (Gmail, Outlook); base64 makes that about 34 MB, MIME line breaks
 * (escaped in JSON as `\r\n`) add 5 %, so an email carrying 25 MiB of attachments is about 37 MiB
 * of JSON. The worker's setting is `limits.max_message_bytes` (`http.limits` in its configuration).
 */
export const defaultMaxMessageBytes = 40 * 1024 * 1024;

/**
 * Default largest request body of the worker's HTTP intake, in bytes: 48 MiB, so that a batch can
 * always carry at least one message of {@link defaultMaxMessageBytes}. The worker's setting is
 * `limits.max_body_bytes`.
 */
export const defaultMaxBodyBytes = 48 * 1024 * 1024;

/** Default most messages in one batch of the worker's HTTP intake. The worker's setting is `limits.max_batch_messages`. */
export const defaultMaxBatchMessages = 1000;

/**
 * Length of `text` in Unicode code points (a character outside the Basic Multilingual Plane, such
 * as most emoji, counts once although it takes two UTF-16 code units).
 */
export function codePointLength(text: string): number {
  let length = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    // A high surrogate followed by a low one is one code point; a lone one still counts once.
    if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index++;
    }
    length++;
  }
  return length;
}

/**
 * `true` when `text` has more than `limit` code points. Cheap for hostile input: a text of at
 * most `limit` UTF-16 units cannot exceed it and one of more than twice `limit` always does.
 */
export function exceedsCodePoints(text: string, limit: number): boolean {
  if (text.length <= limit) return false;
  if (text.length > 2 * limit) return true;
  return codePointLength(text) > limit;
}

/** The problem with a `message_id` (never quoting it), or `undefined` when it is acceptable as a key. */
export function messageIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string' || id === '') return 'must be a non-empty string';
  if (exceedsCodePoints(id, maxMessageIdLength)) return `must be at most ${maxMessageIdLength} characters`;
  return undefined;
}
