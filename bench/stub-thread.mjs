// A cloud stub from @sentcopy/test-servers answering at once, in a worker thread so it does not
// share the measured client's event loop.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

if (!isMainThread && workerData?.role === 'stub') {
  const servers = await import('@sentcopy/test-servers');
  const stub = await servers[workerData.start]();
  parentPort.postMessage(Object.fromEntries(Object.entries(stub).filter(([, value]) => typeof value === 'string' || typeof value === 'number')));
  parentPort.on('message', async (message) => {
    if (message === 'counts') parentPort.postMessage({ counts: { ...stub.counts } });
    if (message === 'down' || message === 'up') {
      stub.down = message === 'down';
      parentPort.postMessage({ down: stub.down });
    }
    if (message === 'stop') {
      await stub.stop();
      parentPort.postMessage({ stopped: true, counts: stub.counts });
    }
  });
}

/**
 * Starts `start` (e.g. `startS3Stub`) in a thread. Resolves with the stub's addresses (`endpoint`,
 * `blobEndpoint`…), `counts()` (requests by method), `setDown()` (an outage, where the stub has one)
 * and `stop()`.
 */
export async function startStubThread(start) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: 'stub', start } });
  const addresses = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const ask = (question) =>
    new Promise((resolve) => {
      worker.once('message', resolve);
      worker.postMessage(question);
    });
  return {
    ...addresses,
    counts: async () => (await ask('counts')).counts,
    setDown: (down) => ask(down ? 'down' : 'up'),
    async stop() {
      const { counts } = await ask('stop');
      await worker.terminate();
      return counts;
    },
  };
}

/** Runs `work` over `items` with `concurrency` calls in flight. */
export async function runPool(items, concurrency, work) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
