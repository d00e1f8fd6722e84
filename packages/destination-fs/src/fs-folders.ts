import { chmod, lstat, mkdir } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fsyncFolder } from './fs-files.js';
import { errorCode } from './map-fs-error.js';

/** Options for {@link createFolderMaker}. */
export interface FolderMakerOptions {
  /** The destination root (absolute). Folders are made below it; the root itself never is. */
  readonly root: string;
  /** Permission bits of new folders, applied exactly. */
  readonly mode: number;
  /** fsync each new folder and its parent before {@link FolderMaker.ensure} resolves. */
  readonly fsync: boolean;
}

/** Makes folders below the root, durably. */
export interface FolderMaker {
  /**
   * Makes `folder` (below the root) and its missing parents, one level at a time, never the root
   * itself: a missing root fails with `ENOENT` rather than being recreated on whatever disk now
   * holds its path. With fsync on, every folder it created and the parent of each are fsynced
   * before it resolves, so a new folder chain survives a power cut. A folder another call of this
   * process is still creating is waited for, so nobody publishes into a folder not yet durable.
   * Rejects with the Node.js error (`ENOTDIR`/`EEXIST` when part of the path is a file).
   */
  ensure(folder: string): Promise<void>;
}

function notAFolder(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR' });
}

/** Folders this process is creating, until they are durable; shared by every destination instance. */
const pending = new Map<string, Promise<void>>();

/** Creates a {@link FolderMaker}. */
export function createFolderMaker(options: FolderMakerOptions): FolderMaker {
  const { root, mode, fsync } = options;

  const chainBelowRoot = (folder: string): string[] => {
    const fromRoot = relative(root, folder);
    if (fromRoot === '') return [];
    const parts = fromRoot.split(sep);
    return parts.map((_, index) => join(root, ...parts.slice(0, index + 1)));
  };

  const waitForPending = async (chain: readonly string[]): Promise<void> => {
    for (const folder of chain) await pending.get(folder);
  };

  const isFolder = async (path: string): Promise<boolean> => {
    try {
      if ((await lstat(path)).isDirectory()) return true;
      throw notAFolder(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw error;
    }
  };

  const makeChain = async (chain: readonly string[]): Promise<void> => {
    // Find the deepest folder that exists, then create the rest downward.
    let existing = chain.length;
    while (existing > 0 && !(await isFolder(chain[existing - 1]!))) existing--;
    let markDone = () => {};
    const done = new Promise<void>((resolve) => (markDone = resolve));
    const mine: string[] = [];
    const toSync = new Set<string>();
    try {
      for (const folder of chain.slice(existing)) {
        for (let other = pending.get(folder); other !== undefined; other = pending.get(folder)) await other;
        if (await isFolder(folder)) continue;
        // Registered before mkdir(), so a call that sees the new folder also sees that it is not durable yet.
        pending.set(folder, done);
        mine.push(folder);
        try {
          await mkdir(folder, { mode });
          await chmod(folder, mode);
          toSync.add(folder);
        } catch (error) {
          if (errorCode(error) !== 'EEXIST') throw error;
          if (!(await isFolder(folder))) throw notAFolder(folder);
          // Another process made it first and may not have fsynced its entry yet: do it too.
        }
        toSync.add(dirname(folder));
      }
      // In parallel: the file system can commit them in one journal flush instead of one per folder.
      if (fsync) await Promise.all([...toSync].map((folder) => fsyncFolder(folder)));
    } finally {
      for (const folder of mine) if (pending.get(folder) === done) pending.delete(folder);
      markDone();
    }
  };

  return {
    async ensure(folder) {
      const chain = chainBelowRoot(folder);
      if (chain.length === 0) return;
      if (await isFolder(folder)) {
        await waitForPending(chain);
        return;
      }
      await makeChain(chain);
    },
  };
}
