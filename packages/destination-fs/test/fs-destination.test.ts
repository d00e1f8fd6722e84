import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DestinationError, type DestinationV1, type PutObjectInput } from '@sentcopy/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsDestination } from '../src/index.js';
import { mapFsError } from '../src/map-fs-error.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const input = (key: string, text: string, extra: Partial<PutObjectInput> = {}): PutObjectInput => {
  const body = new Uint8Array(Buffer.from(text));
  return { key, body, sha256: sha256(body), contentType: 'text/plain', ...extra };
};
const kindOf = async (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'fulfilled',
    (error: unknown) => (DestinationError.isInstance(error) ? error.kind : `foreign: ${String(error)}`),
  );
const tree = (folder: string): string[] =>
  readdirSync(folder, { recursive: true, withFileTypes: true })
    .map((entry) => `${relative(folder, join(entry.parentPath, entry.name))}${entry.isDirectory() ? '/' : ''}`)
    .sort();

let base: string;
let root: string;
let destination: DestinationV1;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'sentcopy-fs-'));
  root = join(base, 'archive');
  destination = createFsDestination({ root });
});
afterEach(() => {
  chmodSync(base, 0o700);
  if (existsSync(root)) chmodSync(root, 0o700);
  rmSync(base, { recursive: true, force: true });
});

