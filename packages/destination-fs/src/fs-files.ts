import { createReadStream } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { errorCode } from './map-fs-error.js';

const chunkBytes = 1024 * 1024;

/** SHA-256 of `bytes`, lower-case hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 of a file's content, streamed so large objects are not held in memory twice. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Options for {@link writeNewFile}. */
export interface WriteNewFileOptions {
  /** fsync the file before closing it. */
  fsync: boolean;
  /** Permission bits, applied exactly (the umask only narrows them until the explicit chmod). */
  mode: number;
  /** Checked between chunks, so an abort stops a large write early. */
  signal?: AbortSignal;
}

/**
 * Creates `path` exclusively (`wx`) with `options.mode` and writes `body`. Returns the device
 * number of the file system the file landed on. The caller removes the file on failure.
 */
export async function writeNewFile(path: string, body: Uint8Array, options: WriteNewFileOptions): Promise<number> {
  const handle = await open(path, 'wx', options.mode);
  try {
    // Before any byte is written: the umask may have left the file narrower than asked, never wider.
    await handle.chmod(options.mode);
    let offset = 0;
    while (offset < body.byteLength) {
      options.signal?.throwIfAborted();
      const { bytesWritten } = await handle.write(body, offset, Math.min(chunkBytes, body.byteLength - offset), offset);
      offset += bytesWritten;
    }
    if (options.fsync) await handle.sync();
    return (await handle.stat()).dev;
  } finally {
    await handle.close();
  }
}

/** Flushes a folder's entries (a new link or rename) to disk. Windows cannot open folders for sync. */
export async function fsyncFolder(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes a file; a file that is already gone is fine. */
export async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}
