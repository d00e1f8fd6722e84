// Scale-out: how much faster two workers drain a JetStream queue than one. A real nats-server with
// JetStream; each worker is `sentcopy worker --nats` (a child process) archiving to an S3 stub that
// answers at once (in a thread). Each round preloads the stream, starts 1 or 2 workers, and times
// the steady part of the drain (from 10% to 90% of the objects stored). Rounds alternate 1, 2, 1, 2…
// and the medians are compared. `node bench/cluster.mjs [messages] [rounds]`; part of `pnpm bench`.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sampleMessages } from '@sentcopy/core';
import { startNatsServer } from '@sentcopy/test-servers';
import { createJetStreamQueue, hashApiKey } from '@sentcopy/worker';
import { median, startStubThread } from './stub-thread.mjs';

const bin = fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
const credentials = { accessKeyId: 'AKIABENCHMARK0000001', secretAccessKey: 'bench-secret-0000000000000000000000000001' };

function startWorker(configFile, natsUrl, name) {
  const child = spawn(process.execPath, [bin, 'worker', '--config', configFile, '--port', '0', '--json', '--log-level', 'error', '--nats', natsUrl, '--nats-name', name], {
    env: { ...process.env, BENCH_ID: credentials.accessKeyId, BENCH_SECRET: credentials.secretAccessKey },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const ready = new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (stderr.split('\n').some((line) => line.startsWith('{'))) resolve();
    });
    child.once('exit', (code) => reject(new Error(`a worker exited (${code}): ${stderr}`)));
  });
  return { ready, stop: async () => (child.kill('SIGTERM'), await exited) };
}

async function preload(natsUrl, name, messages) {
  const queue = await createJetStreamQueue({ servers: natsUrl, name });
  try {
    for (let start = 0; start < messages.length; start += 500) {
      await queue.enqueue(messages.slice(start, start + 500).map((message) => ({ project: 'bench', messageId: message.message_id, payload: JSON.stringify(message) })));
    }
  } finally {
    await queue.close();
  }
}

// Busy and total CPU time of the whole machine (Linux /proc/stat), to tell a scaling limit of the
// software from a machine that has no idle core left.
function machineCpu() {
  if (!existsSync('/proc/stat')) return undefined;
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const ticks = fields.map(Number);
  const idle = ticks[3] + (ticks[4] ?? 0);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

async function drainRound({ workers, natsUrl, stub, configFile, messages }) {
  const name = `bench${randomBytes(4).toString('hex')}`;
  await preload(natsUrl, name, messages);
  const before = (await stub.counts()).PUT ?? 0;
  const stored = async () => ((await stub.counts()).PUT ?? 0) - before;
  const started = Array.from({ length: workers }, () => startWorker(configFile, natsUrl, name));
  try {
    await Promise.all(started.map((worker) => worker.ready));
    const low = messages.length * 0.1;
    const high = messages.length * 0.9;
    let lowAt;
    let cpuAtLow;
    for (;;) {
      const count = await stored();
      const now = performance.now();
      if (lowAt === undefined && count >= low) [lowAt, cpuAtLow] = [now, machineCpu()];
      if (count >= high) {
        const cpu = machineCpu();
        const busy = cpu === undefined || cpuAtLow === undefined ? undefined : (cpu.busy - cpuAtLow.busy) / (cpu.total - cpuAtLow.total);
        return { rate: (high - low) / ((now - lowAt) / 1000), busy };
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await Promise.all(started.map((worker) => worker.stop()));
  }
}

/** Runs the benchmark; returns the figures it printed. */
export async function runClusterBench({ print = console.log, count = 20_000, rounds = 3 } = {}) {
  const nats = await startNatsServer();
  const stub = await startStubThread('startS3Stub');
  const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-bench-cluster-'));
  const configFile = path.join(folder, 'sentcopy.config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      version: 1,
      destinations: {
        stub: { type: 's3', bucket: 'bench', region: 'us-east-1', endpoint: stub.endpoint, force_path_style: true, access_key_id: { env: 'BENCH_ID' }, secret_access_key: { env: 'BENCH_SECRET' }, acknowledge_personal_data: true },
      },
      projects: { bench: { destination: 'stub', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey('sc_cluster_bench_key_00000000000000000000000000') }] } },
    }),
  );
  try {
    const messages = sampleMessages({ projectId: 'bench', count, seed: 7 });
    const rates = { 1: [], 2: [] };
    const busy = { 1: [], 2: [] };
    for (let round = 0; round < rounds; round++) {
      for (const workers of [1, 2]) {
        const result = await drainRound({ workers, natsUrl: nats.url, stub, configFile, messages });
        rates[workers].push(result.rate);
        if (result.busy !== undefined) busy[workers].push(result.busy);
        process.stderr.write(`  cluster round ${round + 1}: ${workers} worker(s) ${result.rate.toFixed(0)} msg/s${result.busy === undefined ? '' : `, machine CPU ${(result.busy * 100).toFixed(0)}% busy`}\n`);
      }
    }
    const one = median(rates[1]);
    const two = median(rates[2]);
    const percent = (values) => (values.length === 0 ? 'n/a' : `${(median(values) * 100).toFixed(0)}%`);
    const figures = { messages: count, rounds, cores: availableParallelism(), oneWorkerPerSecond: Math.round(one), twoWorkersPerSecond: Math.round(two), ratio: Number((two / one).toFixed(2)) };
    print(`\ncluster (JetStream, instant S3 stub, ${count} mixed messages, median of ${rounds} rounds, steady 10–90% of the drain, ${figures.cores} cores)`);
    print(`  1 worker  ${figures.oneWorkerPerSecond} msg/s, machine CPU ${percent(busy[1])} busy`);
    print(`  2 workers ${figures.twoWorkersPerSecond} msg/s, machine CPU ${percent(busy[2])} busy`);
    print(`  ratio 2 workers / 1 worker: ${figures.ratio}`);
    return figures;
  } finally {
    await stub.stop();
    await nats.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runClusterBench({ count: Number(process.argv[2] ?? 20_000), rounds: Number(process.argv[3] ?? 3) });
}
