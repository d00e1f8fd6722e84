import { randomBytes } from 'node:crypto';
import { BlobServiceClient, type ContainerClient, type PublicAccessType } from '@azure/storage-blob';
import { startAzurite, type AzuriteOptions, type AzuriteServer } from '@sentcopy/test-servers';
import type { AzureDestinationSettings } from '../src/index.js';

/** A started Azurite with one fresh container, destination settings for it, and raw SDK clients for back-door reads. */
export interface AzureFixture {
  readonly azurite: AzuriteServer;
  readonly container: string;
  /** Destination settings with the development account's connection string. */
  readonly settings: AzureDestinationSettings;
  /** A raw SDK service client, independent of the adapter. */
  readonly service: BlobServiceClient;
  /** A raw SDK client for the fixture's container. */
  readonly containerClient: ContainerClient;
  /** The connection string with `BlobEndpoint` pointed at `endpoint` (e.g. a proxy in front of Azurite). */
  connectionStringVia(endpoint: string): string;
  /** The account URL with its origin replaced by `endpoint` (e.g. a proxy in front of Azurite). */
  accountUrlVia(endpoint: string): string;
  /** Creates one more unique container, optionally with public access. */
  createContainer(access?: PublicAccessType): Promise<string>;
  stop(): Promise<void>;
}

/** A unique, valid container name. */
export const uniqueContainer = (label = 'sentcopy'): string => `${label}-${randomBytes(6).toString('hex')}`;

/** Starts Azurite (127.0.0.1, random port, in memory) with a unique private container. */
export async function startAzureFixture(options: AzuriteOptions = {}): Promise<AzureFixture> {
  const azurite = await startAzurite(options);
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString, { retryOptions: { maxTries: 1 } });
  const createContainer = async (access?: PublicAccessType) => {
    const name = uniqueContainer();
    await service.getContainerClient(name).create(access === undefined ? {} : { access });
    return name;
  };
  const container = await createContainer();
  const accountPath = new URL(azurite.blobEndpoint).pathname;
  return {
    azurite,
    container,
    settings: { connectionString: azurite.connectionString, container },
    service,
    containerClient: service.getContainerClient(container),
    connectionStringVia: (endpoint) => azurite.connectionString.replace(azurite.blobEndpoint, `${endpoint}${accountPath}`),
    accountUrlVia: (endpoint) => `${endpoint}${accountPath}`,
    createContainer,
    stop: () => azurite.stop(),
  };
}
