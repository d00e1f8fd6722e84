import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { removeFile } from './fs-files.js';
import { errorCode } from './map-fs-error.js';

/**
 * A temp or probe file older than this is left over from a crash, whoever wrote it: a write holds
 * its temp file for as long as writing one object takes. In milliseconds.
 */
export const staleTempFileAgeMs = 60 * 60 * 1000;

const namePattern = /^([0-9a-f]{12})-([1-9][0-9]*)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let cachedWriterTag: string | null | undefined;

// Shared by every destination of this process: a reconfigured destination (a new instance on the
// same root) must not take the old instance's in-flight temp files for a crash's.
const inUse = new Set<string>();

/**
 * Names the pid namespace this process runs in on this boot (Linux: boot id + pid namespace), so a
 * temp file's pid can be checked for liveness only by processes that see the same pids. Two
 * containers or hosts sharing one folder get different tags and fall back to the age rule.
 */
export function writerTag(): string | undefined {
  if (cachedWriterTag === undefined) {
    try {
      const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      const pidNamespace = readlinkSync('/proc/self/ns/pid');
      cachedWriterTag = createHash('sha256').update(`${bootId}\n${pidNamespace}`).digest('hex').slice(0, 12);
    } catch {
      cachedWriterTag = null;
    }
  }
  return cachedWriterTag ?? undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ESRCH';
  }
}

/** Temp files of one destination: names that say who writes them, and removal of those a crash left. */
export interface TempFiles {
  /** A new, unique path in the temp folder, marked as this process's until {@link TempFiles.release}. */
  newPath(): string;
  /** Forgets a path from {@link TempFiles.newPath} (after the file was removed). */
  release(path: string): void;
  /**
   * Removes files a crash left in `folders`: those of a process of this pid namespace that is no
   * longer running (or of this pid, but not this process's), and anyone's older than
   * {@link staleTempFileAgeMs}. Files of live writers are kept. Resolves with how many were removed.
   */
  removeStale(folders: readonly string[], now?: number): Promise<number>;
}

/** Creates the {@link TempFiles} of the temp folder `folder`. */
export function createTempFiles(folder: string): TempFiles {
  const isStale = (path: string, name: string, modifiedAt: number, now: number): boolean => {
    if (now - modifiedAt > staleTempFileAgeMs) return true;
    const match = namePattern.exec(name);
    const tag = writerTag();
    if (match === null || tag === undefined || match[1] !== tag) return false;
    const pid = Number(match[2]);
    if (pid === process.pid) return !inUse.has(path);
    return !isAlive(pid);
  };

  return {
    newPath() {
      const path = join(folder, `${writerTag() ?? 'notag'}-${process.pid}-${randomUUID()}`);
      inUse.add(path);
      return path;
    },
    release(path) {
      inUse.delete(path);
    },
    async removeStale(folders, now = Date.now()) {
      let removed = 0;
      for (const scanned of folders) {
        let names: string[];
        try {
          names = await readdir(scanned);
        } catch (error) {
          if (errorCode(error) === 'ENOENT') continue;
          throw error;
        }
        for (const name of names) {
          const path = join(scanned, name);
          const stats = await lstat(path).catch(() => undefined);
          if (stats === undefined || !stats.isFile() || !isStale(path, name, stats.mtimeMs, now)) continue;
          await removeFile(path);
          removed++;
        }
      }
      return removed;
    },
  };
}
