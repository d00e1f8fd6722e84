import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { readLedger, sampleMessages } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWorker, type LogEntry } from '../src/index.js';
import { storedKeys, waitFor } from './helpers.js';
import { apiKey, readyz, tempFolders, writeConfig } from './queue-fault-fixture.js';

const newFolder = tempFolders('gate-queue-full');
const mebibyte = 1024 * 1024;
let mountPoint: string | undefined;
let skipReason: string | undefined;
beforeAll(() => {
  const folder = newFolder();
  try {
    // A real small file system for the queue, so "full" is the kernel's ENOSPC, not a simulation.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', folder], { stdio: 'pipe' });
    mountPoint = folder;
  } catch (error) {
    skipReason = `mount -t tmpfs is not permitted here (${(error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message})`;
  }
});
afterAll(() => {
  if (mountPoint !== undefined) execFileSync('umount', ['-l', mountPoint]);
});

/** Writes a file until the file system refuses (ENOSPC). */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w', 0o600);
  try {
    for (const size of [mebibyte, 4096, 512]) {
      const chunk = Buffer.alloc(size, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
}

const archiveCall = async (url: string, message: unknown) => {
  const response = await fetch(`${url}/v1/archive`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(message) });
  return { status: response.status, body: (await response.json()) as { key?: string; error?: { code: string; stored?: boolean; problem?: string } } };
};

describe('the before-send gate on a full queue disk (tmpfs)', () => {
  it('answers 503 queue_unavailable and stores nothing while the queue cannot record what it stores, then archives and lists once space returns', async (context) => {
    if (mountPoint === undefined) {
      console.warn(`Skipped: ${skipReason}`);
      context.skip();
      return;
    }
    const folder = newFolder();
    const { configFile, archiveRoot } = writeConfig(folder, { webhook: false });
    const filler = path.join(mountPoint, 'filler');
    const logs: LogEntry[] = [];
    const worker = await runWorker({ configFile, queueDirectory: path.join(mountPoint, 'queue'), port: 0, prepareThreads: 0, logger: (entry) => logs.push(entry) });
    try {
      const [first, second] = sampleMessages({ projectId: 'shop', count: 2, seed: 5 });
      fillDisk(filler);
      await waitFor(async () => (await readyz(worker.url)).status === 503, 15_000, 'the queue to notice the full disk');
      // Without a record a kill -9 could leave the object unlisted: the gate refuses before storing anything.
      const refused = await archiveCall(worker.url, first);
      expect(refused.status).toBe(503);
      expect(refused.body.error).toMatchObject({ code: 'queue_unavailable', stored: false });
      expect(storedKeys(archiveRoot)).toEqual([]);
      expect(logs.some((entry) => entry.level === 'error' && entry.event === 'intake.gate_unrecorded')).toBe(true);

      rmSync(filler);
      await waitFor(async () => (await readyz(worker.url)).status === 200, 15_000, 'readiness once space returns');
      const stored = await Promise.all([archiveCall(worker.url, first), archiveCall(worker.url, second)]);
      expect(stored.map((answer) => answer.status)).toEqual([201, 201]);
      expect(storedKeys(archiveRoot)).toEqual(stored.map((answer) => answer.body.key!).sort());
    } finally {
      await worker.stop();
      if (existsSync(filler)) rmSync(filler);
    }
    // The stop wrote the open segment: both objects listed once, the chain whole.
    const ledger = await readLedger(createFsDestination({ root: archiveRoot }));
    expect(ledger.problems).toEqual([]);
    expect([...ledger.entries.keys()].sort()).toEqual(storedKeys(archiveRoot));
  }, 90_000);
});
