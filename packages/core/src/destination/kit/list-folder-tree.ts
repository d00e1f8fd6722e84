import type { ObjectStoreListEntry, ObjectStoreListPage, ObjectStoreListRequest } from './object-store-driver.js';

/** One entry of a folder, as a store that keeps real folders (WebDAV, SFTP, a file system) reports it. */
export interface FolderTreeEntry {
  /** The entry's own name (one path segment, decoded), without the folder's path. */
  readonly name: string;
  /** Whether the entry is a folder (a WebDAV collection, a directory). */
  readonly folder: boolean;
  /** Size in bytes of a file; ignored for folders. @default 0 */
  readonly size?: number | undefined;
  /** When the file was last written, if the store says. */
  readonly lastModified?: Date | undefined;
}

/** What {@link listFolderTree} needs besides the listing request. */
export interface FolderTreeReader {
  /**
   * The entries of one folder, in any order; `undefined` when the folder does not exist.
   * `path` is the folder's full name ending in `/` (`''` for the root).
   */
  readFolder(path: string, signal: AbortSignal): Promise<readonly FolderTreeEntry[] | undefined>;
  /** Entries to leave out with everything below them, by full name (a folder's ends in `/`), e.g. a temp folder. @default none */
  skip?(name: string): boolean;
}

/** Compares names by their UTF-8 bytes, the order listings promise. */
export function compareUtf8(left: string, right: string): number {
  return Buffer.compare(Buffer.from(left, 'utf8'), Buffer.from(right, 'utf8'));
}

/**
 * One listing page of a store that keeps objects as files in nested folders (`a/b/c` is the file
 * `c` in the folder `a/b`), in ascending UTF-8 byte order of full names, as
 * {@link ObjectStoreDriver.list} must return it. Folders sort as `name/`, so `a-c` comes before
 * `a/b`; only folders that can hold names under the prefix and after the cursor are read, one at a
 * time, and the walk stops once a page and one more name are found. The cursor is the last name of
 * the page.
 */
export async function listFolderTree(request: ObjectStoreListRequest, reader: FolderTreeReader, signal: AbortSignal): Promise<ObjectStoreListPage> {
  const { prefix, cursor: after, limit } = request;
  const found: ObjectStoreListEntry[] = [];

  const walk = async (folderPath: string): Promise<boolean> => {
    signal.throwIfAborted();
    const entries = await reader.readFolder(folderPath, signal);
    if (entries === undefined) return false;
    const candidates = entries
      .map((entry) => ({ ...entry, full: folderPath + entry.name + (entry.folder ? '/' : '') }))
      .filter((entry) => entry.name !== '' && !entry.name.includes('/') && reader.skip?.(entry.full) !== true)
      .sort((left, right) => compareUtf8(left.full, right.full));
    for (const entry of candidates) {
      if (entry.folder) {
        if (!entry.full.startsWith(prefix) && !prefix.startsWith(entry.full)) continue;
        if (after !== undefined && compareUtf8(entry.full, after) < 0 && !after.startsWith(entry.full)) continue;
        if (await walk(entry.full)) return true;
        continue;
      }
      if (!entry.full.startsWith(prefix) || (after !== undefined && compareUtf8(entry.full, after) <= 0)) continue;
      found.push({ name: entry.full, size: entry.size ?? 0, ...(entry.lastModified === undefined ? {} : { lastModified: entry.lastModified }) });
      if (found.length > limit) return true;
    }
    return false;
  };

  await walk(prefix.slice(0, prefix.lastIndexOf('/') + 1));
  const entries = found.slice(0, limit);
  return { entries, ...(found.length > limit ? { cursor: entries.at(-1)?.name } : {}) };
}
