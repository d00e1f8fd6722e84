// archive() through @sentcopy/destination-gcs (and write() of prepared objects, the adapter alone)
// against a raw @google-cloud/storage `file.save(body, { resumable: false, ... })` loop with the same
// bodies and metadata, both aimed at one GCS stub that answers at once (running in a worker thread,
// so it does not share the client's event loop).
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Storage } from '@google-cloud/storage';
import { createArchiver, createPreparePool, sampleMessages } from '@sentcopy/core';
import { createGcsDestination, sha256MetadataName } from '@sentcopy/destination-gcs';

if (!isMainThread && workerData?.role === 'gcs-stub') {
  const { startGcsStub } = await import('@sentcopy/test-servers');
  const stub = await startGcsStub();
  parentPort.postMessage({ endpoint: stub.endpoint });
  parentPort.on('message', async (message) => {
    if (message === 'stop') {
      await stub.stop();
      parentPort.postMessage({ stopped: true, counts: stub.counts });
    }
  });
}

async function startStubWorker() {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: 'gcs-stub' } });
  const { endpoint } = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    endpoint,
    async stop() {
      worker.postMessage('stop');
      const { counts } = await new Promise((resolve) => worker.once('message', resolve));
      await worker.terminate();
      return counts;
    },
  };
}

async function runPool(items, concurrency, work) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

async function timed(work) {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Runs the benchmark; returns the figures it printed. */
export async function runGcsBench({ print = console.log, count = 1000, concurrency = 16, rounds = 11 } = {}) {
  const stub = await startStubWorker();
  const bucketName = 'bench';
  // The raw client is configured as the destination configures its own: SDK retries off, same endpoint.
  const raw = new Storage({ apiEndpoint: stub.endpoint, projectId: 'bench', retryOptions: { autoRetry: false } });
  const rawBucket = raw.bucket(bucketName);
  const destination = createGcsDestination({ bucket: bucketName, apiEndpoint: stub.endpoint, projectId: 'bench' });

  const archiver = createArchiver({ destination, retry: false });
  const pool = createPreparePool();
  const pooled = createArchiver({ destination, retry: false, preparePool: pool });
  const messages = sampleMessages({ projectId: 'bench', count });
  // The raw loop sends exactly the bytes archive() stores, prepared up front.
  const objects = await Promise.all(messages.map((message) => archiver.prepare(message)));
  const sides = [
    { name: 'archive(message) via destination-gcs: validate, render, compress, put', run: () => runPool(messages, concurrency, (message) => archiver.archive(message)) },
    { name: `archive(message) with a prepare pool (${pool.threads} thread${pool.threads === 1 ? '' : 's'}): the same work off the event loop`, run: () => runPool(messages, concurrency, (message) => pooled.archive(message)) },
    { name: 'write(prepared) via destination-gcs: the adapter alone', run: () => runPool(objects, concurrency, (object) => archiver.write(object)) },
  ];
  const rawSave = (object) =>
    rawBucket.file(object.key).save(Buffer.from(object.body.buffer, object.body.byteOffset, object.body.byteLength), {
      resumable: false,
      validation: 'crc32c',
      preconditionOpts: { ifGenerationMatch: 0 },
      metadata: {
        contentType: object.contentType,
        ...(object.contentEncoding === undefined ? {} : { contentEncoding: object.contentEncoding }),
        metadata: { ...object.metadata, [sha256MetadataName]: object.sha256 },
      },
    });

  try {
    // Warm-up, untimed: sockets and JIT on every side.
    for (let pass = 0; pass < 2; pass++) {
      await runPool(objects, concurrency, rawSave);
      for (const side of sides) await side.run();
    }
    const rawRates = [];
    const rates = sides.map(() => []);
    const ratios = sides.map(() => []);
    for (let round = 0; round < rounds; round++) {
      // Each side is measured right after its own raw run, in alternating order, so drift on a noisy machine hits both equally.
      for (const [index, side] of sides.entries()) {
        let rawMs;
        let sideMs;
        if (round % 2 === 0) {
          rawMs = await timed(() => runPool(objects, concurrency, rawSave));
          sideMs = await timed(side.run);
        } else {
          sideMs = await timed(side.run);
          rawMs = await timed(() => runPool(objects, concurrency, rawSave));
        }
        rawRates.push((count / rawMs) * 1000);
        rates[index].push((count / sideMs) * 1000);
        ratios[index].push(rawMs / sideMs);
      }
    }
    const bytes = Math.round(objects.reduce((sum, object) => sum + object.body.byteLength, 0) / objects.length);
    print(
      `\nGCS destination vs raw file.save (same bodies and metadata: ifGenerationMatch=0, resumable: false, CRC32C validation, SHA-256 metadata; ${count} sample messages, ~${bytes} B stored on average, ` +
        `concurrency ${concurrency}, GCS stub answering at once in a worker thread, median of ${rounds} alternating rounds)`,
    );
    print('| side | uploads/s | ratio vs raw |');
    print('|---|---:|---:|');
    print(`| raw @google-cloud/storage file.save | ${median(rawRates).toFixed(0)} | 1.00 |`);
    const result = { count, concurrency, rounds, rawRate: median(rawRates), sides: [] };
    for (const [index, side] of sides.entries()) {
      print(`| ${side.name} | ${median(rates[index]).toFixed(0)} | **${median(ratios[index]).toFixed(2)}** |`);
      result.sides.push({ name: side.name, rate: median(rates[index]), ratio: median(ratios[index]) });
    }
    print('target: archive() at least 0.95 of raw (a prepare pool moves validate/render/compress/hash off the thread that writes)');
    return result;
  } finally {
    await pool.close();
    await destination.close();
    await stub.stop();
  }
}

if (isMainThread && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runGcsBench();
