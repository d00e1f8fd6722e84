// What a crash or a power cut leaves behind: temp files of a killed writer, and new folders whose
// entries were never flushed. Uses real child processes (kill -9, ulimit, strace).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsDestination } from '../src/index.js';
import { writerTag } from '../src/fs-temp-files.js';
import { buildChildFixture, quote, removeChildFixture, runShell } from './child-fixture.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const folders: string[] = [];
const newFolder = (): string => {
  const folder = mkdtempSync(join(tmpdir(), 'sentcopy-fs-crash-'));
  folders.push(folder);
  return folder;
};
let fixture: string | undefined;
beforeAll(async () => {
  fixture = await buildChildFixture();
});
afterAll(() => {
  removeChildFixture(fixture);
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function startWriter(root: string, bytes: number): { child: ChildProcess; ready: Promise<void>; exited: Promise<void> } {
  const child = spawn(process.execPath, [fixture!, 'write-forever', root, '6', String(bytes)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('READY') && resolve());
    void exited.then(() => reject(new Error(`writer exited before READY: ${stderr}`)));
  });
  return { child, ready, exited };
}

/** Every object under root (outside .sentcopy) is whole: its bytes hash to its sidecar's SHA-256. */
function expectEveryObjectWhole(root: string): number {
  let count = 0;
  const walk = (folder: string, key: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (key === '' && entry.name === '.sentcopy') continue;
      if (entry.isDirectory()) walk(join(folder, entry.name), `${key}${entry.name}/`);
      else {
        const sidecarPath = join(root, '.sentcopy', 'meta', ...`${key}${entry.name}`.split('/'));
        // A kill between link() and the sidecar's rename leaves no sidecar; the bytes are still whole.
        if (existsSync(sidecarPath)) expect(sha256(readFileSync(join(folder, entry.name)))).toBe((JSON.parse(readFileSync(sidecarPath, 'utf8')) as { sha256: string }).sha256);
        count++;
      }
    }
  };
  walk(root, '');
  return count;
}

/**
 * Runs the child fixture under strace and reports the folders it created (mkdir succeeded) and
 * which of them, or of their parents, were not fsynced before the first put() resolved.
 */
async function traceChild(context: { skip: () => void }, base: string, args: string): Promise<{ stdout: string; created: string[]; unsyncedBeforeFirstResolve: string[] }> {
  if ((await runShell('command -v strace')).code !== 0) {
    console.warn('[destination-fs] skipping the fsync trace: strace is not installed');
    context.skip();
  }
  const trace = join(base, `trace-${Math.random().toString(36).slice(2)}.txt`);
  const run = await runShell(`strace -f -y -qq -s 64 -e trace=mkdir,mkdirat,fsync,write -o ${quote(trace)} ${quote(process.execPath)} ${quote(fixture!)} ${args}`);
  if (run.code !== 0 && /ptrace|Operation not permitted/.test(run.stderr)) {
    console.warn(`[destination-fs] skipping the fsync trace: ${run.stderr.trim()}`);
    context.skip();
  }
  // Rebuild each call from its line, or from its "unfinished"/"resumed" halves.
  const calls: { name: string; text: string; result: string }[] = [];
  const open = new Map<string, { name: string; text: string }>();
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const match = /^(\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const [, pid, rest] = match as unknown as [string, string, string];
    const unfinished = /^(\w+)\((.*) <unfinished \.\.\.>$/.exec(rest);
    if (unfinished) {
      open.set(pid, { name: unfinished[1]!, text: unfinished[2]! });
      continue;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)\)\s+= (.*)$/.exec(rest);
    if (resumed) {
      const started = open.get(pid);
      open.delete(pid);
      if (started) calls.push({ name: started.name, text: started.text + resumed[2], result: resumed[3]! });
      continue;
    }
    const whole = /^(\w+)\((.*)\)\s+= (.*)$/.exec(rest);
    if (whole) calls.push({ name: whole[1]!, text: whole[2]!, result: whole[3]! });
  }
  const resolvedAt = calls.findIndex((call) => call.name === 'write' && call.text.includes('PUT-RESOLVED'));
  expect(resolvedAt).toBeGreaterThan(0);
  const before = calls.slice(0, resolvedAt);
  const created = calls.filter((call) => (call.name === 'mkdir' || call.name === 'mkdirat') && call.result.startsWith('0')).map((call) => /"([^"]+)"/.exec(call.text)![1]!);
  const synced = new Set(before.filter((call) => call.name === 'fsync' && call.result.startsWith('0')).map((call) => /^\d+<(.+)>$/.exec(call.text)?.[1]));
  const unsyncedBeforeFirstResolve = [...new Set(created.flatMap((folder) => [folder, dirname(folder)]))].filter((folder) => !synced.has(folder));
  return { stdout: run.stdout, created, unsyncedBeforeFirstResolve };
}

