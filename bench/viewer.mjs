// Search latency through the viewer's HTTP API (`sentcopy view`, /api/search with the start-up token) on a large generated
// ledger, indexed, next to the same query through `sentcopy ls` from the same index (a whole CLI run, the baseline).
// Scale: SENTCOPY_BENCH_ENTRIES (default 100,000; 1,000,000 with SENTCOPY_BENCH_LARGE=1) ledger entries; text search on a
// real archive of SENTCOPY_BENCH_OBJECTS objects (default 2,000; 20,000 large), since full-text needs real objects to read.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createArchiver, createLedgerWriter, sha256RecipientHash } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { entry } from './ledger-index.mjs';

const cli = fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
const large = process.env.SENTCOPY_BENCH_LARGE === '1';
const year = Date.UTC(2026, 0, 1);
const day = 86_400_000;

function runCli(args, cwd) {
  const started = performance.now();
  const result = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`sentcopy ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return { elapsed, json: JSON.parse(result.stdout) };
}

/** Starts `sentcopy view --port 0 --json` in `cwd`; resolves with its URL, token and a stop function. */
function startView(cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'view', '--port', '0', '--json'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (!stdout.includes('\n')) return;
      const { url, token } = JSON.parse(stdout.split('\n')[0]);
      resolve({ origin: url.replace(/\/$/, ''), token, stop: () => new Promise((done) => (child.once('exit', done), child.kill('SIGTERM'))) });
    });
    child.once('exit', (code) => reject(new Error(`sentcopy view exited ${code}: ${stderr}`)));
  });
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/** Times `rounds` calls of the viewer's API (after 3 warm-up calls); every answer must report `expected` matches. */
async function timeApi(viewer, request, expected, rounds) {
  const call = async () => {
    const started = performance.now();
    const answer = await fetch(`${viewer.origin}${request.path}`, {
      method: request.body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${viewer.token}`, ...(request.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    });
    const result = await answer.json();
    const elapsed = performance.now() - started;
    if (answer.status !== 200 || result.total !== expected) throw new Error(`viewer ${request.path} answered ${answer.status} with ${result.total} matches, not ${expected}: ${JSON.stringify(result).slice(0, 300)}`);
    return elapsed;
  };
  // The first call may land on a kept-alive socket the server closed while the ls runs were timed: retried once, not measured.
  await call().catch(call);
  for (let warm = 0; warm < 2; warm += 1) await call();
  const times = [];
  for (let round = 0; round < rounds; round += 1) times.push(await call());
  return times;
}

/** Times `rounds` whole `sentcopy ls … --limit 50 --json` runs from the index; each must report `expected` matches. */
function timeLs(folder, args, expected, rounds) {
  const times = [];
  for (let round = 0; round < rounds; round += 1) {
    const run = runCli(['ls', ...args, '--limit', '50', '--json'], folder);
    if (run.json.total !== expected || run.json.source !== 'index') throw new Error(`ls ${args.join(' ')} found ${run.json.total} from ${run.json.source}, not ${expected} from the index`);
    times.push(run.elapsed);
  }
  return times;
}

function row(print, name, viewerTimes, lsTimes, found) {
  const p50 = percentile(viewerTimes, 50);
  const lsP50 = percentile(lsTimes, 50);
  print(`| ${name} (${found.toLocaleString('en')} found) | ${p50.toFixed(1)} ms | ${percentile(viewerTimes, 95).toFixed(1)} ms | ${lsP50.toFixed(0)} ms | ${percentile(lsTimes, 95).toFixed(0)} ms | **${(lsP50 / p50).toFixed(1)}×** |`);
  return { viewerP50: p50, viewerP95: percentile(viewerTimes, 95), lsP50, lsP95: percentile(lsTimes, 95) };
}

const header = (print) => {
  print('| search (first page of 50, newest first, with the total) | viewer API p50 | p95 | `sentcopy ls` p50 | p95 | ls / viewer (p50) |');
  print('|---|---:|---:|---:|---:|---:|');
};

