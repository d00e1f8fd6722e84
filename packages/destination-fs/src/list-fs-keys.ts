import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { objectKeyProblem, type ListedObject } from '@sentcopy/core';
import { reservedFolderName } from './fs-layout.js';
import { errorCode } from './map-fs-error.js';

/** Compares keys by their UTF-8 bytes, the order the contract promises. */
export function compareKeys(left: string, right: string): number {
  return Buffer.compare(Buffer.from(left, 'utf8'), Buffer.from(right, 'utf8'));
}

/** Options for {@link listFsKeys}. */
export interface ListFsKeysOptions {
  /** Only keys starting with this string. */
  prefix: string;
  /** Only keys strictly greater than this one (UTF-8 byte order). */
  after?: string;
  /** Stop after this many keys plus one, the extra one telling whether another page exists. */
  limit: number;
  /** Aborts the walk between folders. */
  signal?: AbortSignal;
}

interface Candidate {
  /** The object key, or for a folder its key prefix ending in `/`. */
  key: string;
  folder: boolean;
}

/**
 * Walks the object tree in key order, from the deepest folder the prefix names, returning up to
 * `limit + 1` objects. Folders sort as `name/`, so every key below a folder sorts exactly where
 * the folder does and whole subtrees before the cursor are skipped unread.
 */
export async function listFsKeys(root: string, options: ListFsKeysOptions): Promise<ListedObject[]> {
  const { prefix, after, limit, signal } = options;
  const found: ListedObject[] = [];
  const startFolder = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  if (startFolder !== '' && (objectKeyProblem(startFolder.slice(0, -1)) !== undefined || startFolder.split('/')[0] === reservedFolderName)) {
    return found;
  }

  const walk = async (folderKey: string): Promise<boolean> => {
    signal?.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = await readdir(join(root, ...folderKey.split('/')), { withFileTypes: true });
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw error;
    }
    const candidates: Candidate[] = [];
    for (const entry of entries) {
      if (folderKey === '' && entry.name === reservedFolderName) continue;
      if (entry.isDirectory()) candidates.push({ key: `${folderKey}${entry.name}/`, folder: true });
      else if (entry.isFile()) candidates.push({ key: folderKey + entry.name, folder: false });
    }
    candidates.sort((left, right) => compareKeys(left.key, right.key));

    for (const candidate of candidates) {
      if (candidate.folder) {
        if (!candidate.key.startsWith(prefix) && !prefix.startsWith(candidate.key)) continue;
        if (after !== undefined && compareKeys(candidate.key, after) < 0 && !after.startsWith(candidate.key)) continue;
        if (await walk(candidate.key)) return true;
        continue;
      }
      if (!candidate.key.startsWith(prefix) || objectKeyProblem(candidate.key) !== undefined) continue;
      if (after !== undefined && compareKeys(candidate.key, after) <= 0) continue;
      let stats;
      try {
        stats = await lstat(join(root, ...candidate.key.split('/')));
      } catch (error) {
        if (errorCode(error) === 'ENOENT') continue;
        throw error;
      }
      found.push({ key: candidate.key, size: stats.size, lastModified: stats.mtime });
      if (found.length > limit) return true;
    }
    return false;
  };

  await walk(startFolder);
  return found;
}
