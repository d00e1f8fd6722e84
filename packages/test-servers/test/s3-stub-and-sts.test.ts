import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSts, startS3Stub, type FakeSts, type S3Stub } from '../src/index.js';

let stub: S3Stub;
let sts: FakeSts;
beforeAll(async () => {
  stub = await startS3Stub();
  sts = await startFakeSts({ expiresInMs: 60_000, refuse: (call) => call.roleArn.endsWith('/forbidden') });
});
afterAll(async () => {
  await stub.stop();
  await sts.stop();
});

describe('startS3Stub', () => {
  it('answers at once without storing: PUT 200 with an ETag, HEAD 404, an empty listing', async () => {
    const put = await fetch(`${stub.endpoint}/bucket/key`, { method: 'PUT', body: 'x'.repeat(5000), headers: { 'x-amz-checksum-sha256': 'abc=' } });
    const head = await fetch(`${stub.endpoint}/bucket/key`, { method: 'HEAD' });
    const list = await fetch(`${stub.endpoint}/bucket?list-type=2`);
    expect([put.status, put.headers.get('etag')?.length, put.headers.get('x-amz-checksum-sha256'), head.status, list.status, (await list.text()).includes('<KeyCount>0</KeyCount>')]).toEqual([200, 34, 'abc=', 404, 200, true]);
    expect(stub.counts).toEqual({ PUT: 1, HEAD: 1, GET: 1 });
  });
});

describe('startFakeSts', () => {
  const assumeRole = (roleArn: string) =>
    fetch(sts.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ Action: 'AssumeRole', Version: '2011-06-15', RoleArn: roleArn, RoleSessionName: 's', ExternalId: 'e' }) });

  it('answers AssumeRole with fresh credentials and an Expiration, and records the call', async () => {
    const before = Date.now();
    const response = await assumeRole('arn:aws:iam::111122223333:role/archive');
    const xml = await response.text();
    const expiration = new Date(/<Expiration>([^<]+)<\/Expiration>/.exec(xml)?.[1] ?? '').getTime();
    expect([response.status, /<AccessKeyId>(ASIA\w+)<\/AccessKeyId>/.test(xml), /<SessionToken>[^<]+<\/SessionToken>/.test(xml)]).toEqual([200, true, true]);
    expect(expiration - before).toBeGreaterThanOrEqual(59_000);
    expect(expiration - before).toBeLessThanOrEqual(61_000);
    expect(sts.calls.map((call) => [call.roleArn, call.roleSessionName, call.externalId])).toEqual([['arn:aws:iam::111122223333:role/archive', 's', 'e']]);
  });

  it('refuses calls its trust policy rejects with 403 AccessDenied', async () => {
    const response = await assumeRole('arn:aws:iam::111122223333:role/forbidden');
    expect([response.status, /<Code>AccessDenied<\/Code>/.test(await response.text())]).toEqual([403, true]);
  });
});
