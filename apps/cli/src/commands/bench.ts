import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Command, InvalidArgumentError } from 'commander';
import { createArchiver, createPreparePool, getCodec, sampleHtmlEmail, sampleMessages, sampleSms, serializeJson, type DestinationV1, type PreparedObject } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { emit } from '../cli-kit/index.js';

interface BenchOptions {
  messages: number;
  rounds: number;
  concurrency: number;
  json: boolean;
}

/** One measured comparison: `subject` against `baseline`, measured in the same process. */
interface BenchRow {
  /** Short stable name, e.g. `archive-vs-raw-put`. */
  id: string;
  /** What was measured. */
  subject: string;
  /** What it is compared with. */
  baseline: string;
  /** Unit of the rates. */
  unit: string;
  subjectRate: number;
  baselineRate: number;
  /** subject rate / baseline rate (median over the rounds); 1 means as fast as the baseline. */
  ratio: number;
}

function wholeNumber(min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value.trim()) || parsed < min || parsed > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    return parsed;
  };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

async function inPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

/** Runs `work` against a fresh local-folder destination in a temp folder (never the configured ones), and removes it. */
async function withTempDestination<T>(work: (destination: DestinationV1) => Promise<T>): Promise<T> {
  const root = await mkdtemp(path.join(tmpdir(), 'sentcopy-bench-'));
  const destination = createFsDestination({ root });
  try {
    return await work(destination);
  } finally {
    await destination.close?.();
    await rm(root, { recursive: true, force: true });
  }
}

async function timedMs(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

const putRaw = (destination: DestinationV1, object: PreparedObject) =>
  destination.put({ key: object.key, body: object.body, sha256: object.sha256, contentType: object.contentType, ...(object.contentEncoding === undefined ? {} : { contentEncoding: object.contentEncoding }), metadata: object.metadata });

/**
 * archive() (validate, render, serialize, compress, hash, key, put) against a raw put of the same
 * bytes prepared up front, both into a temp local folder; with and without a prepare pool.
 */
async function archiveRows(options: BenchOptions, say: (text: string) => void): Promise<BenchRow[]> {
  const messages = sampleMessages({ projectId: 'bench', count: options.messages });
  // Generated messages in temporary folders: a one-off secret keys them like a deployment's would.
  const recipientKey = randomBytes(32);
  const pool = createPreparePool();
  try {
    const sides = { plain: [] as number[], pooled: [] as number[] };
    const rates = { raw: [] as number[], plain: [] as number[], pooled: [] as number[] };
    for (let round = 1; round <= options.rounds; round++) {
      say(`archive() vs raw put, round ${round} of ${options.rounds}…`);
      const prepared = await withTempDestination(async (destination) => {
        const archiver = createArchiver({ destination, recipientKey });
        return Promise.all(messages.map((message) => archiver.prepare(message)));
      });
      const rawMs = await withTempDestination((destination) => timedMs(() => inPool(prepared, options.concurrency, (object) => putRaw(destination, object))));
      const plainMs = await withTempDestination((destination) => {
        const archiver = createArchiver({ destination, recipientKey });
        return timedMs(() => inPool(messages, options.concurrency, (message) => archiver.archive(message)));
      });
      const pooledMs = await withTempDestination((destination) => {
        const archiver = createArchiver({ destination, recipientKey, preparePool: pool });
        return timedMs(() => inPool(messages, options.concurrency, (message) => archiver.archive(message)));
      });
      sides.plain.push(rawMs / plainMs);
      sides.pooled.push(rawMs / pooledMs);
      rates.raw.push((messages.length / rawMs) * 1000);
      rates.plain.push((messages.length / plainMs) * 1000);
      rates.pooled.push((messages.length / pooledMs) * 1000);
    }
    const baseline = 'raw put of the same bytes, prepared beforehand';
    return [
      { id: 'archive-vs-raw-put', subject: 'archive(message), prepared on the calling thread', baseline, unit: 'messages/s', subjectRate: median(rates.plain), baselineRate: median(rates.raw), ratio: median(sides.plain) },
      {
        id: 'archive-pool-vs-raw-put',
        subject: `archive(message) with a prepare pool (${pool.threads} thread${pool.threads === 1 ? '' : 's'})`,
        baseline,
        unit: 'messages/s',
        subjectRate: median(rates.pooled),
        baselineRate: median(rates.raw),
        ratio: median(sides.pooled),
      },
    ];
  } finally {
    await pool.close();
  }
}

/** Operations per second of `work`, the best of three slices after a warm-up (interference only ever slows a slice). */
function rate(work: () => unknown, budgetMs: number): number {
  const loop = (ms: number) => {
    let operations = 0;
    const started = performance.now();
    const deadline = started + ms;
    while (performance.now() < deadline) {
      work();
      operations++;
    }
    return (operations * 1000) / (performance.now() - started);
  };
  loop(budgetMs / 5);
  return Math.max(loop(budgetMs / 3), loop(budgetMs / 3), loop(budgetMs / 3));
}

/** sentcopy's codecs against node:zlib gzipSync level 6, on a marketing email and an SMS as stored. */
function codecRows(options: BenchOptions, say: (text: string) => void): BenchRow[] {
  const inputs = [
    { name: 'HTML email', bytes: serializeJson(sampleHtmlEmail()) },
    { name: 'SMS', bytes: serializeJson(sampleSms()) },
  ];
  const budgetMs = Math.min(300, Math.max(100, options.messages / 4));
  const rows: BenchRow[] = [];
  for (const input of inputs) {
    for (const direction of ['encode', 'decode'] as const) {
      say(`codecs, ${input.name} ${direction}…`);
      const gzipped = gzipSync(input.bytes, { level: 6 });
      const zlibWork = direction === 'encode' ? () => gzipSync(input.bytes, { level: 6 }) : () => gunzipSync(gzipped);
      for (const name of ['gzip', 'lz4'] as const) {
        const codec = getCodec(name);
        const encoded = codec.encodeSync(input.bytes);
        const work = direction === 'encode' ? () => codec.encodeSync(input.bytes) : () => codec.decodeSync(encoded);
        // Baseline measured before and after, so a slow moment of the machine does not favour either side.
        const before = rate(zlibWork, budgetMs);
        const subject = rate(work, budgetMs);
        const after = rate(zlibWork, budgetMs);
        const baselineRate = (before + after) / 2;
        rows.push({
          id: `codec-${name}-${direction}-${input.name === 'SMS' ? 'sms' : 'email'}`,
          subject: `${name} ${direction}, ${input.name} (${input.bytes.byteLength} B)`,
          baseline: direction === 'encode' ? 'node:zlib gzipSync level 6' : 'node:zlib gunzipSync',
          unit: 'operations/s',
          subjectRate: subject,
          baselineRate,
          ratio: subject / baselineRate,
        });
      }
    }
  }
  return rows;
}

function humanReport(report: { node: string; cpus: number; messages: number; rounds: number; concurrency: number; results: readonly BenchRow[] }): string {
  const rows = report.results.map((row) => [row.subject, row.baseline, `${Math.round(row.subjectRate).toLocaleString('en-US')} vs ${Math.round(row.baselineRate).toLocaleString('en-US')} ${row.unit}`, `${row.ratio.toFixed(2)}×`]);
  const header = ['MEASURED', 'AGAINST', 'RATES', 'RATIO'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] as string).length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => (column === 3 ? cell.padStart(widths[column] as number) : cell.padEnd(widths[column] as number))).join('  ');
  return [
    `sentcopy bench: Node ${report.node}, ${report.cpus} core${report.cpus === 1 ? '' : 's'}`,
    `archive(): ${report.messages} sample messages into a local folder in a temp dir, ${report.concurrency} writes in flight, median of ${report.rounds} round${report.rounds === 1 ? '' : 's'}`,
    "codecs: sentcopy's gzip and lz4 codecs, best of three slices",
    '',
    line(header),
    ...rows.map(line),
    '',
    'Ratio = measured rate / baseline rate, both measured in this run (1.00× is as fast as the baseline).',
    'Compare ratios between machines or versions, never the absolute rates: a busy machine moves those.',
  ].join('\n');
}

