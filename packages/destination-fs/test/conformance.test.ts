import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDestinationConformance } from '@sentcopy/destination-test-suite';
import * as vitest from 'vitest';
import { createFsDestination } from '../src/index.js';
import { createFsBackdoor } from './backdoor.js';

const root = mkdtempSync(join(tmpdir(), 'sentcopy-fs-conformance-'));
vitest.afterAll(() => rmSync(root, { recursive: true, force: true }));
runDestinationConformance({
  name: 'destination-fs',
  runner: vitest,
  createDestination: () => createFsDestination({ root }),
  backdoor: createFsBackdoor(root),
  crossProcess: { factoryModule: fileURLToPath(new URL('fixtures/conformance-writer.mjs', import.meta.url)), settings: { root } },
  // A local folder has no request to break on demand; its faults (full, read-only, vanished disks) have their own tests.
  groups: { errorKinds: false },
});
