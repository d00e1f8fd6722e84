import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createArchiver, sampleMessages } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterEach, describe, expect, it } from 'vitest';
import { hashApiKey, runWorker, type LogEntry } from '../src/index.js';
import { expectFolderHoldsExactly, storedKeys, waitFor } from './helpers.js';
import { tempFolders } from './temp-folders.js';

// The worker's threads (prepare pool, write threads) die while they hold messages: terminated right
// after a batch was posted to them, as a kill or an out-of-memory end would stop them mid-work.
const newFolder = tempFolders('thread-kill');
const originalPostMessage = Worker.prototype.postMessage;
const restore: (() => void)[] = [];
afterEach(() => {
  Worker.prototype.postMessage = originalPostMessage;
  for (const undo of restore.splice(0)) undo();
});

describe('threads killed mid-work in a running worker', () => {
  it('loses nothing: every message is stored byte for byte (the queue retries what a dead thread held), none dead-lettered, the worker still serving', async () => {
    const folder = newFolder();
    const apiKey = 'sc_thread_kill_key_00000000000000000000000000';
    const configFile = path.join(folder, 'sentcopy.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        version: 1,
        destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
        projects: { shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
        // Quick retries, so the test waits for the retried messages, not for the default backoff.
        retry: { outage: { quick_retries: 10, quick_initial_delay_ms: 50, quick_max_delay_ms: 200 } },
      }),
    );
    const logs: LogEntry[] = [];
    const worker = await runWorker({ configFile, port: 0, prepareThreads: 1, writeThreads: true, logger: (entry) => logs.push(entry) });
    const killedThreads: string[] = [];
    try {
      // Every third batch posted to a thread that has answered before ends that thread, four times at
      // most. (One killed before it ever answered counts as a thread that cannot start: its work moves
      // to the main thread, untried, which the write-thread and prepare-pool tests cover.)
      const answered = new WeakSet<Worker>();
      const originalEmit = Worker.prototype.emit;
      Worker.prototype.emit = function (this: Worker, event: string | symbol, ...args: unknown[]) {
        if (event === 'message') answered.add(this);
        return originalEmit.call(this, event, ...args);
      };
      restore.push(() => {
        Worker.prototype.emit = originalEmit;
      });
      let posts = 0;
      Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
        originalPostMessage.apply(this, args);
        if (answered.has(this) && ++posts % 3 === 0 && killedThreads.length < 4) {
          killedThreads.push(String(this.threadId));
          void this.terminate();
        }
      };
      const messages = sampleMessages({ projectId: 'shop', count: 300, seed: 21 });
      for (let start = 0; start < messages.length; start += 50) {
        const answer = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(messages.slice(start, start + 50)) });
        expect(answer.status).toBe(202);
      }
      const root = path.join(folder, 'archive');
      await waitFor(() => storedKeys(root).length === messages.length, 45_000, 'every message to be stored');
      expect(killedThreads.length).toBe(4);
      await expectFolderHoldsExactly(root, createArchiver({ destination: createFsDestination({ root }), layout: 'sentcopy-unkeyed' }), messages);
      expect(logs.filter((entry) => entry.event === 'message.dead_lettered')).toEqual([]);
      // The dead threads held messages: they were retried, as failed attempts that say why.
      const retries = logs.filter((entry) => entry.event === 'message.retry_scheduled').map((entry) => String(entry.reason));
      expect(retries.length).toBeGreaterThan(0);
      for (const reason of retries) expect(reason).toMatch(/(The write thread of destination "local"|A prepare thread) stopped unexpectedly \(exit code \d+\)/);
      // A write thread's death is said once per thread, and is not taken for the destination failing: no pause.
      const stopped = logs.filter((entry) => entry.event === 'destination.write_thread_stopped');
      if (retries.some((reason) => reason.startsWith('The write thread'))) expect(stopped.length).toBeGreaterThan(0);
      expect(stopped.length).toBeLessThanOrEqual(killedThreads.length);
      for (const entry of stopped) expect(entry).toMatchObject({ level: 'error', message: expect.stringMatching(/^The write thread of destination "local" stopped unexpectedly \(exit code \d+\)\. The writes it held are retried/) });
      expect(logs.filter((entry) => ['destination.unhealthy', 'destination.paused'].includes(entry.event))).toEqual([]);
      expect((await fetch(`${worker.url}/healthz`)).status).toBe(200);
    } finally {
      Worker.prototype.postMessage = originalPostMessage;
      for (const undo of restore.splice(0)) undo();
      await worker.stop();
    }
  }, 90_000);
});
