// archive() against writing the same precompressed bytes straight to the same kind of destination.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createArchiver, sampleMessages } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';

async function withDestination(fsync, run) {
  const root = await mkdtemp(path.join(tmpdir(), 'sentcopy-bench-'));
  try {
    return await run(createFsDestination({ root, fsync }));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function pool(items, concurrency, work) {
  let next = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(workers);
}

async function timed(work) {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** Runs the benchmark; returns the rows it printed. */
export async function runArchiverBench({ print = console.log, count = 2000, concurrency = 16, rounds = 3 } = {}) {
  const messages = sampleMessages({ projectId: 'bench', count });
  const results = [];
  for (const fsync of [true, false]) {
    const ratios = [];
    let rawRate = 0;
    let archiveRate = 0;
    for (let round = 0; round < rounds; round++) {
      // Bodies for the raw loop are prepared up front: the raw side pays nothing but the put.
      const prepared = await withDestination(fsync, async (destination) => {
        const archiver = createArchiver({ destination, recipientKey: 'bench-recipient-key-0123456789' });
        return Promise.all(messages.map((message) => archiver.prepare(message)));
      });
      const rawMs = await withDestination(fsync, (destination) =>
        timed(() =>
          pool(prepared, concurrency, (object) => destination.put({ key: object.key, body: object.body, sha256: object.sha256, contentType: object.contentType, contentEncoding: object.contentEncoding, metadata: object.metadata })),
        ),
      );
      const archiveMs = await withDestination(fsync, async (destination) => {
        const archiver = createArchiver({ destination, recipientKey: 'bench-recipient-key-0123456789' });
        return timed(() => pool(messages, concurrency, (message) => archiver.archive(message)));
      });
      rawRate = (count / rawMs) * 1000;
      archiveRate = (count / archiveMs) * 1000;
      ratios.push(rawMs / archiveMs);
    }
    ratios.sort((a, b) => a - b);
    const ratio = ratios[Math.floor(ratios.length / 2)];
    results.push({ fsync, rawRate, archiveRate, ratio });
  }
  print(`\narchive() vs raw put of the same precompressed bytes (fs destination, ${count} mixed messages, concurrency ${concurrency}, median of ${rounds} rounds)`);
  print('| fsync | raw put msg/s | archive() msg/s | ratio archive/raw |');
  print('|---|---:|---:|---:|');
  for (const row of results) {
    print(`| ${row.fsync ? 'on' : 'off'} | ${row.rawRate.toFixed(0)} | ${row.archiveRate.toFixed(0)} | ${row.ratio.toFixed(2)} |`);
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runArchiverBench();