/** `sentcopy bench`: the built-in benchmarks, in this process, as ratios against baselines measured alongside. */
export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('Measure archiving and compression on this machine, as ratios against a baseline measured in the same run.')
    .option('-n, --messages <number>', 'sample messages archived per round', wholeNumber(10, 100_000), 1000)
    .option('--rounds <number>', 'rounds of the archive comparison (the median is reported)', wholeNumber(1, 15), 3)
    .option('--concurrency <number>', 'writes in flight in the archive comparison', wholeNumber(1, 256), 16)
    .option('--json', 'print one JSON document with every figure', false)
    .addHelpText(
      'after',
      `
What runs (all in this process, in a temp folder; your configured destinations are never touched):
  - archive() of generated messages of every channel (validate, render, compress, hash, key, write)
    against a raw write of the same bytes prepared beforehand, without and with a prepare pool;
  - sentcopy's gzip and lz4 codecs against node:zlib gzip level 6, on an HTML email and an SMS.

Examples:
  $ sentcopy bench
  $ sentcopy bench --messages 500 --rounds 5
  $ sentcopy bench --json | jq '.results[] | {id, ratio}'`,
    )
    .action(async (options: BenchOptions) => runBench(options));
}

async function runBench(options: BenchOptions): Promise<void> {
  const say = (text: string) => {
    if (!options.json && process.stderr.isTTY === true) process.stderr.write(`\r\u001b[2K${text}`);
  };
  const results = [...(await archiveRows(options, say)), ...codecRows(options, say)];
  say('');
  const report = { node: process.versions.node, cpus: availableParallelism(), messages: options.messages, rounds: options.rounds, concurrency: options.concurrency, results };
  emit(options, report, () => humanReport(report));
}
