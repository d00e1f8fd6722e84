import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import { createArchiver, DestinationError, resolveRetryPolicy, retryInline, RetryExhaustedError, sampleMessages, type DestinationV1, type PutObjectInput } from '@sentcopy/core';
import { azureErrorResponse, faults, startFaultProxy, type CannedResponse, type FaultProxy } from '@sentcopy/test-servers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAzureDestination, mapAzureError, sha256MetadataName } from '../src/index.js';
import { startAzureFixture, type AzureFixture } from './azure-fixture.js';
import { createAzureBackdoor } from './backdoor.js';

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
const everythingIn = (error: unknown): string => `${(error as Error).message} ${String((error as Error).cause)} ${JSON.stringify(error)} ${(error as Error).stack ?? ''}`;

let fixture: AzureFixture;
let proxy: FaultProxy;
let destination: DestinationV1;
const keys = (prefix: string) => createAzureBackdoor(fixture.containerClient).listKeys(prefix);
beforeAll(async () => {
  fixture = await startAzureFixture();
  proxy = await startFaultProxy({ target: `http://127.0.0.1:${fixture.azurite.port}` });
  destination = createAzureDestination({ ...fixture.settings, connectionString: fixture.connectionStringVia(proxy.url), keyPrefix: 'faults/' });
});
beforeEach(() => proxy.reset());
afterAll(async () => {
  await destination.close?.();
  await proxy.stop();
  await fixture.stop();
});

