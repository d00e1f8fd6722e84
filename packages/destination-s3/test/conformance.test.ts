import { fileURLToPath } from 'node:url';
import { runDestinationConformance } from '@sentcopy/destination-test-suite';
import { proxyConformanceFaults, s3ErrorResponse, startFaultProxy } from '@sentcopy/test-servers';
import * as vitest from 'vitest';
import { createS3Destination } from '../src/index.js';
import { createS3Backdoor } from './backdoor.js';
import { startS3Fixture, testCredentials } from './s3-fixture.js';

const fixture = await startS3Fixture();
const proxy = await startFaultProxy({ target: fixture.server.endpoint });
vitest.afterAll(async () => {
  await proxy.stop();
  await fixture.stop();
});
const settings = { ...fixture.settings, keyPrefix: 'tenant-a/' };
runDestinationConformance({
  name: 'destination-s3 (S3-compatible test server)',
  runner: vitest,
  createDestination: () => createS3Destination(settings),
  backdoor: createS3Backdoor(fixture.client, fixture.bucket, 'tenant-a/'),
  crossProcess: { factoryModule: fileURLToPath(new URL('fixtures/conformance-writer.mjs', import.meta.url)), settings },
  faults: proxyConformanceFaults({
    proxy,
    createDestination: () => createS3Destination({ ...settings, endpoint: proxy.url }),
    responses: { rate_limited: s3ErrorResponse('SlowDown'), unauthorized: s3ErrorResponse('AccessDenied'), invalid: s3ErrorResponse('InvalidArgument'), unknown: s3ErrorResponse('TeapotError', { status: 418 }) },
  }),
  secrets: [testCredentials.secretAccessKey],
});
