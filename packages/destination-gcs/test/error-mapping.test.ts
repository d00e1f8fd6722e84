import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:net';
import { DestinationError, resolveRetryPolicy, retryInline, RetryExhaustedError, type DestinationV1, type PutObjectInput } from '@sentcopy/core';
import { faults, gcsErrorResponse, startFaultProxy, type CannedResponse, type FaultProxy } from '@sentcopy/test-servers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGcsDestination, mapGcsError } from '../src/index.js';
import { startGcsFixture, type GcsFixture } from './gcs-fixture.js';

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
const isUpload = (request: { method: string; url: string }) => request.method === 'POST' && request.url.startsWith('/upload/');
const isGet = (request: { method: string }) => request.method === 'GET';

let fixture: GcsFixture;
let proxy: FaultProxy;
let destination: DestinationV1;
beforeAll(async () => {
  fixture = await startGcsFixture();
  proxy = await startFaultProxy({ target: fixture.server.endpoint });
  destination = createGcsDestination({ ...fixture.settings, apiEndpoint: proxy.url, keyPrefix: 'faults/' });
});
beforeEach(() => proxy.reset());
afterAll(async () => {
  await proxy.stop();
  await fixture.stop();
});

describe('every GCS failure maps to one DestinationError kind', () => {
  const injected: [string, CannedResponse, string][] = [
    ['429 rateLimitExceeded', gcsErrorResponse(429, 'rateLimitExceeded', 'The object exceeded the rate limit for object mutation operations (create, update, and delete).'), 'rate_limited'],
    ['403 userRateLimitExceeded', gcsErrorResponse(403, 'userRateLimitExceeded', 'User Rate Limit Exceeded'), 'rate_limited'],
    ['429 without a body', { status: 429 }, 'rate_limited'],
    ['401 authError', gcsErrorResponse(401, 'authError', 'Invalid Credentials'), 'unauthorized'],
    ['401 required', gcsErrorResponse(401, 'required', 'Anonymous caller does not have storage.objects.create access.'), 'unauthorized'],
    ['403 forbidden', gcsErrorResponse(403, 'forbidden', 'sentcopy@p.iam.gserviceaccount.com does not have storage.objects.create access to the Google Cloud Storage object.'), 'unauthorized'],
    ['500 internalError', gcsErrorResponse(500, 'internalError', 'Internal Error'), 'unreachable'],
    ['503 backendError', gcsErrorResponse(503, 'backendError', 'Backend Error'), 'unreachable'],
    ['502 without a JSON body', { status: 502, headers: { 'content-type': 'text/html' }, body: '<html>Bad Gateway</html>' }, 'unreachable'],
    ['404 bucket', gcsErrorResponse(404, 'notFound', 'The specified bucket does not exist.'), 'invalid'],
    ['400 invalid', gcsErrorResponse(400, 'invalid', 'Invalid argument.'), 'invalid'],
    ['400 required (a missing parameter)', gcsErrorResponse(400, 'required', 'Required'), 'invalid'],
    ['418 something new', gcsErrorResponse(418, 'teapot', 'I am a teapot'), 'unknown'],
  ];

  it.each(injected)('put() answered %s → its kind, nothing stored, no body in the message', async (_name, response, kind) => {
    proxy.inject(faults.respond(response), { times: 1, match: isUpload });
    const key = `mapped-${kind}-${response.status}`;
    const error = await errorOf(destination.put(input(key, 'payload-body-text')));
    expect(DestinationError.isInstance(error) && { kind: error.kind, status: error.status, provider: error.provider }).toEqual({ kind, status: response.status, provider: 'gcs' });
    expect((error as Error).message).not.toMatch(/payload-body-text/);
    expect(fixture.server.getObject(fixture.bucket, `faults/${key}`)).toBe(undefined);
  });

  it.each([
    [429, 'rateLimitExceeded', 'rate_limited'],
    [403, 'forbidden', 'unauthorized'],
    [503, 'backendError', 'unreachable'],
  ] as const)('get() answered %i %s on the media download → %s', async (status, reason, kind) => {
    await destination.put(input(`read-${status}`, 'x'));
    proxy.inject(faults.respond(gcsErrorResponse(status, reason, reason)), { times: 1, match: (request) => isGet(request) && request.url.includes('alt=media') });
    const error = await errorOf(destination.get(`read-${status}`));
    expect(DestinationError.isInstance(error) && [error.kind, error.status, error.code]).toEqual([kind, status, reason]);
  });

  it('Retry-After reaches the error', async () => {
    const canned = gcsErrorResponse(429, 'rateLimitExceeded', 'slow down');
    proxy.inject(faults.respond({ ...canned, headers: { ...canned.headers, 'retry-after': '3' } }), { times: 1, match: isGet });
    const error = await errorOf(destination.head('any'));
    expect(DestinationError.isInstance(error) && [error.kind, error.retryAfterMs]).toEqual(['rate_limited', 3000]);
  });

  it('a reset connection, a timeout and a refused connection are unreachable', async () => {
    proxy.inject(faults.reset(), { times: 1 });
    const reset = await errorOf(destination.put(input('reset', 'x')));
    expect(DestinationError.isInstance(reset) && [reset.kind, reset.code]).toEqual(['unreachable', 'ECONNRESET']);
    expect(fixture.server.getObject(fixture.bucket, 'faults/reset')).toBe(undefined);

    const impatient = createGcsDestination({ ...fixture.settings, apiEndpoint: proxy.url, requestTimeoutMs: 300 });
    proxy.inject(faults.delay(2_000), { times: 1 });
    const started = Date.now();
    const slow = await errorOf(impatient.head('slow'));
    expect(DestinationError.isInstance(slow) && [slow.kind, slow.code]).toEqual(['unreachable', 'ETIMEDOUT']);
    expect(Date.now() - started).toBeLessThan(1_500);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const nowhere = createGcsDestination({ ...fixture.settings, apiEndpoint: `http://127.0.0.1:${port}` });
    const refused = await errorOf(nowhere.list());
    expect(DestinationError.isInstance(refused) && [refused.kind, refused.code]).toEqual(['unreachable', 'ECONNREFUSED']);
  });

  it('added latency below the timeout is just slower, and the object lands', async () => {
    proxy.inject(faults.delay(200), { times: 1, match: isUpload });
    const started = Date.now();
    expect((await destination.put(input('latency', 'late but whole'))).created).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(fixture.server.getObject(fixture.bucket, 'faults/latency')?.body.toString()).toBe('late but whole');
  });

  it('keeps private keys, tokens and the body out of messages and causes', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const token = 'ya29.a0AfB_byC-sentcopy-test-access-token-0123456789abcdefghijklmnopqrstuvwxyz';
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJzZW50Y29weSJ9.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl';
    proxy.inject(faults.respond(gcsErrorResponse(401, 'authError', `Invalid Credentials: Bearer ${token} / ${jwt} / key ${privateKey}`)), { times: 1 });
    const keyed = createGcsDestination({ ...fixture.settings, apiEndpoint: proxy.url, credentials: { client_email: 'leak@p.iam.gserviceaccount.com', private_key: privateKey }, authenticateCustomEndpoint: false });
    const error = await errorOf(keyed.put(input('leak', 'secret body')));
    expect(DestinationError.isInstance(error) && error.kind).toBe('unauthorized');
    const everything = `${(error as Error).message} ${String((error as Error).cause)} ${JSON.stringify(error)}`;
    const keyMaterial = privateKey.split('\n')[1] as string;
    for (const needle of [token, jwt, 'PRIVATE KEY', keyMaterial, 'secret body']) expect(everything).not.toContain(needle);
    expect((error as Error).message).toContain('object "leak"');
  });

  it('maps SDK-side failures without an HTTP answer', () => {
    const cases: [unknown, string][] = [
      [new Error('Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication/getting-started for more information.'), 'unauthorized'],
      [Object.assign(new Error('request to http://x failed, reason: socket hang up'), { code: 'ECONNRESET', type: 'system' }), 'unreachable'],
      [Object.assign(new Error('getaddrinfo ENOTFOUND storage.googleapis.com'), { code: 'ENOTFOUND' }), 'unreachable'],
      [Object.assign(new Error('The uploaded data did not match the data from the server.'), { code: 'FILE_NO_UPLOAD' }), 'unreachable'],
      [Object.assign(new Error('Request failed with status code 412'), { status: 412 }), 'conflict'],
      [new Error('something odd'), 'unknown'],
    ];
    expect(cases.map(([error]) => mapGcsError(error, { operation: 'write the object', bucket: 'b' }).kind)).toEqual(cases.map(([, kind]) => kind));
  });
});

