import { createHash } from 'node:crypto';

/** Longest segment {@link safeSegment} returns, in bytes (all of its output is ASCII). */
export const maxSafeSegmentBytes = 200;
const keptBytes = 180;

/**
 * Makes a value from message data safe to use as (part of) one key segment. Deterministic and
 * injective: every character outside `A-Z a-z 0-9 . _ -` is percent-encoded as UTF-8 (so `/`, `\`,
 * `%`, `~`, spaces, control characters and non-ASCII can neither split nor escape the segment), and
 * `.` or `..` become `%2E` / `%2E%2E`. Output longer than 200 bytes keeps its first 180 bytes and
 * ends with `~` and 16 hex digits of the value's SHA-256 (`~` never appears otherwise).
 * Throws a `RangeError` for an empty string, which has no safe form.
 */
export function safeSegment(value: string): string {
  if (value.length === 0) throw new RangeError('safeSegment() needs a non-empty string.');
  let encoded = encodeURIComponent(value.toWellFormed()).replace(/[!'()*~]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
  if (encoded === '.' || encoded === '..') encoded = encoded.replaceAll('.', '%2E');
  if (encoded.length <= maxSafeSegmentBytes) return encoded;
  let cut = keptBytes;
  // Never end inside a %XX escape.
  const lastPercent = encoded.lastIndexOf('%', cut - 1);
  if (lastPercent > cut - 3) cut = lastPercent;
  return `${encoded.slice(0, cut)}~${createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 16)}`;
}
