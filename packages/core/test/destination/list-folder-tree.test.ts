import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareUtf8, listFolderTree, type FolderTreeReader } from '../../src/index.js';

// A real folder tree on disk, read with readdir: the kind of store the lister is for.
let root: string;
const reads: string[] = [];
const keys = ['a-c', 'a/b-x/1', 'a/b/c', 'a/b/d/e', 'a0', 'b', 'tmp/skip-me', 'z/😀', 'z/～', 'é'];

const reader: FolderTreeReader = {
  async readFolder(path) {
    reads.push(path);
    try {
      const entries = await readdir(join(root, path), { withFileTypes: true });
      return Promise.all(entries.map(async (entry) => ({ name: entry.name, folder: entry.isDirectory(), size: entry.isDirectory() ? 0 : (await stat(join(root, path, entry.name))).size })));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  },
  skip: (name) => name === 'tmp/',
};

async function listAll(prefix: string, limit: number): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await listFolderTree({ prefix, cursor, limit }, reader, new AbortController().signal);
    names.push(...page.entries.map((entry) => entry.name));
    cursor = page.cursor;
    pages++;
  } while (cursor !== undefined && pages < 100);
  return { names, pages };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sentcopy-folder-tree-'));
  for (const key of keys) {
    await mkdir(dirname(join(root, key)), { recursive: true });
    await writeFile(join(root, key), key);
  }
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('listFolderTree', () => {
  const expected = keys.filter((name) => !name.startsWith('tmp/')).sort(compareUtf8);

  it('lists every file once, in UTF-8 byte order of full names (folders sort as "name/"), skipping what the reader skips', async () => {
    expect(expected).toEqual(['a-c', 'a/b-x/1', 'a/b/c', 'a/b/d/e', 'a0', 'b', 'z/～', 'z/😀', 'é']);
    for (const limit of [1, 2, 3, 1000]) {
      const { names, pages } = await listAll('', limit);
      expect(names).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / limit));
    }
  });

  it('filters by string prefix, also one that ends inside a name, and reads only folders that can match', async () => {
    expect((await listAll('a/b', 1000)).names).toEqual(['a/b-x/1', 'a/b/c', 'a/b/d/e']);
    expect((await listAll('a/b/', 2)).names).toEqual(['a/b/c', 'a/b/d/e']);
    expect((await listAll('a', 1000)).names).toEqual(['a-c', 'a/b-x/1', 'a/b/c', 'a/b/d/e', 'a0']);
    expect((await listAll('nothing/here', 10)).names).toEqual([]);
    reads.length = 0;
    await listAll('z/', 10);
    expect(reads).toEqual(['z/']);
  });

  it('continues after the cursor without reading folders wholly before it, and reports sizes', async () => {
    reads.length = 0;
    const page = await listFolderTree({ prefix: '', cursor: 'a/b/c', limit: 2 }, reader, new AbortController().signal);
    expect(page.entries).toEqual([
      { name: 'a/b/d/e', size: 7 },
      { name: 'a0', size: 2 },
    ]);
    expect(page.cursor).toBe('a0');
    expect(reads).not.toContain('a/b-x/');
  });

  it('stops at once when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(listFolderTree({ prefix: '', limit: 10 }, reader, controller.signal)).rejects.toThrow('stop');
  });
});
