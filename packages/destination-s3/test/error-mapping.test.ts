import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { DestinationError, resolveRetryPolicy, retryInline, RetryExhaustedError, type DestinationV1, type PutObjectInput } from '@sentcopy/core';
import { faults, s3ErrorResponse, startFaultProxy, type CannedResponse, type FaultProxy } from '@sentcopy/test-servers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Destination, mapS3Error } from '../src/index.js';
import { startS3Fixture, testCredentials, type S3Fixture } from './s3-fixture.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const input = (key: string, text: string): PutObjectInput => {
  const body = new Uint8Array(Buffer.from(text, 'utf8'));
  return { key, body, sha256: sha256(body), contentType: 'text/plain' };
};
const errorOf = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => 'fulfilled',
    (error: unknown) => error,
  );
const isPut = (request: { method: string }) => request.method === 'PUT';

let fixture: S3Fixture;
let proxy: FaultProxy;
let destination: DestinationV1;
beforeAll(async () => {
  fixture = await startS3Fixture();
  proxy = await startFaultProxy({ target: fixture.server.endpoint });
  destination = createS3Destination({ ...fixture.settings, endpoint: proxy.url, keyPrefix: 'faults/' });
});
beforeEach(() => proxy.reset());
afterAll(async () => {
  await destination.close?.();
  await proxy.stop();
  await fixture.stop();
});

describe('every S3 failure maps to one DestinationError kind', () => {
  const injected: [string, CannedResponse, string][] = [
    ['503 SlowDown', s3ErrorResponse('SlowDown'), 'rate_limited'],
    ['503 ServiceUnavailable', s3ErrorResponse('ServiceUnavailable'), 'rate_limited'],
    ['429 TooManyRequests', s3ErrorResponse('TooManyRequests', { status: 429 }), 'rate_limited'],
    ['400 Throttling', s3ErrorResponse('Throttling', { status: 400, message: 'Rate exceeded' }), 'rate_limited'],
    ['400 ThrottlingException', s3ErrorResponse('ThrottlingException', { status: 400 }), 'rate_limited'],
    ['503 RequestLimitExceeded', s3ErrorResponse('RequestLimitExceeded', { status: 503 }), 'rate_limited'],
    ['403 AccessDenied', s3ErrorResponse('AccessDenied'), 'unauthorized'],
    ['403 InvalidAccessKeyId', s3ErrorResponse('InvalidAccessKeyId'), 'unauthorized'],
    ['400 ExpiredToken', s3ErrorResponse('ExpiredToken'), 'unauthorized'],
    ['403 SignatureDoesNotMatch', s3ErrorResponse('SignatureDoesNotMatch'), 'unauthorized'],
    ['403 AllAccessDisabled', s3ErrorResponse('AllAccessDisabled'), 'unauthorized'],
    ['500 InternalError', s3ErrorResponse('InternalError'), 'unreachable'],
    ['502 without an S3 body', { status: 502, headers: { 'content-type': 'text/html' }, body: '<html>Bad Gateway</html>' }, 'unreachable'],
    ['404 NoSuchBucket', s3ErrorResponse('NoSuchBucket'), 'invalid'],
    ['400 InvalidBucketName', s3ErrorResponse('InvalidBucketName'), 'invalid'],
    ['400 EntityTooLarge', s3ErrorResponse('EntityTooLarge'), 'invalid'],
    ['400 InvalidArgument', s3ErrorResponse('InvalidArgument'), 'invalid'],
    ['400 KeyTooLongError', s3ErrorResponse('KeyTooLongError'), 'invalid'],
    ['418 something new', s3ErrorResponse('TeapotError', { status: 418 }), 'unknown'],
  ];

  it.each(injected)('put() answered %s → its kind, nothing stored, no secret in the message', async (_name, response, kind) => {
    proxy.inject(faults.respond(response), { times: 1, match: isPut });
    const key = `mapped-${kind}-${response.status}`;
    const error = await errorOf(destination.put(input(key, 'payload-body-text')));
    expect(DestinationError.isInstance(error) && { kind: error.kind, status: error.status, provider: error.provider }).toEqual({ kind, status: response.status, provider: 's3' });
    expect((error as Error).message).not.toMatch(/payload-body-text|sentcopy-test-secret/);
    expect(fixture.server.getObject(fixture.bucket, `faults/${key}`)).toBe(undefined);
  });

  it.each([
    [503, 'rate_limited'],
    [403, 'unauthorized'],
    [500, 'unreachable'],
  ] as const)('head() answered a bodiless %i → %s (from the status alone)', async (status, kind) => {
    proxy.inject(faults.respond({ status }), { times: 1, match: (request) => request.method === 'HEAD' });
    const error = await errorOf(destination.head('any'));
    expect(DestinationError.isInstance(error) && [error.kind, error.status]).toEqual([kind, status]);
  });

  it('a reset connection, a timeout and a refused connection are unreachable', async () => {
    proxy.inject(faults.reset(), { times: 1 });
    const reset = await errorOf(destination.put(input('reset', 'x')));
    expect(DestinationError.isInstance(reset) && [reset.kind, reset.code]).toEqual(['unreachable', 'ECONNRESET']);

    const impatient = createS3Destination({ ...fixture.settings, endpoint: proxy.url, requestTimeoutMs: 300 });
    proxy.inject(faults.delay(2_000), { times: 1 });
    const slow = await errorOf(impatient.get('slow'));
    await impatient.close?.();
    expect(DestinationError.isInstance(slow) && [slow.kind, slow.code]).toEqual(['unreachable', 'ETIMEDOUT']);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const nowhere = createS3Destination({ ...fixture.settings, endpoint: `http://127.0.0.1:${port}` });
    const refused = await errorOf(nowhere.list());
    expect(DestinationError.isInstance(refused) && [refused.kind, refused.code]).toEqual(['unreachable', 'ECONNREFUSED']);
    await nowhere.close?.();
  });

  it('keeps credentials, tokens and signature dumps out of messages and causes', async () => {
    const secret = testCredentials.secretAccessKey;
    const token = 'FwoGZXIvYXdzEJr//////////wEaDKq3sessiontokenvalue0123456789abcdefABCDEF';
    proxy.inject(
      faults.respond(
        s3ErrorResponse('SignatureDoesNotMatch', {
          message: `The request signature we calculated does not match. Key ${testCredentials.accessKeyId} secret ${secret} token ${token}`,
          extra: { AWSAccessKeyId: testCredentials.accessKeyId, StringToSign: `AWS4-HMAC-SHA256 ${token}`, CanonicalRequest: `x-amz-security-token:${token}` },
        }),
      ),
      { times: 1 },
    );
    const error = await errorOf(destination.put(input('leak', 'secret body')));
    expect(DestinationError.isInstance(error) && error.kind).toBe('unauthorized');
    const everything = `${(error as Error).message} ${String((error as Error).cause)} ${JSON.stringify(error)}`;
    for (const needle of [secret, token, testCredentials.accessKeyId, 'secret body']) expect(everything).not.toContain(needle);
    expect((error as Error).message).toContain('faults/leak');
  });

  it('maps SDK-side failures without an HTTP answer', () => {
    const cases: [unknown, string][] = [
      [Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), 'unauthorized'],
      [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'unreachable'],
      [Object.assign(new Error('getaddrinfo ENOTFOUND bucket.s3.example'), { code: 'ENOTFOUND' }), 'unreachable'],
      [new Error('something odd'), 'unknown'],
    ];
    expect(cases.map(([error]) => mapS3Error(error, { operation: 'write the object', bucket: 'b' }).kind)).toEqual(cases.map(([, kind]) => kind));
  });
});

