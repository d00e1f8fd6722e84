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

/**
 * Creates `path` exclusively (`wx`) and writes `body`, checking `signal` between chunks so an
 * abort stops a large write early. The caller removes the file on failure.
 */
export async function writeNewFile(path: string, body: Uint8Array, options: { fsync: boolean; signal?: AbortSignal }): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    let offset = 0;
    while (offset < body.byteLength) {
      options.signal?.throwIfAborted();
      const { bytesWritten } = await handle.write(body, offset, Math.min(chunkBytes, body.byteLength - offset), offset);
      offset += bytesWritten;
    }
    if (options.fsync) await handle.sync();
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
