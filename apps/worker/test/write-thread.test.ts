import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createArchiver, DestinationError, sampleMessages, type DestinationV1, type PutObjectInput } from '@sentcopy/core';
import { afterEach, describe, expect, it } from 'vitest';
import { buildDestination, hashApiKey, runWorker, type LogEntry } from '../src/index.js';
import { createWriteThread, WriteThreadStoppedError } from '../src/write-thread/index.js';
import type { DestinationConfig } from '../src/config/worker-config.js';
import { expectFolderHoldsExactly, sha256, storedKeys, waitFor } from './helpers.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('sentcopy-write-thread-');
const fsPackageDir = fileURLToPath(new URL('../../../packages/destination-fs', import.meta.url));
const shyPackage = '@acme/sentcopy-destination-shy';

/**
 * Installs a third-party destination next to `folder`: the fs destination under `root`, which in a
 * worker thread (never on the main thread) refuses to be built (`refuse_threads`), stops its
 * thread on a write whose key holds `exit-thread`, and holds a write whose key holds `hang` until
 * it is aborted. Faults a real store cannot be asked for on cue.
 */
function installShyPackage(folder: string): void {
  const modules = path.join(folder, 'node_modules');
  const packageDir = path.join(modules, ...shyPackage.split('/'));
  mkdirSync(packageDir, { recursive: true });
  writeFileSync(path.join(packageDir, 'package.json'), JSON.stringify({ name: shyPackage, version: '1.0.0', type: 'module', exports: { '.': { import: './index.js' } } }));
  writeFileSync(
    path.join(packageDir, 'index.js'),
    `import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { createFsDestination } from '@sentcopy/destination-fs';
export const destinationDescriptor = {
  specificationVersion: 'v1',
  type: '${shyPackage}',
  packageName: '${shyPackage}',
  title: 'A destination with faults on cue (a test package)',
  settingsSchema: {
    type: 'object',
    properties: { root: { type: 'string', 'x-path': true }, refuse_threads: { type: 'boolean' }, token: { 'x-secret': true } },
    required: ['root'],
    additionalProperties: false,
  },
  options: [],
  describeLocation: (settings) => settings.root,
  create(settings, context) {
    if (context.readSecret('token') !== 'open-sesame') throw new Error('the token is wrong');
    if (settings.refuse_threads === true && !isMainThread) throw new Error('this store refuses to be opened from a thread');
    const inner = createFsDestination({ root: settings.root, fsync: false });
    return {
      ...inner,
      put(input, options) {
        if (!isMainThread && input.key.includes('exit-thread')) process.exit(7);
        if (input.key.includes('hang')) {
          return new Promise((resolve, reject) => {
            const signal = options?.signal;
            if (signal === undefined) return;
            if (signal.aborted) return reject(signal.reason);
            signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          });
        }
        return inner.put(input, options);
      },
    };
  },
};
`,
  );
  mkdirSync(path.join(modules, '@sentcopy'), { recursive: true });
  symlinkSync(fsPackageDir, path.join(modules, '@sentcopy', 'destination-fs'), 'dir');
}

const env = { ...process.env, SHY_TOKEN: 'open-sesame' };

/** The shy destination built on this thread, with its writes counted, and a write-thread view of it. */
async function shyDestination(settings: Record<string, unknown> = {}): Promise<{ root: string; here: DestinationV1; herePuts: () => number; view: DestinationV1; threadErrors: string[]; threadStops: string[] }> {
  const folder = newFolder();
  installShyPackage(folder);
  const config = { type: shyPackage, root: 'objects', token: { env: 'SHY_TOKEN' }, acknowledge_personal_data: true, ...settings } as DestinationConfig;
  const built = await buildDestination('shy', config, { baseDir: folder, env });
  let puts = 0;
  const here: DestinationV1 = { ...built, put: (input, options) => (puts++, built.put(input, options)) };
  const threadErrors: string[] = [];
  const threadStops: string[] = [];
  const view = createWriteThread(here, { name: 'shy', config, baseDir: folder, env }, { onThreadError: (error) => threadErrors.push(error.message), onThreadStopped: (error) => threadStops.push(error.message) });
  closing.push(view);
  return { root: path.join(folder, 'objects'), here, herePuts: () => puts, view, threadErrors, threadStops };
}

