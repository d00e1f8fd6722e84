import { fileURLToPath } from 'node:url';
import { runDestinationConformance } from '@sentcopy/destination-test-suite';
import { azureErrorResponse, proxyConformanceFaults, startFaultProxy } from '@sentcopy/test-servers';
import * as vitest from 'vitest';
import { createAzureDestination } from '../src/index.js';
import { createAzureBackdoor } from './backdoor.js';
import { startAzureFixture } from './azure-fixture.js';

const fixture = await startAzureFixture();
const proxy = await startFaultProxy({ target: `http://127.0.0.1:${fixture.azurite.port}` });
vitest.afterAll(async () => {
  await proxy.stop();
  await fixture.stop();
});
const settings = { ...fixture.settings, keyPrefix: 'tenant-a/' };
runDestinationConformance({
  name: 'destination-azure (Azurite)',
  runner: vitest,
  createDestination: () => createAzureDestination(settings),
  backdoor: createAzureBackdoor(fixture.containerClient, 'tenant-a/'),
  crossProcess: { factoryModule: fileURLToPath(new URL('fixtures/conformance-writer.mjs', import.meta.url)), settings },
  faults: proxyConformanceFaults({
    proxy,
    createDestination: () => createAzureDestination({ ...settings, connectionString: fixture.connectionStringVia(proxy.url) }),
    responses: {
      rate_limited: azureErrorResponse('ServerBusy', 503),
      unauthorized: azureErrorResponse('AuthenticationFailed', 403),
      invalid: azureErrorResponse('InvalidHeaderValue', 400),
      unknown: azureErrorResponse('TeapotError', 418),
    },
  }),
  secrets: [fixture.azurite.accountKey],
  timeoutMs: 120_000,
});
