import { createHash } from 'node:crypto';

/** Longest segment {@link safeSegment} returns, in bytes (its output is ASCII). */
const maxSafeSegmentBytes = 200;
/** How much of a too-long encoding is kept before the `~` and the hash, in bytes. */
const keptBytes = 180;
/** Hex digits of the value's SHA-256 that end a shortened segment. */
const hashDigits = 16;

const unreserved = /^[A-Za-z0-9._~-]+$/;
const shortenedEnding = new RegExp(`~[0-9a-f]{${hashDigits}}$`);

/**
 * UTF-8 bytes of each code point of `value`. A lone surrogate is encoded like any other code point
 * (as WTF-8 does) rather than replaced by U+FFFD, so two different strings never share bytes.
 */
function codePointBytes(value: string): number[][] {
  const result: number[][] = [];
  for (const character of value) {
    const code = character.codePointAt(0)!;
    if (code < 0x80) result.push([code]);
    else if (code < 0x800) result.push([0xc0 | (code >> 6), 0x80 | (code & 0x3f)]);
    else if (code < 0x10000) result.push([0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]);
    else result.push([0xf0 | (code >> 18), 0x80 | ((code >> 12) & 0x3f), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]);
  }
  return result;
}

function percentEncode(bytes: readonly number[]): string {
  let text = '';
  for (const byte of bytes) {
    const character = String.fromCharCode(byte);
    text += byte < 0x80 && unreserved.test(character) ? character : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return text;
}

/**
 * Makes a value from message data safe to use as (part of) one object key segment, so it can
 * never add, remove or escape a segment.
 *
 * - Every character outside `A-Z a-z 0-9 . _ ~ -` is percent-encoded as UTF-8 with upper-case
 *   hex, as `encodeURIComponent` does (which also encodes `! ' ( ) *` here): `/`, `\`, `%`, spaces,
 *   control characters and non-ASCII included.
 * - A result of `.` or `..` becomes `%2E` or `%2E%2E`.
 * - A result longer than 200 bytes is shortened to its first 180 bytes at most (cut between two
 *   characters, never inside one or inside a `%XX` escape), then `~`, then the first 16 hex digits
 *   of the SHA-256 of the value's UTF-8 bytes.
 * - So that a short value can never pose as a shortened one, a short result that itself ends with
 *   `~` and 16 lower-case hex digits has that `~` encoded as `%7E`.
 *
 * Deterministic (the same value always gives the same segment) and injective up to a collision of
 * 64 bits of SHA-256 between two long values that share their first 180 bytes. The result is
 * 1 to 200 bytes of ASCII. Throws a `RangeError` for an empty string, which has no segment;
 * key layouts treat an empty field as having no value and never pass one.
 */
export function safeSegment(value: string): string {
  if (value.length === 0) throw new RangeError('safeSegment() needs a non-empty string.');
  if (value.length <= maxSafeSegmentBytes && unreserved.test(value) && value !== '.' && value !== '..' && !shortenedEnding.test(value)) {
    return value;
  }
  const characters = codePointBytes(value);
  let encoded = percentEncode(characters.flat());
  if (encoded === '.' || encoded === '..') encoded = encoded.replaceAll('.', '%2E');
  if (shortenedEnding.test(encoded)) encoded = `${encoded.slice(0, -hashDigits - 1)}%7E${encoded.slice(-hashDigits)}`;
  if (encoded.length <= maxSafeSegmentBytes) return encoded;

  let prefix = '';
  for (const bytes of characters) {
    const next = percentEncode(bytes);
    if (prefix.length + next.length > keptBytes) break;
    prefix += next;
  }
  const hash = createHash('sha256').update(Uint8Array.from(characters.flat())).digest('hex');
  return `${prefix}~${hash.slice(0, hashDigits)}`;
}
