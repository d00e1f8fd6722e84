// The archive volume is unmounted under a running worker (local-folder destination): messages
// accepted meanwhile stay queued (not dead-lettered, not written to the disk beneath the mount
// point) and all land once the volume is back. Needs root and mount(8); skips with the reason
// otherwise. `SENTCOPY_SOAK=1` runs more messages and several unmount cycles.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sampleMessages } from '@sentcopy/core';
import { afterEach, describe, expect, it } from 'vitest';
import { hashApiKey, runWorker, type RunningWorker, type WorkerConfig } from '../src/index.js';
import { storedKeys, waitFor } from './helpers.js';
import { tempFolders } from './temp-folders.js';

const soak = process.env.SENTCOPY_SOAK === '1';
const perBatch = soak ? 300 : 12;
const cycles = soak ? 3 : 1;
const apiKey = 'sc_volume_test_key_0000000000000000000000000000';
const newFolder = tempFolders('volume');
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function sh(line: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', line], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}
const quote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

const mounted: string[] = [];
const workers: RunningWorker[] = [];
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop().catch(() => undefined);
  for (const target of mounted.splice(0).reverse()) await sh(`umount -l ${quote(target)}`);
});

const mountRefusal = await (async () => {
  if (process.platform !== 'linux') return 'mount tests need Linux';
  const probe = newFolder();
  const result = await sh(`mount -t tmpfs -o size=1m tmpfs ${quote(probe)}`);
  if (result.code !== 0) return `mount -t tmpfs failed: ${result.stderr.trim()}`;
  await sh(`umount ${quote(probe)}`);
  return undefined;
})();
if (mountRefusal !== undefined) console.warn(`[worker] skipping the archive-volume test: ${mountRefusal}`);

async function mount(args: string, target: string): Promise<void> {
  const result = await sh(`mount ${args} ${quote(target)}`);
  if (result.code !== 0) throw new Error(`mount ${args} failed: ${result.stderr}`);
  mounted.push(target);
}

/** Unmounts, retrying while a write still holds a file open on it. */
async function unmount(target: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const result = await sh(`umount ${quote(target)}`);
    if (result.code === 0) break;
    if (attempt > 100) throw new Error(`umount failed: ${result.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  mounted.splice(mounted.lastIndexOf(target), 1);
}

async function metric(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = pattern.exec(text);
  return match === null ? 0 : Number(match[1]);
}

describe.skipIf(mountRefusal !== undefined)('the archive volume goes away under a running worker', () => {
  it(
    'keeps the messages accepted meanwhile queued (none dead-lettered, none written beneath), and archives all of them once it is back',
    async () => {
      const folder = newFolder();
      const disk = path.join(folder, 'disk');
      const volume = path.join(disk, 'volume');
      const root = path.join(folder, 'archive');
      mkdirSync(disk);
      mkdirSync(root);
      await mount('-t tmpfs -o size=64m tmpfs', disk);
      mkdirSync(volume);
      await mount(`--bind ${quote(volume)}`, root);

      const config: WorkerConfig = {
        version: 1,
        destinations: { local: { type: 'fs', root, acknowledge_personal_data: true } },
        projects: { shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
      };
      const configFile = path.join(folder, 'sentcopy.config.json');
      writeFileSync(configFile, JSON.stringify(config));
      const worker = await runWorker({ configFile, queueDirectory: path.join(folder, 'queue'), port: 0, prepareThreads: 0 });
      workers.push(worker);
      const post = async (seed: number) => {
        const messages = sampleMessages({ projectId: 'shop', count: perBatch, seed });
        const response = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) });
        expect(response.status).toBe(202);
        return messages.map((message) => String(message.message_id));
      };
      const deadLetters = async () => ((await (await fetch(`${worker.url}/v1/dead-letters`, { headers: { authorization: `Bearer ${apiKey}` } })).json()) as { total: number }).total;

      const sent = await post(1);
      await waitFor(() => storedKeys(volume).length === sent.length, 30_000, 'the first batch');

      for (let cycle = 0; cycle < cycles; cycle++) {
        await unmount(root);
        const failuresBefore = await metric(worker.url, /^sentcopy_archive_failures_total\{project="shop",kind="unreachable"\} (\d+)$/m);
        sent.push(...(await post(100 + cycle)));
        // Let the worker try (and fail) while the volume is away.
        await waitFor(async () => (await metric(worker.url, /^sentcopy_archive_failures_total\{project="shop",kind="unreachable"\} (\d+)$/m)) >= failuresBefore + perBatch, 60_000, 'failed attempts while unmounted');
        expect(readdirSync(root)).toEqual([]);
        expect(await deadLetters()).toBe(0);
        // The gauge shows the queue as of the previous scrape: poll.
        await waitFor(async () => (await metric(worker.url, /^sentcopy_queue_depth (\d+)$/m)) === perBatch, 10_000, 'the queue depth to show the waiting messages');
        expect(storedKeys(volume).length).toBe(sent.length - perBatch);

        await mount(`--bind ${quote(volume)}`, root);
        await waitFor(() => storedKeys(volume).length === sent.length, 90_000, 'the queued messages after the volume returned');
        await waitFor(async () => (await metric(worker.url, /^sentcopy_queue_depth (\d+)$/m)) === 0, 30_000, 'the queue to drain');
      }

      expect(await deadLetters()).toBe(0);
      // Every acknowledged message is there once, whole: bytes match the recorded SHA-256 and decode to its id.
      const keys = storedKeys(volume);
      const ids: string[] = [];
      for (const key of keys) {
        const bytes = readFileSync(path.join(volume, ...key.split('/')));
        const recorded = (JSON.parse(readFileSync(path.join(volume, '.sentcopy', 'meta', ...key.split('/')), 'utf8')) as { sha256: string }).sha256;
        expect(sha256(bytes)).toBe(recorded);
        ids.push(String((JSON.parse(gunzipSync(bytes).toString('utf8')) as { message_id: string }).message_id));
      }
      expect(ids.sort()).toEqual([...sent].sort());
      expect(new Set(sent).size).toBe(sent.length);
    },
    soak ? 600_000 : 120_000,
  );
});
