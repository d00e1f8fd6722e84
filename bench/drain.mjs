// A backlog drain: N messages are queued while the worker is stopped (through the worker's own
// embedded queue, not over HTTP, so filling it is quick), then `runWorker()` starts against the S3
// stub that answers at once (in a worker thread) and is timed until the queue is empty. Baseline in
// the same run: the same messages, prepared beforehand, written by a raw PutObjectCommand loop at
// the worker's concurrency. `node bench/drain.mjs [N] [--drain-only]`; N defaults to 100,000
// (1,000,000 with SENTCOPY_BENCH_LARGE=1); `--drain-only` skips the raw loop (to profile the drain:
// `node --cpu-prof --cpu-prof-dir=DIR bench/drain.mjs 20000 --drain-only`); part of `pnpm bench`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createArchiver, sampleMessages } from '@sentcopy/core';
import { createS3Destination } from '@sentcopy/destination-s3';
import { createEmbeddedQueue, hashApiKey, runWorker } from '@sentcopy/worker';
import { benchRecipientKey, busyShare, cpuTimes, rawS3, stubWorkerConfig, stubWorkerEnv } from './s3.mjs';
import { runPool, startStubThread } from './stub-thread.mjs';

const defaultCount = process.env.SENTCOPY_BENCH_LARGE === '1' ? 1_000_000 : 100_000;

async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** The messages of the backlog, `size` at a time: SMS-sized (as in worker-backlog.mjs), unique ids. */
function* messageChunks(count, size) {
  const [template] = sampleMessages({ projectId: 'bench', count: 8 }).filter((message) => message.channel === 'sms');
  for (let from = 0; from < count; from += size) {
    const chunk = [];
    for (let index = from; index < Math.min(count, from + size); index++) chunk.push({ ...template, message_id: `drain-${index}` });
    yield chunk;
  }
}

/** Runs the benchmark; returns the figures it printed. */
export async function runDrainBench({ print = console.log, count = defaultCount, concurrency = 32, chunkSize = 10_000, rawLoop = true } = {}) {
  const stub = await startStubThread('startS3Stub');
  const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-bench-drain-'));
  const queueDirectory = path.join(folder, 'queue');
  const bucket = 'bench';
  const configFile = path.join(folder, 'sentcopy.config.json');
  writeFileSync(configFile, JSON.stringify(stubWorkerConfig(stub.endpoint, bucket, hashApiKey('sc_drain_bench_key_00000000000000000000000000'))));
  const { clientSettings, raw, rawPut } = rawS3(stub.endpoint, bucket);
  const preparer = createArchiver({ destination: createS3Destination({ ...clientSettings, bucket }), recipientKey: benchRecipientKey, retry: false });
  let worker;
  try {
    // 1. The baseline: every message of the backlog through the raw SDK loop, prepared a chunk at a time (preparing is not timed).
    let rawMs = 0;
    const rawCpu = cpuTimes();
    for (const chunk of rawLoop ? messageChunks(count, chunkSize) : []) {
      const objects = await Promise.all(chunk.map((message) => preparer.prepare(message)));
      const started = performance.now();
      await runPool(objects, concurrency, rawPut);
      rawMs += performance.now() - started;
    }
    const rawBusy = busyShare(rawCpu);
    const putsBefore = (await stub.counts()).PUT ?? 0;

    // 2. The backlog, queued through the worker's own queue while no worker runs.
    const fillStarted = performance.now();
    const queue = await createEmbeddedQueue({ directory: queueDirectory });
    try {
      for (const chunk of messageChunks(count, 1000)) {
        const results = await queue.enqueue(chunk.map((message) => ({ project: 'bench', messageId: message.message_id, payload: JSON.stringify(message) })));
        if (results.some((result) => result.status !== 'accepted')) throw new Error('the queue refused part of the backlog');
      }
      const { depth } = await queue.stats();
      if (depth !== count) throw new Error(`the queue holds ${depth} messages, not ${count}`);
    } finally {
      await queue.close();
    }
    const fillSeconds = (performance.now() - fillStarted) / 1000;

    // 3. The drain: from starting the worker until every message is archived and the queue is empty.
    const drainCpu = cpuTimes();
    const processCpu = process.cpuUsage();
    const started = performance.now();
    worker = await runWorker({ configFile, queueDirectory, port: 0, concurrencyPerDestination: concurrency, env: stubWorkerEnv });
    let lastReport = 0;
    for (;;) {
      const archived = await metric(worker.url, 'sentcopy_messages_archived_total');
      if (archived >= count && (await metric(worker.url, 'sentcopy_queue_depth')) === 0) break;
      if (archived - lastReport >= count / 10) {
        lastReport = archived;
        process.stderr.write(`  drain: ${archived} of ${count} archived\n`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const drainMs = performance.now() - started;
    const drainBusy = busyShare(drainCpu);
    const { user, system } = process.cpuUsage(processCpu);
    const cpuPerMessage = (user + system) / count;
    const workerPuts = ((await stub.counts()).PUT ?? 0) - putsBefore;
    const deadLetters = await metric(worker.url, 'sentcopy_dead_letters');

    const rawRate = (count / rawMs) * 1000;
    const drainRate = (count / drainMs) * 1000;
    print(
      `\nBacklog drain: ${count} SMS-sized messages queued in the embedded queue while the worker was stopped (filled in ${fillSeconds.toFixed(1)} s, not over HTTP), then runWorker() against the S3 stub answering at once (in a worker thread), concurrency ${concurrency}, timed from start until the queue is empty; baseline: the same messages, prepared beforehand, by a raw PutObjectCommand loop at the same concurrency, in the same run`,
    );
    print('| side | messages/s | ratio vs raw | machine CPU busy |');
    print('|---|---:|---:|---:|');
    if (rawLoop) print(`| raw PutObjectCommand loop (${(rawMs / 1000).toFixed(1)} s) | ${rawRate.toFixed(0)} | 1.00 | ${(rawBusy * 100).toFixed(0)}% |`);
    print(
      `| worker draining the backlog (${(drainMs / 1000).toFixed(1)} s, start-up included; ${workerPuts} PUTs with the probe and ledger segments, ${deadLetters} dead letters; process CPU ${cpuPerMessage.toFixed(0)} µs per message, every thread) | ${drainRate.toFixed(0)} | **${rawLoop ? (drainRate / rawRate).toFixed(2) : '—'}** | ${(drainBusy * 100).toFixed(0)}% |`,
    );
    print("target (issue #17): a drain at least 3× what it was before the lean write path, when the worker drained at about the raw SDK loop's rate (worker-backlog.mjs, 2026-11-23: 1,228 messages/s): read the ratio against 3");
    return { count, rawRate, drainRate, ratio: drainRate / rawRate, cpuPerMessage, fillSeconds, workerPuts, deadLetters, rawBusyShare: rawBusy, drainBusyShare: drainBusy };
  } finally {
    await worker?.stop();
    raw.destroy();
    await stub.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const count = args.find((arg) => /^\d+$/.test(arg));
  await runDrainBench({ ...(count === undefined ? {} : { count: Number(count) }), rawLoop: !args.includes('--drain-only') });
}
