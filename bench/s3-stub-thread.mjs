// An S3 stub answering at once, in a worker thread so it does not share the measured client's event loop.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

if (!isMainThread && workerData?.role === 's3-stub') {
  const { startS3Stub } = await import('@sentcopy/test-servers');
  const stub = await startS3Stub();
  parentPort.postMessage({ endpoint: stub.endpoint });
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

/** Starts the stub thread; `counts()` reads its request counts by method, `setDown()` switches an outage, `stop()` ends it. */
export async function startS3StubThread() {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: 's3-stub' } });
  const { endpoint } = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const ask = (question) =>
    new Promise((resolve) => {
      worker.once('message', resolve);
      worker.postMessage(question);
    });
  return {
    endpoint,
    counts: async () => (await ask('counts')).counts,
    /** Makes every request fail with 500 InternalError (`true`) or answer normally again. */
    setDown: (down) => ask(down ? 'down' : 'up'),
    async stop() {
      const { counts } = await ask('stop');
      await worker.terminate();
      return counts;
    },
  };
}
