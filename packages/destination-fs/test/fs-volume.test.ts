// The archive volume goes away (unmounted, removed, full) under a running destination. Needs root
// and mount(8); skips with the reason where the machine forbids mounting.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DestinationError, type PutObjectInput } from '@sentcopy/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createFsDestination } from '../src/index.js';
import { quote, runShell, tryMount, unmount } from './child-fixture.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const input = (key: string, text: string | Uint8Array): PutObjectInput => {
  const body = typeof text === 'string' ? new Uint8Array(Buffer.from(text)) : text;
  return { key, body, sha256: sha256(body), contentType: 'text/plain' };
};
const failureOf = async (promise: Promise<unknown>): Promise<{ kind: string; message: string }> =>
  promise.then(
    () => ({ kind: 'fulfilled', message: '' }),
    (error: unknown) => (DestinationError.isInstance(error) ? { kind: error.kind, message: error.message } : { kind: 'foreign', message: String(error) }),
  );

const mountedHere: string[] = [];
const bases: string[] = [];
async function cleanup(): Promise<void> {
  for (const target of mountedHere.splice(0).reverse()) await runShell(`umount -l ${quote(target)}`);
  for (const base of bases.splice(0)) rmSync(base, { recursive: true, force: true });
}
afterEach(cleanup);

/** A tmpfs "disk" of `size`, its folder `vol` bind-mounted at `root` (the archive volume). */
async function setup(size = '16m'): Promise<{ base: string; disk: string; volume: string; root: string; bind: () => Promise<void> }> {
  const base = mkdtempSync(join(tmpdir(), 'sentcopy-fs-volume-'));
  bases.push(base);
  const disk = join(base, 'disk');
  const volume = join(disk, 'vol');
  const root = join(base, 'root');
  mkdirSync(disk);
  mkdirSync(root);
  const refused = await tryMount(`-t tmpfs -o size=${size} tmpfs ${quote(disk)}`);
  if (refused !== undefined) throw new Error(refused);
  mountedHere.push(disk);
  mkdirSync(volume);
  const bind = async () => {
    const problem = await tryMount(`--bind ${quote(volume)} ${quote(root)}`);
    if (problem !== undefined) throw new Error(problem);
    mountedHere.push(root);
  };
  await bind();
  return { base, disk, volume, root, bind };
}

async function unmountRoot(root: string): Promise<void> {
  await unmount(root);
  mountedHere.splice(mountedHere.lastIndexOf(root), 1);
}

