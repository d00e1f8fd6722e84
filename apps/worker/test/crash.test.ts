import { fork, type ChildProcess } from 'node:child_process';
import { createArchiver, sampleMessages } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, type QueueStats } from '../src/index.js';
import { buildFixture, removeFixture } from './build-fixture.js';
import { expectFolderHoldsExactly } from './helpers.js';
import { tempFolders } from './temp-folders.js';

// `pnpm --filter @sentcopy/worker soak` runs the heavy version (SENTCOPY_SOAK=1).
const soak = process.env.SENTCOPY_SOAK === '1';
const total = soak ? 10_000 : 2_000;
const kills = soak ? 10 : 3;
const batchSize = 50;
const seed = 11;

const newFolder = tempFolders('crash');
let fixture: string | undefined;
beforeAll(async () => {
  fixture = await buildFixture('crash-child');
});
afterAll(() => removeFixture(fixture));

type Reply = { type: 'ready'; stats: QueueStats } | { type: 'enqueued'; from: number; to: number; accepted: number } | { type: 'stats'; stats: QueueStats };

/** One child process and its replies; `next()` resolves with the next reply of a type, or `undefined` once the child has exited. */
function startChild(queueFolder: string, archiveFolder: string) {
  const child: ChildProcess = fork(fixture!, [queueFolder, archiveFolder, String(total), String(seed)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let alive = true;
  void exited.then(() => (alive = false));
  const next = <T extends Reply['type']>(type: T): Promise<Extract<Reply, { type: T }> | undefined> =>
    new Promise((resolve) => {
      const onMessage = (reply: Reply) => {
        if (reply.type !== type) return;
        child.off('message', onMessage);
        resolve(reply as Extract<Reply, { type: T }>);
      };
      child.on('message', onMessage);
      void exited.then(() => {
        child.off('message', onMessage);
        resolve(undefined);
      });
    });
  const request = <T extends Reply['type']>(message: object, type: T) => {
    if (!alive) return Promise.resolve(undefined);
    const reply = next(type);
    child.send(message, (error) => error && undefined);
    return reply;
  };
  return { child, exited, next, request, stderr: () => stderr };
}

describe('crash safety', () => {
  it(
    `stores every acknowledged message exactly once across ${kills} kill -9s (${total} messages)`,
    async () => {
      const queueFolder = newFolder();
      const archiveFolder = newFolder();
      let acknowledged = 0; // messages [0, acknowledged) were acknowledged to the producer: durably enqueued
      let interruptedEnqueues = 0;
      const backlogAtRestart: number[] = [];

      for (let run = 0; run <= kills; run++) {
        const worker = startChild(queueFolder, archiveFolder);
        const ready = await worker.next('ready');
        if (!ready) throw new Error(`The worker did not start:\n${worker.stderr()}`);
        if (run > 0) backlogAtRestart.push(ready.stats.depth);
        expect(ready.stats.deadLetters).toBe(0);

        if (run < kills) {
          const timer = setTimeout(() => worker.child.kill('SIGKILL'), 100 + Math.random() * 800);
          while (acknowledged < total) {
            const to = Math.min(total, acknowledged + batchSize);
            const reply = await worker.request({ type: 'enqueue', from: acknowledged, to }, 'enqueued');
            if (!reply) {
              interruptedEnqueues++;
              break;
            }
            acknowledged = reply.to;
            // A producer paced over the run, so kills land during enqueues as well as during archiving.
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
          }
          const { signal } = await worker.exited;
          clearTimeout(timer);
          expect(signal, worker.stderr()).toBe('SIGKILL');
          continue;
        }

        while (acknowledged < total) {
          const reply = await worker.request({ type: 'enqueue', from: acknowledged, to: Math.min(total, acknowledged + batchSize) }, 'enqueued');
          if (!reply) throw new Error(`The worker died:\n${worker.stderr()}`);
          acknowledged = reply.to;
        }
        for (;;) {
          const reply = await worker.request({ type: 'stats' }, 'stats');
          if (!reply) throw new Error(`The worker died:\n${worker.stderr()}`);
          if (reply.stats.depth === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        worker.child.send({ type: 'stop' });
        expect((await worker.exited).code, worker.stderr()).toBe(0);
        expect(worker.stderr()).toBe('');
      }

      // Kills must have landed mid-work for the test to mean anything.
      expect(backlogAtRestart.some((depth) => depth > 0)).toBe(true);
      expect(interruptedEnqueues + backlogAtRestart.filter((depth) => depth > 0).length).toBeGreaterThanOrEqual(kills);

      const messages = sampleMessages({ projectId: 'crash', count: total, seed });
      const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root: archiveFolder }), retry: false });
      await expectFolderHoldsExactly(archiveFolder, archiver, messages);
      const queue = await createEmbeddedQueue({ directory: queueFolder });
      expect(await queue.stats()).toMatchObject({ depth: 0, inFlight: 0, deadLetters: 0 });
      await queue.close();
    },
    soak ? 900_000 : 60_000,
  );
});
