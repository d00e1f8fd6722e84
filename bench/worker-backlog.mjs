// A backlog while the destination is down: the worker (`sentcopy worker`, a child process) takes
// 1,000,000 messages over HTTP while its S3 destination answers 500 to everything; then the
// destination recovers. Prints the worker's peak RSS while queueing and while draining, and the
// drain rate after recovery. `node bench/worker-backlog.mjs [count]`; part of `pnpm bench`.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sampleMessages } from '@sentcopy/core';
import { hashApiKey } from '@sentcopy/worker';
import { startStubThread } from './stub-thread.mjs';

const bin = fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
const apiKey = 'sc_backlog_bench_key_000000000000000000000000';
const credentials = { accessKeyId: 'AKIABENCHMARK0000001', secretAccessKey: 'bench-secret-0000000000000000000000000001' };

function rssMiB(pid) {
  const result = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
  return Number(result.stdout.trim()) / 1024;
}

async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** Runs the benchmark; returns the figures it printed. */
export async function runBacklogBench({ print = console.log, count = Number(process.env.SENTCOPY_BACKLOG_COUNT ?? 1_000_000), batchSize = 1000, clients = 4, drainSeconds = 60 } = {}) {
  const stub = await startStubThread('startS3Stub');
  const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-bench-backlog-'));
  const configFile = path.join(folder, 'sentcopy.config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      version: 1,
      destinations: {
        stub: { type: 's3', bucket: 'bench', region: 'us-east-1', endpoint: stub.endpoint, force_path_style: true, access_key_id: { env: 'BENCH_ID' }, secret_access_key: { env: 'BENCH_SECRET' }, acknowledge_personal_data: true },
      },
      projects: { bench: { destination: 'stub', channels: ['sms'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
    }),
  );
  const child = spawn(process.execPath, [bin, 'worker', '--config', configFile, '--port', '0', '--json', '--log-level', 'error'], {
    env: { ...process.env, BENCH_ID: credentials.accessKeyId, BENCH_SECRET: credentials.secretAccessKey },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const { url } = await new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const line = stderr.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`the worker exited (${code}): ${stderr}`)));
  });
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(child.pid))), 500);
  try {
    // SMS-sized messages, unique ids: the queue holds `count` of them.
    const [template] = sampleMessages({ projectId: 'bench', count: 8 }).filter((message) => message.channel === 'sms');
    await stub.setDown(true);
    const queueStarted = performance.now();
    let next = 0;
    let lastReport = 0;
    const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < count) {
          const from = next;
          next = Math.min(count, next + batchSize);
          const batch = [];
          for (let index = from; index < next; index++) batch.push({ ...template, message_id: `backlog-${index}` });
          const response = await fetch(`${url}/v1/messages`, { method: 'POST', headers, body: JSON.stringify(batch) });
          if (response.status !== 202) throw new Error(`intake answered ${response.status}: ${await response.text()}`);
          await response.arrayBuffer();
          if (next - lastReport >= count / 10) {
            lastReport = next;
            process.stderr.write(`  backlog: ${next} queued, worker RSS ${rssMiB(child.pid).toFixed(0)} MiB\n`);
          }
        }
      }),
    );
    const queueSeconds = (performance.now() - queueStarted) / 1000;
    const depth = await metric(url, 'sentcopy_queue_depth');
    const putsWhileDown = (await stub.counts()).PUT ?? 0;
    const peakQueueing = Math.max(peak, rssMiB(child.pid));

    peak = 0;
    await stub.setDown(false);
    const recovered = performance.now();
    // The drain rate is measured over `drainSeconds` from the first archived message (or to the end, if sooner).
    let firstArchiveAt;
    let archived = 0;
    for (;;) {
      archived = await metric(url, 'sentcopy_messages_archived_total');
      if (firstArchiveAt === undefined && archived > 0) firstArchiveAt = performance.now();
      if (archived >= count || (firstArchiveAt !== undefined && performance.now() - firstArchiveAt >= drainSeconds * 1000)) break;
      if (firstArchiveAt === undefined && performance.now() - recovered > 120_000) throw new Error('nothing archived within 2 minutes of recovery');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const drained = performance.now();
    peak = Math.max(peak, rssMiB(child.pid));
    const drainRate = archived / ((drained - (firstArchiveAt ?? recovered)) / 1000);
    print(`\nBacklog while the destination is down (${count} SMS-sized messages over HTTP in batches of ${batchSize}, S3 stub answering 500 to everything, then recovering)`);
    print('| | figure |');
    print('|---|---:|');
    print(`| queued in | ${queueSeconds.toFixed(0)} s (${(count / queueSeconds).toFixed(0)} messages/s), queue depth ${depth} |`);
    print(`| requests to the destination while down (breaker) | ${putsWhileDown} |`);
    print(`| worker peak RSS while queueing | **${peakQueueing.toFixed(0)} MiB** |`);
    print(`| recovery → first message archived (probe interval) | ${(((firstArchiveAt ?? drained) - recovered) / 1000).toFixed(1)} s |`);
    print(`| drain rate after recovery (${archived} archived in the first ${((drained - (firstArchiveAt ?? recovered)) / 1000).toFixed(0)} s) | **${drainRate.toFixed(0)} messages/s** |`);
    print(`| worker peak RSS while draining | **${peak.toFixed(0)} MiB** |`);
    print('target: RSS at most 300 MB');
    return { count, queueSeconds, putsWhileDown, peakQueueingMiB: peakQueueing, peakDrainingMiB: peak, drainRate };
  } finally {
    clearInterval(sampler);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await stub.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runBacklogBench(process.argv[2] === undefined ? {} : { count: Number(process.argv[2]) });
