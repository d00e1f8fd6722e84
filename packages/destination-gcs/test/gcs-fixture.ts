import { Storage } from '@google-cloud/storage';
import { startGcsServer, type GcsBucketOptions, type GcsServerOptions, type GcsTestServer } from '@sentcopy/test-servers';
import type { GcsDestinationSettings } from '../src/index.js';

/** A started GCS JSON-API test server with one fresh bucket, settings for the destination, and a raw SDK client for back-door reads. */
export interface GcsFixture {
  readonly server: GcsTestServer;
  readonly bucket: string;
  /** Destination settings aimed at the server. */
  readonly settings: GcsDestinationSettings;
  /** A raw SDK client for the same server, independent of the adapter. */
  readonly storage: Storage;
  stop(): Promise<void>;
}

/** Starts the server (127.0.0.1, random port, in memory) with a unique bucket. */
export async function startGcsFixture(options: GcsServerOptions & { bucket?: GcsBucketOptions } = {}): Promise<GcsFixture> {
  const { bucket: bucketOptions, ...serverOptions } = options;
  const server = await startGcsServer(serverOptions);
  const bucket = server.createBucket(undefined, bucketOptions);
  const storage = new Storage({ apiEndpoint: server.endpoint, projectId: 'sentcopy-test', retryOptions: { autoRetry: false } });
  return {
    server,
    bucket,
    settings: { bucket, apiEndpoint: server.endpoint, projectId: 'sentcopy-test' },
    storage,
    stop: () => server.stop(),
  };
}
