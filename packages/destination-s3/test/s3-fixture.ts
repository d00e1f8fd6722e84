import { S3Client } from '@aws-sdk/client-s3';
import { startS3Server, type S3ServerOptions, type S3TestServer, type TestCredentials } from '@sentcopy/test-servers';
import type { S3DestinationSettings } from '../src/index.js';

/** The keys the test server accepts; every request's SigV4 signature is verified against them. */
export const testCredentials: TestCredentials = { accessKeyId: 'AKIASENTCOPYTEST0001', secretAccessKey: 'sentcopy-test-secret-key-do-not-use-0000001' };

/** A started S3-compatible test server with one fresh bucket, settings for the destination, and a raw SDK client for back-door reads. */
export interface S3Fixture {
  readonly server: S3TestServer;
  readonly bucket: string;
  /** Destination settings aimed at the server (path-style, static keys, `WHEN_REQUIRED` checksums). */
  readonly settings: S3DestinationSettings;
  /** A raw SDK client for the same server, independent of the adapter. */
  readonly client: S3Client;
  /** A raw SDK client for `endpoint` (e.g. a proxy in front of the server). */
  rawClient(endpoint: string): S3Client;
  stop(): Promise<void>;
}

/** Starts the server (127.0.0.1, random port, temp folder) with a unique bucket. */
export async function startS3Fixture(options: S3ServerOptions & { objectLock?: boolean } = {}): Promise<S3Fixture> {
  const { objectLock, ...serverOptions } = options;
  const server = await startS3Server({ credentials: [testCredentials], ...serverOptions });
  const bucket = server.createBucket(undefined, { objectLock });
  const clients: S3Client[] = [];
  const rawClient = (endpoint: string): S3Client => {
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: testCredentials, requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1 });
    clients.push(client);
    return client;
  };
  return {
    server,
    bucket,
    settings: { bucket, region: 'us-east-1', endpoint: server.endpoint, forcePathStyle: true, credentials: testCredentials, requestChecksumCalculation: 'WHEN_REQUIRED' },
    client: rawClient(server.endpoint),
    rawClient,
    async stop() {
      for (const client of clients) client.destroy();
      await server.stop();
    },
  };
}
