import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3TestServer, type TestCredentials } from '../src/index.js';

const credentials: TestCredentials = { accessKeyId: 'AKIATESTSERVERS00001', secretAccessKey: 'test-servers-secret-000000000000000000001' };
const sha256Base64 = (text: string | Uint8Array): string => createHash('sha256').update(text).digest('base64');
const clients: S3Client[] = [];
const client = (endpoint: string, keys: TestCredentials = credentials, checksums: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED' = 'WHEN_REQUIRED'): S3Client => {
  const created = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: keys, requestChecksumCalculation: checksums, maxAttempts: 1 });
  clients.push(created);
  return created;
};
const codeOf = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'ok',
    (error: { name?: string }) => error.name ?? 'unknown',
  );

/** A request body that sends `first`, waits `ms`, then sends `rest`: keeps a PUT in flight on purpose. */
function slowBody(first: string, ms: number, rest: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async start(controller) {
      controller.enqueue(Buffer.from(first));
      await new Promise((resolve) => setTimeout(resolve, ms));
      controller.enqueue(Buffer.from(rest));
      controller.close();
    },
  });
}

let open: S3TestServer;
let signed: S3TestServer;
beforeAll(async () => {
  open = await startS3Server();
  signed = await startS3Server({ credentials: [credentials] });
});
afterAll(async () => {
  for (const created of clients) created.destroy();
  await open.stop();
  await signed.stop();
});

describe('startS3Server: write-once as S3 does it', () => {
  it('answers an existing key with 412 and the exact S3 XML, keeping the first bytes', async () => {
    const bucket = open.createBucket();
    const url = `${open.endpoint}/${bucket}/k.json`;
    expect((await fetch(url, { method: 'PUT', body: 'first', headers: { 'if-none-match': '*' } })).status).toBe(200);
    const refused = await fetch(url, { method: 'PUT', body: 'second', headers: { 'if-none-match': '*' } });
    const body = await refused.text();
    expect([refused.status, refused.headers.get('content-type')]).toEqual([412, 'application/xml']);
    expect(body).toMatch(
      /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Error><Code>PreconditionFailed<\/Code><Message>At least one of the pre-conditions you specified did not hold<\/Message><Condition>If-None-Match<\/Condition><RequestId>[0-9A-F]{16}<\/RequestId><HostId>[A-Za-z0-9+/=]+<\/HostId><\/Error>$/,
    );
    expect(open.getObject(bucket, 'k.json')?.body.toString()).toBe('first');
    expect((await fetch(url, { method: 'PUT', body: 'overwrite' })).status).toBe(200);
    expect(open.getObject(bucket, 'k.json')?.body.toString()).toBe('overwrite');
  });

  it('holds the key across the existence check and the write: a racing conditional PUT gets 409 ConditionalRequestConflict', async () => {
    const bucket = open.createBucket();
    const url = `${open.endpoint}/${bucket}/raced`;
    const slow = fetch(url, { method: 'PUT', body: slowBody('win', 400, 'ner'), headers: { 'if-none-match': '*' }, duplex: 'half' } as RequestInit);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const racers = await Promise.all(Array.from({ length: 8 }, (_, index) => fetch(url, { method: 'PUT', body: `racer ${index}`, headers: { 'if-none-match': '*' } })));
    const racerCodes = await Promise.all(racers.map(async (response) => `${response.status} ${/<Code>(\w+)<\/Code>/.exec(await response.text())?.[1]}`));
    expect([(await slow).status, ...racerCodes]).toEqual([200, ...racers.map(() => '409 ConditionalRequestConflict')]);
    const late = await fetch(url, { method: 'PUT', body: 'late', headers: { 'if-none-match': '*' } });
    expect(late.status).toBe(412);
    expect(open.getObject(bucket, 'raced')?.body.toString()).toBe('winner');
  });

  it("with concurrentConditionalWrites 'wait', racers queue and then get 412", async () => {
    const waiting = await startS3Server({ concurrentConditionalWrites: 'wait' });
    try {
      const bucket = waiting.createBucket();
      const url = `${waiting.endpoint}/${bucket}/queued`;
      const slow = fetch(url, { method: 'PUT', body: slowBody('win', 300, 'ner'), headers: { 'if-none-match': '*' }, duplex: 'half' } as RequestInit);
      await new Promise((resolve) => setTimeout(resolve, 30));
      const racers = await Promise.all(Array.from({ length: 5 }, (_, index) => fetch(url, { method: 'PUT', body: `racer ${index}`, headers: { 'if-none-match': '*' } })));
      expect([(await slow).status, ...racers.map((response) => response.status)]).toEqual([200, 412, 412, 412, 412, 412]);
      expect(waiting.getObject(bucket, 'queued')?.body.toString()).toBe('winner');
    } finally {
      await waiting.stop();
    }
  });

  it('verifies x-amz-checksum-sha256 and Content-MD5 against the body (400 BadDigest) and stores nothing on mismatch', async () => {
    const bucket = open.createBucket();
    const put = (key: string, body: string, headers: Record<string, string>) => fetch(`${open.endpoint}/${bucket}/${key}`, { method: 'PUT', body, headers });
    const wrong = await put('a', 'body', { 'x-amz-checksum-sha256': sha256Base64('other') });
    expect([wrong.status, /<Code>(\w+)<\/Code>/.exec(await wrong.text())?.[1]]).toEqual([400, 'BadDigest']);
    const badMd5 = await put('b', 'body', { 'content-md5': createHash('md5').update('other').digest('base64') });
    expect(badMd5.status).toBe(400);
    expect((await put('c', 'body', { 'x-amz-checksum-sha256': sha256Base64('body') })).status).toBe(200);
    expect(open.listKeys(bucket)).toEqual(['c']);
    expect(open.getObject(bucket, 'c')?.checksumSha256).toBe(sha256Base64('body'));
  });

  it('is refused by a store that ignores If-None-Match, on request', async () => {
    const careless = await startS3Server({ conditionalWrites: 'ignore' });
    try {
      const bucket = careless.createBucket();
      const url = `${careless.endpoint}/${bucket}/k`;
      await fetch(url, { method: 'PUT', body: 'one', headers: { 'if-none-match': '*' } });
      expect((await fetch(url, { method: 'PUT', body: 'two', headers: { 'if-none-match': '*' } })).status).toBe(200);
      expect(careless.getObject(bucket, 'k')?.body.toString()).toBe('two');
    } finally {
      await careless.stop();
    }
  });
});

