// archive() through @sentcopy/destination-azure (and write() of prepared objects, the adapter alone)
// against a raw @azure/storage-blob upload loop with the same bodies and headers, both aimed at one
// Azure Blob stub that answers 201 at once (running in a worker thread, so it does not share the
// client's event loop).
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { createArchiver, createPreparePool, sampleMessages } from '@sentcopy/core';
import { createAzureDestination, encodeMetadataName, sha256MetadataName } from '@sentcopy/destination-azure';

if (!isMainThread && workerData?.role === 'azure-stub') {
  const { startAzureStub } = await import('@sentcopy/test-servers');
  const stub = await startAzureStub();
  parentPort.postMessage({ blobEndpoint: stub.blobEndpoint });
  parentPort.on('message', async (message) => {
    if (message === 'stop') {
      await stub.stop();
      parentPort.postMessage({ stopped: true, counts: stub.counts });
    }
  });
}

async function startStubWorker() {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: 'azure-stub' } });
  const { blobEndpoint } = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    blobEndpoint,
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
export async function runAzureBench({ print = console.log, count = 1000, concurrency = 16, rounds = 11 } = {}) {
  const stub = await startStubWorker();
  const container = 'bench';
  const accountName = 'devstoreaccount1';
  // Azurite's published development key: the stub checks no signature, but the SDK signs every request as it would for Azure.
  const accountKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
  // The raw client is configured as the destination configures its own: one try, the same user agent, shared-key signing.
  const raw = new BlobServiceClient(stub.blobEndpoint, new StorageSharedKeyCredential(accountName, accountKey), {
    retryOptions: { maxTries: 1 },
    userAgentOptions: { userAgentPrefix: 'sentcopy' },
  }).getContainerClient(container);
  const destination = createAzureDestination({ container, accountUrl: stub.blobEndpoint, credential: { accountKey } });

  const archiver = createArchiver({ destination, retry: false });
  const pool = createPreparePool();
  const pooled = createArchiver({ destination, retry: false, preparePool: pool });
  const messages = sampleMessages({ projectId: 'bench', count });
  // The raw loop sends exactly the bytes archive() stores, prepared up front, with the same headers.
  const objects = await Promise.all(messages.map((message) => archiver.prepare(message)));
  const rawMetadata = objects.map((object) => ({
    ...Object.fromEntries(Object.entries(object.metadata ?? {}).map(([name, value]) => [encodeMetadataName(name), value])),
    [sha256MetadataName]: object.sha256,
  }));
  const rawItems = objects.map((object, index) => ({ object, metadata: rawMetadata[index] }));
  const sides = [
    { name: 'archive(message) via destination-azure: validate, render, compress, put', run: () => runPool(messages, concurrency, (message) => archiver.archive(message)) },
    { name: `archive(message) with a prepare pool (${pool.threads} thread${pool.threads === 1 ? '' : 's'}): the same work off the event loop`, run: () => runPool(messages, concurrency, (message) => pooled.archive(message)) },
    { name: 'write(prepared) via destination-azure: the adapter alone', run: () => runPool(objects, concurrency, (object) => archiver.write(object)) },
  ];
  const rawPut = ({ object, metadata }) =>
    raw.getBlockBlobClient(object.key).upload(object.body, object.body.byteLength, {
      conditions: { ifNoneMatch: '*' },
      blobHTTPHeaders: { blobContentType: object.contentType, ...(object.contentEncoding === undefined ? {} : { blobContentEncoding: object.contentEncoding }) },
      metadata,
      // Content-MD5, as the destination sends it (computed per request there too).
      transactionalContentMD5: createHash('md5').update(object.body).digest(),
    });

  try {
    // Warm-up, untimed: sockets and JIT on every side.
    for (let pass = 0; pass < 2; pass++) {
      await runPool(rawItems, concurrency, rawPut);
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
          rawMs = await timed(() => runPool(rawItems, concurrency, rawPut));
          sideMs = await timed(side.run);
        } else {
          sideMs = await timed(side.run);
          rawMs = await timed(() => runPool(rawItems, concurrency, rawPut));
        }
        rawRates.push((count / rawMs) * 1000);
        rates[index].push((count / sideMs) * 1000);
        ratios[index].push(rawMs / sideMs);
      }
    }
    const bytes = Math.round(objects.reduce((sum, object) => sum + object.body.byteLength, 0) / objects.length);
    print(
      `\nAzure destination vs raw BlockBlobClient.upload (same bodies and headers: If-None-Match, Content-MD5, content type/encoding and metadata; ${count} sample messages, ~${bytes} B stored on average, ` +
        `concurrency ${concurrency}, Azure Blob stub answering 201 at once in a worker thread, median of ${rounds} alternating rounds)`,
    );
    print('| side | PUT/s | ratio vs raw |');
    print('|---|---:|---:|');
    print(`| raw @azure/storage-blob BlockBlobClient.upload | ${median(rawRates).toFixed(0)} | 1.00 |`);
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

if (isMainThread && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runAzureBench();
