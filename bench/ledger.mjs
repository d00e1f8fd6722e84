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
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
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
