import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tempFolders } from './ingest-fixture.js';
import { runCli } from './run-cli.js';

const newFolder = tempFolders('bench');

interface BenchRow {
  id: string;
  subjectRate: number;
  baselineRate: number;
  ratio: number;
}

describe('sentcopy bench', () => {
  it('prints numeric ratios against baselines measured in the same run, and leaves nothing behind', async () => {
    const work = newFolder();
    // A temp folder of its own, so other processes' temp folders cannot be mistaken for leftovers.
    const temp = newFolder();
    const run = await runCli(['bench', '--messages', '200', '--json'], { cwd: work, env: { TMPDIR: temp } });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { node: string; messages: number; rounds: number; results: BenchRow[] };
    expect(report).toMatchObject({ node: process.versions.node, messages: 200, rounds: 3 });
    expect(report.results.map((row) => row.id)).toEqual([
      'archive-vs-raw-put',
      'archive-pool-vs-raw-put',
      'codec-gzip-encode-email',
      'codec-lz4-encode-email',
      'codec-gzip-decode-email',
      'codec-lz4-decode-email',
      'codec-gzip-encode-sms',
      'codec-lz4-encode-sms',
      'codec-gzip-decode-sms',
      'codec-lz4-decode-sms',
    ]);
    for (const row of report.results) {
      expect(Number.isFinite(row.ratio) && row.ratio > 0).toBe(true);
      expect(row.subjectRate).toBeGreaterThan(0);
      expect(row.baselineRate).toBeGreaterThan(0);
    }
    // The archive comparison really wrote: 200 messages cannot take less than a microsecond each.
    expect(report.results[0]?.baselineRate).toBeLessThan(1_000_000);
    // No progress or other text mixed into the JSON, nothing written where it ran, temp folders removed.
    expect(run.stderr).toBe('');
    expect(readdirSync(work)).toEqual([]);
    expect(readdirSync(temp)).toEqual([]);
  }, 60_000);

  it('prints a table by default and refuses a bad count with a hint', async () => {
    const work = newFolder();
    const run = await runCli(['bench', '--messages', '50', '--rounds', '1'], { cwd: work });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^MEASURED\s+AGAINST\s+RATES\s+RATIO$/m);
    expect(run.stdout).toMatch(/^archive\(message\), prepared on the calling thread\s+raw put of the same bytes.*\d+\.\d\d×$/m);
    expect(run.stdout).toMatch(/^lz4 encode, SMS \(\d+ B\)\s+node:zlib gzipSync level 6\s+.*\d+\.\d\d×$/m);
    const bad = await runCli(['bench', '--messages', 'many'], { cwd: work });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--messages');
    expect(bad.stderr).toContain('sentcopy bench --help');
  }, 60_000);
});
