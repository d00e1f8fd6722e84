import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const coreDist = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/index.js')).href;

/** Runs `node FLAGS script.mjs`; resolves with its exit code and output. */
function runNode(flags: readonly string[], script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-pool-flags-'));
  const file = path.join(folder, 'script.mjs');
  writeFileSync(file, script);
  return new Promise((resolve) => {
    execFile(process.execPath, [...flags, file], { timeout: 30_000 }, (error, stdout, stderr) => {
      rmSync(folder, { recursive: true, force: true });
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

// Marks the script's answer: under --trace-gc V8 prints its GC lines to the same stdout, before and
// after it (and, flushed from its own buffer, possibly just before it on the same line).
const answerMark = 'pool answer: ';

/** A script that prepares `count` messages through a pool and on the calling thread, and prints both keys and hashes and what the pool reported. */
function poolScript(count: number): string {
  return `
    import { createArchiver, createPreparePool } from ${JSON.stringify(coreDist)};
    const answerMark = ${JSON.stringify(answerMark)};
    const destination = { specificationVersion: 'v1', provider: 'none', id: 'none', capabilities: { delete: false, immutability: false, publicAccessCheck: false } };
    const message = (index) => new TextEncoder().encode(JSON.stringify({ version: 1, channel: 'sms', message_id: 'm-' + index, project_id: 'acme', sent_at: Date.UTC(2026, 0, 1), to: '+14155550100', body: 'hi ' + index }));
    const threadErrors = [];
    const pool = createPreparePool({ threads: 1, onThreadError: (error) => threadErrors.push(error.message) });
    try {
      const pooled = createArchiver({ destination, layout: 'sentcopy-unkeyed', preparePool: pool, retry: false });
      const here = createArchiver({ destination, layout: 'sentcopy-unkeyed', retry: false });
      const rows = [];
      for (let index = 0; index < ${count}; index++) {
        const [a, b] = await Promise.all([pooled.prepare(message(index)), here.prepare(message(index))]);
        rows.push({ pooled: [a.key, a.sha256, a.message.body], here: [b.key, b.sha256, b.message.body] });
      }
      console.log(answerMark + JSON.stringify({ rows, threadErrors }));
    } finally {
      await pool.close();
    }
  `;
}

/** The answer a {@link poolScript} printed, wherever it is among V8's own lines. */
function answerOf(stdout: string): PoolAnswer {
  const line = stdout.split('\n').find((text) => text.includes(answerMark));
  if (line === undefined) throw new Error(`The script printed no answer; its output:\n${stdout}`);
  return JSON.parse(line.slice(line.indexOf(answerMark) + answerMark.length)) as PoolAnswer;
}

interface PoolAnswer {
  rows: { pooled: string[]; here: string[] }[];
  threadErrors: string[];
}

function expectSameObjects(answer: PoolAnswer, count: number): void {
  expect(answer.rows).toHaveLength(count);
  for (const row of answer.rows) {
    expect(row.pooled).toEqual(row.here);
    expect(row.pooled[1]).toMatch(/^[0-9a-f]{64}$/);
  }
}

describe('prepare pool: the process flags its threads inherit', () => {
  // A worker started with a heap limit (`node --max-old-space-size=1024`), or with --trace-gc or
  // --expose-gc, had every message fail with "Initiated Worker with invalid execArgv flags" and
  // retried for hours, archiving nothing.
  it.each([
    ['V8 heap sizes', ['--max-old-space-size=512', '--max-semi-space-size=16']],
    ['V8 tracing and GC flags', ['--trace-gc', '--expose-gc', '--no-opt']],
    ['a process title and V8 pool size', ['--title=sentcopy-test', '--v8-pool-size=2']],
  ])('prepares on its threads in a process started with %s, the same objects as the calling thread', async (_name, flags) => {
    const result = await runNode(flags, poolScript(3));
    expect(result.code).toBe(0);
    const answer = answerOf(result.stdout);
    expect(answer.threadErrors).toEqual([]);
    expectSameObjects(answer, 3);
  });

  it('passes the flags a thread can take on to it (a CPU profile is written for the thread too)', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-pool-prof-'));
    try {
      const result = await runNode(['--trace-gc', '--cpu-prof', `--cpu-prof-dir=${folder}`], poolScript(2));
      expect(result.code).toBe(0);
      expect(answerOf(result.stdout).threadErrors).toEqual([]);
      // One profile for the main thread and one for the prepare thread.
      expect(readdirSync(folder).filter((name) => name.endsWith('.cpuprofile'))).toHaveLength(2);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('prepare pool: a thread that cannot start', () => {
  it('prepares every message on the calling thread instead, and reports the failure once', async () => {
    // A preload that throws in every thread but the main one: the pool's thread fails before it answers.
    const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-pool-nothread-'));
    const preload = path.join(folder, 'no-threads.mjs');
    writeFileSync(preload, "import { isMainThread } from 'node:worker_threads';\nif (!isMainThread) throw new Error('threads are not allowed here');\n");
    try {
      const result = await runNode(['--import', pathToFileURL(preload).href], poolScript(5));
      expect(result.code).toBe(0);
      const answer = answerOf(result.stdout);
      expectSameObjects(answer, 5);
      // Reported once: after the failure the pool prepares here for a while without trying a thread per message.
      expect(answer.threadErrors).toHaveLength(1);
      expect(answer.threadErrors[0]).toMatch(/threads are not allowed here\.$/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