/** Part 1: the generated ledger (entries only), indexed: recipient and campaign-in-a-month. */
async function generated(print, entries, rounds, lsRounds) {
  const folder = await mkdtemp(path.join(tmpdir(), 'sentcopy-bench-viewer-'));
  try {
    const root = path.join(folder, 'archive');
    await mkdir(root);
    const destination = createFsDestination({ root, fsync: false });
    const writer = createLedgerWriter({ destination, writerId: 'w-bench', recipientHash: sha256RecipientHash });
    for (let index = 0; index < entries; index += 1) {
      writer.append(entry(index, entries));
      if (index % 10_000 === 9_999) await writer.flush();
    }
    await writer.close();
    const config = { version: 1, destinations: { archive: { type: 'fs', root, acknowledge_personal_data: true } }, projects: { shop: { destination: 'archive', channels: ['email', 'sms'], layout: 'sentcopy-unkeyed', api_keys: [] } } };
    await writeFile(path.join(folder, 'sentcopy.config.json'), JSON.stringify(config));
    const built = runCli(['index', '--json'], folder);
    const viewer = await startView(folder);
    try {
      const recipient = 'user42@example.com';
      const recipientCount = runCli(['ls', '--recipient', recipient, '--limit', '1', '--json'], folder).json.total;
      const monthCount = runCli(['ls', '--campaign', 'c-7', '--since', '2026-03', '--until', '2026-03', '--limit', '1', '--json'], folder).json.total;
      print(`\nviewer search on a generated ledger of ${entries.toLocaleString('en')} entries, indexed (\`sentcopy index\`: ${(built.elapsed / 1000).toFixed(1)} s); ${rounds} API calls, ${lsRounds} ls runs each`);
      header(print);
      const byRecipient = row(
        print,
        'recipient (typed address, hashed by the viewer)',
        await timeApi(viewer, { path: '/api/search', body: { recipient } }, recipientCount, rounds),
        timeLs(folder, ['--recipient', recipient], recipientCount, lsRounds),
        recipientCount,
      );
      const month = row(
        print,
        'campaign c-7 in March 2026',
        await timeApi(viewer, { path: '/api/search?campaign=c-7&since=2026-03&until=2026-03' }, monthCount, rounds),
        timeLs(folder, ['--campaign', 'c-7', '--since', '2026-03', '--until', '2026-03'], monthCount, lsRounds),
        monthCount,
      );
      const deep = await timeApi(viewer, { path: '/api/search?campaign=c-7&page=100' }, runCli(['ls', '--campaign', 'c-7', '--limit', '1', '--json'], folder).json.total, rounds);
      print(`(page 100 of campaign c-7, an OFFSET of 4,950 rows: p50 ${percentile(deep, 50).toFixed(1)} ms, p95 ${percentile(deep, 95).toFixed(1)} ms)`);
      return { entries, byRecipient, month };
    } finally {
      await viewer.stop();
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** Part 2: text search needs real objects (index --text reads each one): a real archive, text-indexed. */
async function text(print, objects, rounds, lsRounds) {
  const folder = await mkdtemp(path.join(tmpdir(), 'sentcopy-bench-viewer-text-'));
  try {
    const root = path.join(folder, 'archive');
    await mkdir(root);
    const destination = createFsDestination({ root, fsync: false });
    const ledger = createLedgerWriter({ destination, writerId: 'w-bench', recipientHash: sha256RecipientHash });
    const archiver = createArchiver({ destination, layout: 'sentcopy-unkeyed', ledger });
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < objects) {
          const index = next++;
          await archiver.archive({
            version: 1,
            channel: 'email',
            message_id: `m-${index}`,
            project_id: 'shop',
            sent_at: year + Math.floor((index / objects) * 365 * day),
            to: `user${index % 500}@example.com`,
            campaign_id: `c-${index % 50}`,
            subject: index % 100 === 7 ? `Your refund ${index} is on its way` : `Offer ${index}`,
            html_body: `<p>Hello, offer ${index}</p>`,
          });
        }
      }),
    );
    await archiver.close();
    await ledger.close();
    const config = { version: 1, destinations: { archive: { type: 'fs', root, acknowledge_personal_data: true } }, projects: { shop: { destination: 'archive', channels: ['email'], layout: 'sentcopy-unkeyed', api_keys: [] } } };
    await writeFile(path.join(folder, 'sentcopy.config.json'), JSON.stringify(config));
    runCli(['index', '--text', '--json'], folder);
    const viewer = await startView(folder);
    try {
      const expected = Array.from({ length: objects }, (_, index) => index % 100 === 7).filter(Boolean).length;
      print(`\nviewer text search on a real archive of ${objects.toLocaleString('en')} objects, text-indexed (full text needs the objects themselves)`);
      header(print);
      return row(print, 'text "refund"', await timeApi(viewer, { path: '/api/search?text=refund' }, expected, rounds), timeLs(folder, ['--text', 'refund'], expected, lsRounds), expected);
    } finally {
      await viewer.stop();
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** Runs the benchmark; returns what it measured. */
export async function runViewerBench({
  print = console.log,
  entries = Number(process.env.SENTCOPY_BENCH_ENTRIES ?? (large ? 1_000_000 : 100_000)),
  objects = Number(process.env.SENTCOPY_BENCH_OBJECTS ?? (large ? 20_000 : 2_000)),
  rounds = 50,
  lsRounds = 5,
} = {}) {
  return { generated: await generated(print, entries, rounds, lsRounds), text: await text(print, objects, rounds, lsRounds) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runViewerBench();
