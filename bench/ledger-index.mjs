// The ledger index and the ledger-side of search and verification, on a large generated ledger and
// on a real archive. Scale: SENTCOPY_BENCH_ENTRIES (default 100,000; 1,000,000 with
// SENTCOPY_BENCH_LARGE=1) entries for the index, SENTCOPY_BENCH_OBJECTS (default 3,000; 20,000
// large) real objects for the search, full-text and verify comparisons.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createArchiver, createLedgerWriter, readLedger, sha256RecipientHash } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { openLedgerIndex } from '@sentcopy/ledger-index';

const cli = fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
const large = process.env.SENTCOPY_BENCH_LARGE === '1';
const year = Date.UTC(2026, 0, 1);
const day = 86_400_000;
const campaigns = 50;

/** Entry `index` of the generated ledger: spread over 2026, 50 campaigns, 10,000 users, one recipient (plus a cc on every 10th). */
export function entry(index, total) {
  const sentAt = year + Math.floor((index / total) * 365 * day) + (index % 1000);
  const recipient = sha256RecipientHash(`user${index % 200_000}@example.com`);
  return {
    type: 'entry',
    key: `shop/${recipient}/email/${new Date(sentAt).toISOString().slice(0, 10).replaceAll('-', '')}/m-${index}.json.gz`,
    sha256: recipient,
    size: 900 + (index % 500),
    message_id: `m-${index}`,
    channel: index % 4 === 0 ? 'sms' : 'email',
    project_id: 'shop',
    recipients: index % 10 === 0 ? [recipient, sha256RecipientHash('cc@example.com')] : [recipient],
    campaign_id: `c-${index % campaigns}`,
    user_id: `u-${index % 10_000}`,
    sent_at: sentAt,
    stored_at: sentAt + 1000,
    version: false,
  };
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

function runCli(args, cwd) {
  const started = performance.now();
  const result = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`sentcopy ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return { elapsed, json: JSON.parse(result.stdout) };
}

/** Part 1: a generated ledger (entries only, no objects), indexed. */
async function generatedLedger(print, entries) {
  const root = await mkdtemp(path.join(tmpdir(), 'sentcopy-bench-index-'));
  try {
    const destination = createFsDestination({ root, fsync: false });
    let started = performance.now();
    const writer = createLedgerWriter({ destination, writerId: 'w-bench', recipientHash: sha256RecipientHash });
    for (let index = 0; index < entries; index += 1) {
      writer.append(entry(index, entries));
      if (index % 10_000 === 9_999) await writer.flush();
    }
    await writer.close();
    const generateMs = performance.now() - started;

    started = performance.now();
    const read = await readLedger(destination);
    const readMs = performance.now() - started;
    if (read.entries.size !== entries || read.problems.length > 0) throw new Error('the generated ledger does not read back whole');

    const index = openLedgerIndex({ file: path.join(root, 'index', 'ledger.sqlite') });
    try {
      started = performance.now();
      const built = await index.update('bench', destination);
      const buildMs = performance.now() - started;
      started = performance.now();
      const again = await index.update('bench', destination);
      const noopMs = performance.now() - started;
      const march = { campaign: 'c-7', sentFrom: Date.UTC(2026, 2, 1), sentUntil: Date.UTC(2026, 3, 1) };
      started = performance.now();
      let found = 0;
      let after;
      do {
        const page = index.query(march, { limit: 1000, ...(after === undefined ? {} : { after }) });
        found += page.objects.length;
        after = page.next;
      } while (after !== undefined);
      const queryMs = performance.now() - started;
      started = performance.now();
      const byRecipient = index.count({ recipients: [sha256RecipientHash('user42@example.com')] });
      const recipientMs = performance.now() - started;
      // What a support agent asks first: one message by its id (the middle of the ledger), 100 times.
      const messageId = entry(Math.floor(entries / 2), entries).message_id;
      started = performance.now();
      let byId = 0;
      for (let lookup = 0; lookup < 100; lookup++) byId = index.query({ messageId }).objects.length;
      const messageIdMs = (performance.now() - started) / 100;
      if (byId !== 1) throw new Error(`the message ${messageId} was found ${byId} times`);
      print(`\nledger index on a generated ledger of ${entries.toLocaleString('en')} entries (${Math.ceil(entries / 10_000)} segments of 10,000; entries only, no objects)`);
      print('| step | time | rate |');
      print('|---|---:|---:|');
      print(`| write the ledger (ledger writer, fs) | ${seconds(generateMs)} | ${Math.round(entries / (generateMs / 1000)).toLocaleString('en')} entries/s |`);
      print(`| read every chain (readLedger: the ledger side of verify --complete) | ${seconds(readMs)} | ${Math.round(entries / (readMs / 1000)).toLocaleString('en')} entries/s |`);
      print(`| build the index (${built.added.toLocaleString('en')} objects) | ${seconds(buildMs)} | **${Math.round(entries / (buildMs / 1000)).toLocaleString('en')} entries/s** |`);
      print(`| update with nothing new (${again.segments} segments read) | ${noopMs.toFixed(0)} ms | |`);
      print(`| campaign c-7 in March 2026, all pages (${found.toLocaleString('en')} objects) | ${queryMs.toFixed(0)} ms | |`);
      print(`| count one recipient's messages (${byRecipient}) | ${recipientMs.toFixed(1)} ms | |`);
      print(`| one message by its id (mean of 100) | ${messageIdMs.toFixed(2)} ms | |`);
      return { entries, generateMs, readMs, buildMs, noopMs, queryMs, found, messageIdMs };
    } finally {
      index.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Part 2: a real archive: ls --campaign over a month from the index vs by listing the bucket; verify --complete. */
async function realArchive(print, objects) {
  const folder = await mkdtemp(path.join(tmpdir(), 'sentcopy-bench-search-'));
  try {
    const root = path.join(folder, 'archive');
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
            campaign_id: `c-${index % campaigns}`,
            subject: `Offer ${index}`,
            html_body: `<p>Hello, offer ${index}</p>`,
          });
        }
      }),
    );
    await archiver.close();
    await ledger.close();
    const config = { version: 1, destinations: { archive: { type: 'fs', root, acknowledge_personal_data: true } }, projects: { shop: { destination: 'archive', channels: ['email'], layout: 'sentcopy-unkeyed', api_keys: [] } } };
    await writeFile(path.join(folder, 'sentcopy.config.json'), JSON.stringify(config));
    const query = ['ls', '--campaign', 'c-7', '--since', '2026-03', '--until', '2026-03', '--all', '--json'];
    const listing = runCli([...query, '--listing'], folder);
    const ledgerRead = runCli(query, folder);
    const built = runCli(['index', '--json'], folder);
    const indexed = runCli(query, folder);
    const keys = (run) =>
      run.json.objects
        .map((object) => object.key)
        .sort()
        .join('\n');
    if (keys(listing) !== keys(indexed) || keys(ledgerRead) !== keys(indexed)) throw new Error('ls by listing, from the ledger and from the index disagree');
    // Full-text search: every object read once, its text indexed; then the same month searched by a word every message has.
    const textBuilt = runCli(['index', '--text', '--json'], folder);
    const textIndexed = textBuilt.json.text.updates.reduce((sum, update) => sum + update.indexed, 0);
    if (textIndexed !== objects) throw new Error(`index --text indexed the text of ${textIndexed} objects, not ${objects}`);
    const textQuery = runCli([...query, '--text', 'offer'], folder);
    if (keys(textQuery) !== keys(indexed)) throw new Error('ls --text offer over the month disagrees with the index');
    const verify = runCli(['verify', '--complete', '--json'], folder);
    if (!verify.json.ok) throw new Error('verify --complete found problems in the bench archive');
    print(`\nls --campaign c-7 over March 2026 on a real archive of ${objects.toLocaleString('en')} objects (fs, sentcopy-unkeyed layout: the campaign is not in the key), whole CLI runs`);
    print('| answered by | time | vs listing the bucket |');
    print('|---|---:|---:|');
    print(`| listing the bucket and reading each object of the month (--listing) | ${listing.elapsed.toFixed(0)} ms | 1.00× |`);
    print(`| reading the ledger segments (no index) | ${ledgerRead.elapsed.toFixed(0)} ms | ${(listing.elapsed / ledgerRead.elapsed).toFixed(1)}× |`);
    print(`| the local index (after \`sentcopy index\`, ${built.elapsed.toFixed(0)} ms) | ${indexed.elapsed.toFixed(0)} ms | **${(listing.elapsed / indexed.elapsed).toFixed(1)}×** |`);
    print(`(${indexed.json.objects.length} objects found by each)`);
    print(
      `full-text index (\`sentcopy index --text\`: each object read, checked against the ledger, decoded, HTML rendered as text, indexed): ${objects.toLocaleString('en')} objects in ${seconds(textBuilt.elapsed)}: **${Math.round(objects / (textBuilt.elapsed / 1000)).toLocaleString('en')} objects/s**; \`ls --text offer\` over the month: ${textQuery.elapsed.toFixed(0)} ms`,
    );
    print(`verify --complete: ${objects.toLocaleString('en')} objects re-read and matched against the ledger in ${seconds(verify.elapsed)}: **${Math.round(objects / (verify.elapsed / 1000)).toLocaleString('en')} objects/s**`);
    return { objects, listingMs: listing.elapsed, ledgerMs: ledgerRead.elapsed, indexMs: indexed.elapsed, textIndexMs: textBuilt.elapsed, textQueryMs: textQuery.elapsed, verifyMs: verify.elapsed };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** Runs the benchmark; returns what it measured. */
export async function runLedgerIndexBench({
  print = console.log,
  entries = Number(process.env.SENTCOPY_BENCH_ENTRIES ?? (large ? 1_000_000 : 100_000)),
  objects = Number(process.env.SENTCOPY_BENCH_OBJECTS ?? (large ? 20_000 : 3_000)),
} = {}) {
  const generated = await generatedLedger(print, entries);
  const real = await realArchive(print, objects);
  return { generated, real };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runLedgerIndexBench();
