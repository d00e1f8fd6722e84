import { fileURLToPath } from 'node:url';
import { runDestinationConformance } from '@sentcopy/destination-test-suite';
import { gcsErrorResponse, proxyConformanceFaults, startFaultProxy } from '@sentcopy/test-servers';
import * as vitest from 'vitest';
import { createGcsDestination } from '../src/index.js';
import { createServerBackdoor } from './backdoor.js';
import { startGcsFixture } from './gcs-fixture.js';

const fixture = await startGcsFixture();
const proxy = await startFaultProxy({ target: fixture.server.endpoint });
vitest.afterAll(async () => {
  await proxy.stop();
  await fixture.stop();
});
const settings = { ...fixture.settings, keyPrefix: 'tenant-a/' };
runDestinationConformance({
  name: 'destination-gcs (GCS JSON-API test server)',
  runner: vitest,
  createDestination: () => createGcsDestination(settings),
  backdoor: createServerBackdoor(fixture.server, fixture.bucket, 'tenant-a/'),
  crossProcess: { factoryModule: fileURLToPath(new URL('fixtures/conformance-writer.mjs', import.meta.url)), settings },
  faults: proxyConformanceFaults({
    proxy,
    createDestination: () => createGcsDestination({ ...settings, apiEndpoint: proxy.url }),
    responses: {
      rate_limited: gcsErrorResponse(429, 'rateLimitExceeded'),
      unauthorized: gcsErrorResponse(403, 'forbidden'),
      invalid: gcsErrorResponse(400, 'invalid'),
      unknown: gcsErrorResponse(418, 'teapot'),
    },
  }),
});
