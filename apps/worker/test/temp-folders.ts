import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/** Returns a function making fresh temp folders, all removed after the test file. */
export function tempFolders(prefix: string): () => string {
  const folders: string[] = [];
  // A crash or cluster test leaves tens of thousands of files: removing them takes longer than the default 10 s hook timeout on a busy machine.
  afterAll(() => {
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  }, 120_000);
  return () => {
    const folder = mkdtempSync(path.join(tmpdir(), `sentcopy-worker-${prefix}-`));
    folders.push(folder);
    return folder;
  };
}
