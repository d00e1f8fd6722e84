import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, fstatSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { createArchiver, sampleMessages } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, runWorker, type LogEntry } from '../src/index.js';
import { expectFolderHoldsExactly, queued, storedKeys, waitFor } from './helpers.js';
import { postBatch, readyz, startWebhookReceiver, tempFolders, writeConfig, type WebhookReceiver } from './queue-fault-fixture.js';

// `pnpm --filter @sentcopy/worker soak` queues more messages before the disk fills (SENTCOPY_SOAK=1).
const soak = process.env.SENTCOPY_SOAK === '1';
const seededCount = soak ? 2_000 : 40;
const mebibyte = 1024 * 1024;

const newFolder = tempFolders('queue-disk-full');
let hook: WebhookReceiver;
let mountPoint: string | undefined;
let skipReason: string | undefined;
beforeAll(async () => {
  hook = await startWebhookReceiver();
  const folder = newFolder();
  try {
    // A real small file system for the queue, so "full" is the kernel's ENOSPC, not a simulation.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', folder], { stdio: 'pipe' });
    mountPoint = folder;
  } catch (error) {
    skipReason = `mount -t tmpfs is not permitted here (${(error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message})`;
  }
});
afterAll(async () => {
  await hook?.close();
  if (mountPoint !== undefined) execFileSync('umount', ['-l', mountPoint]);
});

/** Writes a file until the file system refuses (ENOSPC); returns its descriptor, to give space back later. */
function fillDisk(file: string): number {
  const fd = openSync(file, 'w', 0o600);
  for (const size of [mebibyte, 4096, 512]) {
    const chunk = Buffer.alloc(size, 1);
    try {
      for (;;) writeSync(fd, chunk);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    }
  }
  return fd;
}

const metricsOf = async (url: string) => (await fetch(`${url}/metrics`)).text();

describe('a full queue disk (tmpfs)', () => {
  it('restarting on it: the worker runs degraded (healthz 200, readyz 503, intake 503, alert), archives what is queued once it can, and takes messages again when space returns', async (context) => {
    if (mountPoint === undefined) {
      console.warn(`Skipped: ${skipReason}`);
      context.skip();
      return;
    }
    const folder = newFolder();
    const { configFile, archiveRoot } = writeConfig(folder);
    const queueFolder = path.join(mountPoint, 'restart');
    // A worker died holding claims: on the next start the queue must write to hand them out again.
    const messages = sampleMessages({ projectId: 'shop', count: seededCount, seed: 7 });
    const seeded = await createEmbeddedQueue({ directory: queueFolder });
    for (let from = 0; from < seededCount; from += 100) await seeded.enqueue(messages.slice(from, from + 100).map((message) => queued(message)));
    expect(await seeded.claim({ limit: 10 })).toHaveLength(10);
    await seeded.close();

    const filler = path.join(mountPoint, 'filler');
    const fd = fillDisk(filler);
    const logs: LogEntry[] = [];
    const worker = await runWorker({ configFile, queueDirectory: queueFolder, port: 0, prepareThreads: 0, env: { HOOK: hook.url }, logger: (entry) => logs.push(entry) });
    try {
      expect((await fetch(`${worker.url}/healthz`)).status).toBe(200);
      const ready = await readyz(worker.url);
      expect(ready.status).toBe(503);
      expect(ready.body.checks.queue).toMatch(/^disk_full: /);
      const refused = await postBatch(worker.url, sampleMessages({ projectId: 'shop', count: 2, seed: 70 }));
      expect(refused.status).toBe(503);
      expect(refused.body.error).toMatchObject({ code: 'queue_unavailable', problem: 'disk_full' });
      await waitFor(() => hook.received.some((body) => body.event === 'queue.unhealthy' && body.problem === 'disk_full'), 10_000, 'the queue.unhealthy alert');
      expect(await metricsOf(worker.url)).toMatch(/^sentcopy_queue_problem\{problem="disk_full"\} 1$/m);
      expect(logs.some((entry) => entry.level === 'error' && entry.event === 'queue.unhealthy' && entry.problem === 'disk_full')).toBe(true);

      // A little space (less than the 16 MiB reserve): claims and acks fit, so what is queued is
      // archived, while new messages are still refused.
      ftruncateSync(fd, fstatSync(fd).size - 4 * mebibyte);
      await waitFor(() => storedKeys(archiveRoot).length === seededCount, 30_000, 'the queued messages to be archived on a nearly full disk');
      expect((await readyz(worker.url)).status).toBe(503);
      expect((await postBatch(worker.url, sampleMessages({ projectId: 'shop', count: 2, seed: 71 }))).status).toBe(503);

      // Space returns: the worker takes messages again by itself.
      closeSync(fd);
      rmSync(filler);
      await waitFor(async () => (await readyz(worker.url)).status === 200, 15_000, 'readiness once space returns');
      const later = sampleMessages({ projectId: 'shop', count: 5, seed: 72 });
      expect((await postBatch(worker.url, later)).status).toBe(202);
      await waitFor(() => storedKeys(archiveRoot).length === seededCount + 5, 15_000, 'the later messages');
      await waitFor(() => hook.received.some((body) => body.event === 'queue.recovered' && body.problem === 'disk_full'), 10_000, 'the queue.recovered alert');
      // The configuration has no recipient_hash_key, so the worker writes the unkeyed layout of earlier versions.
      const archiver = createArchiver({ destination: createFsDestination({ root: newFolder() }), layout: 'sentcopy-unkeyed', retry: false });
      await expectFolderHoldsExactly(archiveRoot, archiver, [...messages, ...later]);
    } finally {
      await worker.stop();
      if (existsSync(filler)) rmSync(filler);
    }
  }, 120_000);
});

describe('the write-ahead log', () => {
  it('is cut back after the queue drains, so a burst does not keep its disk space', async () => {
    const folder = newFolder();
    const queue = await createEmbeddedQueue({ directory: folder });
    const wal = path.join(folder, 'queue.db-wal');
    try {
      // One large batch is one transaction: the log grows to hold all of it.
      const big = Array.from({ length: 8 }, (_, index) => ({ project: 'shop', messageId: `burst-${index}`, payload: Buffer.alloc(3 * mebibyte, 65 + index) }));
      await queue.enqueue(big);
      expect(statSync(wal).size).toBeGreaterThan(20 * mebibyte);
      const claimed = await queue.claim({ limit: 100 });
      expect(claimed).toHaveLength(8);
      for (const message of claimed) expect(await queue.ack(message)).toBe(true);
      await waitFor(() => !existsSync(wal) || statSync(wal).size <= 4 * mebibyte, 15_000, 'the write-ahead log to shrink');
      expect((await queue.stats()).depth).toBe(0);
      expect(queue.health()).toEqual({ ok: true });
    } finally {
      await queue.close();
    }
  }, 30_000);
});
