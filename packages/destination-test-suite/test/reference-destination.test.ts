import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vitest from 'vitest';
import { runDestinationConformance } from '../src/index.js';
import createFileDestination, { readStored, storedKeys } from './fixtures/file-destination.mjs';
import { createMemoryDestination, memorySecret } from './memory-destination.js';

const { destination, backdoor, faults } = createMemoryDestination();
// The memory destination lives in one process, so the cross-process race runs against a folder destination below.
runDestinationConformance({ name: 'reference in-memory destination', runner: vitest, createDestination: () => destination, backdoor, faults, secrets: [memorySecret], groups: { crossProcess: false } });

const root = mkdtempSync(join(tmpdir(), 'sentcopy-suite-file-'));
vitest.afterAll(() => rmSync(root, { recursive: true, force: true }));
runDestinationConformance({
  name: 'reference folder destination (write-once across processes)',
  runner: vitest,
  createDestination: () => createFileDestination({ root }),
  backdoor: { readObject: (key) => readStored(root, key), listKeys: async (prefix) => (await storedKeys(root)).filter((key: string) => key.startsWith(prefix)) },
  crossProcess: { factoryModule: fileURLToPath(new URL('fixtures/file-destination.mjs', import.meta.url)), settings: { root } },
  groups: { roundtrip: false, idempotency: false, conflict: false, concurrency: true, pagination: false, hostileKeys: false, largeObject: false, abort: false, delete: true, errorKinds: false, probe: false },
});
