import { createS3Destination, type S3DestinationSettings } from '@sentcopy/destination-s3';
import { startFaultProxy, startS3Server, type FaultProxy, type S3TestServer, type TestCredentials } from '@sentcopy/test-servers';

/** The only keys the test server accepts; it verifies every request's SigV4 signature against them. */
export const goodCredentials: TestCredentials = { accessKeyId: 'AKIASENTCOPYWORKER01', secretAccessKey: 'sentcopy-worker-test-secret-0000000000001' };
/** The right key id with a wrong secret: every request is refused with 403 SignatureDoesNotMatch. */
export const wrongCredentials: TestCredentials = { accessKeyId: goodCredentials.accessKeyId, secretAccessKey: 'sentcopy-worker-WRONG-secret-00000000002' };

/** An S3-compatible server (127.0.0.1, random port, temp folder) with one bucket, and a fault proxy in front of it. */
export interface S3Setup {
  readonly server: S3TestServer;
  readonly bucket: string;
  readonly proxy: FaultProxy;
  /** Destination settings; `through: 'proxy'` aims them at the fault proxy. */
  settings(options?: { credentials?: TestCredentials; through?: 'proxy' }): S3DestinationSettings;
  stop(): Promise<void>;
}

export async function startS3Setup(): Promise<S3Setup> {
  const server = await startS3Server({ credentials: [goodCredentials] });
  const bucket = server.createBucket();
  const proxy = await startFaultProxy({ target: server.endpoint });
  return {
    server,
    bucket,
    proxy,
    settings: (options = {}) => ({
      bucket,
      region: 'us-east-1',
      endpoint: options.through === 'proxy' ? proxy.url : server.endpoint,
      forcePathStyle: true,
      credentials: options.credentials ?? goodCredentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    }),
    async stop() {
      await proxy.stop();
      await server.stop();
    },
  };
}

export { createS3Destination };
