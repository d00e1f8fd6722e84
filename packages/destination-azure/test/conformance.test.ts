import { runDestinationConformance } from '@sentcopy/destination-test-suite';
import * as vitest from 'vitest';
import { createAzureDestination } from '../src/index.js';
import { createAzureBackdoor } from './backdoor.js';
import { startAzureFixture } from './azure-fixture.js';

const fixture = await startAzureFixture();
vitest.afterAll(() => fixture.stop());
const settings = { ...fixture.settings, keyPrefix: 'tenant-a/' };
runDestinationConformance({ name: 'destination-azure (Azurite)', runner: vitest, createDestination: () => createAzureDestination(settings), backdoor: createAzureBackdoor(fixture.containerClient, 'tenant-a/') });