describe('end to end with retryInline from @sentcopy/core', () => {
  const fast = resolveRetryPolicy({ rateLimited: { initialDelayMs: 20, maxDelayMs: 100 }, outage: { quickInitialDelayMs: 10, quickMaxDelayMs: 40 } });

  it('3× rateLimitExceeded, then success: exactly one object with the right bytes, 4 uploads', async () => {
    const rule = proxy.inject(faults.respond(gcsErrorResponse(429, 'rateLimitExceeded', 'slow down')), { times: 3, match: isUpload });
    const { value, attempts } = await retryInline(() => destination.put(input('slowdown/once', 'stored exactly once')), { policy: fast, maxAttempts: 6 });
    expect({ created: value.created, attempts, hits: rule.hits, uploads: proxy.requests.filter(isUpload).map((request) => request.status) }).toEqual({
      created: true,
      attempts: 4,
      hits: 3,
      uploads: [429, 429, 429, 200],
    });
    expect(fixture.server.listObjects(fixture.bucket).filter((name) => name.startsWith('faults/slowdown/'))).toEqual(['faults/slowdown/once']);
    expect(fixture.server.getObject(fixture.bucket, 'faults/slowdown/once')?.body.toString()).toBe('stored exactly once');
  });

  it('a lost answer after a stored write is retried into created: false, never a second object', async () => {
    proxy.inject(faults.replace(gcsErrorResponse(503, 'backendError', 'Backend Error')), { times: 1, match: isUpload });
    const { value, attempts } = await retryInline(() => destination.put(input('lost-answer/k', 'landed once')), { policy: fast });
    expect({ created: value.created, attempts }).toEqual({ created: false, attempts: 2 });
    expect(fixture.server.listObjects(fixture.bucket).filter((name) => name.startsWith('faults/lost-answer/'))).toEqual(['faults/lost-answer/k']);
  });

  it('403 forbidden is retried only within the inline budget; nothing is stored', async () => {
    proxy.inject(faults.respond(gcsErrorResponse(403, 'forbidden', 'denied')), { match: isUpload });
    const error = await errorOf(retryInline(() => destination.put(input('denied/k', 'x')), { policy: fast, maxAttempts: 3 }));
    expect(RetryExhaustedError.isInstance(error) && { kind: error.kind, attempts: error.attempts, code: error.lastError.code }).toEqual({ kind: 'unauthorized', attempts: 3, code: 'forbidden' });
    expect(proxy.count(isUpload)).toBe(3);
    expect(fixture.server.listObjects(fixture.bucket).filter((name) => name.startsWith('faults/denied/'))).toEqual([]);
  });

  it('a conflict is never retried', async () => {
    await destination.put(input('conflict/k', 'first'));
    proxy.reset();
    const error = await errorOf(retryInline(() => destination.put(input('conflict/k', 'second')), { policy: fast }));
    expect(RetryExhaustedError.isInstance(error) && [error.kind, error.attempts]).toEqual(['conflict', 1]);
    expect(proxy.count(isUpload)).toBe(1);
    expect(fixture.server.getObject(fixture.bucket, 'faults/conflict/k')?.body.toString()).toBe('first');
  });
});
