import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DestinationError, type PutObjectInput } from '@sentcopy/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createFsDestination } from '../src/index.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const input = (key: string, text: string): PutObjectInput => {
  const body = new Uint8Array(Buffer.from(text));
  return { key, body, sha256: sha256(body), contentType: 'text/plain' };
};
const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');
const bases: string[] = [];
afterAll(() => {
  for (const base of bases) rmSync(base, { recursive: true, force: true });
});

/** Runs `body` with the process umask set to `mask`, then restores it. */
async function withUmask<T>(mask: number, body: () => Promise<T>): Promise<T> {
  const previous = process.umask(mask);
  try {
    return await body();
  } finally {
    process.umask(previous);
  }
}

/** Modes of everything one put creates under a fresh root. */
async function modesAfterPut(settings: { fileMode?: number; directoryMode?: number } = {}): Promise<Record<string, string>> {
  const base = mkdtempSync(join(tmpdir(), 'sentcopy-fs-modes-'));
  bases.push(base);
  const root = join(base, 'archive');
  const destination = createFsDestination({ root, ...settings });
  await destination.put(input('2026/12/message.json', 'personal data'));
  return {
    root: modeOf(root),
    keyFolder: modeOf(join(root, '2026')),
    keyLeafFolder: modeOf(join(root, '2026', '12')),
    object: modeOf(join(root, '2026', '12', 'message.json')),
    reserved: modeOf(join(root, '.sentcopy')),
    temp: modeOf(join(root, '.sentcopy', 'tmp')),
    sidecarFolder: modeOf(join(root, '.sentcopy', 'meta', '2026', '12')),
    sidecar: modeOf(join(root, '.sentcopy', 'meta', '2026', '12', 'message.json')),
  };
}

const everything = (folder: string, file: string) => ({ root: folder, keyFolder: folder, keyLeafFolder: folder, object: file, reserved: folder, temp: folder, sidecarFolder: folder, sidecar: file });

describe('permissions at rest', () => {
  for (const mask of [0o022, 0o000]) {
    it(`creates objects 0600 and folders 0700 by default (umask ${mask.toString(8).padStart(4, '0')})`, async () => {
      expect(await withUmask(mask, () => modesAfterPut())).toEqual(everything('0700', '0600'));
    });
    it(`applies fileMode and directoryMode exactly (umask ${mask.toString(8).padStart(4, '0')})`, async () => {
      expect(await withUmask(mask, () => modesAfterPut({ fileMode: 0o660, directoryMode: 0o770 }))).toEqual(everything('0770', '0660'));
    });
  }

  it('refuses modes that are not permission bits, naming the setting', () => {
    for (const [name, value] of [
      ['fileMode', 0o1777],
      ['fileMode', -1],
      ['directoryMode', 1.5],
      ['directoryMode', 0o10000],
    ] as const) {
      let caught: unknown;
      try {
        createFsDestination({ root: '/unused', [name]: value });
      } catch (error) {
        caught = error;
      }
      expect(DestinationError.isInstance(caught) && { kind: caught.kind, namesField: caught.message.includes(name) }).toEqual({ kind: 'invalid', namesField: true });
    }
  });
});