const closing: DestinationV1[] = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((view) => view.close?.()));
});

const object = (key: string, text: string): PutObjectInput => {
  const body = new TextEncoder().encode(text);
  return { key, body, sha256: sha256(body), contentType: 'text/plain', metadata: { note: `of ${key}` } };
};

describe('write thread: a destination whose writes run on a thread of their own', () => {
  it('writes from the thread, with the same bytes and answers, and keeps every other call on this thread', async () => {
    const { root, herePuts, view, threadErrors } = await shyDestination();
    const inputs = Array.from({ length: 40 }, (_, index) => object(`a/${index}.txt`, `body ${index} ${'x'.repeat(index * 50)}`));
    const results = await Promise.all(inputs.map((input) => view.put(input)));
    expect(results).toEqual(inputs.map((input) => ({ key: input.key, size: input.body.byteLength, sha256: input.sha256, created: true })));
    // Not one write went through this thread's instance, yet every object is there, byte for byte.
    expect(herePuts()).toBe(0);
    for (const input of inputs) expect(readFileSync(path.join(root, input.key))).toEqual(Buffer.from(input.body));
    // Reads stay here (the same instance, the same store), and see what the thread wrote.
    expect((await view.head('a/3.txt'))?.metadata).toEqual({ note: 'of a/3.txt' });
    expect(await view.put(inputs[0] as PutObjectInput)).toMatchObject({ created: false });
    expect(threadErrors).toEqual([]);
  });

  it('answers a refused write with the same DestinationError the destination throws (kind, provider, key)', async () => {
    const { view, here } = await shyDestination();
    await view.put(object('b/one.txt', 'first'));
    const fromThread = await view.put(object('b/one.txt', 'second')).catch((error: unknown) => error);
    const fromHere = await here.put(object('b/one.txt', 'second')).catch((error: unknown) => error);
    expect(DestinationError.isInstance(fromThread)).toBe(true);
    const fields = (error: unknown) => {
      const { kind, provider, key, status, code, message } = error as DestinationError;
      return { kind, provider, key, status, code, message };
    };
    expect(fields(fromThread)).toEqual(fields(fromHere));
    expect((fromThread as DestinationError).kind).toBe('conflict');
  });

  it('writes here when the destination cannot be built in a thread, and says so once', async () => {
    const { root, herePuts, view, threadErrors } = await shyDestination({ refuse_threads: true });
    const inputs = Array.from({ length: 12 }, (_, index) => object(`c/${index}.txt`, `body ${index}`));
    const results = await Promise.all(inputs.map((input) => view.put(input)));
    expect(results.map((result) => result.created)).toEqual(inputs.map(() => true));
    expect(herePuts()).toBe(12);
    expect(storedKeys(root)).toEqual(inputs.map((input) => input.key).sort());
    expect(threadErrors).toHaveLength(1);
    expect(threadErrors[0]).toMatch(/^Destination "shy" cannot be built in a write thread: this store refuses to be opened from a thread\.$/);
    // Later writes do not try a thread per write: still here, still one report.
    await view.put(object('c/late.txt', 'late'));
    expect(herePuts()).toBe(13);
    expect(threadErrors).toHaveLength(1);
  });

  it('fails the writes a stopped thread held, with a sentence saying so, and writes the next ones from a new thread', async () => {
    const { root, herePuts, view, threadErrors, threadStops } = await shyDestination();
    await view.put(object('d/before.txt', 'before'));
    const held = [view.put(object('d/exit-thread.txt', 'stops the thread')), view.put(object('d/beside.txt', 'posted in the same batch'))];
    const [stopping, beside] = (await Promise.allSettled(held)) as [PromiseSettledResult<unknown>, PromiseSettledResult<unknown>];
    expect(stopping).toMatchObject({ status: 'rejected', reason: { message: 'The write thread of destination "shy" stopped unexpectedly (exit code 7)' } });
    // Not the destination's failure: the processor retries it without counting it against the destination's health.
    expect(WriteThreadStoppedError.isInstance((stopping as PromiseRejectedResult).reason)).toBe(true);
    expect(threadStops).toEqual(['The write thread of destination "shy" stopped unexpectedly (exit code 7).']);
    // Its neighbour either landed before the exit or failed with it: never answered without being stored.
    if (beside.status === 'fulfilled') expect(storedKeys(root)).toContain('d/beside.txt');
    else expect(beside.reason).toMatchObject({ message: expect.stringMatching(/stopped unexpectedly/) });
    expect(await view.put(object('d/after.txt', 'after'))).toMatchObject({ created: true });
    expect(storedKeys(root)).toEqual(expect.arrayContaining(['d/before.txt', 'd/after.txt']));
    expect(herePuts()).toBe(0);
    // It had answered before it stopped: that is not a thread that cannot start.
    expect(threadErrors).toEqual([]);
  });

  it('writes here what cannot be posted to the thread, instead of leaving it unanswered', async () => {
    const { root, herePuts, view } = await shyDestination();
    const odd = { ...object('f/odd.txt', 'odd'), metadata: { note: (() => 'a function') as unknown as string } };
    // Both settle (a lost post would leave them waiting until the test times out): the batch they were posted in is written here.
    const [, plain] = await Promise.allSettled([view.put(odd), view.put(object('f/plain.txt', 'plain'))]);
    expect(herePuts()).toBe(2);
    expect(plain).toMatchObject({ status: 'fulfilled', value: { key: 'f/plain.txt', created: true } });
    expect(storedKeys(root)).toContain('f/plain.txt');
    expect(await view.put(object('f/after.txt', 'after'))).toMatchObject({ created: true });
    expect(herePuts()).toBe(2);
  });

  it("aborts a write in the thread when the caller's signal aborts, with the caller's reason", async () => {
    const { view } = await shyDestination();
    const controller = new AbortController();
    const write = view.put(object('e/hang.txt', 'never answered'), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stopping')), 50);
    await expect(write).rejects.toThrow('stopping');
    // An already aborted signal fails at once; the thread still writes.
    const aborted = AbortSignal.abort(new Error('too late'));
    await expect(view.put(object('e/x.txt', 'x'), { signal: aborted })).rejects.toThrow('too late');
    expect(await view.put(object('e/y.txt', 'y'))).toMatchObject({ created: true });
  });
});

describe('write thread in the worker', () => {
  it('archives byte for byte through the write threads, secrets read in the thread, and through the main thread for a destination a thread cannot build', async () => {
    const folder = newFolder();
    installShyPackage(folder);
    const apiKey = 'sc_write_thread_key_0000000000000000000000000';
    const configFile = path.join(folder, 'sentcopy.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        version: 1,
        destinations: {
          threaded: { type: shyPackage, root: 'threaded', token: { env: 'SHY_TOKEN' }, acknowledge_personal_data: true },
          shy: { type: shyPackage, root: 'shy', refuse_threads: true, token: { env: 'SHY_TOKEN' }, acknowledge_personal_data: true },
        },
        projects: {
          one: { destination: 'threaded', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] },
          two: { destination: 'shy', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(`${apiKey}2`) }] },
        },
      }),
    );
    const logs: LogEntry[] = [];
    const worker = await runWorker({ configFile, port: 0, writeThreads: true, env, logger: (entry) => logs.push(entry) });
    try {
      const batches = [
        { key: apiKey, messages: sampleMessages({ projectId: 'one', count: 24 }), root: path.join(folder, 'threaded') },
        { key: `${apiKey}2`, messages: sampleMessages({ projectId: 'two', count: 24 }), root: path.join(folder, 'shy') },
      ];
      for (const { key, messages } of batches) {
        const answer = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) });
        expect(answer.status).toBe(202);
      }
      for (const { messages, root } of batches) {
        await waitFor(() => storedKeys(root).length === messages.length, 20_000, `the messages in ${root}`);
        await expectFolderHoldsExactly(root, createArchiver({ destination: (await import('@sentcopy/destination-fs')).createFsDestination({ root }), layout: 'sentcopy-unkeyed' }), messages);
      }
      const failures = logs.filter((entry) => entry.event === 'destination.write_thread_failed');
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({
        level: 'error',
        message: expect.stringMatching(/^Destination "shy" cannot be built in a write thread: this store refuses to be opened from a thread\. Its writes run on the main thread meanwhile/),
      });
      expect(logs.filter((entry) => entry.event === 'message.retry_scheduled' || entry.event === 'message.dead_lettered')).toEqual([]);
      expect(JSON.stringify(logs)).not.toContain('open-sesame');
    } finally {
      await worker.stop();
    }
  }, 60_000);
});