describe('startS3Server with the AWS SDK', () => {
  it('round-trips bytes, metadata, content type and encoding; returns the checksum when asked', async () => {
    const s3 = client(signed.endpoint);
    const bucket = signed.createBucket();
    const body = Buffer.from([0, 1, 2, 255, 254]);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/ü ?#.bin', Body: body, ContentType: 'application/json', ContentEncoding: 'gzip', Metadata: { 'message-id': 'm-1' }, ChecksumSHA256: sha256Base64(body) }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/ü ?#.bin', ChecksumMode: 'ENABLED' }));
    expect({ bytes: [...(await got.Body!.transformToByteArray())], type: got.ContentType, encoding: got.ContentEncoding, metadata: got.Metadata, checksum: got.ChecksumSHA256 }).toEqual({
      bytes: [0, 1, 2, 255, 254],
      type: 'application/json',
      encoding: 'gzip',
      metadata: { 'message-id': 'm-1' },
      checksum: sha256Base64(body),
    });
    expect(await codeOf(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'absent' })))).toBe('NotFound');
    expect(await codeOf(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'absent' })))).toBe('NoSuchKey');
    expect(await codeOf(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'x' })))).toBe('NoSuchBucket');
  });

  it('lists in UTF-8 byte order with continuation tokens and delimiters; refuses a forged token', async () => {
    const s3 = client(signed.endpoint);
    const bucket = signed.createBucket();
    const keys = ['d/Z', 'd/a-b', 'd/a.b', 'd/a/b', 'd/a0', 'd/~', 'd/é', 'd/\uff5e', 'd/😀', 'e'];
    for (const key of [...keys].reverse()) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    const listed: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'd/', MaxKeys: 2, ContinuationToken: token }));
      listed.push(...(page.Contents ?? []).map((entry) => entry.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      pages++;
    } while (token);
    expect({ listed, pages }).toEqual({ listed: keys.slice(0, -1), pages: 5 });
    const grouped = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/' }));
    expect([grouped.CommonPrefixes?.map((entry) => entry.Prefix), grouped.Contents?.map((entry) => entry.Key)]).toEqual([['d/'], ['e']]);
    expect(await codeOf(s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: 'Zm9yZ2Vk' })))).toBe('InvalidArgument');
  });

  it('verifies SigV4 signatures, session tokens and expiry', async () => {
    const bucket = signed.createBucket();
    const put = (keys: TestCredentials) => codeOf(client(signed.endpoint, keys).send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' })));
    expect(await put(credentials)).toBe('ok');
    expect(await put({ ...credentials, secretAccessKey: 'wrong' })).toBe('SignatureDoesNotMatch');
    expect(await put({ accessKeyId: 'AKIAUNKNOWN000000001', secretAccessKey: 'x' })).toBe('InvalidAccessKeyId');
    const temporary = { accessKeyId: 'ASIATEMPORARY0000001', secretAccessKey: 'temporary-secret', sessionToken: 'token-1', expiration: new Date(Date.now() + 60_000) };
    signed.allowCredentials(temporary);
    expect(await put(temporary)).toBe('ok');
    expect(await put({ ...temporary, sessionToken: 'token-2' })).toBe('InvalidToken');
    signed.allowCredentials({ ...temporary, accessKeyId: 'ASIAEXPIRED000000001', expiration: new Date(Date.now() - 1) });
    expect(await put({ ...temporary, accessKeyId: 'ASIAEXPIRED000000001' })).toBe('ExpiredToken');
    expect((await fetch(`${signed.endpoint}/${bucket}/k`)).status).toBe(403);
  });

  it('decodes aws-chunked streaming uploads (the SDK default for streams) instead of storing the framing', async () => {
    const bucket = signed.createBucket();
    const data = Buffer.from('streamed '.repeat(5000));
    const s3 = client(signed.endpoint, credentials, 'WHEN_SUPPORTED');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'streamed', Body: Readable.from([data.subarray(0, 20_000), data.subarray(20_000)]), ContentLength: data.length }));
    expect(signed.getObject(bucket, 'streamed')?.body.equals(data)).toBe(true);
    expect(signed.getObject(bucket, 'streamed')?.contentEncoding).toBe(undefined);
  });

  it('enforces Object Lock rules: an enabled bucket, a checksum, and no deletes while retained', async () => {
    const s3 = client(signed.endpoint);
    const plainBucket = signed.createBucket();
    const lockedBucket = signed.createBucket(undefined, { objectLock: true });
    const retention = { ObjectLockMode: 'GOVERNANCE' as const, ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000) };
    const put = (bucket: string, extra: object) => codeOf(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'locked', Body: 'x', ...retention, ...extra })));
    expect(await put(plainBucket, { ChecksumSHA256: sha256Base64('x') })).toBe('InvalidRequest');
    expect(await put(lockedBucket, {})).toBe('InvalidRequest');
    expect(await put(lockedBucket, { ChecksumSHA256: sha256Base64('x') })).toBe('ok');
    expect((await fetch(`${signed.endpoint}/${lockedBucket}/locked`, { method: 'DELETE' })).status).toBe(403);
    expect(signed.getObject(lockedBucket, 'locked')?.objectLockMode).toBe('GOVERNANCE');
  });

  it('answers the public-access sub-resources, or 501 NotImplemented when told to', async () => {
    const partial = await startS3Server({ unsupported: ['acl'] });
    try {
      const bucket = partial.createBucket(undefined, { policyStatus: { isPublic: true } });
      const status = async (query: string) => {
        const response = await fetch(`${partial.endpoint}/${bucket}?${query}`);
        return `${response.status} ${/<(?:Code|IsPublic)>(\w+)</.exec(await response.text())?.[1]}`;
      };
      expect([await status('policyStatus'), await status('publicAccessBlock'), await status('acl')]).toEqual(['200 true', '404 NoSuchPublicAccessBlockConfiguration', '501 NotImplemented']);
    } finally {
      await partial.stop();
    }
  });
});
