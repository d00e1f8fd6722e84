import { BlobServiceClient } from '@azure/storage-blob';
import { runDestinationConformance } from '@sentcopy/destination-test-suite';
import * as vitest from 'vitest';
import { createAzureDestination } from '../src/index.js';
import { createAzureBackdoor } from './backdoor.js';

// Opt-in: runs the whole conformance suite against a real storage account when a scratch container and its connection string are given.
const env = process.env;
const connectionString = env.SENTCOPY_LIVE_AZURE_CONNECTION_STRING;
const container = env.SENTCOPY_LIVE_AZURE_CONTAINER;
const skipReason = !connectionString ? 'SENTCOPY_LIVE_AZURE_CONNECTION_STRING is not set' : !container ? 'SENTCOPY_LIVE_AZURE_CONTAINER is not set (name a scratch container that exists)' : undefined;

if (skipReason !== undefined || connectionString === undefined || container === undefined) {
  console.info(`[destination-azure] live Azure Blob Storage tests skipped: ${skipReason}.`);
  vitest.describe('destination-azure (live Azure Blob Storage)', () => {
    vitest.it.skip(`skipped because ${skipReason}; set SENTCOPY_LIVE_AZURE_CONNECTION_STRING and SENTCOPY_LIVE_AZURE_CONTAINER (a scratch container) to run the conformance suite against real Azure`, () => {});
  });
} else {
  const keyPrefix = `sentcopy-live/${new Date().toISOString().replace(/[:.]/g, '-')}/`;
  const containerClient = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container);
  runDestinationConformance({
    name: `destination-azure (live Azure Blob Storage, container ${container}, prefix ${keyPrefix})`,
    runner: vitest,
    createDestination: () => createAzureDestination({ connectionString, container, keyPrefix, allowPublicContainer: env.SENTCOPY_LIVE_AZURE_ALLOW_PUBLIC === '1' }),
    backdoor: createAzureBackdoor(containerClient, keyPrefix),
    timeoutMs: 300_000,
  });
}
