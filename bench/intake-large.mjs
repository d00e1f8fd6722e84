// Large emails into a real worker: intake throughput (POST /v1/messages, embedded queue, local folder) of realistic
// emails with a 1 MB, 10 MB or 25 MB attachment, 16 requests in flight, and the worker's peak RSS while they are,
// read from outside (/proc/<pid>/status of the worker's own process). Baseline, measured in the same run: the same
// bodies posted the same way to a plain node:http server (its own process) that reads and discards them.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const apiKey = 'sc_bench_intake_large_key_000000000000000000000';
const sentAt = Date.UTC(2026, 11, 4, 21, 29, 40);
const self = fileURLToPath(import.meta.url);

// ---- child roles -------------------------------------------------------------------------------------------------

if (process.argv[2] === '--role' && process.argv[3] === 'worker') {
  const { runWorker } = await import('@sentcopy/worker');
  const worker = await runWorker({ configFile: process.argv[4], port: 0, logger: () => {} });
  process.stdout.write(`${JSON.stringify({ url: worker.url })}\n`);
  process.on('SIGTERM', async () => {
    await worker.stop();
    process.exit(0);
  });
}

if (process.argv[2] === '--role' && process.argv[3] === 'sink') {
  // Reads every body to its end and throws it away: what receiving the bytes costs, and nothing else.
  const server = createServer((request, response) => {
    let bytes = 0;
    request.on('data', (chunk) => (bytes += chunk.length));
    request.on('end', () => {
      response.writeHead(202, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ bytes }));
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

// ---- the measuring side ------------------------------------------------------------------------------------------

/** Starts `node intake-large.mjs --role ROLE …args` and waits for the URL it prints. */
async function startChild(role, args = []) {
  // BENCH_WORKER_NODE_FLAGS (e.g. --max-old-space-size=512) is handed to the worker's process only, to try heap settings.
  const flags = role === 'worker' && process.env.BENCH_WORKER_NODE_FLAGS ? process.env.BENCH_WORKER_NODE_FLAGS.split(' ') : [];
  const child = spawn(process.execPath, [...flags, self, '--role', role, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk) => {
      text += chunk;
      const line = text.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line).url);
    });
    child.once('exit', (code) => reject(new Error(`the ${role} process exited with ${code}`)));
  });
  return {
    url,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `VmRSS` and `VmHWM` (peak) of a process, in bytes, read from /proc. */
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/** One realistic email as the JSON `POST /v1/messages` takes: HTML and text parts, a PDF attachment of `size` random bytes. */
function emailBody(size, id) {
  const html = `<html><body><p>Hello Ana,</p><p>your invoice is attached.</p>${'<p>Thank you for shopping with us.</p>'.repeat(40)}</body></html>`;
  return JSON.stringify([
    {
      version: 1,
      channel: 'email',
      message_id: id,
      project_id: 'shop',
      sent_at: sentAt,
      from_name: 'Shop',
      from_address: 'shop@example.com',
      to: 'Ana <ana@example.net>',
      subject: 'Your invoice',
      html_body: html,
      plaintext_body: 'Hello Ana, your invoice is attached.',
      attachments: [{ file_name: 'invoice.pdf', content_type: 'application/pdf', bytes: randomBytes(size).toString('base64') }],
    },
  ]);
}

/** Posts every body with `inFlight` requests at a time; resolves with the seconds taken and the peak RSS sampled meanwhile. */
async function post(url, bodies, inFlight, pid, expected) {
  let next = 0;
  let peakRss = 0;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, memoryOf(pid).rss);
    } catch {
      // The process is gone; the run fails below.
    }
  }, 10);
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++];
          const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body });
          const text = await response.text();
          if (response.status !== 202 || (expected !== undefined && !text.includes(expected))) throw new Error(`answered ${response.status}: ${text.slice(0, 300)}`);
        }
      }),
    );
  } finally {
    clearInterval(sampler);
  }
  return { seconds: (performance.now() - started) / 1000, peakRss };
}

