import { createHash } from 'node:crypto';
import { DestinationError, type DestinationV1, type ListedObject, type PutObjectInput } from '@sentcopy/core';

/** SHA-256 of `bytes`, lower-case hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

/** Compares keys in a listing order: by UTF-8 bytes (the default), or by UTF-16 code units. */
export function compareKeys(left: string, right: string, order: 'utf8' | 'utf16' = 'utf8'): number {
  if (order === 'utf16') return left < right ? -1 : left > right ? 1 : 0;
  return Buffer.compare(Buffer.from(left, 'utf8'), Buffer.from(right, 'utf8'));
}

/** A sorted copy of `keys` in a listing order (UTF-8 bytes by default). */
export function sortKeys(keys: Iterable<string>, order: 'utf8' | 'utf16' = 'utf8'): string[] {
  return [...keys].sort((left, right) => compareKeys(left, right, order));
}

/** A put input for `body`, with its SHA-256 filled in. */
export function putInput(key: string, body: Uint8Array, extra: Partial<Omit<PutObjectInput, 'key' | 'body'>> = {}): PutObjectInput {
  return { key, body, sha256: sha256Hex(body), contentType: 'application/octet-stream', ...extra };
}

/**
 * A key of exactly `totalBytes` UTF-8 bytes starting with `prefix`. The rest is split into segments
 * of at most 201 bytes, because filesystems cap one path segment at 255 bytes.
 */
export function keyOfBytes(prefix: string, totalBytes: number): string {
  let remaining = totalBytes - Buffer.byteLength(prefix, 'utf8');
  if (remaining < 1) throw new RangeError(`The key prefix is too long to build a ${totalBytes}-byte key.`);
  const segments: string[] = [];
  while (remaining > 201) {
    segments.push('l'.repeat(200));
    remaining -= 201;
  }
  segments.push('l'.repeat(remaining));
  return prefix + segments.join('/');
}

/** How a promise settled, reduced to something an assertion can compare and print. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Waits for `promise` and records how it settled. */
export async function settle<T>(promise: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

/** `fulfilled`, the `DestinationError` kind, or a description of a foreign error, for readable assertion diffs. */
export function outcomeKind(outcome: Outcome<unknown>): string {
  if (outcome.ok) return 'fulfilled';
  return errorKind(outcome.error);
}

/** The `DestinationError` kind of `error`, `abort` for an `AbortError`, else a description of the foreign error. */
export function errorKind(error: unknown): string {
  if (DestinationError.isInstance(error)) return error.kind;
  if (error instanceof Error && error.name === 'AbortError') return 'abort';
  if (error instanceof Error) return `not a DestinationError: ${error.name}: ${error.message}`;
  return `not a DestinationError: ${String(error)}`;
}

/** Calls `work` for every item with at most `limit` calls in flight; results keep the items' order. */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Everything a full listing returned, plus any protocol problems seen on the way. */
export interface ListingTranscript {
  /** Keys in the order the pages returned them. */
  keys: string[];
  /** Every listed object, in order. */
  objects: ListedObject[];
  /** Number of objects on each page. */
  pageSizes: number[];
  /** Protocol violations: oversized pages, repeated cursors, runaway paging. Empty when fine. */
  problems: string[];
}

/** Pages through `list({ prefix, limit })` until no cursor comes back. */
export async function listAll(destination: DestinationV1, prefix: string, limit?: number): Promise<ListingTranscript> {
  const transcript: ListingTranscript = { keys: [], objects: [], pageSizes: [], problems: [] };
  const maxPageSize = limit ?? 1000;
  const seenCursors = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; ; page++) {
    if (page > 5000) {
      transcript.problems.push('more than 5000 pages; the cursor does not advance');
      return transcript;
    }
    const result = await destination.list(limit === undefined ? { prefix, cursor } : { prefix, cursor, limit });
    transcript.pageSizes.push(result.objects.length);
    if (result.objects.length > maxPageSize) transcript.problems.push(`page ${page} holds ${result.objects.length} objects, more than the limit ${maxPageSize}`);
    for (const object of result.objects) {
      transcript.keys.push(object.key);
      transcript.objects.push(object);
    }
    if (result.cursor === undefined) return transcript;
    if (seenCursors.has(result.cursor)) {
      transcript.problems.push(`page ${page} repeated an earlier cursor`);
      return transcript;
    }
    seenCursors.add(result.cursor);
    cursor = result.cursor;
  }
}

/** Keys that appear more than once, or out of ascending order (UTF-8 bytes by default), in a listing. */
export function orderProblems(keys: readonly string[], order: 'utf8' | 'utf16' = 'utf8'): string[] {
  const problems: string[] = [];
  for (let index = 1; index < keys.length; index++) {
    const previous = keys[index - 1] as string;
    const current = keys[index] as string;
    const comparison = compareKeys(previous, current, order);
    if (comparison === 0) problems.push(`${JSON.stringify(current)} listed twice`);
    else if (comparison > 0) problems.push(`${JSON.stringify(previous)} listed before ${JSON.stringify(current)}`);
  }
  return problems;
}

/** The entries of `metadata` named in `names`, for comparing against what was given to `put()`. */
export function pickEntries(metadata: Readonly<Record<string, string>> | undefined, names: readonly string[]): Record<string, string | undefined> {
  return Object.fromEntries(names.map((name) => [name, metadata?.[name]]));
}
