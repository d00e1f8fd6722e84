import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vitest from 'vitest';
import { runDestinationConformance, type DestinationBackdoor } from '../src/index.js';
import { createFolderDestination } from './fixtures/folder-destination.mjs';
import { createMemoryDestination, memorySecret } from './memory-destination.js';

const { destination, backdoor, faults } = createMemoryDestination();
// The memory destination lives in one process, so the cross-process race runs against a folder destination below.
runDestinationConformance({ name: 'reference in-memory destination', runner: vitest, createDestination: () => destination, backdoor, faults, secrets: [memorySecret], groups: { crossProcess: false } });

const root = mkdtempSync(join(tmpdir(), 'sentcopy-suite-folder-'));
vitest.afterAll(() => rmSync(root, { recursive: true, force: true }));
// The worked example of docs/destination-authors.md, built with the kit; the back door reads its JSON files with node:fs.
const folderBackdoor: DestinationBackdoor = {
  async readObject(key) {
    for (const name of await readdir(root)) {
      if (name.startsWith('.')) continue;
      const stored = JSON.parse(await readFile(join(root, name), 'utf8')) as { key: string; body: string; sha256: string; contentType: string; contentEncoding?: string; metadata: Record<string, string> };
      if (stored.key === key) return { body: new Uint8Array(Buffer.from(stored.body, 'base64')), sha256: stored.sha256, contentType: stored.contentType, contentEncoding: stored.contentEncoding, metadata: stored.metadata };
    }
    return undefined;
  },
  async listKeys(prefix) {
    const keys: string[] = [];
    for (const name of await readdir(root)) keys.push(name.startsWith('.') ? name : (JSON.parse(await readFile(join(root, name), 'utf8')) as { key: string }).key);
    return keys.filter((key) => key.startsWith(prefix));
  },
};
runDestinationConformance({
  name: 'the worked example: a folder destination built with the kit',
  runner: vitest,
  createDestination: () => createFolderDestination({ root }),
  backdoor: folderBackdoor,
  crossProcess: { factoryModule: fileURLToPath(new URL('fixtures/folder-destination.mjs', import.meta.url)), settings: { root } },
  groups: { errorKinds: false },
});
