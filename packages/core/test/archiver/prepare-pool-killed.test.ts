import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createArchiver, createPreparePool, sampleMessages, type DestinationV1, type PreparedObject } from '../../src/index.js';

// A prepare thread that dies while it holds messages (killed, out of memory, a native crash): the
// fault is made by terminating the thread right after a batch was posted to it, as the kernel or
// V8 would end it, mid-work.
const destination = { specificationVersion: 'v1', provider: 'none', id: 'none', capabilities: { delete: false, immutability: false, publicAccessCheck: false } } as unknown as DestinationV1;
const encoder = new TextEncoder();
const originalPostMessage = Worker.prototype.postMessage;
afterEach(() => {
  Worker.prototype.postMessage = originalPostMessage;
});

/** Terminates the thread right after its `nth` batch (1-based) was posted to it. */
function killAfterBatch(nth: number): { readonly killed: () => number } {
  let posts = 0;
  let killed = 0;
  Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
    originalPostMessage.apply(this, args);
    if (++posts === nth) {
      killed++;
      void this.terminate();
    }
  };
  return { killed: () => killed };
}

const inputs = (prefix: string, count: number) => sampleMessages({ projectId: 'shop', count, seed: 3 }).map((message) => encoder.encode(JSON.stringify({ ...message, message_id: `${prefix}-${message.message_id}` })));
const facts = (object: PreparedObject) => ({ key: object.key, sha256: object.sha256, contentSha256: object.contentSha256, body: Buffer.from(object.body).toString('base64') });

describe('prepare pool: a thread killed while it holds messages', () => {
  it('fails the messages it held with a clear error (none left waiting), prepares on a new thread afterwards, byte for byte', async () => {
    const threadErrors: Error[] = [];
    const pool = createPreparePool({ threads: 1, onThreadError: (error) => threadErrors.push(error) });
    try {
      const pooled = createArchiver({ destination, layout: 'sentcopy-unkeyed', preparePool: pool, retry: false });
      const here = createArchiver({ destination, layout: 'sentcopy-unkeyed', retry: false });
      // The thread answers once, so it is known to work; then it dies holding the second batch.
      const first = inputs('first', 20);
      expect((await Promise.all(first.map((input) => pooled.prepare(input)))).length).toBe(20);
      const fault = killAfterBatch(1);
      const second = inputs('second', 20);
      const outcomes = await Promise.allSettled(second.map((input) => pooled.prepare(input)));
      expect(fault.killed()).toBe(1);
      const failed = outcomes.filter((outcome) => outcome.status === 'rejected');
      expect(failed.length).toBeGreaterThan(0);
      for (const outcome of failed) expect((outcome as PromiseRejectedResult).reason).toMatchObject({ message: expect.stringMatching(/^A prepare thread stopped unexpectedly \(exit code \d+\)/) });
      // Whatever was answered before the thread died is what the calling thread makes of it.
      for (const [index, outcome] of outcomes.entries()) if (outcome.status === 'fulfilled') expect(facts(outcome.value)).toEqual(facts(await here.prepare(second[index]!)));
      // Not a thread that could not start: nothing is said of it, and the next messages go to a new thread.
      expect(threadErrors).toEqual([]);
      Worker.prototype.postMessage = originalPostMessage;
      const retried = await Promise.all(second.map((input) => pooled.prepare(input)));
      for (const [index, object] of retried.entries()) expect(facts(object)).toEqual(facts(await here.prepare(second[index]!)));
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('prepares here, and says so once, the messages of a thread killed before it ever answered', async () => {
    const threadErrors: Error[] = [];
    const pool = createPreparePool({ threads: 1, onThreadError: (error) => threadErrors.push(error) });
    try {
      const pooled = createArchiver({ destination, layout: 'sentcopy-unkeyed', preparePool: pool, retry: false });
      const here = createArchiver({ destination, layout: 'sentcopy-unkeyed', retry: false });
      const fault = killAfterBatch(1);
      const messages = inputs('early', 20);
      const prepared = await Promise.all(messages.map((input) => pooled.prepare(input)));
      expect(fault.killed()).toBe(1);
      for (const [index, object] of prepared.entries()) expect(facts(object)).toEqual(facts(await here.prepare(messages[index]!)));
      expect(threadErrors.map((error) => error.message)).toEqual([expect.stringMatching(/^A prepare thread stopped unexpectedly \(exit code \d+\)\.$/)]);
    } finally {
      await pool.close();
    }
  }, 60_000);
});
