import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createArchiver, readLedger, sampleMessages } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey, type WorkerConfig } from '../src/index.js';
import { buildFixture, removeFixture } from './build-fixture.js';
import { expectFolderHoldsExactly, storedKeys, waitForSettledWorker } from './helpers.js';
import { tempFolders } from './temp-folders.js';

// kill -9 the whole worker (HTTP intake, queue, processor) while a producer streams messages to it
// over HTTP and re-sends whatever was not acknowledged. `pnpm --filter @sentcopy/worker soak` runs more kills.
const soak = process.env.SENTCOPY_SOAK === '1';
const total = soak ? 20_000 : 10_000;
const kills = soak ? 10 : 4;
const batchSize = 100;
const apiKey = 'sc_crash_test_key_0000000000000000000000000000';

const newFolder = tempFolders('http-crash');
let fixture: string | undefined;
beforeAll(async () => {
  fixture = await buildFixture('http-worker-child');
});
afterAll(() => removeFixture(fixture));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function startWorker(configFile: string, port: number): Promise<{ child: ChildProcess; url: string; exited: Promise<unknown> }> {
  const child = fork(fixture!, [configFile, String(port)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    child.once('message', (message: { url: string }) => resolve({ child, url: message.url, exited }));
    void exited.then(() => reject(new Error('The worker exited before it was ready.')));
  });
}

describe('crash safety over HTTP', () => {
  it(
    `stores every message acknowledged with 202 exactly once, and lists it in the ledger exactly once, across ${kills} kill -9s of the worker (${total} messages)`,
    async () => {
      const folder = newFolder();
      const configFile = path.join(folder, 'sentcopy.config.json');
      const config: WorkerConfig = {
        version: 1,
        destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
        projects: { crash: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
      };
      writeFileSync(configFile, JSON.stringify(config));
      const port = await freePort();
      const messages = sampleMessages({ projectId: 'crash', count: total, seed: 23 });
      const batches: string[] = [];
      for (let start = 0; start < total; start += batchSize) batches.push(JSON.stringify(messages.slice(start, start + batchSize)));

      let worker = await startWorker(configFile, port);
      const acknowledged = new Set<string>();
      let refusedWhileDown = 0;
      let producing = true;
      const producer = (async () => {
        for (const body of batches) {
          // A producer re-sends until it gets an answer: a batch cut off by a crash may or may not be stored.
          for (;;) {
            try {
              const response = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body });
              const answer = (await response.json()) as { results: { message_id: string; status: string }[] };
              expect(response.status).toBe(202);
              for (const result of answer.results) if (result.status === 'accepted' || result.status === 'duplicate') acknowledged.add(result.message_id);
              break;
            } catch (error) {
              if ((error as Error).name === 'AssertionError') throw error;
              refusedWhileDown++;
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          }
        }
        producing = false;
      })();

      for (let kill = 0; kill < kills; kill++) {
        await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 900));
        worker.child.kill('SIGKILL');
        await worker.exited;
        worker = await startWorker(configFile, port);
      }
      await producer;
      expect(producing).toBe(false);
      expect(acknowledged.size).toBe(total);

      const root = path.join(folder, 'archive');
      // Slow is allowed on a loaded machine; stuck is not: fail when nothing new is stored for 60 s.
      for (let stored = storedKeys(root).length, since = Date.now(); stored < total; ) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        const now = storedKeys(root).length;
        if (now > stored) [stored, since] = [now, Date.now()];
        else if (Date.now() - since > 60_000) throw new Error(`Stuck at ${stored} of ${total} stored.`);
      }
      await waitForSettledWorker(worker.url, 60_000);
      worker.child.kill('SIGTERM');
      await worker.exited;
      // The configuration above has no recipient_hash_key, so the worker writes the unkeyed layout of earlier versions.
      const archiver = createArchiver({ layout: 'sentcopy-unkeyed', destination: createFsDestination({ root: newFolder() }), retry: false });
      await expectFolderHoldsExactly(root, archiver, messages);
      // The ledger: one chain (its writer id kept in the queue's folder across the kills), valid, and
      // listing every stored object; entries re-appended after a kill are counted once.
      const ledger = await readLedger(createFsDestination({ root }));
      expect(ledger.problems).toEqual([]);
      expect(ledger.chains).toHaveLength(1);
      expect([...ledger.entries.keys()].sort()).toEqual(storedKeys(root));
      expect(ledger.entries.size).toBe(total);
      console.info(`http-crash ledger: ${total} messages, ${kills} kills, ${ledger.chains[0]!.segments} segments, ${ledger.chains[0]!.entries} entry lines, ${ledger.duplicates} counted duplicates`);
      // The kills must have hit while messages were in flight, or the test proves nothing.
      expect(refusedWhileDown).toBeGreaterThan(0);
    },
    soak ? 600_000 : 180_000,
  );
});
