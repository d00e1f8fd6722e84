// The shape every destination benchmark shares: archive() (on the calling thread and with a prepare
// pool) and write(prepared) through the destination, each against a raw SDK loop of the same bodies.
import { randomBytes } from 'node:crypto';
import { createArchiver, createPreparePool, sampleMessages } from '@sentcopy/core';
import { median, runPool } from './stub-thread.mjs';

async function timed(work) {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/**
 * Measures and prints the table. `rawPut(object)` writes one prepared object with the raw SDK, the
 * same bytes and headers the destination sends. Returns the figures.
 */
export async function compareWithRaw({ print, title, rawName, unit = 'PUT/s', destination, rawPut, count, concurrency, rounds }) {
  // Generated messages: a one-off secret keys their recipients as a deployment's would.
  const recipientKey = randomBytes(32);
  const archiver = createArchiver({ destination, recipientKey, retry: false });
  const pool = createPreparePool();
  const pooled = createArchiver({ destination, recipientKey, retry: false, preparePool: pool });
  const messages = sampleMessages({ projectId: 'bench', count });
  // The raw loop sends exactly the bytes archive() stores, prepared up front.
  const objects = await Promise.all(messages.map((message) => archiver.prepare(message)));
  const sides = [
    { name: `archive(message) via ${destination.provider}: validate, render, compress, put`, run: () => runPool(messages, concurrency, (message) => archiver.archive(message)) },
    { name: `archive(message) with a prepare pool (${pool.threads} thread${pool.threads === 1 ? '' : 's'}): the same work off the event loop`, run: () => runPool(messages, concurrency, (message) => pooled.archive(message)) },
    { name: `write(prepared) via ${destination.provider}: the adapter alone`, run: () => runPool(objects, concurrency, (object) => archiver.write(object)) },
  ];
  const rawRun = () => runPool(objects, concurrency, rawPut);
  try {
    // Warm-up, untimed: sockets, JIT and credentials on every side.
    for (let pass = 0; pass < 2; pass++) {
      await rawRun();
      for (const side of sides) await side.run();
    }
    const rawRates = [];
    const rates = sides.map(() => []);
    const ratios = sides.map(() => []);
    for (let round = 0; round < rounds; round++) {
      // Each side is measured right after its own raw run, in alternating order, so drift on a noisy machine hits both equally.
      for (const [index, side] of sides.entries()) {
        let rawMs;
        let sideMs;
        if (round % 2 === 0) {
          rawMs = await timed(rawRun);
          sideMs = await timed(side.run);
        } else {
          sideMs = await timed(side.run);
          rawMs = await timed(rawRun);
        }
        rawRates.push((count / rawMs) * 1000);
        rates[index].push((count / sideMs) * 1000);
        ratios[index].push(rawMs / sideMs);
      }
    }
    const bytes = Math.round(objects.reduce((sum, object) => sum + object.body.byteLength, 0) / objects.length);
    print(`\n${title}; ${count} sample messages, ~${bytes} B stored on average, concurrency ${concurrency}, stub answering at once in a worker thread, median of ${rounds} alternating rounds`);
    print(`| side | ${unit} | ratio vs raw |`);
    print('|---|---:|---:|');
    print(`| ${rawName} | ${median(rawRates).toFixed(0)} | 1.00 |`);
    const result = { count, concurrency, rounds, rawRate: median(rawRates), sides: [] };
    for (const [index, side] of sides.entries()) {
      print(`| ${side.name} | ${median(rates[index]).toFixed(0)} | **${median(ratios[index]).toFixed(2)}** |`);
      result.sides.push({ name: side.name, rate: median(rates[index]), ratio: median(ratios[index]) });
    }
    print('target: archive() at least 0.95 of raw (a prepare pool moves validate/render/compress/hash off the thread that writes)');
    return result;
  } finally {
    await pool.close();
  }
}
