import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-worker-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => !file.includes(`${path.sep}.sentcopy${path.sep}`) && !file.includes(`${path.sep}.sentcopy-ledger${path.sep}`));
}

describe('sentcopy worker', () => {
  // Operators run Node with flags of its own (a heap limit, --expose-gc); Node refuses those in a
  // thread, and the worker once archived nothing under them (every message failed in its prepare thread).
  it.each([
    ['no Node flags', [], []],
    ['Node flags a thread refuses (--max-old-space-size, --expose-gc, --trace-gc)', ['--max-old-space-size=512', '--expose-gc', '--trace-gc'], []],
    ['its writes on the main thread (--no-write-threads)', [], ['--no-write-threads']],
  ])('starts on defaults with %s, takes a message over HTTP, stores it, and stops cleanly on SIGTERM', async (_name, flags, options) => {
    const cwd = mkdtempSync(path.join(work, 'run-'));
    const child = spawn(process.execPath, [...flags, bin, 'worker', '--port', '0', '--json', ...options], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const started = await new Promise<{ url: string; apiKey: string; project: string; config: string; version: string; workerVersion: string }>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const line = stderr.split('\n').find((candidate) => candidate.startsWith('{'));
        if (line !== undefined) resolve(JSON.parse(line));
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
    });
    expect(started.project).toBe('default');
    const versionOf = (manifest: string) => (JSON.parse(readFileSync(fileURLToPath(new URL(manifest, import.meta.url)), 'utf8')) as { version: string }).version;
    expect({ version: started.version, workerVersion: started.workerVersion }).toEqual({ version: versionOf('../package.json'), workerVersion: versionOf('../../worker/package.json') });
    expect(statSync(started.config).mode & 0o777).toBe(0o600);
    expect(readFileSync(started.config, 'utf8')).not.toContain(started.apiKey);

    const message = { version: 1, channel: 'sms', message_id: 'cli-1', project_id: 'default', sent_at: 1767225600000, to: '+1 (555) 010-0000', body: 'Your code is 123456' };
    const response = await fetch(`${started.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${started.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify([message]) });
    expect(response.status).toBe(202);
    const root = path.join(cwd, 'sentcopy-archive');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        if (filesUnder(root).length > 0) break;
      } catch {
        // Not created yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [file] = filesUnder(root);
    expect(JSON.parse(gunzipSync(readFileSync(file as string)).toString('utf8'))).toMatchObject({ message_id: 'cli-1', to: '+1 (555) 010-0000', body: 'Your code is 123456' });
    expect(
      createHash('sha256')
        .update(readFileSync(file as string))
        .digest('hex'),
    ).toHaveLength(64);

    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    // Under --trace-gc V8 prints GC lines to this stdout too, from its own buffer: a log line may follow part of one.
    const entries = stdout
      .split('\n')
      .filter((line) => line.includes('{"'))
      .map((line) => JSON.parse(line.slice(line.indexOf('{"'))) as { event: string; version?: string });
    const events = entries.map((entry) => entry.event);
    expect(entries.find((entry) => entry.event === 'worker.started')?.version).toBe(started.workerVersion);
    expect(events).toContain('processor.stopped');
    // Stored at the first try, prepared on its thread.
    expect(events.filter((event) => event === 'message.retry_scheduled' || event === 'prepare.thread_failed' || event === 'destination.write_thread_failed')).toEqual([]);
    expect(stdout).not.toContain(started.apiKey);
    expect(stdout).not.toContain('010-0000');
    expect(stdout).not.toContain('+15550100000');
  });
});
