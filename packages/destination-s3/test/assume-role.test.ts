import { createHash } from 'node:crypto';
import { DestinationError, type PutObjectInput } from '@sentcopy/core';
import { startFakeSts, startS3Server, type FakeSts, type S3TestServer, type TestCredentials } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Destination } from '../src/index.js';

const input = (key: string, text: string): PutObjectInput => {
  const body = new Uint8Array(Buffer.from(text, 'utf8'));
  return { key, body, sha256: createHash('sha256').update(body).digest('hex'), contentType: 'text/plain' };
};

// The source keys may call STS, nothing else: the S3 server accepts only what STS issued.
const sourceCredentials: TestCredentials = { accessKeyId: 'AKIASOURCEKEY0000001', secretAccessKey: 'source-secret-for-sts-only-0000000000000001' };
const roleArn = 'arn:aws:iam::111122223333:role/sentcopy-archive';
// The SDK refreshes credentials 5 minutes before they expire; the first set leaves 3 s before that margin.
const refreshMarginMs = 300_000;

let s3: S3TestServer;
let sts: FakeSts;
let bucket: string;
beforeAll(async () => {
  s3 = await startS3Server({ credentials: [] });
  bucket = s3.createBucket();
  sts = await startFakeSts({
    callerCredentials: [sourceCredentials],
    expiresInMs: (call) => (call === 1 ? refreshMarginMs + 3_000 : 3_600_000),
    onIssue: (issued) => s3.allowCredentials(issued),
    refuse: (call) => call.externalId !== 'tenant-42',
  });
});
afterAll(async () => {
  await sts.stop();
  await s3.stop();
});

describe('assumeRole', () => {
  it('signs S3 requests with the assumed keys and assumes the role again once they near expiry', async () => {
    const destination = createS3Destination({
      bucket,
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: sourceCredentials,
      assumeRole: { roleArn, roleSessionName: 'sentcopy-test', externalId: 'tenant-42', durationSeconds: 900, stsEndpoint: sts.url },
    });
    try {
      await destination.put(input('first', 'one'));
      await destination.put(input('second', 'two'));
      expect(sts.calls.length).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 3_100));
      await destination.put(input('third', 'three'));

      expect(sts.calls.map((call) => [call.roleArn, call.roleSessionName, call.externalId, call.durationSeconds, call.callerAccessKeyId])).toEqual([
        [roleArn, 'sentcopy-test', 'tenant-42', 900, sourceCredentials.accessKeyId],
        [roleArn, 'sentcopy-test', 'tenant-42', 900, sourceCredentials.accessKeyId],
      ]);
      const [firstKeys, secondKeys] = sts.calls.map((call) => call.issued?.accessKeyId);
      const puts = s3.requests.filter((request) => request.method === 'PUT');
      expect(puts.map((request) => [request.key, request.accessKeyId, request.sessionToken, request.status])).toEqual([
        ['first', firstKeys, true, 200],
        ['second', firstKeys, true, 200],
        ['third', secondKeys, true, 200],
      ]);
      expect(s3.requests.filter((request) => request.accessKeyId === sourceCredentials.accessKeyId)).toEqual([]);
      expect(s3.listKeys(bucket)).toEqual(['first', 'second', 'third']);
    } finally {
      await destination.close?.();
    }
  });

  it('a role STS refuses to hand out is unauthorized, and nothing reaches the bucket', async () => {
    const destination = createS3Destination({
      bucket,
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: sourceCredentials,
      assumeRole: { roleArn, roleSessionName: 'sentcopy-test', externalId: 'wrong-tenant', stsEndpoint: sts.url },
    });
    const before = s3.requests.length;
    try {
      const error = await destination.put(input('refused', 'x')).catch((caught: unknown) => caught);
      expect(DestinationError.isInstance(error) && [error.kind, error.code]).toEqual(['unauthorized', 'AccessDenied']);
      expect(s3.requests.length).toBe(before);
    } finally {
      await destination.close?.();
    }
  });
});
