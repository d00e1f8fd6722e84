// Search latency through the viewer's HTTP API (`sentcopy view`, /api/search with the start-up token) on a large generated
// ledger, indexed, next to the same query through `sentcopy ls` from the same index (a whole CLI run, the baseline).
// Scale: SENTCOPY_BENCH_ENTRIES (default 100,000; 1,000,000 with SENTCOPY_BENCH_LARGE=1) ledger entries; text search on a
// real archive of SENTCOPY_BENCH_OBJECTS objects (default 2,000; 20,000 large), since full-text needs real objects to read.
// On the same generated archive, SENTCOPY_BENCH_PAGES message pages (default 20: half emails with HTML, half SMS, really
// stored and listed in the ledger among its ~100 segments) opened in headless Chromium: first-contentful-paint and the
// server's answer time, next to `sentcopy show KEY` of the same message and a raw read of its stored object.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createArchiver, createLedgerWriter, sha256RecipientHash } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { entry } from './ledger-index.mjs';

// playwright-core is the CLI's test dependency (its Chromium tests), loaded from there rather than added to the bench package.
const { chromium } = createRequire(new URL('../apps/cli/package.json', import.meta.url))('playwright-core');
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

/** Message `k` of the `pages` really stored among the generated entries: even k an HTML email, odd k an SMS. */
function openedMessage(k, sentAt) {
  const base = { version: 1, message_id: `page-${k}`, project_id: 'shop', sent_at: sentAt, campaign_id: `c-${k % 50}` };
  if (k % 2 === 1) return { ...base, channel: 'sms', to: `+1555010${String(k).padStart(4, '0')}`, from: 'ExampleShop', body: `Your code is ${100000 + k}. It expires in 10 minutes.` };
  const rows = Array.from({ length: 30 }, (_, row) => `<tr><td style="padding:8px;border-bottom:1px solid #eee">Product ${row}</td><td style="text-align:right">${(row * 3.5).toFixed(2)} EUR</td></tr>`).join('');
  return {
    ...base,
    channel: 'email',
    to: `buyer${k}@example.com`,
    from: 'shop@example.com',
    subject: `Your order ${k} has shipped`,
    html_body: `<html><body style="font-family:sans-serif"><h1 style="color:#0a5">Your order ${k} has shipped</h1><p>Hello, here is what is on its way.</p><table>${rows}</table><p><a href="https://example.com/track/${k}">Track your order</a></p></body></html>`,
    plaintext_body: `Your order ${k} has shipped.`,
  };
}

