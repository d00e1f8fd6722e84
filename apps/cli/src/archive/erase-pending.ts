import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { LedgerTombstoneReason } from '@sentcopy/core';

/** Format of a pending-erasure record. */
const recordFormat = 1;

/**
 * A durable local record that an erasure owes tombstones: written before its first delete,
 * removed once the tombstones are durable in the ledger. Holds object keys and SHA-256s only
 * (never a recipient), in a 0600 file under `.sentcopy/erase-pending/` beside the configuration.
 */
export interface PendingErasure {
  readonly format: 1;
  /** The destination's name in the configuration. */
  readonly destination: string;
  /** The ledger writer id (`e-…`) the tombstones are written with. */
  readonly writer: string;
  /** When the erasure started (epoch milliseconds). */
  readonly startedAt: number;
  /** The tombstones' reason code. */
  readonly reason: LedgerTombstoneReason;
  /** The objects the erasure is about to delete: each one found gone later is owed a tombstone. */
  readonly objects: readonly { readonly key: string; readonly sha256: string }[];
}

/** A pending record found on disk. */
export interface PendingErasureFile {
  /** Absolute path of the record. */
  readonly file: string;
  /** The record; `undefined` when the file cannot be read or parsed (`problem` says why). */
  readonly record?: PendingErasure;
  readonly problem?: string;
}

/** The folder of pending-erasure records for a configuration whose folder is `baseDir`. */
export function pendingErasureFolder(baseDir: string): string {
  return path.join(baseDir, '.sentcopy', 'erase-pending');
}

/** A new writer id for an erasure's tombstones: a chain of its own, never shared with a live writer. */
export function newErasureWriterId(): string {
  return `e-${randomBytes(12).toString('hex')}`;
}

/** Writes `record` durably (0600, fsynced, renamed into place, folder fsynced); returns the file. */
export async function writePendingErasure(baseDir: string, record: PendingErasure): Promise<string> {
  const folder = pendingErasureFolder(baseDir);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const file = path.join(folder, `${record.writer}.json`);
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(record)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
  await syncFolder(folder);
  return file;
}

/** Removes a record once its tombstones are durable. */
export async function clearPendingErasure(file: string): Promise<void> {
  await rm(file, { force: true });
  await syncFolder(path.dirname(file));
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } catch {
    // Some file systems cannot fsync a directory; the rename itself is still atomic.
  } finally {
    await handle.close();
  }
}

function parseRecord(text: string): PendingErasure | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const record = value as Partial<PendingErasure>;
  if (typeof record !== 'object' || record === null || record.format !== recordFormat) return 'format: expected 1';
  if (typeof record.destination !== 'string' || record.destination === '') return 'destination: expected a name';
  if (typeof record.writer !== 'string' || !/^e-[0-9a-f]{24}$/.test(record.writer)) return 'writer: expected an e-… writer id';
  if (typeof record.startedAt !== 'number') return 'startedAt: expected epoch milliseconds';
  if (typeof record.reason !== 'string') return 'reason: expected a tombstone reason';
  if (!Array.isArray(record.objects) || record.objects.some((object) => typeof object?.key !== 'string' || typeof object?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(object.sha256))) {
    return 'objects: expected [{key, sha256}]';
  }
  return record as PendingErasure;
}

/** Every pending-erasure record under `baseDir` (oldest first), with a problem for a file that cannot be read. */
export async function readPendingErasures(baseDir: string): Promise<PendingErasureFile[]> {
  const folder = pendingErasureFolder(baseDir);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    return [{ file: folder, problem: `cannot read the folder (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})` }];
  }
  const found: PendingErasureFile[] = [];
  for (const name of names.filter((entry) => entry.endsWith('.json')).sort()) {
    const file = path.join(folder, name);
    try {
      const parsed = parseRecord(await readFile(file, 'utf8'));
      found.push(typeof parsed === 'string' ? { file, problem: parsed } : { file, record: parsed });
    } catch (error) {
      found.push({ file, problem: `cannot read it (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})` });
    }
  }
  return found.sort((left, right) => (left.record?.startedAt ?? 0) - (right.record?.startedAt ?? 0));
}
