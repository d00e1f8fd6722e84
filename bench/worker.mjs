// The worker end to end, against an S3 stub that answers at once (in a worker thread):
// 1. HTTP batch intake → durable queue → destination, vs a raw PutObjectCommand loop of the same bodies;
// 2. the before-send gate (POST /v1/archive) latency added over a raw PUT, p50 and p99.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createArchiver, sampleMessages } from '@sentcopy/core';
import { createS3Destination } from '@sentcopy/destination-s3';
import { hashApiKey, runWorker } from '@sentcopy/worker';
import { benchRecipientKey, busyShare, cpuTimes, rawS3, stubWorkerConfig, stubWorkerEnv } from './s3.mjs';
import { median, runPool, startStubThread } from './stub-thread.mjs';

const apiKey = 'sc_bench_key_00000000000000000000000000000000';

// The producer runs in its own thread, as it would in its own process: its HTTP client must not share the worker's event loop.
if (!isMainThread && workerData?.role === 'producer') {
  const { url, headers, clients } = workerData;
  parentPort.on('message', async (batches) => {
    let next = 0;
    let failure;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < batches.length && failure === undefined) {
          const response = await fetch(`${url}/v1/messages`, { method: 'POST', headers, body: batches[next++] });
          if (response.status !== 202) failure = `intake answered ${response.status}: ${await response.text()}`;
          else await response.arrayBuffer();
        }
      }),
    );
    parentPort.postMessage({ failure });
  });
}

