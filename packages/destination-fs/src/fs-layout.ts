import { join, relative, isAbsolute, sep } from 'node:path';
import { assertValidObjectKey, DestinationError } from '@sentcopy/core';

/** The folder inside the root that holds the destination's own files; keys may not start with it. */
export const reservedFolderName = '.sentcopy';

/** Longest path segment most file systems accept, in bytes. */
const maxSegmentBytes = 255;

/** Where everything lives under one root. */
export interface FsLayout {
  /** Absolute root folder. */
  readonly root: string;
  /** Temporary files, published by hard link and then removed. */
  readonly tempFolder: string;
  /** Probe objects. */
  readonly probeFolder: string;
  /** The file holding the object stored under `key`. */
  objectPath(key: string): string;
  /** The sidecar JSON holding `key`'s SHA-256, content type, encoding and metadata; mirrors the object tree. */
  sidecarPath(key: string): string;
}

function invalidKey(key: string, problem: string): DestinationError {
  return new DestinationError({ kind: 'invalid', provider: 'fs', key, message: `Invalid object key for a local folder: ${problem}.` });
}

/** Throws `invalid` for keys the contract refuses, keys inside the reserved folder, and segments too long for a file name. */
export function assertFsObjectKey(key: unknown): asserts key is string {
  assertValidObjectKey(key, 'fs');
  const segments = key.split('/');
  if (segments[0] === reservedFolderName) throw invalidKey(key, `keys starting with "${reservedFolderName}" are reserved for the destination's own files`);
  if (segments.some((segment) => Buffer.byteLength(segment, 'utf8') > maxSegmentBytes)) {
    throw invalidKey(key, `each "/"-separated segment must be at most ${maxSegmentBytes} UTF-8 bytes (a file-name limit)`);
  }
}

function inside(base: string, key: string): string {
  const path = join(base, ...key.split('/'));
  const fromBase = relative(base, path);
  if (fromBase === '' || fromBase === '..' || fromBase.startsWith(`..${sep}`) || isAbsolute(fromBase)) {
    throw invalidKey(key, 'the key resolves outside the destination folder');
  }
  return path;
}

/** The layout under `root` (already absolute). */
export function createFsLayout(root: string): FsLayout {
  const reserved = join(root, reservedFolderName);
  const metaFolder = join(reserved, 'meta');
  return {
    root,
    tempFolder: join(reserved, 'tmp'),
    probeFolder: join(reserved, 'probe'),
    objectPath: (key) => inside(root, key),
    sidecarPath: (key) => inside(metaFolder, key),
  };
}