describe('leftovers of a crash', () => {
  it('removes the temp files of writers killed with -9 mid-write at the next probe, and keeps every published object whole', async () => {
    const root = join(newFolder(), 'archive');
    const temp = join(root, '.sentcopy', 'tmp');
    for (let kill = 0; kill < 3; kill++) {
      const writer = startWriter(root, 2 * 1024 * 1024);
      await writer.ready;
      // Kill while writes are in flight: wait until temp files are there.
      for (let tries = 0; tries < 500 && readdirSync(temp).length === 0; tries++) await new Promise((resolve) => setTimeout(resolve, 2));
      writer.child.kill('SIGKILL');
      await writer.exited;
    }
    const leftovers = readdirSync(temp).length;
    expect(leftovers).toBeGreaterThan(0);
    const destination = createFsDestination({ root });
    const probe = await destination.probe();
    expect(probe.ok).toBe(true);
    expect(probe.checks[0]?.detail).toContain(`Removed ${leftovers} temporary file(s) left by a crash`);
    expect(readdirSync(temp)).toEqual([]);
    expect(expectEveryObjectWhole(root)).toBeGreaterThan(0);
  }, 60_000);

  it('keeps the temp files of a live writer in another process sharing the folder, and removes only stale or dead ones', async () => {
    const root = join(newFolder(), 'archive');
    const temp = join(root, '.sentcopy', 'tmp');
    mkdirSync(temp, { recursive: true });
    const tag = writerTag();
    const uuid = '0b7e3d1c-8a55-4c1e-9f1a-2d3c4b5a6978';
    const dead = spawn(process.execPath, ['-e', '']);
    const deadPid = dead.pid!;
    await new Promise((resolve) => dead.once('exit', resolve));
    const live = spawn('sleep', ['60']);
    const hour = 60 * 60 * 1000;
    const files: Record<string, { age: number; expectKept: boolean }> = {
      [`${tag}-${deadPid}-${uuid}`]: { age: 0, expectKept: tag === undefined },
      [`${tag}-${live.pid}-${uuid}`]: { age: 0, expectKept: true },
      [`${tag}-${live.pid}-${uuid.replace('0b', '1b')}`]: { age: 2 * hour, expectKept: false },
      [`aaaaaaaaaaaa-${deadPid}-${uuid}`]: { age: 0, expectKept: true },
      [`aaaaaaaaaaaa-${deadPid}-${uuid.replace('0b', '2b')}`]: { age: 2 * hour, expectKept: false },
      'crashed-by-an-older-version': { age: 2 * hour, expectKept: false },
      'fresh-from-an-older-version': { age: 0, expectKept: true },
    };
    try {
      for (const [name, { age }] of Object.entries(files)) {
        writeFileSync(join(temp, name), 'half a messa');
        const at = new Date(Date.now() - age);
        utimesSync(join(temp, name), at, at);
      }
      // A real second process writes into the same folder while this one probes again and again.
      const writer = startWriter(root, 256 * 1024);
      await writer.ready;
      const destination = createFsDestination({ root });
      for (let round = 0; round < 20; round++) expect((await destination.probe()).ok).toBe(true);
      expect(writer.child.exitCode).toBe(null);
      writer.child.kill('SIGKILL');
      await writer.exited;
      const left = new Set(readdirSync(temp));
      expect(Object.fromEntries(Object.keys(files).map((name) => [name, left.has(name)]))).toEqual(Object.fromEntries(Object.entries(files).map(([name, file]) => [name, file.expectKept])));
    } finally {
      live.kill('SIGKILL');
    }
  }, 60_000);

  it("a second destination on the same root in this process (a reconfigured one) leaves the first one's in-flight temp files alone", async () => {
    const root = join(newFolder(), 'archive');
    const first = createFsDestination({ root });
    const second = createFsDestination({ root });
    const temp = join(root, '.sentcopy', 'tmp');
    expect((await first.probe()).ok).toBe(true);
    let sawInFlight = 0;
    for (let round = 0; round < 4; round++) {
      const body = new Uint8Array(Buffer.alloc(16 * 1024 * 1024, round));
      let settled = false;
      const writing = first.put({ key: `big/${round}`, body, sha256: sha256(body), contentType: 'application/octet-stream' }).finally(() => (settled = true));
      while (!settled) {
        if (readdirSync(temp).length > 0) sawInFlight++;
        expect((await second.probe()).ok).toBe(true);
      }
      expect((await writing).created).toBe(true);
    }
    expect(sawInFlight).toBeGreaterThan(0);
  }, 60_000);

  it('fsyncs every folder a put creates, and the parent of each, before put() resolves (strace)', async (context) => {
    const base = newFolder();
    const root = join(base, 'new', 'archive');
    const traced = await traceChild(context, base, `put-once ${quote(root)} a/b/c/object.bin 100`);
    expect(traced.stdout).toContain('{"ok":true}');
    expect(traced.created).toEqual(expect.arrayContaining([join(root, 'a', 'b', 'c'), join(root, '.sentcopy', 'meta', 'a', 'b', 'c'), join(root, '.sentcopy', 'tmp'), root, dirname(root)]));
    expect(traced.unsyncedBeforeFirstResolve).toEqual([]);
  }, 60_000);

  it('lets no concurrent put into the same new folders resolve before those folders are fsynced (strace)', async (context) => {
    const base = newFolder();
    const root = join(base, 'archive');
    mkdirSync(root);
    const traced = await traceChild(context, base, `put-concurrently ${quote(root)} 12`);
    expect(traced.stdout).toContain('{"ok":true}');
    expect(traced.created).toEqual(expect.arrayContaining([join(root, 'shared', 'new', 'chain'), join(root, '.sentcopy', 'meta', 'shared', 'new', 'chain')]));
    expect(traced.unsyncedBeforeFirstResolve).toEqual([]);
  }, 60_000);

  it('turns EMFILE (a child with ulimit -n 64 and every descriptor taken) into a retryable error, and writes once descriptors are free', async () => {
    const root = join(newFolder(), 'archive');
    const run = await runShell(`ulimit -n 64 && exec ${quote(process.execPath)} ${quote(fixture!)} fill-fds-then-put ${quote(root)}`);
    if (run.code !== 0 && /ulimit/.test(run.stderr)) {
      console.warn(`[destination-fs] skipping the EMFILE test: ${run.stderr.trim()}`);
      return;
    }
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { filled: boolean; starved: { ok: boolean; kind?: string; code?: string; message?: string }; relieved: { ok: boolean } };
    expect(report.filled).toBe(true);
    expect({ ok: report.starved.ok, kind: report.starved.kind, code: report.starved.code }).toEqual({ ok: false, kind: 'rate_limited', code: 'EMFILE' });
    expect(report.starved.message).toContain('too many open files');
    expect(report.relieved).toEqual({ ok: true });
    expect(existsSync(join(root, 'emfile', 'starved'))).toBe(false);
    expect(readdirSync(join(root, '.sentcopy', 'tmp'))).toEqual([]);
  }, 60_000);
});