/** Opens each page in a fresh tab signed in with the start-up token; returns first-contentful-paint and server answer times, ms. */
async function timePages(browser, viewer, paths) {
  const context = await browser.newContext({ extraHTTPHeaders: { Authorization: `Bearer ${viewer.token}` }, viewport: { width: 1366, height: 768 } });
  try {
    const open = async (pagePath) => {
      const page = await context.newPage();
      try {
        const answer = await page.goto(`${viewer.origin}${pagePath}`, { waitUntil: 'load' });
        if (answer?.status() !== 200) throw new Error(`viewer ${pagePath} answered ${answer?.status()}`);
        // first-contentful-paint is recorded once the page painted; bounded poll (it can come just after load).
        const deadline = Date.now() + 15_000;
        for (;;) {
          const figures = await page.evaluate(() => {
            const paint = performance.getEntriesByType('paint').find((item) => item.name === 'first-contentful-paint');
            const navigation = performance.getEntriesByType('navigation')[0];
            return { fcp: paint?.startTime, server: navigation === undefined ? undefined : navigation.responseStart - navigation.requestStart };
          });
          if (figures.fcp !== undefined) {
            // The page must have found the object's ledger entry (its stored date then reads "(ledger)"), or the lookup was not measured.
            if (!(await page.content()).includes('(ledger)')) throw new Error(`${pagePath} did not find its ledger entry`);
            return figures;
          }
          if (Date.now() > deadline) throw new Error(`no first-contentful-paint for ${pagePath}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        await page.close();
      }
    };
    // Warm-up (Chromium's first tab, the viewer's first segment listing), not measured.
    await open(paths[0]);
    const fcp = [];
    const server = [];
    for (const pagePath of paths) {
      const figures = await open(pagePath);
      fcp.push(figures.fcp);
      server.push(figures.server);
    }
    return { fcp, server };
  } finally {
    await context.close();
  }
}

/** Part 1b: message pages of really stored messages on the 1M-entry archive, in Chromium, against `sentcopy show` and a raw read. */
async function messagePages(print, folder, destination, opened, showRounds) {
  let browser;
  try {
    browser = await chromium.launch({ executablePath: process.env.SENTCOPY_CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-features=IsolateSandboxedIframes'] });
  } catch (error) {
    print(`\n(message pages skipped: Chromium did not start: ${error.message.split('\n')[0]})`);
    return undefined;
  }
  const viewer = await startView(folder);
  try {
    const results = {};
    print(`\nmessage pages on the same archive, opened in headless Chromium signed in with the start-up token (${opened.length} stored messages, one open each after a warm-up)`);
    print('| message page | first-contentful-paint p50 | p95 | server answer p50 | p95 | `sentcopy show KEY` p50 | raw read of the object p50 | show / page FCP (p50) |');
    print('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const channel of ['email', 'sms']) {
      const mine = opened.filter((item) => item.channel === channel);
      const { fcp, server } = await timePages(
        browser,
        viewer,
        mine.map((item) => `/messages/archive/${encodeURIComponent(item.key)}`),
      );
      const show = [];
      for (const item of mine.slice(0, showRounds)) {
        const run = runCli(['show', item.key, '--json'], folder);
        if (run.json.message?.message_id !== item.messageId) throw new Error(`show ${item.key} printed ${JSON.stringify(run.json).slice(0, 200)}`);
        show.push(run.elapsed);
      }
      const raw = [];
      for (const item of mine) {
        const started = performance.now();
        const object = await destination.get(item.key);
        raw.push(performance.now() - started);
        if (object === undefined) throw new Error(`${item.key} is not stored`);
      }
      const label = channel === 'email' ? 'email with HTML (sandboxed frame)' : 'SMS';
      const figures = { fcpP50: percentile(fcp, 50), fcpP95: percentile(fcp, 95), serverP50: percentile(server, 50), serverP95: percentile(server, 95), showP50: percentile(show, 50), rawP50: percentile(raw, 50) };
      print(
        `| ${label} | ${figures.fcpP50.toFixed(1)} ms | ${figures.fcpP95.toFixed(1)} ms | ${figures.serverP50.toFixed(1)} ms | ${figures.serverP95.toFixed(1)} ms | ${figures.showP50.toFixed(0)} ms | ${figures.rawP50.toFixed(2)} ms | **${(figures.showP50 / figures.fcpP50).toFixed(1)}×** |`,
      );
      results[channel] = figures;
    }
    return results;
  } finally {
    await viewer.stop();
    await browser.close();
  }
}

/** Part 1: the generated ledger (entries only, plus `pages` really stored messages among them), indexed: recipient and campaign-in-a-month, then message pages. */
async function generated(print, entries, rounds, lsRounds, pages) {
  const folder = await mkdtemp(path.join(tmpdir(), 'sentcopy-bench-viewer-'));
  try {
    const root = path.join(folder, 'archive');
    await mkdir(root);
    const destination = createFsDestination({ root, fsync: false });
    const writer = createLedgerWriter({ destination, writerId: 'w-bench', recipientHash: sha256RecipientHash });
    // The opened messages are archived through the same ledger writer while the entries are written, spread evenly, so each
    // one's entry sits in a segment among the ~100 others (one per 10,000 entries) and the page's entry lookup is real.
    const archiver = createArchiver({ destination, layout: 'sentcopy-unkeyed', ledger: writer });
    const placed = new Map(Array.from({ length: pages }, (_, k) => [Math.floor(((k + 0.5) * entries) / pages), k]));
    const opened = [];
    for (let index = 0; index < entries; index += 1) {
      const generatedEntry = entry(index, entries);
      writer.append(generatedEntry);
      const k = placed.get(index);
      if (k !== undefined) {
        const message = openedMessage(k, generatedEntry.sent_at);
        const stored = await archiver.archive(message);
        opened.push({ key: stored.key, channel: message.channel, messageId: message.message_id });
      }
      if (index % 10_000 === 9_999) await writer.flush();
    }
    await archiver.close();
    await writer.close();
    const config = { version: 1, destinations: { archive: { type: 'fs', root, acknowledge_personal_data: true } }, projects: { shop: { destination: 'archive', channels: ['email', 'sms'], layout: 'sentcopy-unkeyed', api_keys: [] } } };
    await writeFile(path.join(folder, 'sentcopy.config.json'), JSON.stringify(config));
    const built = runCli(['index', '--json'], folder);
    let viewer = await startView(folder);
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
      await viewer.stop();
      viewer = undefined;
      const pageFigures = pages > 0 ? await messagePages(print, folder, destination, opened, Math.min(5, pages)) : undefined;
      return { entries, byRecipient, month, pages: pageFigures };
    } finally {
      await viewer?.stop();
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
  pages = Number(process.env.SENTCOPY_BENCH_PAGES ?? 20),
} = {}) {
  return { generated: await generated(print, entries, rounds, lsRounds, pages), text: await text(print, objects, rounds, lsRounds) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runViewerBench();