export function startProducer(url, headers, clients) {
  const thread = new Worker(new URL(import.meta.url), { workerData: { role: 'producer', url, headers, clients } });
  return {
    send: (batches) =>
      new Promise((resolve, reject) => {
        thread.once('message', ({ failure }) => (failure === undefined ? resolve() : reject(new Error(failure))));
        thread.postMessage(batches);
      }),
    stop: () => thread.terminate(),
  };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Runs both benchmarks; returns the figures it printed. */
export async function runWorkerBench({ print = console.log, count = 4000, batchSize = 100, clients = 4, concurrency = 32, rounds = 3, gateCount = 1000, endToEndOnly = false, gateOnly = false } = {}) {
  const stub = await startStubThread('startS3Stub');
  const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-bench-worker-'));
  const bucket = 'bench';
  const configFile = path.join(folder, 'sentcopy.config.json');
  writeFileSync(configFile, JSON.stringify(stubWorkerConfig(stub.endpoint, bucket, hashApiKey(apiKey))));
  const worker = await runWorker({ configFile, port: 0, concurrencyPerDestination: concurrency, env: stubWorkerEnv });
  const { clientSettings, raw, rawPut } = rawS3(stub.endpoint, bucket);
  const preparer = createArchiver({ destination: createS3Destination({ ...clientSettings, bucket }), recipientKey: benchRecipientKey, retry: false });
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const producer = startProducer(worker.url, headers, clients);
  // Completion is read from the stub's PUT count, so checking costs the worker nothing.
  const putsSoFar = async () => (await stub.counts()).PUT ?? 0;

  try {
    let round = 0;
    const freshMessages = (n) => sampleMessages({ projectId: 'bench', count: n }).map((message) => ({ ...message, message_id: `r${round}-${message.message_id}` }));
    const endToEnd = async (messages) => {
      const before = await putsSoFar();
      const batches = [];
      for (let start = 0; start < messages.length; start += batchSize) batches.push(JSON.stringify(messages.slice(start, start + batchSize)));
      const started = performance.now();
      await producer.send(batches);
      while ((await putsSoFar()) - before < messages.length) await new Promise((resolve) => setTimeout(resolve, 2));
      return performance.now() - started;
    };
    const rawLoop = async (messages) => {
      const objects = await Promise.all(messages.map((message) => preparer.prepare(message)));
      const started = performance.now();
      await runPool(objects, concurrency, rawPut);
      return performance.now() - started;
    };

    if (endToEndOnly) {
      // For a CPU profile of the worker alone (`node --cpu-prof bench/worker.mjs --end-to-end-only`): no raw loop, no gate.
      round = -1;
      await endToEnd(freshMessages(1000));
      const cpu = cpuTimes();
      const rates = [];
      for (round = 0; round < rounds; round++) rates.push((count / (await endToEnd(freshMessages(count)))) * 1000);
      print(`worker end to end alone: ${median(rates).toFixed(0)} messages/s (median of ${rounds}); machine CPU busy ${(busyShare(cpu) * 100).toFixed(0)}%`);
      return { e2eRate: median(rates) };
    }
    // Warm-up, untimed.
    const cpu = cpuTimes();
    round = -1;
    await endToEnd(freshMessages(1000));
    await rawLoop(freshMessages(1000));
    const ratios = [];
    const e2eRates = [];
    const rawRates = [];
    // `--gate-only`: the gate after the warm-up alone, for A/B runs of its latency.
    for (round = 0; round < (gateOnly ? 0 : rounds); round++) {
      const messages = freshMessages(count);
      let rawTime;
      let e2eMs;
      if (round % 2 === 0) {
        rawTime = await rawLoop(messages);
        e2eMs = await endToEnd(messages);
      } else {
        e2eMs = await endToEnd(messages);
        rawTime = await rawLoop(messages);
      }
      ratios.push(rawTime / e2eMs);
      e2eRates.push((count / e2eMs) * 1000);
      rawRates.push((count / rawTime) * 1000);
    }
    const share = busyShare(cpu);
    if (!gateOnly) {
      print(
        `\nWorker end to end (HTTP batches of ${batchSize} from ${clients} clients → SQLite queue, enqueues fsynced → processor with a prepare pool → destination-s3) vs raw PutObject of the same bodies (concurrency ${concurrency}); ` +
          `${count} sample messages, S3 stub answering at once in a worker thread, median of ${rounds} alternating rounds`,
      );
      print('| side | messages/s | ratio vs raw |');
      print('|---|---:|---:|');
      print(`| raw @aws-sdk/client-s3 PutObjectCommand (bodies prepared beforehand) | ${median(rawRates).toFixed(0)} | 1.00 |`);
      print(`| worker: intake → queue → archive (producer in its own thread) | ${median(e2eRates).toFixed(0)} | **${median(ratios).toFixed(2)}** |`);
      print(`target (issue #17): at least 3× the raw SDK loop. Machine CPU busy while measuring: ${(share * 100).toFixed(0)}% of all cores`);
    }

    // Gate latency: one request at a time, so the numbers are latencies, not queueing.
    round = 100;
    const gateMessages = freshMessages(gateCount);
    const rawObjects = await Promise.all(
      freshMessages(gateCount)
        .map((message) => ({ ...message, message_id: `raw-${message.message_id}` }))
        .map((message) => preparer.prepare(message)),
    );
    const gate = [];
    const direct = [];
    // A plain keep-alive HTTP client, as a sending service would use.
    const gateUrl = new URL(`${worker.url}/v1/archive`);
    const gateAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const callGate = (body) =>
      new Promise((resolve, reject) => {
        const call = httpRequest({ hostname: gateUrl.hostname, port: gateUrl.port, path: gateUrl.pathname, method: 'POST', agent: gateAgent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (response) => {
          let text = '';
          response.on('data', (chunk) => (text += chunk));
          response.on('end', () => (response.statusCode === 201 ? resolve(text) : reject(new Error(`gate answered ${response.statusCode}: ${text}`))));
        });
        call.on('error', reject);
        call.end(body);
      });
    for (let index = 0; index < gateCount; index++) {
      const body = JSON.stringify(gateMessages[index]);
      let started = performance.now();
      await callGate(body);
      gate.push(performance.now() - started);
      started = performance.now();
      await rawPut(rawObjects[index]);
      direct.push(performance.now() - started);
    }
    gateAgent.destroy();
    gate.sort((a, b) => a - b);
    direct.sort((a, b) => a - b);
    const added = { p50: percentile(gate, 50) - percentile(direct, 50), p99: percentile(gate, 99) - percentile(direct, 99) };
    print(`\nBefore-send gate: POST /v1/archive (HTTP, validate, render, gzip, hash, PUT) vs a raw PutObject of the prepared body, ${gateCount} sequential calls each, interleaved`);
    print('| | p50 ms | p99 ms |');
    print('|---|---:|---:|');
    print(`| raw PutObject | ${percentile(direct, 50).toFixed(2)} | ${percentile(direct, 99).toFixed(2)} |`);
    print(`| gate | ${percentile(gate, 50).toFixed(2)} | ${percentile(gate, 99).toFixed(2)} |`);
    print(`| **added by the gate** | **${added.p50.toFixed(2)}** | **${added.p99.toFixed(2)}** |`);
    print('target (issue #17): added p50 at most 0.5 ms, p99 at most 2 ms');
    return { ratio: median(ratios), e2eRate: median(e2eRates), rawRate: median(rawRates), gate: added, cpuBusyShare: share };
  } finally {
    await producer.stop();
    await worker.stop();
    raw.destroy();
    await stub.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

if (isMainThread && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runWorkerBench({ endToEndOnly: process.argv.includes('--end-to-end-only'), gateOnly: process.argv.includes('--gate-only') });