describe('every Azure failure maps to one DestinationError kind', () => {
  const injected: [string, CannedResponse, string][] = [
    ['503 ServerBusy', azureErrorResponse('ServerBusy', 503, 'The server is busy.'), 'rate_limited'],
    ['503 ServerBusy (ingress over account limit)', azureErrorResponse('ServerBusy', 503, 'Ingress is over the account limit.'), 'rate_limited'],
    ['500 OperationTimedOut', azureErrorResponse('OperationTimedOut', 500, 'The operation could not be completed within the permitted time.'), 'rate_limited'],
    ['429 TooManyRequests', azureErrorResponse('TooManyRequests', 429), 'rate_limited'],
    ['403 AuthenticationFailed', azureErrorResponse('AuthenticationFailed', 403, 'Server failed to authenticate the request.'), 'unauthorized'],
    ['403 AuthorizationFailure', azureErrorResponse('AuthorizationFailure', 403, 'This request is not authorized to perform this operation.'), 'unauthorized'],
    ['403 AuthorizationPermissionMismatch', azureErrorResponse('AuthorizationPermissionMismatch', 403), 'unauthorized'],
    ['400 InvalidAuthenticationInfo', azureErrorResponse('InvalidAuthenticationInfo', 400, 'Authentication information is not given in the correct format.'), 'unauthorized'],
    ['401 NoAuthenticationInformation', azureErrorResponse('NoAuthenticationInformation', 401), 'unauthorized'],
    ['500 InternalError', azureErrorResponse('InternalError', 500, 'The server encountered an internal error.'), 'unreachable'],
    ['502 without an Azure body', { status: 502, headers: { 'content-type': 'text/html' }, body: '<html>Bad Gateway</html>' }, 'unreachable'],
    ['404 ContainerNotFound', azureErrorResponse('ContainerNotFound', 404, 'The specified container does not exist.'), 'invalid'],
    ['400 InvalidHeaderValue', azureErrorResponse('InvalidHeaderValue', 400), 'invalid'],
    ['413 RequestBodyTooLarge', azureErrorResponse('RequestBodyTooLarge', 413), 'invalid'],
    ['400 Md5Mismatch', azureErrorResponse('Md5Mismatch', 400), 'invalid'],
    ['404 EncryptionScopeNotFound', azureErrorResponse('EncryptionScopeNotFound', 404), 'invalid'],
    ['409 BlobImmutableDueToPolicy', azureErrorResponse('BlobImmutableDueToPolicy', 409, 'This operation is not permitted as the blob is immutable due to a policy.'), 'invalid'],
    ['400 an immutability code this version does not list', azureErrorResponse('ImmutableStorageWithVersioningNotEnabledOnContainer', 400), 'invalid'],
    ['418 something new', azureErrorResponse('TeapotError', 418), 'unknown'],
  ];

  it.each(injected)('put() answered %s → its kind, nothing stored, no body text in the message', async (_name, response, kind) => {
    proxy.inject(faults.respond(response), { times: 1, match: isPut });
    const key = `mapped-${kind}-${response.status}`;
    const error = await errorOf(destination.put(input(key, 'payload-body-text')));
    expect(DestinationError.isInstance(error) && { kind: error.kind, status: error.status, provider: error.provider }).toEqual({ kind, status: response.status, provider: 'azure' });
    expect((error as Error).message).not.toMatch(/payload-body-text/);
    expect((error as Error).message).toContain(`faults/${key}`);
    expect(await keys(`faults/${key}`)).toEqual([]);
  });

  it('ContainerNotFound says what to do', async () => {
    proxy.inject(faults.respond(azureErrorResponse('ContainerNotFound', 404, 'The specified container does not exist.')), { times: 1 });
    const error = await errorOf(destination.put(input('no-container', 'x')));
    expect(DestinationError.isInstance(error) && [error.kind, error.code]).toEqual(['invalid', 'ContainerNotFound']);
    expect((error as Error).message).toMatch(/the container does not exist \(create it first, or check the container name and the account\)/);
  });

  it('Retry-After becomes retryAfterMs', async () => {
    const busy = azureErrorResponse('ServerBusy', 503);
    proxy.inject(faults.respond({ ...busy, headers: { ...busy.headers, 'retry-after': '7' } }), { times: 1, match: isPut });
    const error = await errorOf(destination.put(input('retry-after', 'x')));
    expect(DestinationError.isInstance(error) && [error.kind, error.retryAfterMs]).toEqual(['rate_limited', 7000]);
  });

  it.each([
    [503, 'ServerBusy', 'rate_limited'],
    [403, 'AuthenticationFailed', 'unauthorized'],
    [500, 'InternalError', 'unreachable'],
    [503, undefined, 'rate_limited'],
    [403, undefined, 'unauthorized'],
    [500, undefined, 'unreachable'],
  ] as const)('head() answered a bodiless %i (x-ms-error-code %s) → %s', async (status, code, kind) => {
    proxy.inject(faults.respond({ status, headers: code === undefined ? {} : { 'x-ms-error-code': code } }), { times: 1, match: (request) => request.method === 'HEAD' });
    const error = await errorOf(destination.head('any'));
    expect(DestinationError.isInstance(error) && [error.kind, error.status]).toEqual([kind, status]);
  });

  it('the SDK makes one attempt per call: a ServerBusy reaches sentcopy at once, not after hidden retries', async () => {
    proxy.inject(faults.respond(azureErrorResponse('ServerBusy', 503)), { times: 3, match: isPut });
    const started = Date.now();
    const error = await errorOf(destination.put(input('one-try', 'x')));
    expect({ kind: DestinationError.isInstance(error) && error.kind, puts: proxy.count(isPut), quick: Date.now() - started < 2_000 }).toEqual({ kind: 'rate_limited', puts: 1, quick: true });
  });

  it('a reset connection, a timeout and a refused connection are unreachable', async () => {
    proxy.inject(faults.reset(), { times: 1 });
    const reset = await errorOf(destination.put(input('reset', 'x')));
    expect(DestinationError.isInstance(reset) && [reset.kind, reset.code]).toEqual(['unreachable', 'ECONNRESET']);

    const impatient = createAzureDestination({ ...fixture.settings, connectionString: fixture.connectionStringVia(proxy.url), requestTimeoutMs: 300 });
    proxy.inject(faults.delay(2_000), { times: 1 });
    const slow = await errorOf(impatient.get('slow'));
    await impatient.close?.();
    expect(DestinationError.isInstance(slow) && [slow.kind, slow.code]).toEqual(['unreachable', 'ETIMEDOUT']);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const nowhere = createAzureDestination({ ...fixture.settings, connectionString: fixture.connectionStringVia(`http://127.0.0.1:${port}`) });
    const refused = await errorOf(nowhere.list());
    expect(DestinationError.isInstance(refused) && [refused.kind, refused.code]).toEqual(['unreachable', 'ECONNREFUSED']);
    await nowhere.close?.();
  });

  it('an abort is the caller’s AbortError, not a mapped error', async () => {
    proxy.inject(faults.delay(1_000), { times: 1 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await errorOf(destination.get('aborted', { signal: controller.signal }));
    expect([DestinationError.isInstance(error), (error as Error).name]).toEqual([false, 'AbortError']);
  });

  it('maps SDK-side failures without an HTTP answer', () => {
    const cases: [unknown, string][] = [
      [Object.assign(new Error('DefaultAzureCredential failed to retrieve a token'), { name: 'CredentialUnavailableError' }), 'unauthorized'],
      [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'unreachable'],
      [Object.assign(new Error('getaddrinfo ENOTFOUND acct.blob.core.windows.net'), { name: 'RestError', code: 'REQUEST_SEND_ERROR' }), 'unreachable'],
      [new Error('something odd'), 'unknown'],
    ];
    expect(cases.map(([error]) => mapAzureError(error, { operation: 'write the object', container: 'c' }).kind)).toEqual(cases.map(([, kind]) => kind));
  });
});

describe('no secret in any error', () => {
  const accountKey = () => fixture.azurite.accountKey;

  it('a server message quoting the key, SAS signature and string-to-sign is redacted', async () => {
    const sas = generateBlobSASQueryParameters(
      { containerName: fixture.container, permissions: ContainerSASPermissions.parse('racwdl'), expiresOn: new Date(Date.now() + 3_600_000) },
      new StorageSharedKeyCredential(fixture.azurite.accountName, accountKey()),
    ).toString();
    const signature = decodeURIComponent(new URLSearchParams(sas).get('sig')!);
    const viaSas = createAzureDestination({ container: fixture.container, accountUrl: fixture.accountUrlVia(proxy.url), credential: { sasToken: sas }, keyPrefix: 'faults/' });
    proxy.inject(
      faults.respond(
        azureErrorResponse(
          'AuthenticationFailed',
          403,
          `Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature. sig=${signature} AccountKey=${accountKey()} The MAC signature found in the HTTP request '${signature}' is not the same as any computed signature. Server used following string to sign: 'PUT\n\n${sas}'.`,
        ),
      ),
      { times: 2 },
    );
    const errors = [await errorOf(viaSas.put(input('leak', 'secret body'))), await errorOf(destination.put(input('leak', 'secret body')))];
    for (const error of errors) {
      expect(DestinationError.isInstance(error) && error.kind).toBe('unauthorized');
      const everything = everythingIn(error);
      for (const needle of [accountKey(), signature, encodeURIComponent(signature), sas, fixture.azurite.connectionString, 'secret body']) expect(everything).not.toContain(needle);
      expect((error as Error).message).toContain('faults/leak');
    }
    await viaSas.close?.();
  });

  it('real authentication failures from Azurite (wrong key, forged SAS) carry neither the key nor the token', async () => {
    const wrongKey = Buffer.from('a-wrong-key-that-must-not-leak-0123456789abcdef').toString('base64');
    const wrongConnectionString = fixture.azurite.connectionString.replace(accountKey(), wrongKey);
    const forgedSas = `sv=2025-11-05&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00:00:00Z&sig=${encodeURIComponent(Buffer.from('forged-signature-0123456789abcdefghij').toString('base64'))}`;
    const attempts = [
      createAzureDestination({ container: fixture.container, connectionString: wrongConnectionString }),
      createAzureDestination({ container: fixture.container, accountUrl: fixture.azurite.blobEndpoint, credential: { accountKey: wrongKey } }),
      createAzureDestination({ container: fixture.container, accountUrl: fixture.azurite.blobEndpoint, credential: { sasToken: forgedSas } }),
    ];
    for (const attempt of attempts) {
      for (const error of [await errorOf(attempt.put(input('auth', 'x'))), await errorOf(attempt.list()), await errorOf(attempt.head('auth'))]) {
        expect(DestinationError.isInstance(error) && error.kind).toBe('unauthorized');
        const everything = everythingIn(error);
        for (const needle of [wrongKey, accountKey(), wrongConnectionString, forgedSas, 'forged-signature', decodeURIComponent(forgedSas.split('sig=')[1]!)]) expect(everything).not.toContain(needle);
      }
      const probe = JSON.stringify(await attempt.probe());
      for (const needle of [wrongKey, forgedSas, decodeURIComponent(forgedSas.split('sig=')[1]!)]) expect(probe).not.toContain(needle);
      await attempt.close?.();
    }
  });
});

describe('end to end with retryInline and the archiver from @sentcopy/core', () => {
  const fast = resolveRetryPolicy({ rateLimited: { initialDelayMs: 20, maxDelayMs: 100 }, outage: { quickInitialDelayMs: 10, quickMaxDelayMs: 40 } });

  it('the archiver survives 2× ServerBusy and stores the exact bytes once', async () => {
    const archiving = createAzureDestination({ ...fixture.settings, connectionString: fixture.connectionStringVia(proxy.url), keyPrefix: 'archiver/' });
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: archiving, retry: { policy: fast } });
    const rule = proxy.inject(faults.respond(azureErrorResponse('ServerBusy', 503, 'The server is busy.')), { times: 2, match: isPut });
    const message = sampleMessages({ projectId: 'acme', count: 1 })[0]!;
    const prepared = await archiver.prepare(message);
    const result = await archiver.archive(message);
    expect({ attempts: result.attempts, created: result.created, hits: rule.hits, puts: proxy.requests.filter(isPut).map((request) => request.status) }).toEqual({
      attempts: 3,
      created: true,
      hits: 2,
      puts: [503, 503, 201],
    });
    expect(await keys('archiver/')).toEqual([`archiver/${result.key}`]);
    const stored = await fixture.containerClient.getBlockBlobClient(`archiver/${result.key}`).downloadToBuffer();
    const properties = await fixture.containerClient.getBlockBlobClient(`archiver/${result.key}`).getProperties();
    expect({ sha: sha256(stored), recorded: properties.metadata?.[sha256MetadataName], type: properties.contentType, same: Buffer.from(prepared.body).equals(stored) }).toEqual({
      sha: result.sha256,
      recorded: result.sha256,
      type: archiver.codec.contentType,
      same: true,
    });
    await archiving.close?.();
  });

  it('a lost answer after a stored write is retried into created: false, never a second object', async () => {
    proxy.inject(faults.replace(azureErrorResponse('InternalError', 500)), { times: 1, match: isPut });
    const object = input('lost-answer/k', 'landed once');
    const { value, attempts } = await retryInline(() => destination.put(object), { policy: fast });
    expect({ created: value.created, attempts }).toEqual({ created: false, attempts: 2 });
    expect(await keys('faults/lost-answer/')).toEqual(['faults/lost-answer/k']);
  });

  it('AuthenticationFailed is retried only within the inline budget; nothing is stored', async () => {
    proxy.inject(faults.respond(azureErrorResponse('AuthenticationFailed', 403)), { match: isPut });
    const error = await errorOf(retryInline(() => destination.put(input('denied/k', 'x')), { policy: fast, maxAttempts: 3 }));
    expect(RetryExhaustedError.isInstance(error) && { kind: error.kind, attempts: error.attempts, code: error.lastError.code }).toEqual({ kind: 'unauthorized', attempts: 3, code: 'AuthenticationFailed' });
    expect(proxy.count(isPut)).toBe(3);
    expect(await keys('faults/denied/')).toEqual([]);
  });

  it('a conflict is never retried', async () => {
    await destination.put(input('conflict/k', 'first'));
    proxy.reset();
    const error = await errorOf(retryInline(() => destination.put(input('conflict/k', 'second')), { policy: fast }));
    expect(RetryExhaustedError.isInstance(error) && [error.kind, error.attempts]).toEqual(['conflict', 1]);
    expect(proxy.count(isPut)).toBe(1);
    expect((await fixture.containerClient.getBlockBlobClient('faults/conflict/k').downloadToBuffer()).toString()).toBe('first');
  });
});
