import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDestinationConformance } from '@sentcopy/destination-test-suite';
import * as vitest from 'vitest';
import { createFsDestination } from '../src/index.js';
import { createFsBackdoor } from './backdoor.js';

const root = mkdtempSync(join(tmpdir(), 'sentcopy-fs-conformance-'));
vitest.afterAll(() => rmSync(root, { recursive: true, force: true }));
runDestinationConformance({ name: 'destination-fs', runner: vitest, createDestination: () => createFsDestination({ root }), backdoor: createFsBackdoor(root) });
