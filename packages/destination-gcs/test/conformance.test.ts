import { runDestinationConformance } from '@sentcopy/destination-test-suite';
import * as vitest from 'vitest';
import { createGcsDestination } from '../src/index.js';
import { createServerBackdoor } from './backdoor.js';
import { startGcsFixture } from './gcs-fixture.js';

const fixture = await startGcsFixture();
vitest.afterAll(() => fixture.stop());
const settings = { ...fixture.settings, keyPrefix: 'tenant-a/' };
runDestinationConformance({ name: 'destination-gcs (GCS JSON-API test server)', runner: vitest, createDestination: () => createGcsDestination(settings), backdoor: createServerBackdoor(fixture.server, fixture.bucket, 'tenant-a/') });
