// archive() with the ledger on against off, to the same kind of destination: the ledger's cost.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createArchiver, createLedgerWriter, sampleMessages, sha256RecipientHash } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';

async function withDestination(fsync, run) {
  const root = await mkdtemp(path.join(tmpdir(), 'sentcopy-bench-ledger-'));
  try {
    return await run(createFsDestination({ root, fsync }));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function pool(items, concurrency, work) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/** Archives every message, then closes the archiver (with a ledger: its last segment is written and counted). */
async function archiveAll(messages, fsync, concurrency, withLedger) {
  return withDestination(fsync, async (destination) => {
    const ledger = withLedger ? createLedgerWriter({ destination, recipientHash: sha256RecipientHash }) : undefined;
    const archiver = createArchiver({ destination, ...(ledger === undefined ? {} : { ledger }) });
    const started = performance.now();
    await pool(messages, concurrency, (message) => archiver.archive(message));
    await archiver.close();
    const elapsed = performance.now() - started;
    await ledger?.close();
    return elapsed;
  });
}

/** Runs the benchmark; returns the rows it printed. */
export async function runLedgerBench({ print = console.log, count = 2000, concurrency = 16, rounds = 5 } = {}) {
  const messages = sampleMessages({ projectId: 'bench', count });
  const results = [];
  for (const fsync of [true, false]) {
    const ratios = [];
    let offRate = 0;
    let onRate = 0;
    for (let round = 0; round < rounds; round++) {
      // Alternate which side runs first, so a machine that slows down mid-run favours neither.
      const offFirst = round % 2 === 0;
      const first = await archiveAll(messages, fsync, concurrency, !offFirst);
      const second = await archiveAll(messages, fsync, concurrency, offFirst);
      const [offMs, onMs] = offFirst ? [second, first] : [first, second];
      offRate = (count / offMs) * 1000;
      onRate = (count / onMs) * 1000;
      ratios.push(offMs / onMs);
    }
    ratios.sort((a, b) => a - b);
    results.push({ fsync, offRate, onRate, ratio: ratios[Math.floor(ratios.length / 2)] });
  }
  print(`\narchive() with the ledger on vs off (fs destination, ${count} mixed messages, concurrency ${concurrency}, median of ${rounds} rounds; target ≥ 0.95)`);
  print('| fsync | ledger off msg/s | ledger on msg/s | ratio on/off |');
  print('|---|---:|---:|---:|');
  for (const row of results) print(`| ${row.fsync ? 'on' : 'off'} | ${row.offRate.toFixed(0)} | ${row.onRate.toFixed(0)} | ${row.ratio.toFixed(2)} |`);
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runLedgerBench();

/**
 * The worker end to end (HTTP batches → embedded queue → destination-s3 against a stub that answers
 * at once) with the ledger on (the default: every stored message waits in the queue until its entry
 * is in a written segment) vs off, in alternating rounds of one run. Messages/s until every object
 * is stored.
 */
export async function runWorkerLedgerBench({ print = console.log, count = 4000, batchSize = 100, clients = 4, rounds = 4 } = {}) {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { hashApiKey, runWorker } = await import('@sentcopy/worker');
  const { startStubThread, median } = await import('./stub-thread.mjs');
  const { startProducer } = await import('./worker.mjs');
  const stub = await startStubThread('startS3Stub');
  const apiKey = 'sc_bench_ledger_key_000000000000000000000000000';
  const env = { BENCH_ID: 'AKIABENCHMARK0000001', BENCH_SECRET: 'bench-secret-0000000000000000000000000001', BENCH_RECIPIENT_KEY: 'bench-recipient-key-0123456789' };
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const putsSoFar = async () => (await stub.counts()).PUT ?? 0;
  let run = 0;
  /** One worker with the ledger on or off: a warm-up, then `count` fresh messages timed until stored. */
  const measure = async (ledger) => {
    run++;
    const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-bench-worker-ledger-'));
    const configFile = path.join(folder, 'sentcopy.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        version: 1,
        recipient_hash_key: { env: 'BENCH_RECIPIENT_KEY' },
        destinations: {
          stub: { type: 's3', bucket: 'bench', region: 'us-east-1', endpoint: stub.endpoint, force_path_style: true, access_key_id: { env: 'BENCH_ID' }, secret_access_key: { env: 'BENCH_SECRET' }, acknowledge_personal_data: true },
        },
        projects: { bench: { destination: 'stub', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
        ledger: { enabled: ledger },
      }),
    );
    const worker = await runWorker({ configFile, port: 0, env });
    const producer = startProducer(worker.url, headers, clients);
    const batchesOf = (messages) => {
      const batches = [];
      for (let start = 0; start < messages.length; start += batchSize) batches.push(JSON.stringify(messages.slice(start, start + batchSize)));
      return batches;
    };
    const timed = async (n, tag) => {
      const messages = sampleMessages({ projectId: 'bench', count: n }).map((message) => ({ ...message, message_id: `${tag}-${message.message_id}` }));
      const before = await putsSoFar();
      const started = performance.now();
      await producer.send(batchesOf(messages));
      // Segment PUTs count too: at most one or two in a window this short, so a few objects less out of thousands.
      while ((await putsSoFar()) - before < n) await new Promise((resolve) => setTimeout(resolve, 2));
      return performance.now() - started;
    };
    try {
      await timed(500, `w${run}`);
      return (count / (await timed(count, `m${run}`))) * 1000;
    } finally {
      await producer.stop();
      await worker.stop();
      rmSync(folder, { recursive: true, force: true });
    }
  };
  const ratios = [];
  const on = [];
  const off = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const offFirst = round % 2 === 0;
      const first = await measure(!offFirst);
      const second = await measure(offFirst);
      const [offRate, onRate] = offFirst ? [first, second] : [second, first];
      off.push(offRate);
      on.push(onRate);
      ratios.push(onRate / offRate);
    }
  } finally {
    await stub.stop();
  }
  print(
    `\nWorker end to end with the ledger on vs off (HTTP batches of ${batchSize} from ${clients} clients → embedded queue → destination-s3, S3 stub answering at once; ${count} messages per side, median of ${rounds} alternating rounds; target ≥ 0.95)`,
  );
  print('| ledger | messages/s |');
  print('|---|---:|');
  print(`| off | ${median(off).toFixed(0)} |`);
  print(`| on (default) | ${median(on).toFixed(0)} |`);
  print(`| **ratio on/off** | **${median(ratios).toFixed(2)}** |`);
  return { ratio: median(ratios), on: median(on), off: median(off) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runWorkerLedgerBench();
