import { readFile } from 'node:fs/promises';
import type { PutObjectInput } from '@sentcopy/core';
import { errorCode } from './map-fs-error.js';

/** What the sidecar JSON at `.sentcopy/meta/<key>` records about the object at `<key>`. */
export interface FsSidecar {
  /** Format version of this file. */
  readonly version: 1;
  /** SHA-256 of the object's bytes, lower-case hex. */
  readonly sha256: string;
  /** Size of the object, in bytes; a mismatch marks the sidecar as stale. */
  readonly size: number;
  /** Content type given to `put()`. */
  readonly contentType: string;
  /** Content encoding given to `put()`, if any. */
  readonly contentEncoding?: string;
  /** Metadata given to `put()`. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** The sidecar bytes for `input`. */
export function serializeSidecar(input: PutObjectInput): Uint8Array {
  const sidecar: FsSidecar = {
    version: 1,
    sha256: input.sha256,
    size: input.body.byteLength,
    contentType: input.contentType,
    ...(input.contentEncoding === undefined ? {} : { contentEncoding: input.contentEncoding }),
    metadata: { ...input.metadata },
  };
  return new Uint8Array(Buffer.from(`${JSON.stringify(sidecar)}\n`, 'utf8'));
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((entry) => typeof entry === 'string');
}

/**
 * Reads the sidecar for an object of `size` bytes. Returns `undefined` when it is missing,
 * unreadable as JSON, or records another size (left over from a deleted object).
 */
export async function readSidecar(path: string, size: number): Promise<FsSidecar | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const candidate = parsed as Record<string, unknown>;
  if (
    candidate.version !== 1 ||
    typeof candidate.sha256 !== 'string' ||
    candidate.size !== size ||
    typeof candidate.contentType !== 'string' ||
    (candidate.contentEncoding !== undefined && typeof candidate.contentEncoding !== 'string') ||
    !isStringRecord(candidate.metadata)
  ) {
    return undefined;
  }
  return candidate as unknown as FsSidecar;
}