// Whether this machine lets the test mount: try once, print why not.
const mountRefusal = await (async () => {
  if (process.platform !== 'linux') return 'mount tests need Linux';
  const probe = mkdtempSync(join(tmpdir(), 'sentcopy-fs-mount-probe-'));
  try {
    const refused = await tryMount(`-t tmpfs -o size=1m tmpfs ${quote(probe)}`);
    if (refused === undefined) await unmount(probe);
    return refused;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();
if (mountRefusal !== undefined) console.warn(`[destination-fs] skipping the volume tests: ${mountRefusal}`);

describe.skipIf(mountRefusal !== undefined)('a local folder on a volume that goes away', () => {
  it('refuses to archive onto the disk beneath an unmounted volume (unreachable, probe fails), and after remounting every acknowledged object is there', async () => {
    const { volume, root, bind } = await setup();
    const destination = createFsDestination({ root });
    expect((await destination.probe()).ok).toBe(true);
    const acknowledged = [input('2026/12/a.json', 'first message'), input('2026/12/b.json', 'second message')];
    for (const object of acknowledged) expect((await destination.put(object)).created).toBe(true);

    await unmountRoot(root);
    expect(readdirSync(root)).toEqual([]);
    const refused = await failureOf(destination.put(input('2026/12/c.json', 'third message')));
    expect(refused.kind).toBe('unreachable');
    expect(refused.message).toContain('different file system');
    expect(refused.message).not.toContain(root);
    // Nothing at all was written under the mount point on the disk beneath.
    expect(readdirSync(root)).toEqual([]);
    const probe = await destination.probe();
    expect({ ok: probe.ok, checks: probe.checks.map((check) => `${check.name}:${check.status}`) }).toEqual({ ok: false, checks: ['reachable:failed'] });
    expect(probe.checks[0]?.detail).toContain('different file system');
    expect(readdirSync(root)).toEqual([]);
    // Reads say so too, instead of answering "absent" for acknowledged objects.
    expect((await failureOf(destination.get('2026/12/a.json'))).kind).toBe('unreachable');
    expect((await failureOf(destination.list())).kind).toBe('unreachable');

    await bind();
    expect((await destination.probe()).ok).toBe(true);
    const third = input('2026/12/c.json', 'third message');
    expect((await destination.put(third)).created).toBe(true);
    for (const object of [...acknowledged, third]) {
      expect(sha256(readFileSync(join(volume, ...object.key.split('/'))))).toBe(object.sha256);
      expect(Buffer.from((await destination.get(object.key))!.body).equals(Buffer.from(object.body))).toBe(true);
    }
    expect((await destination.list()).objects.map((object) => object.key)).toEqual(['2026/12/a.json', '2026/12/b.json', '2026/12/c.json']);
  });

  it('never recreates a root that disappeared after first use, and resumes once it is back', async () => {
    const { root, bind } = await setup();
    const destination = createFsDestination({ root });
    expect((await destination.put(input('a', 'before'))).created).toBe(true);
    await unmountRoot(root);
    rmdirSync(root);
    const refused = await failureOf(destination.put(input('b', 'while gone')));
    expect(refused.kind).toBe('unreachable');
    expect(refused.message).toContain('gone');
    expect((await destination.probe()).ok).toBe(false);
    expect(existsSync(root)).toBe(false);
    mkdirSync(root);
    await bind();
    expect((await destination.put(input('b', 'while gone'))).created).toBe(true);
    expect((await destination.list()).objects.map((object) => object.key)).toEqual(['a', 'b']);
  });

  it('with createRoot off, a volume not mounted yet is unreachable and nothing is created', async () => {
    const { base } = await setup();
    const missing = join(base, 'not-mounted-yet');
    const destination = createFsDestination({ root: missing, createRoot: false });
    const probe = await destination.probe();
    expect({ ok: probe.ok, checks: probe.checks.map((check) => `${check.name}:${check.status}`) }).toEqual({ ok: false, checks: ['reachable:failed'] });
    expect(probe.checks[0]?.detail).toContain('createRoot is off');
    expect((await failureOf(destination.put(input('a', 'x')))).kind).toBe('unreachable');
    expect(existsSync(missing)).toBe(false);
  });

  it('with requireMountPoint, a worker started while the volume is not mounted waits, and starts archiving once it is', async () => {
    const { root, volume, bind } = await setup();
    await unmountRoot(root);
    const destination = createFsDestination({ root, requireMountPoint: true });
    const probe = await destination.probe();
    expect({ ok: probe.ok, checks: probe.checks.map((check) => `${check.name}:${check.status}`) }).toEqual({ ok: false, checks: ['reachable:failed'] });
    expect(probe.checks[0]?.detail).toContain('not a mount point');
    const refused = await failureOf(destination.put(input('a', 'early message')));
    expect(refused.kind).toBe('unreachable');
    expect(readdirSync(root)).toEqual([]);
    await bind();
    expect((await destination.probe()).ok).toBe(true);
    expect((await destination.put(input('a', 'early message'))).created).toBe(true);
    expect(readFileSync(join(volume, 'a'), 'utf8')).toBe('early message');
  });

  it('on a full disk (1 MiB tmpfs) fails with a retryable kind and leaves no partial object or temp file; after freeing space the same put stores identical bytes', async () => {
    const { volume, root } = await setup('1m');
    const destination = createFsDestination({ root });
    expect((await destination.put(input('small', 'fits'))).created).toBe(true);
    const big = input('big/one.bin', new Uint8Array(Buffer.alloc(2 * 1024 * 1024, 7)));
    const tooBig = await failureOf(destination.put(big));
    expect(tooBig.kind).toBe('unreachable');
    expect(tooBig.message).toContain('ENOSPC');
    // Fill what is left, then try objects of several sizes: whichever step runs out of space
    // (temp file, sidecar, folders), nothing half-written may remain or look stored.
    let filler = 0;
    try {
      for (;;) writeFileSync(join(volume, `filler-${filler++}`), Buffer.alloc(64 * 1024, 1));
    } catch (error) {
      expect((error as { code?: string }).code).toBe('ENOSPC');
    }
    for (const size of [100, 3000, 40_000]) {
      const object = input(`full/${size}/x.bin`, new Uint8Array(Buffer.alloc(size, 9)));
      const result = await failureOf(destination.put(object));
      expect(['fulfilled', 'unreachable']).toContain(result.kind);
      if (result.kind === 'unreachable') expect(await destination.head(object.key)).toBe(undefined);
      expect(readdirSync(join(volume, '.sentcopy', 'tmp'))).toEqual([]);
    }
    expect(readdirSync(join(volume, '.sentcopy', 'tmp'))).toEqual([]);
    expect(await destination.head('big/one.bin')).toBe(undefined);
    for (const name of readdirSync(volume)) if (name.startsWith('filler-')) rmSync(join(volume, name));
    const smaller = input('big/one.bin', new Uint8Array(Buffer.alloc(512 * 1024, 7)));
    expect((await destination.put(smaller)).created).toBe(true);
    expect(sha256(readFileSync(join(volume, 'big', 'one.bin')))).toBe(smaller.sha256);
    expect((await destination.head('big/one.bin'))?.sha256).toBe(smaller.sha256);
  });
});
