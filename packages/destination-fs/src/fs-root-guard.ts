import { chmod, mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DestinationError } from '@sentcopy/core';
import { fsyncFolder } from './fs-files.js';
import { errorCode, mapFsError } from './map-fs-error.js';

/** Options for {@link createRootGuard}. */
export interface RootGuardOptions {
  /** The destination root (absolute). */
  readonly root: string;
  /** Whether the first check may create a missing root. */
  readonly createRoot: boolean;
  /** Permission bits of a root it creates. */
  readonly directoryMode: number;
  /** fsync a root it creates and the folder holding it. */
  readonly fsync: boolean;
  /** Accept the root at first use only if it is a mount point. */
  readonly requireMountPoint: boolean;
}

/** Which folder the root was when first used: `stat()`'s device and inode. */
export interface RootIdentity {
  readonly device: number;
  readonly inode: number;
}

/**
 * Owns the fact "is the root still the folder we first wrote to". The first successful
 * {@link RootGuard.assertWritable} may create the root (when allowed) and remembers its identity;
 * from then on the root is never created again, and a root that is gone or is another folder (an
 * unmounted volume leaves its empty mount point behind) fails as `unreachable`, so messages wait in
 * the queue instead of being archived where nobody will look.
 */
export interface RootGuard {
  /** The identity remembered at the first successful check, if any. */
  readonly identity: RootIdentity | undefined;
  /** Before a write: resolves with the root's identity, or rejects with a `DestinationError`. */
  assertWritable(): Promise<RootIdentity>;
  /** For reads and diagnosis: why the root cannot be used now, or `undefined`. Never creates it. */
  problem(): Promise<DestinationError | undefined>;
}

const provider = 'fs';

function unreachable(message: string, code?: string, cause?: unknown): DestinationError {
  return new DestinationError({ kind: 'unreachable', provider, message, ...(code === undefined ? {} : { code }), ...(cause === undefined ? {} : { cause }) });
}

function invalid(message: string): DestinationError {
  return new DestinationError({ kind: 'invalid', provider, message });
}

/** Mount points as /proc/self/mountinfo lists them (field 5, with octal escapes such as `\040`). */
async function linuxMountPoints(): Promise<Set<string> | undefined> {
  let text: string;
  try {
    text = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
  return new Set(text.split('\n').flatMap((line) => (line === '' ? [] : [unescape(line.split(' ')[4] ?? '')])));
}

/** Whether `folder` is a mount point (bind mounts included where the system lists them). */
export async function isMountPoint(folder: string): Promise<boolean> {
  const real = await realpath(folder);
  const listed = await linuxMountPoints();
  if (listed !== undefined) return listed.has(real);
  if (real === dirname(real)) return true;
  return (await stat(real)).dev !== (await stat(dirname(real))).dev;
}

const waitNote = 'Writes wait (messages stay queued) until it is back; restart the worker or re-save the destination to accept a new folder';

/** Creates a {@link RootGuard}. */
export function createRootGuard(options: RootGuardOptions): RootGuard {
  const { root } = options;
  let identity: RootIdentity | undefined;
  let first: Promise<RootIdentity> | undefined;

  /** The root's identity, or the reason it cannot be used. Reads only. */
  const inspect = async (): Promise<RootIdentity | DestinationError> => {
    let stats;
    try {
      stats = await stat(root);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT') {
        return identity === undefined
          ? unreachable(`The destination folder does not exist${options.createRoot ? '' : ' and createRoot is off'}; is the volume mounted?`, code, error)
          : unreachable(`The destination folder is gone (it existed when first used); is the volume unmounted? It is not recreated, so acknowledged objects are never hidden under a new one. ${waitNote}.`, code, error);
      }
      if (code === 'ENOTDIR')
        return identity === undefined ? invalid('A parent of the destination root is a file, not a folder.') : unreachable(`A parent of the destination folder was replaced by a file since it was first used. ${waitNote}.`, code, error);
      return mapFsError(error, { operation: 'open the destination folder' });
    }
    const current = { device: stats.dev, inode: stats.ino };
    if (identity !== undefined) {
      if (current.device !== identity.device) {
        return unreachable(
          `The destination folder is now on a different file system than when it was first used (device ${current.device}, was ${identity.device}): the volume was unmounted or replaced, so its path leads to another disk. ${waitNote}.`,
        );
      }
      if (current.inode !== identity.inode) {
        return unreachable(`The destination folder was replaced by another folder since it was first used (deleted and recreated, or moved). ${waitNote}.`);
      }
    }
    if (!stats.isDirectory()) return identity === undefined ? invalid('The destination root exists but is not a folder.') : unreachable(`The destination folder was replaced by a file. ${waitNote}.`);
    return current;
  };

  const createMissingRoot = async (): Promise<void> => {
    const firstCreated = await mkdir(root, { recursive: true, mode: options.directoryMode });
    if (firstCreated === undefined) return;
    await chmod(root, options.directoryMode);
    if (!options.fsync) return;
    // Every folder mkdir created, and the one holding the first of them.
    for (let folder = root; ; folder = dirname(folder)) {
      await fsyncFolder(folder);
      if (folder === firstCreated) break;
    }
    await fsyncFolder(dirname(firstCreated));
  };

  const establish = async (): Promise<RootIdentity> => {
    let found = await inspect();
    // A mount point that does not exist cannot hold a mounted volume: never create one.
    if (DestinationError.isInstance(found) && found.code === 'ENOENT' && options.createRoot && !options.requireMountPoint) {
      try {
        await createMissingRoot();
      } catch (error) {
        throw mapFsError(error, { operation: 'create the destination folder' });
      }
      found = await inspect();
    }
    if (DestinationError.isInstance(found)) throw found;
    if (options.requireMountPoint && !(await isMountPoint(root).catch(() => false))) {
      throw unreachable('The destination folder is not a mount point, and requireMountPoint is on; is the volume mounted? Nothing is written until it is.');
    }
    identity ??= found;
    return found;
  };

  return {
    get identity() {
      return identity;
    },
    async assertWritable() {
      if (identity !== undefined) {
        const found = await inspect();
        if (DestinationError.isInstance(found)) throw found;
        return found;
      }
      first ??= establish().finally(() => (first = undefined));
      return first;
    },
    async problem() {
      const found = await inspect();
      return DestinationError.isInstance(found) ? found : undefined;
    },
  };
}
