import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

describe('prepare pool: the process flags its threads inherit', () => {
  // A worker started with a heap limit (`node --max-old-space-size=1024`) had every message fail with
  // "Initiated Worker with invalid execArgv flags" and wait hours for its slow retries.
  it('prepares on its threads in a process started with V8 heap flags, the same object as the calling thread', async () => {
    const script = `
      import { createArchiver, createPreparePool } from ${JSON.stringify(coreDist)};
      const destination = { specificationVersion: 'v1', provider: 'none', id: 'none', capabilities: { delete: false, immutability: false, publicAccessCheck: false } };
      const bytes = new TextEncoder().encode(JSON.stringify({ version: 1, channel: 'sms', message_id: 'm-1', project_id: 'acme', sent_at: Date.UTC(2026, 0, 1), to: '+14155550100', body: 'hi' }));
      const pool = createPreparePool({ threads: 1 });
      try {
        const pooled = await createArchiver({ destination, layout: 'sentcopy-unkeyed', preparePool: pool, retry: false }).prepare(bytes);
        const here = await createArchiver({ destination, layout: 'sentcopy-unkeyed', retry: false }).prepare(bytes);
        console.log(JSON.stringify({ pooled: [pooled.key, pooled.sha256], here: [here.key, here.sha256] }));
      } finally {
        await pool.close();
      }
    `;
    const result = await runNode(['--max-old-space-size=512', '--max-semi-space-size=16'], script);
    expect(result.stderr).not.toMatch(/invalid execArgv/);
    expect(result.code).toBe(0);
    const answer = JSON.parse(result.stdout.trim()) as { pooled: string[]; here: string[] };
    expect(answer.pooled).toEqual(answer.here);
    expect(answer.pooled[1]).toMatch(/^[0-9a-f]{64}$/);
  });
});
