import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32cBase64, startGcsServer, type GcsTestServer } from '../src/index.js';

let server: GcsTestServer;
beforeAll(async () => {
  server = await startGcsServer();
});
afterAll(() => server.stop());

const multipart = (resource: object, data: Buffer | string, boundary = 'sentcopy-boundary') =>
  Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(resource)}\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`), Buffer.from(data), Buffer.from(`\r\n--${boundary}--`)]);
const upload = (bucket: string, name: string, data: Buffer | string, query = '', resource: object = {}) =>
  fetch(`${server.endpoint}/upload/storage/v1/b/${bucket}/o?uploadType=multipart&name=${encodeURIComponent(name)}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'multipart/related; boundary=sentcopy-boundary' },
    body: multipart(resource, data),
  });

describe('startGcsServer', () => {
  it('computes CRC-32C as GCS does (RFC 3720 check value, big-endian base64)', () => {
    expect(Buffer.from(crc32cBase64(Buffer.from('123456789')), 'base64').readUInt32BE()).toBe(0xe3069283);
    expect(crc32cBase64(new Uint8Array())).toBe('AAAAAA==');
    const big = Buffer.alloc(100_003, 7);
    expect(crc32cBase64(big)).toBe(crc32cBase64(Buffer.concat([big.subarray(0, 5), big.subarray(5)])));
  });

  it('answers ifGenerationMatch=0 on an existing object with 412 and GCS JSON body, keeping the first bytes', async () => {
    const bucket = server.createBucket();
    const first = await upload(bucket, 'k', 'first', '&ifGenerationMatch=0', { contentType: 'text/plain', metadata: { a: 'b' } });
    const resource = (await first.json()) as Record<string, unknown>;
    expect([first.status, typeof resource.generation, resource.size, resource.md5Hash, resource.crc32c, resource.metageneration]).toEqual([
      200,
      'string',
      '5',
      createHash('md5').update('first').digest('base64'),
      crc32cBase64(Buffer.from('first')),
      '1',
    ]);
    const refused = await upload(bucket, 'k', 'second', '&ifGenerationMatch=0');
    expect([refused.status, await refused.json()]).toEqual([
      412,
      { error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.', errors: [{ message: 'At least one of the pre-conditions you specified did not hold.', domain: 'global', reason: 'conditionNotMet' }] } },
    ]);
    expect((await upload(bucket, 'k', 'third', `&ifGenerationMatch=${String(resource.generation)}`)).status).toBe(200);
    expect(server.getObject(bucket, 'k')?.body.toString()).toBe('third');
  });

  it('is atomic under concurrency: of 50 uploads with ifGenerationMatch=0 exactly one wins', async () => {
    const bucket = server.createBucket();
    const statuses = await Promise.all(Array.from({ length: 50 }, (_, index) => upload(bucket, 'race', `body ${index}`, '&ifGenerationMatch=0').then((response) => response.status)));
    expect([statuses.filter((status) => status === 200).length, statuses.filter((status) => status === 412).length]).toEqual([1, 49]);
  });

  it('verifies md5Hash and crc32c sent by the client, storing nothing on a mismatch', async () => {
    const bucket = server.createBucket();
    const badMd5 = await upload(bucket, 'm', 'data', '', { md5Hash: createHash('md5').update('other').digest('base64') });
    const badCrc = await upload(bucket, 'c', 'data', '', { crc32c: crc32cBase64(Buffer.from('other')) });
    expect([badMd5.status, badCrc.status, server.listObjects(bucket)]).toEqual([400, 400, []]);
    expect(((await badMd5.json()) as { error: { errors: { reason: string }[] } }).error.errors[0]?.reason).toBe('invalid');
    expect((await upload(bucket, 'ok', 'data', '', { md5Hash: createHash('md5').update('data').digest('base64'), crc32c: crc32cBase64(Buffer.from('data')) })).status).toBe(200);
  });

  it('serves gzip objects as stored to clients that accept gzip, transcoded to others; 404s are JSON', async () => {
    const bucket = server.createBucket();
    const gzipped = gzipSync('hello gzip');
    await upload(bucket, 'g', gzipped, '', { contentType: 'text/plain', contentEncoding: 'gzip' });
    const { request } = await import('node:http');
    const raw = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      request(`${server.endpoint}/storage/v1/b/${bucket}/o/g?alt=media`, { headers: { 'accept-encoding': 'gzip' } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ headers: response.headers, body: Buffer.concat(chunks) }));
      })
        .on('error', reject)
        .end();
    });
    expect([raw.body.equals(gzipped), raw.headers['content-encoding'], raw.headers['x-goog-stored-content-encoding'], raw.headers['x-goog-hash']]).toEqual([
      true,
      'gzip',
      'gzip',
      `crc32c=${crc32cBase64(gzipped)},md5=${createHash('md5').update(gzipped).digest('base64')}`,
    ]);
    const transcoded = await new Promise<Buffer>((resolve, reject) => {
      request(`${server.endpoint}/storage/v1/b/${bucket}/o/g?alt=media`, { headers: { 'accept-encoding': 'identity' } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks)));
      })
        .on('error', reject)
        .end();
    });
    expect(transcoded.toString()).toBe('hello gzip');
    const missing = await fetch(`${server.endpoint}/storage/v1/b/${bucket}/o/nope`);
    const noBucket = await fetch(`${server.endpoint}/storage/v1/b/no-such-bucket/o/nope`);
    expect([missing.status, ((await missing.json()) as { error: { message: string } }).error.message, noBucket.status, ((await noBucket.json()) as { error: { message: string } }).error.message]).toEqual([
      404,
      `No such object: ${bucket}/nope`,
      404,
      'The specified bucket does not exist.',
    ]);
  });

  it('lists in UTF-8 byte order with prefix, delimiter, maxResults and pageToken', async () => {
    const bucket = server.createBucket();
    for (const name of ['b/2', 'a/1', 'b/1', 'b/sub/x', 'ü', 'z']) server.putObject(bucket, name, Buffer.from(name));
    const page = async (query: string) => (await (await fetch(`${server.endpoint}/storage/v1/b/${bucket}/o?${query}`)).json()) as { items?: { name: string }[]; prefixes?: string[]; nextPageToken?: string };
    const first = await page('prefix=b%2F&maxResults=2');
    const second = await page(`prefix=b%2F&maxResults=2&pageToken=${first.nextPageToken}`);
    expect([first.items?.map((item) => item.name), second.items?.map((item) => item.name), second.nextPageToken]).toEqual([['b/1', 'b/2'], ['b/sub/x'], undefined]);
    const delimited = await page('delimiter=%2F');
    expect([delimited.items?.map((item) => item.name), delimited.prefixes]).toEqual([
      ['z', 'ü'],
      ['a/', 'b/'],
    ]);
  });

  it('resumable uploads: a session, then a PUT with Content-Range, preconditions checked', async () => {
    const bucket = server.createBucket();
    const start = await fetch(`${server.endpoint}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&name=r&ifGenerationMatch=0`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contentType: 'text/plain' }),
    });
    const location = start.headers.get('location') ?? '';
    const part = await fetch(location, { method: 'PUT', headers: { 'content-range': 'bytes 0-4/10' }, body: 'hello' });
    expect([start.status, part.status, part.headers.get('range')]).toEqual([200, 308, 'bytes=0-4']);
    const done = await fetch(location, { method: 'PUT', headers: { 'content-range': 'bytes 5-9/10' }, body: 'world' });
    expect([done.status, server.getObject(bucket, 'r')?.body.toString(), server.getObject(bucket, 'r')?.contentType]).toEqual([200, 'helloworld', 'text/plain']);
    const again = await fetch(`${server.endpoint}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&name=r&ifGenerationMatch=0`, { method: 'POST', body: '{}' });
    expect(again.status).toBe(412);
  });

  it('reports public access prevention, IAM bindings, and unsupported areas', async () => {
    const bucket = server.createBucket(undefined, { publicAccessPrevention: 'enforced', iamBindings: [{ role: 'roles/storage.objectViewer', members: ['allUsers'] }] });
    const metadata = (await (await fetch(`${server.endpoint}/storage/v1/b/${bucket}`)).json()) as { iamConfiguration: { publicAccessPrevention: string } };
    const policy = (await (await fetch(`${server.endpoint}/storage/v1/b/${bucket}/iam`)).json()) as { bindings: { members: string[] }[] };
    expect([metadata.iamConfiguration.publicAccessPrevention, policy.bindings.some((binding) => binding.members.includes('allUsers'))]).toEqual(['enforced', true]);
    const partial = await startGcsServer({ unsupported: ['iam'] });
    try {
      const other = partial.createBucket();
      expect((await fetch(`${partial.endpoint}/storage/v1/b/${other}/iam`)).status).toBe(501);
    } finally {
      await partial.stop();
    }
  });
});
