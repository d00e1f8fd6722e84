// archive() through @sentcopy/destination-s3 (and write() of prepared objects, the adapter alone)
// against a raw PutObjectCommand loop with the same bodies and headers, both aimed at one S3 stub that
// answers 200 at once (running in a worker thread, so it does not share the client's event loop).
import { pathToFileURL } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createS3Destination, sha256MetadataName } from '@sentcopy/destination-s3';
import { compareWithRaw } from './compare-with-raw.mjs';
import { startStubThread } from './stub-thread.mjs';

/** Runs the benchmark; returns the figures it printed. */
export async function runS3Bench({ print = console.log, count = 1000, concurrency = 16, rounds = 11 } = {}) {
  const stub = await startStubThread('startS3Stub');
  const bucket = 'bench';
  const credentials = { accessKeyId: 'AKIABENCHMARK0000001', secretAccessKey: 'bench-secret-0000000000000000000000000001' };
  const clientSettings = { region: 'us-east-1', endpoint: stub.endpoint, forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED' };
  const agent = { keepAlive: true, maxSockets: 64 };
  // The raw client is configured as the destination configures its own: one attempt, keep-alive, same timeouts.
  const raw = new S3Client({ ...clientSettings, maxAttempts: 1, requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000, throwOnRequestTimeout: true, httpAgent: agent, httpsAgent: agent } });
  const destination = createS3Destination({ ...clientSettings, bucket });
  const rawPut = (object) =>
    raw.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: object.key,
        Body: object.body,
        ContentLength: object.body.byteLength,
        ContentType: object.contentType,
        ...(object.contentEncoding === undefined ? {} : { ContentEncoding: object.contentEncoding }),
        Metadata: { ...object.metadata, [sha256MetadataName]: object.sha256 },
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: Buffer.from(object.sha256, 'hex').toString('base64'),
        IfNoneMatch: '*',
      }),
    );
  try {
    return await compareWithRaw({
      print,
      title: 'S3 destination vs raw PutObject (same bodies and headers: If-None-Match, SHA-256 checksum and metadata)',
      rawName: 'raw @aws-sdk/client-s3 PutObjectCommand',
      destination,
      rawPut,
      count,
      concurrency,
      rounds,
    });
  } finally {
    await destination.close();
    raw.destroy();
    await stub.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runS3Bench();