describe('end to end with retryInline from @sentcopy/core', () => {
  const fast = resolveRetryPolicy({ rateLimited: { initialDelayMs: 20, maxDelayMs: 100 }, outage: { quickInitialDelayMs: 10, quickMaxDelayMs: 40 } });

  it('3× SlowDown, then success: exactly one object with the right bytes, 4 PUTs', async () => {
    const rule = proxy.inject(faults.respond(s3ErrorResponse('SlowDown')), { times: 3, match: isPut });
    const object = input('slowdown/once', 'stored exactly once');
    const { value, attempts } = await retryInline(() => destination.put(object), { policy: fast, maxAttempts: 6 });
    expect({ created: value.created, attempts, hits: rule.hits, puts: proxy.requests.filter(isPut).map((request) => request.status) }).toEqual({
      created: true,
      attempts: 4,
      hits: 3,
      puts: [503, 503, 503, 200],
    });
    expect(fixture.server.listKeys(fixture.bucket).filter((key) => key.startsWith('faults/slowdown/'))).toEqual(['faults/slowdown/once']);
    expect(fixture.server.getObject(fixture.bucket, 'faults/slowdown/once')?.body.toString()).toBe('stored exactly once');
  });

  it('a lost answer after a stored write is retried into created: false, never a second object', async () => {
    // The write lands upstream, but the client sees a 500 instead of the 200: the retry meets 412 and compares SHA-256.
    proxy.inject(faults.replace(s3ErrorResponse('InternalError')), { times: 1, match: isPut });
    const object = input('lost-answer/k', 'landed once');
    const { value, attempts } = await retryInline(() => destination.put(object), { policy: fast });
    expect({ created: value.created, attempts }).toEqual({ created: false, attempts: 2 });
    expect(fixture.server.listKeys(fixture.bucket).filter((key) => key.startsWith('faults/lost-answer/'))).toEqual(['faults/lost-answer/k']);
  });

  it('AccessDenied is classified unauthorized and retried only within the inline budget; nothing is stored', async () => {
    proxy.inject(faults.respond(s3ErrorResponse('AccessDenied')), { match: isPut });
    const error = await errorOf(retryInline(() => destination.put(input('denied/k', 'x')), { policy: fast, maxAttempts: 3 }));
    expect(RetryExhaustedError.isInstance(error) && { kind: error.kind, attempts: error.attempts, code: error.lastError.code }).toEqual({ kind: 'unauthorized', attempts: 3, code: 'AccessDenied' });
    expect(proxy.count(isPut)).toBe(3);
    expect(fixture.server.listKeys(fixture.bucket).filter((key) => key.startsWith('faults/denied/'))).toEqual([]);
  });

  it('a conflict is never retried', async () => {
    await destination.put(input('conflict/k', 'first'));
    proxy.reset();
    const error = await errorOf(retryInline(() => destination.put(input('conflict/k', 'second')), { policy: fast }));
    expect(RetryExhaustedError.isInstance(error) && [error.kind, error.attempts]).toEqual(['conflict', 1]);
    expect(proxy.count(isPut)).toBe(1);
    expect(fixture.server.getObject(fixture.bucket, 'faults/conflict/k')?.body.toString()).toBe('first');
  });
});
