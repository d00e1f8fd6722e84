// @sentcopy/client's send() against raw fetch POSTs of the same batches, to the same worker.
// The worker (embedded queue, local-folder destination) runs in its own thread, as it would in its own process;
// the producer side measured here runs on the main thread. A round times one side from the first message to the
// last 202; rounds alternate raw, client, raw, client… and the ratio is the median of the per-pair ratios.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createSentcopyClient } from '@sentcopy/client';
import { sampleMessages } from '@sentcopy/core';
import { hashApiKey, runWorker } from '@sentcopy/worker';
import { median, runPool } from './stub-thread.mjs';

const apiKey = 'sc_bench_client_key_000000000000000000000000';

if (!isMainThread && workerData?.role === 'worker') {
  const { folder } = workerData;
  const configFile = path.join(folder, 'sentcopy.config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      version: 1,
      destinations: { local: { type: 'fs', root: path.join(folder, 'archive'), acknowledge_personal_data: true } },
      projects: { bench: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
    }),
  );
  const worker = await runWorker({ configFile, queueDirectory: path.join(folder, 'queue'), port: 0, prepareThreads: 1 });
  parentPort.postMessage({ url: worker.url });
  parentPort.once('message', async () => {
    await worker.stop();
    parentPort.postMessage({ stopped: true });
  });
}

async function startWorkerThread(folder) {
  const thread = new Worker(new URL(import.meta.url), { workerData: { role: 'worker', folder } });
  const { url } = await new Promise((resolve, reject) => {
    thread.once('message', resolve);
    thread.once('error', reject);
  });
  return {
    url,
    stop: async () => {
      thread.postMessage('stop');
      await new Promise((resolve) => thread.once('message', resolve));
      await thread.terminate();
    },
  };
}

/** Raw fetch: the batches a hand-written producer would post, `clients` at a time, each checked for 202 and its results read. */
async function rawRound(url, messages, batchSize, clients) {
  const batches = [];
  for (let start = 0; start < messages.length; start += batchSize) batches.push(messages.slice(start, start + batchSize));
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  await runPool(batches, clients, async (batch) => {
    const response = await fetch(`${url}/v1/messages`, { method: 'POST', headers, body: JSON.stringify(batch) });
    const body = await response.json();
    if (response.status !== 202 || body.accepted !== batch.length) throw new Error(`raw: intake answered ${response.status}, ${body.accepted} accepted`);
  });
}

/** The client: every message through send(), one promise each, then all awaited. */
async function clientRound(url, messages, batchSize, clients) {
  const client = createSentcopyClient({ url, apiKey, maxBatchMessages: batchSize, maxInFlightRequests: clients, maxBufferedMessages: messages.length });
  const results = await Promise.all(client.send(messages));
  const accepted = results.filter((result) => result.status === 'accepted').length;
  if (accepted !== messages.length) throw new Error(`client: ${accepted} of ${messages.length} accepted`);
  await client.close();
}

/** Runs the benchmark; returns the figures it printed. */
export async function runClientBench({ print = console.log, count = 4000, batchSize = 100, clients = 4, rounds = 5 } = {}) {
  const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-bench-client-'));
  const worker = await startWorkerThread(folder);
  try {
    // Fresh message ids for every round, so neither side is answered `duplicate`.
    let seed = 1;
    const messagesFor = () => sampleMessages({ projectId: 'bench', count, seed: seed++ });
    await clientRound(worker.url, messagesFor().slice(0, 500), batchSize, clients);
    await rawRound(worker.url, messagesFor().slice(0, 500), batchSize, clients);
    const raw = [];
    const client = [];
    for (let round = 0; round < rounds; round++) {
      for (const [side, run] of round % 2 === 0
        ? [
            ['raw', rawRound],
            ['client', clientRound],
          ]
        : [
            ['client', clientRound],
            ['raw', rawRound],
          ]) {
        const messages = messagesFor();
        const started = performance.now();
        await run(worker.url, messages, batchSize, clients);
        const rate = (count / (performance.now() - started)) * 1000;
        (side === 'raw' ? raw : client).push(rate);
      }
    }
    const ratio = median(client.map((rate, index) => rate / raw[index]));
    const figures = { rawRate: median(raw), clientRate: median(client), ratio };
    print(`\n@sentcopy/client send() vs raw fetch POSTs of the same batches (${count} mixed messages a round, batches of ${batchSize}, ${clients} in flight, median of ${rounds} alternating rounds)`);
    print('| side | messages/s | ratio vs raw |');
    print('|---|---:|---:|');
    print(`| raw fetch, JSON.stringify per batch | ${figures.rawRate.toFixed(0)} | 1.00 |`);
    print(`| client.send(), one promise per message | ${figures.clientRate.toFixed(0)} | **${ratio.toFixed(2)}** |`);
    return figures;
  } finally {
    await worker.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

if (isMainThread && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runClientBench();
