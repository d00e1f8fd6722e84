import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { assertWriterId } from './ledger-format.js';

/**
 * A new writer id, unique per call: `w-` then 24 random hex digits (96 bits), so two processes
 * never share a chain by chance.
 */
export function randomWriterId(): string {
  return `w-${randomBytes(12).toString('hex')}`;
}

/**
 * The writer id kept in `file`, created (exclusively, mode 0600) with {@link randomWriterId} on
 * first use: for a long-running writer (the embedded worker) whose chain should continue across
 * restarts. Two processes must never use the same file at once; a copied state folder must get a
 * new file.
 */
export async function persistentWriterId(file: string): Promise<string> {
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    assertWriterId(existing);
    return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(file), { recursive: true });
  const id = randomWriterId();
  try {
    const handle = await open(file, 'wx', 0o600);
    try {
      await handle.writeFile(`${id}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return id;
  } catch (error) {
    // Another process created it first: use its id.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return persistentWriterId(file);
    throw error;
  }
}
