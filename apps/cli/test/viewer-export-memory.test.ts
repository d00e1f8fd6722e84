import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createArchiver, createHmacRecipientHash, createLedgerWriter } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, describe, expect, it } from 'vitest';
import { testRecipientKey } from './ingest-fixture.js';
import { fsEntry, writeConfigFile } from './ls-fixtures.js';
import { bin } from './run-cli.js';
import { manifestOf } from './viewer-export-fixture.js';

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-export-memory-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Objects in the bundle, and the peak resident memory (MiB) the export may reach with them. */
const objectCount = 1000;
const memoryBoundMiB = 256;
const attachmentBytes = 96 * 1024;

// Pseudo-random words compress like real text, so the objects are not trivially small.
function bodyText(seed: number, length: number): string {
  const words = ['order', 'refund', 'shipped', 'kettle', 'invoice', 'garden', 'blue', 'tracking', 'parcel', 'delivery', 'thanks', 'account'];
  let state = seed + 1;
  const out: string[] = [];
  while (out.join(' ').length < length) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    out.push(`${words[state % words.length]}${state % 97}`);
  }
  return out.join(' ');
}

/**
 * Runs the built CLI with a preload that prints the process's peak RSS (KiB) on exit: VmHWM, the
 * peak of this process's own memory (getrusage's maxRSS would include the test process's peak
 * from before the exec, which Linux carries over).
 */
function runMeasured(args: readonly string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string; maxRssKiB: number }> {
  const report = `const{readFileSync:r}=process.getBuiltinModule('node:fs');let k;try{k=/VmHWM:\\s+(\\d+)/.exec(r('/proc/self/status','utf8'))[1]}catch{k=process.resourceUsage().maxRSS}process.stderr.write('max-rss-kib='+k+'\\n')`;
  const preload = `data:text/javascript,${encodeURIComponent(`process.on('exit',()=>{${report}})`)}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', preload, bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, maxRssKiB: Number(/max-rss-kib=(\d+)/.exec(stderr)?.[1] ?? Number.NaN) }));
  });
}

describe('sentcopy export of 1,000 objects', { timeout: 300_000 }, () => {
  it(`writes and checks them one at a time: peak RSS stays under ${memoryBoundMiB} MiB`, async () => {
    const root = path.join(work, 'archive');
    mkdirSync(root, { recursive: true });
    const destination = createFsDestination({ root });
    const ledger = createLedgerWriter({ destination, writerId: 'w-memory', recipientHash: createHmacRecipientHash(testRecipientKey), maxEntries: 200 });
    const archiver = createArchiver({ destination, recipientKey: testRecipientKey, ledger, retry: false });
    let storedBytes = 0;
    const started = Date.now();
    // Sixteen at a time: each store waits on its own fsync.
    for (let batch = 0; batch < objectCount; batch += 16) {
      const results = await Promise.all(
        Array.from({ length: Math.min(16, objectCount - batch) }, (_, offset) => {
          const index = batch + offset;
          return archiver.archive({
            version: 1,
            channel: 'email',
            message_id: `m-${index}`,
            project_id: 'shop',
            sent_at: Date.parse('2026-04-01T00:00:00Z') + index * 1000,
            to: `person-${index % 50}@example.com`,
            subject: `Order ${index}`,
            html_body: `<p>${bodyText(index, 2_000)}</p>`,
            // Random bytes do not compress: each object is about 100 KiB stored, 100 MiB in all, so a writer holding them would show.
            attachments: [{ file_name: `scan-${index}.bin`, content_type: 'application/octet-stream', bytes: randomBytes(attachmentBytes).toString('base64') }],
          });
        }),
      );
      for (const result of results) storedBytes += result.size;
    }
    console.log(`archived ${objectCount} objects in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await ledger.close();
    await destination.close?.();
    writeConfigFile(work, { destinations: { archive: fsEntry(root) }, projects: { shop: { destination: 'archive', channels: ['email'], api_keys: [] } } });

    const out = path.join(work, 'big.zip');
    const exportStarted = Date.now();
    const run = await runMeasured(['export', '--out', out, '--json'], work);
    expect(run.code, run.stderr).toBe(0);
    console.log(`exported in ${((Date.now() - exportStarted) / 1000).toFixed(1)} s`);
    expect(JSON.parse(run.stdout)).toMatchObject({ objects: objectCount, missing: [] });
    expect(manifestOf(out).objects).toHaveLength(objectCount);
    console.log(
      `export of ${objectCount} objects (${(storedBytes / 2 ** 20).toFixed(1)} MiB stored, bundle ${(statSync(out).size / 2 ** 20).toFixed(1)} MiB): peak RSS ${(run.maxRssKiB / 1024).toFixed(0)} MiB (bound ${memoryBoundMiB} MiB)`,
    );
    expect(run.maxRssKiB / 1024).toBeLessThan(memoryBoundMiB);

    // Checking it reads one file of the ZIP at a time too.
    const check = await runMeasured(['verify-bundle', out, '--json'], work);
    expect(check.code, check.stdout).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ intact: true, verified: objectCount });
    console.log(`verify-bundle of it: peak RSS ${(check.maxRssKiB / 1024).toFixed(0)} MiB (bound ${memoryBoundMiB} MiB)`);
    expect(check.maxRssKiB / 1024).toBeLessThan(memoryBoundMiB);
  });
});
