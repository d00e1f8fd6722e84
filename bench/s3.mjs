// archive() through @sentcopy/destination-s3 (and write() of prepared objects, the adapter alone)
// against a raw PutObjectCommand loop with the same bodies and headers, both aimed at one S3 stub that
// answers 200 at once (running in a worker thread, so it does not share the client's event loop).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createS3Destination, sha256MetadataName } from '@sentcopy/destination-s3';
import { compareWithRaw } from './compare-with-raw.mjs';
import { startStubThread } from './stub-thread.mjs';

/**
 * Reads the machine's CPU counters; `busyShare(start)` is the share of all cores' time spent busy
 * since `start` (every process, not only this one), so a figure can be read against how loaded the
 * shared machine was while it was measured.
 */
export function cpuTimes() {
  const [total, idle] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number)
    .reduce(([sum, idleSum], value, index) => [sum + value, idleSum + (index === 3 || index === 4 ? value : 0)], [0, 0]);
  return { total, idle };
}
export const busyShare = (start, end = cpuTimes()) => (end.total === start.total ? 0 : 1 - (end.idle - start.idle) / (end.total - start.total));

/** The credentials every bench's S3 stub accepts. */
export const benchCredentials = { accessKeyId: 'AKIABENCHMARK0000001', secretAccessKey: 'bench-secret-0000000000000000000000000001' };
/** The recipient key the benches' workers and preparers share. */
export const benchRecipientKey = 'bench-recipient-key-0123456789';

/**
 * The raw SDK baseline against the stub at `endpoint`: the client settings (for a destination to
 * share) the raw client (destroy it when done) and `rawPut(prepared)`, one PutObjectCommand with exactly what sentcopy's own PUT sends.
 * The raw client is configured as the destination configures its own: one attempt, keep-alive, same timeouts.
 */
export function rawS3(endpoint, bucket) {
  const clientSettings = { region: 'us-east-1', endpoint, forcePathStyle: true, credentials: benchCredentials, requestChecksumCalculation: 'WHEN_REQUIRED' };
  const agent = { keepAlive: true, maxSockets: 64 };
  const raw = new S3Client({ ...clientSettings, maxAttempts: 1, requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000, throwOnRequestTimeout: true, httpAgent: agent, httpsAgent: agent } });
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
  return { clientSettings, raw, rawPut };
}

/** A worker configuration archiving project `bench` into the stub's `bucket`, its secrets read from the env `stubWorkerEnv` gives. */
export function stubWorkerConfig(endpoint, bucket, apiKeySha256) {
  return {
    version: 1,
    recipient_hash_key: { env: 'BENCH_RECIPIENT_KEY' },
    destinations: { stub: { type: 's3', bucket, region: 'us-east-1', endpoint, force_path_style: true, access_key_id: { env: 'BENCH_ID' }, secret_access_key: { env: 'BENCH_SECRET' }, acknowledge_personal_data: true } },
    projects: { bench: { destination: 'stub', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: apiKeySha256 }] } },
  };
}

/** The environment `stubWorkerConfig` reads its secrets from. */
export const stubWorkerEnv = { BENCH_ID: benchCredentials.accessKeyId, BENCH_SECRET: benchCredentials.secretAccessKey, BENCH_RECIPIENT_KEY: benchRecipientKey };

/** Runs the benchmark; returns the figures it printed. */
export async function runS3Bench({ print = console.log, count = 1000, concurrency = 16, rounds = 11 } = {}) {
  const stub = await startStubThread('startS3Stub');
  const bucket = 'bench';
  const { clientSettings, raw, rawPut } = rawS3(stub.endpoint, bucket);
  const destination = createS3Destination({ ...clientSettings, bucket });
  const cpu = cpuTimes();
  try {
    const result = await compareWithRaw({
      print,
      title: 'S3 destination vs raw PutObject (same bodies and headers: If-None-Match, SHA-256 checksum and metadata)',
      rawName: 'raw @aws-sdk/client-s3 PutObjectCommand',
      destination,
      rawPut,
      count,
      concurrency,
      rounds,
    });
    const share = busyShare(cpu);
    print(
      `target (issue #17): write(prepared) at least 4× the raw loop (the lean PutObject: @smithy/signature-v4 and an undici pool instead of the SDK's middleware stack). Machine CPU busy while measuring: ${(share * 100).toFixed(0)}% of all cores`,
    );
    return { ...result, cpuBusyShare: share };
  } finally {
    await destination.close();
    raw.destroy();
    await stub.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runS3Bench();