describe('createFsDestination', () => {
  it('identifies itself by file URL and declares its capabilities', () => {
    expect({ provider: destination.provider, id: destination.id, capabilities: destination.capabilities }).toEqual({
      provider: 'fs',
      id: `file://${root}`,
      capabilities: { delete: true, immutability: false, publicAccessCheck: false, versions: 'none' },
    });
  });

  it('writes nothing outside the root for hostile keys, and refuses the reserved folder', async () => {
    mkdirSync(root);
    writeFileSync(join(base, 'outside'), 'untouched');
    const before = tree(base);
    const hostile = ['../escape', 'a/../../b', '../../outside', '/abs', '/tmp/x', 'a//b', 'a/', '.', '..', 'a/./b', 'nul\u0000', 'back\\slash', 'x'.repeat(1025), 'lone\ud800'];
    const reserved = ['.sentcopy', '.sentcopy/meta/x', '.sentcopy/tmp/x', 'ok/' + 'y'.repeat(256)];
    const kinds = await Promise.all([...hostile, ...reserved].map((key) => kindOf(destination.put(input(key, 'hostile')))));
    expect(kinds).toEqual([...hostile, ...reserved].map(() => 'invalid'));
    for (const key of [...hostile, ...reserved]) {
      expect(await kindOf(destination.get(key))).toBe('invalid');
      expect(await kindOf(destination.head(key))).toBe('invalid');
      expect(await kindOf(destination.delete!(key))).toBe('invalid');
    }
    expect(tree(base)).toEqual(before);
    expect(readFileSync(join(base, 'outside'), 'utf8')).toBe('untouched');
    expect((await destination.list({ prefix: '.sentcopy/' })).objects).toEqual([]);
    expect((await destination.list({ prefix: '../' })).objects).toEqual([]);
  });

  it('ignores temporary files left by a crash, and later puts still work', async () => {
    mkdirSync(join(root, '.sentcopy', 'tmp'), { recursive: true });
    writeFileSync(join(root, '.sentcopy', 'tmp', 'crashed-object'), 'half a messa');
    writeFileSync(join(root, '.sentcopy', 'tmp', 'crashed-sidecar'), '{"version":');
    expect((await destination.list()).objects).toEqual([]);
    expect((await destination.put(input('2024/01/a.json', 'whole'))).created).toBe(true);
    expect((await destination.list()).objects.map((object) => object.key)).toEqual(['2024/01/a.json']);
    expect(readdirSync(join(root, '.sentcopy', 'tmp')).sort()).toEqual(['crashed-object', 'crashed-sidecar']);
  });

  it('leaves no temporary files after concurrent, conflicting and aborted puts', async () => {
    await Promise.allSettled(Array.from({ length: 20 }, (_, index) => destination.put(input('k', `body ${index % 2}`))));
    const controller = new AbortController();
    const aborted = destination.put(input('big', 'x'.repeat(8 * 1024 * 1024)), { signal: controller.signal });
    controller.abort();
    await aborted.catch(() => undefined);
    expect(readdirSync(join(root, '.sentcopy', 'tmp'))).toEqual([]);
  });

  it('reports an object without a sidecar with a recomputed SHA-256, and a retry restores the sidecar', async () => {
    mkdirSync(join(root, 'crashed'), { recursive: true });
    writeFileSync(join(root, 'crashed', 'object'), 'published, then the process died');
    const expected = sha256(new Uint8Array(Buffer.from('published, then the process died')));
    const head = await destination.head('crashed/object');
    expect(head && { sha256: head.sha256, contentType: head.contentType, metadata: head.metadata }).toEqual({ sha256: expected, contentType: undefined, metadata: {} });
    expect((await destination.get('crashed/object'))?.sha256).toBe(expected);
    expect(await kindOf(destination.put(input('crashed/object', 'different bytes')))).toBe('conflict');
    const retry = await destination.put(input('crashed/object', 'published, then the process died', { metadata: { attempt: '2' } }));
    expect(retry.created).toBe(false);
    expect(await destination.head('crashed/object')).toMatchObject({ sha256: expected, contentType: 'text/plain', metadata: { attempt: '2' } });
  });

  it('ignores a stale sidecar recording another size', async () => {
    await destination.put(input('s', 'original', { contentType: 'application/json' }));
    writeFileSync(join(root, 's'), 'replaced behind our back');
    const head = await destination.head('s');
    expect({ sha256: head?.sha256, contentType: head?.contentType }).toEqual({ sha256: sha256(new Uint8Array(Buffer.from('replaced behind our back'))), contentType: undefined });
  });

  it('refuses keys that collide with an object or a folder as invalid', async () => {
    await destination.put(input('a', 'object a'));
    await destination.put(input('x/y', 'object x/y'));
    expect(await kindOf(destination.put(input('a/b', 'below an object')))).toBe('invalid');
    expect(await kindOf(destination.put(input('x', 'over a folder')))).toBe('invalid');
    expect(await destination.get('x')).toBe(undefined);
    expect((await destination.list()).objects.map((object) => object.key)).toEqual(['a', 'x/y']);
  });

  it('maps a missing root to unreachable on reads, and creates it on put', async () => {
    expect(await kindOf(destination.get('a'))).toBe('unreachable');
    expect(await kindOf(destination.head('a'))).toBe('unreachable');
    expect(await kindOf(destination.list())).toBe('unreachable');
    expect((await destination.put(input('a', 'first'))).created).toBe(true);
    expect(statSync(root).isDirectory()).toBe(true);
  });

  it('refuses a root that is a file as invalid, and probe reports it', async () => {
    writeFileSync(root, 'not a folder');
    expect(await kindOf(destination.put(input('a', 'x')))).toBe('invalid');
    expect(await kindOf(destination.get('a'))).toBe('invalid');
    expect(await kindOf(destination.list())).toBe('invalid');
    const probe = await destination.probe();
    expect({ ok: probe.ok, checks: probe.checks.map((check) => `${check.name}:${check.status}`) }).toEqual({ ok: false, checks: ['reachable:failed'] });
  });

  it('refuses writes to a read-only root with unauthorized', async () => {
    if (process.getuid?.() === 0) {
      // root ignores folder modes, so assert the mapping the real route would take.
      for (const code of ['EACCES', 'EPERM']) expect(mapFsError(Object.assign(new Error('denied'), { code }), { operation: 'write the object' }).kind).toBe('unauthorized');
      return;
    }
    mkdirSync(root);
    chmodSync(root, 0o500);
    expect(await kindOf(destination.put(input('a', 'x')))).toBe('unauthorized');
    expect((await destination.probe()).checks.find((check) => check.name === 'write')?.status).toBe('failed');
  });

  it('maps every classified Node.js error code in one place, without paths in messages', () => {
    const cases = {
      EACCES: 'unauthorized',
      EPERM: 'unauthorized',
      ENOSPC: 'unreachable',
      EDQUOT: 'unreachable',
      EROFS: 'unreachable',
      EIO: 'unreachable',
      EMFILE: 'rate_limited',
      ENFILE: 'rate_limited',
      ENAMETOOLONG: 'invalid',
      EXDEV: 'invalid',
      EBUSY: 'unknown',
    };
    for (const [code, kind] of Object.entries(cases)) {
      const error = mapFsError(Object.assign(new Error(`${code}: /secret/path/recipient@example.com`), { code }), { operation: 'write the object', key: 'k' });
      expect({ code, kind: error.kind, leaks: error.message.includes('/secret') }).toEqual({ code, kind, leaks: false });
    }
  });

  it('probes a healthy folder: every check passes, public access is unsupported, nothing is left behind', async () => {
    mkdirSync(root, { mode: 0o755 });
    chmodSync(root, 0o755);
    const probe = await destination.probe();
    expect({ ok: probe.ok, public: probe.public, checks: probe.checks.map((check) => `${check.name}:${check.status}`) }).toEqual({
      ok: true,
      public: 'unknown',
      checks: ['reachable:passed', 'write:passed', 'read:passed', 'delete:passed', 'public-access:unsupported'],
    });
    expect(probe.checks.at(-1)?.detail).toContain('Other local users can read it');
    expect(readdirSync(join(root, '.sentcopy', 'probe'))).toEqual([]);
    expect(readdirSync(join(root, '.sentcopy', 'tmp'))).toEqual([]);
    chmodSync(root, 0o700);
    expect((await destination.probe()).checks.at(-1)?.detail).toContain('Other local users cannot read it');
  });

  it('deletes the object and its sidecar; deleting an absent key is fine', async () => {
    await destination.put(input('d/e', 'to delete'));
    await destination.delete!('d/e');
    await destination.delete!('d/e');
    await destination.delete!('d');
    expect({ object: existsSync(join(root, 'd', 'e')), sidecar: existsSync(join(root, '.sentcopy', 'meta', 'd', 'e')) }).toEqual({ object: false, sidecar: false });
    expect((await destination.put(input('d/e', 'new content after delete'))).created).toBe(true);
    expect((await destination.head('d/e'))?.sha256).toBe(sha256(new Uint8Array(Buffer.from('new content after delete'))));
  });

  it('refuses foreign cursors and bad limits, and caps pages at 1,000', async () => {
    await destination.put(input('a', 'a'));
    expect(await kindOf(destination.list({ cursor: 'not a cursor!' }))).toBe('invalid');
    expect(await kindOf(destination.list({ limit: 0 }))).toBe('invalid');
    expect(await kindOf(destination.list({ limit: 1.5 }))).toBe('invalid');
    expect((await destination.list({ limit: 5000 })).objects.map((object) => object.key)).toEqual(['a']);
  });

  it('records a wrong sha256 claim as invalid and stores nothing', async () => {
    expect(await kindOf(destination.put({ ...input('w', 'body'), sha256: '0'.repeat(64) }))).toBe('invalid');
    expect(existsSync(join(root, 'w'))).toBe(false);
  });

  it('refuses metadata values that are not strings as invalid, naming the entry, and stores nothing', async () => {
    for (const value of [() => 'a function', 7, null, { nested: 'x' }]) {
      const put = destination.put(input('m/odd', 'body', { metadata: { fine: 'yes', note: value as unknown as string } }));
      await expect(put).rejects.toMatchObject({ kind: 'invalid', message: expect.stringContaining('the value of "note"') });
    }
    expect(existsSync(join(root, 'm'))).toBe(false);
    expect(await destination.put(input('m/odd', 'body', { metadata: { note: 'a string' } }))).toMatchObject({ created: true });
  });

  it('works with fsync off', async () => {
    const fast = createFsDestination({ root, fsync: false });
    expect((await fast.put(input('f', 'fast'))).created).toBe(true);
    expect(Buffer.from((await fast.get('f'))?.body ?? []).toString()).toBe('fast');
  });
});
