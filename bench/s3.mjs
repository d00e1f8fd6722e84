// archive() through @sentcopy/destination-s3 (and write() of prepared objects, the adapter alone)
// against a raw PutObjectCommand loop with the same bodies and headers, both aimed at one S3 stub that
// answers 200 at once (running in a worker thread, so it does not share the client's event loop).
import { pathToFileURL } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createArchiver, createPreparePool, sampleMessages } from '@sentcopy/core';
import { createS3Destination, sha256MetadataName } from '@sentcopy/destination-s3';
import { startS3StubThread } from './s3-stub-thread.mjs';

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
export async function runS3Bench({ print = console.log, count = 1000, concurrency = 16, rounds = 11 } = {}) {
  const stub = await startS3StubThread();
  const bucket = 'bench';
  const credentials = { accessKeyId: 'AKIABENCHMARK0000001', secretAccessKey: 'bench-secret-0000000000000000000000000001' };
  const clientSettings = { region: 'us-east-1', endpoint: stub.endpoint, forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED' };
  const agent = { keepAlive: true, maxSockets: 64 };
  // The raw client is configured as the destination configures its own: one attempt, keep-alive, same timeouts.
  const raw = new S3Client({ ...clientSettings, maxAttempts: 1, requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000, throwOnRequestTimeout: true, httpAgent: agent, httpsAgent: agent } });
  const destination = createS3Destination({ ...clientSettings, bucket });

  const archiver = createArchiver({ destination, retry: false });
  const pool = createPreparePool();
  const pooled = createArchiver({ destination, retry: false, preparePool: pool });
  const messages = sampleMessages({ projectId: 'bench', count });
  // The raw loop sends exactly the bytes archive() stores, prepared up front.
  const objects = await Promise.all(messages.map((message) => archiver.prepare(message)));
  const sides = [
    { name: 'archive(message) via destination-s3: validate, render, compress, put', run: () => runPool(messages, concurrency, (message) => archiver.archive(message)) },
    { name: `archive(message) with a prepare pool (${pool.threads} thread${pool.threads === 1 ? '' : 's'}): the same work off the event loop`, run: () => runPool(messages, concurrency, (message) => pooled.archive(message)) },
    { name: 'write(prepared) via destination-s3: the adapter alone', run: () => runPool(objects, concurrency, (object) => archiver.write(object)) },
  ];
  const rawPut = (object) =>
    raw.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: object.key,
        Body: object.body,
        ContentLength: object.body.byteLength,
        ContentType: object.contentType,
        ...(object.contentEncoding === undefined ? {} : { ContentEncoding: object.contentEncoding }),
        Metadata: { ...object.metadata, [sha256MetadataName]: object.sha256 },
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: Buffer.from(object.sha256, 'hex').toString('base64'),
        IfNoneMatch: '*',
      }),
    );

  try {
    // Warm-up, untimed: sockets, JIT and credential resolution on every side.
    for (let pass = 0; pass < 2; pass++) {
      await runPool(objects, concurrency, rawPut);
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
          rawMs = await timed(() => runPool(objects, concurrency, rawPut));
          sideMs = await timed(side.run);
        } else {
          sideMs = await timed(side.run);
          rawMs = await timed(() => runPool(objects, concurrency, rawPut));
        }
        rawRates.push((count / rawMs) * 1000);
        rates[index].push((count / sideMs) * 1000);
        ratios[index].push(rawMs / sideMs);
      }
    }
    const bytes = Math.round(objects.reduce((sum, object) => sum + object.body.byteLength, 0) / objects.length);
    print(
      `\nS3 destination vs raw PutObject (same bodies and headers: If-None-Match, SHA-256 checksum and metadata; ${count} sample messages, ~${bytes} B stored on average, ` +
        `concurrency ${concurrency}, S3 stub answering 200 at once in a worker thread, median of ${rounds} alternating rounds)`,
    );
    print('| side | PUT/s | ratio vs raw |');
    print('|---|---:|---:|');
    print(`| raw @aws-sdk/client-s3 PutObjectCommand | ${median(rawRates).toFixed(0)} | 1.00 |`);
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
    raw.destroy();
    await stub.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runS3Bench();
