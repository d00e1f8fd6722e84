import { runDestinationConformance } from '@sentcopy/destination-test-suite';
import * as vitest from 'vitest';
import { createS3Destination } from '../src/index.js';
import { createS3Backdoor } from './backdoor.js';
import { startS3Fixture } from './s3-fixture.js';

const fixture = await startS3Fixture();
vitest.afterAll(() => fixture.stop());
const settings = { ...fixture.settings, keyPrefix: 'tenant-a/' };
runDestinationConformance({ name: 'destination-s3 (S3-compatible test server)', runner: vitest, createDestination: () => createS3Destination(settings), backdoor: createS3Backdoor(fixture.client, fixture.bucket, 'tenant-a/') });