function countStored(root) {
  try {
    return readdirSync(root, { recursive: true }).filter((name) => String(name).endsWith('.json.gz')).length;
  } catch {
    return 0;
  }
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(0)} MB`;

/** Runs the benchmark; returns the rows it printed. */
export async function runIntakeLargeBench({ print = console.log, sizes = [1e6, 10e6, 25e6], counts = { 1e6: 64, 10e6: 32, 25e6: 32 }, inFlight = 16 } = {}) {
  const rows = [];
  print(
    `\nLarge emails into a real worker (POST /v1/messages, one email per request, ${inFlight} in flight; embedded queue, local folder, gzip), vs a plain node:http server that discards the same bodies; RSS of each server's own process, read from /proc`,
  );
  print('| attachment | JSON body | emails | worker intake emails/s | MB/s | plain server emails/s | ratio | worker idle RSS | worker peak RSS (VmHWM) | peak during intake | plain server peak RSS | until all stored |');
  print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const size of sizes) {
    const count = counts[size] ?? 16;
    const bodies = Array.from({ length: count }, (_, index) => emailBody(size, `large-${size}-${index}-${randomBytes(4).toString('hex')}`));
    const bodyBytes = Buffer.byteLength(bodies[0]);

    const sink = await startChild('sink');
    let plain;
    try {
      plain = await post(sink.url, bodies, inFlight, sink.pid);
      plain.hwm = memoryOf(sink.pid).hwm;
    } finally {
      await sink.stop();
    }

    // A fresh worker per size, so its high-water mark is this size's alone.
    const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-bench-intake-large-'));
    const root = path.join(folder, 'archive');
    const configFile = path.join(folder, 'sentcopy.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        version: 1,
        destinations: { local: { type: 'fs', root, acknowledge_personal_data: true } },
        projects: { shop: { destination: 'local', channels: ['email'], layout: 'sentcopy-unkeyed', api_keys: [{ sha256: (await import('@sentcopy/worker')).hashApiKey(apiKey) }] } },
      }),
    );
    const worker = await startChild('worker', [configFile]);
    try {
      const idle = memoryOf(worker.pid).rss;
      const started = performance.now();
      const intake = await post(`${worker.url}/v1/messages`, bodies, inFlight, worker.pid, '"accepted":1');
      let drainPeak = intake.peakRss;
      while (countStored(root) < count) {
        drainPeak = Math.max(drainPeak, memoryOf(worker.pid).rss);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const stored = (performance.now() - started) / 1000;
      const { hwm } = memoryOf(worker.pid);
      const row = {
        size,
        bodyBytes,
        count,
        perSecond: count / intake.seconds,
        mbPerSecond: (count * bodyBytes) / intake.seconds / 1e6,
        plainPerSecond: count / plain.seconds,
        ratio: plain.seconds / intake.seconds,
        idleRss: idle,
        peakRss: hwm,
        intakePeakRss: intake.peakRss,
        plainPeakRss: plain.hwm,
        storedSeconds: stored,
      };
      rows.push(row);
      print(
        `| ${mb(size)} | ${mb(bodyBytes)} | ${count} | ${row.perSecond.toFixed(2)} | ${row.mbPerSecond.toFixed(1)} | ${row.plainPerSecond.toFixed(2)} | **${row.ratio.toFixed(2)}** | ${mb(idle)} | **${mb(hwm)}** | ${mb(intake.peakRss)} | ${mb(plain.hwm)} | ${stored.toFixed(1)} s |`,
      );
    } finally {
      await worker.stop();
      rmSync(folder, { recursive: true, force: true });
    }
  }
  print(`(${inFlight} bodies in flight = ${rows.map((row) => `${mb(row.bodyBytes * inFlight)} at ${mb(row.size)}`).join(', ')})`);
  return rows;
}

if (process.argv[2] !== '--role' && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // node bench/intake-large.mjs [SIZES_MB [COUNT]], e.g. `10,25 16`
  const sizes = process.argv[2] === undefined ? undefined : process.argv[2].split(',').map((value) => Number(value) * 1e6);
  const count = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
  await runIntakeLargeBench({ ...(sizes === undefined ? {} : { sizes }), ...(count === undefined ? {} : { counts: Object.fromEntries((sizes ?? [1e6, 10e6, 25e6]).map((size) => [size, count])) }) });
}
