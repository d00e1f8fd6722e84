import { DestinationError } from './destination-error.js';

/** Longest key accepted, in UTF-8 bytes (the S3 and GCS limit). */
export const maxObjectKeyBytes = 1024;

/**
 * Returns why `key` is not a valid object key, or `undefined` when it is.
 * Valid keys are relative, `/`-separated, without empty, `.` or `..` segments, without
 * backslashes or control characters, and at most {@link maxObjectKeyBytes} UTF-8 bytes.
 */
export function objectKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'must be a string';
  if (key.length === 0) return 'must not be empty';
  if (Buffer.byteLength(key, 'utf8') > maxObjectKeyBytes) return `must be at most ${maxObjectKeyBytes} UTF-8 bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'must not contain control characters';
  if (key.includes('\\')) return 'must not contain a backslash';
  if (!key.isWellFormed()) return 'must be well-formed Unicode';
  for (const segment of key.split('/')) {
    if (segment === '') return 'must not start or end with "/" or contain "//"';
    if (segment === '.' || segment === '..') return 'must not contain "." or ".." segments';
  }
  return undefined;
}

/** Throws a `DestinationError` of kind `invalid` when `key` is not a valid object key. */
export function assertValidObjectKey(key: unknown, provider?: string): asserts key is string {
  const problem = objectKeyProblem(key);
  if (problem !== undefined) {
    throw new DestinationError({ kind: 'invalid', provider, message: `Invalid object key: the key ${problem}.` });
  }
}
