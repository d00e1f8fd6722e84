// What the lean Put Blob must get right that the SDK's stack did before: the same request headers
// and URL, a signature (Shared Key) or SAS that Azurite accepts, error answers and transport failures
// mapped by the same error map, aborts and resets in the middle of an upload, the conflict read-back.
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { BlobServiceClient, ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import { DestinationError, type PutObjectInput } from '@sentcopy/core';
import { azureErrorResponse, faults, startFaultProxy, type FaultProxy } from '@sentcopy/test-servers';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AzureLeanWriter } from '../src/azure-lean-writer.js';
import { createAzureDestination, sha256MetadataName } from '../src/index.js';
import { startAzureFixture, type AzureFixture } from './azure-fixture.js';
import { createAzureBackdoor } from './backdoor.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const inputOf = (key: string, body: Uint8Array, extra: Partial<PutObjectInput> = {}): PutObjectInput => ({ key, body, sha256: sha256(body), contentType: 'application/json', ...extra });
const text = (key: string, value: string): PutObjectInput => inputOf(key, new Uint8Array(Buffer.from(value, 'utf8')));
const errorOf = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => 'fulfilled',
    (error: unknown) => error,
  );
const leanAgent = 'sentcopy-destination-azure';
const isPut = (request: { method: string }) => request.method === 'PUT';

/** An HTTP server that answers every request 201 and records it. */
async function startCaptureServer(): Promise<{ port: number; requests: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }[]; stop(): Promise<void> }> {
  const requests: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }[] = [];
  const server: Server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(201, { etag: '"e"', 'content-length': 0 });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, requests, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Headers that differ between two correct requests: the clock, the signature, request ids, the agent, the connection. */
const volatile = new Set(['x-ms-date', 'authorization', 'x-ms-client-request-id', 'user-agent', 'host', 'connection']);
const stable = (headers: IncomingHttpHeaders): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(headers)
      .filter(([name]) => !volatile.has(name))
      .sort(([a], [b]) => a.localeCompare(b)),
  );

let fixture: AzureFixture;
let proxy: FaultProxy;
const backdoor = () => createAzureBackdoor(fixture.containerClient);
const accountKey = () => fixture.azurite.accountKey;
beforeAll(async () => {
  fixture = await startAzureFixture();
  proxy = await startFaultProxy({ target: `http://127.0.0.1:${fixture.azurite.port}` });
}, 60_000);
beforeEach(() => proxy.reset());
afterAll(async () => {
  await proxy?.stop();
  await fixture?.stop();
});

describe('the lean Put Blob sends what the SDK sent', () => {
  it('the same headers, path and body as BlockBlobClient.upload with the same options (metadata, MD5, tier, scope, immutability, legal hold)', async () => {
    const capture = await startCaptureServer();
    try {
      const accountUrl = `http://127.0.0.1:${capture.port}/${fixture.azurite.accountName}`;
      const settings = { container: 'box', accountUrl, credential: { accountKey: accountKey() }, keyPrefix: 'p/', accessTier: 'Cool', encryptionScope: 'scope1', immutability: { retentionDays: 2, mode: 'Locked' }, legalHold: true } as const;
      const destination = createAzureDestination(settings);
      const body = new Uint8Array(Buffer.from('{"exact":"copy ✓"}', 'utf8'));
      const before = Date.now();
      await destination.put(inputOf('odd name+%/é?#.json', body, { contentEncoding: 'gzip', metadata: { 'message-id': 'm-1', '1st': 'x' } }));
      await destination.close?.();
      const lean = capture.requests.at(-1)!;
      expect(lean.headers['user-agent']).toBe(leanAgent);

      // The same write through the SDK, with the options the SDK path of the driver gives it.
      const sdk = new BlobServiceClient(accountUrl, new StorageSharedKeyCredential(fixture.azurite.accountName, accountKey()), { retryOptions: { maxTries: 1 } });
      const until = new Date(lean.headers['x-ms-immutability-policy-until-date'] as string);
      expect(until.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 2 * 86_400_000);
      await sdk
        .getContainerClient('box')
        .getBlockBlobClient('p/odd name+%/é?#.json')
        .upload(body, body.byteLength, {
          conditions: { ifNoneMatch: '*' },
          blobHTTPHeaders: { blobContentType: 'application/json', blobContentEncoding: 'gzip' },
          metadata: { message_id: 'm-1', _1st: 'x', [sha256MetadataName]: sha256(body) },
          transactionalContentMD5: createHash('md5').update(body).digest(),
          tier: 'Cool',
          encryptionScope: 'scope1',
          immutabilityPolicy: { expiriesOn: until, policyMode: 'Locked' },
          legalHold: true,
        } as never);
      const reference = capture.requests.at(-1)!;
      expect(reference.headers['user-agent']).toMatch(/azsdk-js-azure-storage-blob/);
      expect([lean.method, lean.url, stable(lean.headers)]).toEqual([reference.method, reference.url, stable(reference.headers)]);
      expect(lean.body.equals(reference.body)).toBe(true);
      expect(lean.headers.authorization).toMatch(new RegExp(`^SharedKey ${fixture.azurite.accountName}:`));
    } finally {
      await capture.stop();
    }
  });

  it('names a blob by the same URL as the SDK for odd names, and keeps a SAS query after the path', () => {
    const container = fixture.service.getContainerClient('box');
    const writer = new AzureLeanWriter(container.url, { kind: 'sas' });
    const withSas = new AzureLeanWriter(`${container.url}?sv=1&sig=abc%2B`, { kind: 'sas' });
    for (const name of ['a/b c+d%é?#.json', 'sent_messages/email/ab/cd/m.json.gz', "quote'and(paren)*!~", 'emoji/😀/x', 'trailing/', 'dots/./x/../y', '%2F-already-encoded']) {
      expect(writer.urlOf(name)).toBe(container.getBlockBlobClient(name).url);
      expect(withSas.urlOf(name)).toBe(`${container.getBlockBlobClient(name).url}?sv=1&sig=abc%2B`);
    }
  });

  it('with sdkMaxTries above 1 writes go through the SDK (only its stack retries)', async () => {
    const destination = createAzureDestination({ ...fixture.settings, connectionString: fixture.connectionStringVia(proxy.url), keyPrefix: 'sdk-tries/', sdkMaxTries: 2 });
    await destination.put(text('k', 'via the SDK'));
    await destination.close?.();
    const puts = proxy.requests.filter(isPut);
    expect(puts.map((request) => [request.headers['user-agent']?.includes('azsdk-js-azure-storage-blob'), request.status])).toEqual([[true, 201]]);
  });

  it('with a proxy in the environment (HTTPS_PROXY) writes go through the SDK, whose proxy policy honours it: nothing bypasses the proxy', async () => {
    // A proxy that refuses connections: the SDK sends even this http request to it and fails; the lean path would have gone around it.
    vi.stubEnv('HTTPS_PROXY', 'http://127.0.0.1:9');
    let error: unknown;
    try {
      const destination = createAzureDestination({ ...fixture.settings, connectionString: fixture.connectionStringVia(proxy.url), keyPrefix: 'sdk-proxy/' });
      error = await errorOf(destination.put(text('k', 'via the SDK')));
      await destination.close?.();
    } finally {
      vi.unstubAllEnvs();
    }
    expect(DestinationError.isInstance(error) && [error.kind, error.code]).toEqual(['unreachable', 'ECONNREFUSED']);
    expect(proxy.requests.filter(isPut)).toEqual([]);
  });
});

describe('Azurite accepts the lean path’s authentication', () => {
  const sasFor = (permissions: string) =>
    generateBlobSASQueryParameters(
      { containerName: fixture.container, permissions: ContainerSASPermissions.parse(permissions), expiresOn: new Date(Date.now() + 3_600_000) },
      new StorageSharedKeyCredential(fixture.azurite.accountName, accountKey()),
    ).toString();

  it.each([
    ['a connection string (Shared Key)', () => ({ connectionString: fixture.connectionStringVia(proxy.url) }), 'SharedKey'],
    ['an account key', () => ({ accountUrl: fixture.accountUrlVia(proxy.url), credential: { accountKey: accountKey() } }), 'SharedKey'],
    ['a SAS token (no Authorization header, the token as query)', () => ({ accountUrl: fixture.accountUrlVia(proxy.url), credential: { sasToken: sasFor('racwdl') } }), 'sas'],
  ] as const)('%s: stored byte-identical with its SHA-256, answered 201 to the lean request', async (_name, connection, scheme) => {
    const key = `auth-${randomBytes(4).toString('hex')}`;
    const destination = createAzureDestination({ container: fixture.container, keyPrefix: 'lean-auth/', ...connection() });
    const body = new Uint8Array(randomBytes(3000));
    const answer = await destination.put(inputOf(key, body));
    await destination.close?.();
    expect(answer.created).toBe(true);
    const puts = proxy.requests.filter(isPut);
    expect(puts.map((request) => [request.headers['user-agent'], request.status])).toEqual([[leanAgent, 201]]);
    const put = puts[0]!;
    if (scheme === 'sas') expect([put.headers.authorization, /[?&]sig=/.test(put.url)]).toEqual([undefined, true]);
    else expect(put.headers.authorization).toMatch(/^SharedKey devstoreaccount1:/);
    const stored = await backdoor().readObject(`lean-auth/${key}`);
    expect(stored && [Buffer.from(stored.body).equals(Buffer.from(body)), stored.sha256]).toEqual([true, sha256(body)]);
  });

  it('a wrong key: Azurite refuses the signature 403 → unauthorized, nothing stored, the key nowhere in the error', async () => {
    const wrongKey = Buffer.from('a-wrong-key-for-the-lean-path-0123456789abcdef').toString('base64');
    const destination = createAzureDestination({ container: fixture.container, accountUrl: fixture.accountUrlVia(proxy.url), credential: { accountKey: wrongKey }, keyPrefix: 'lean-wrong/' });
    const error = await errorOf(destination.put(text('k', 'x')));
    await destination.close?.();
    expect(DestinationError.isInstance(error) && [error.kind, error.status, /^Authori[sz]ationFailure$|^AuthenticationFailed$/.test(error.code ?? '')]).toEqual(['unauthorized', 403, true]);
    expect(proxy.requests.filter(isPut).map((request) => request.headers['user-agent'])).toEqual([leanAgent]);
    expect(`${(error as Error).message} ${JSON.stringify(error)} ${String((error as Error).cause)}`).not.toContain(wrongKey);
    expect(await backdoor().listKeys('lean-wrong/')).toEqual([]);
  });

  it('a read-only SAS: 403 AuthorizationPermissionMismatch → unauthorized, the token nowhere in the error', async () => {
    const sas = sasFor('rl');
    const destination = createAzureDestination({ container: fixture.container, accountUrl: fixture.accountUrlVia(proxy.url), credential: { sasToken: sas }, keyPrefix: 'lean-ro/' });
    const error = await errorOf(destination.put(text('k', 'x')));
    await destination.close?.();
    expect(DestinationError.isInstance(error) && [error.kind, error.status]).toEqual(['unauthorized', 403]);
    const signature = decodeURIComponent(new URLSearchParams(sas).get('sig')!);
    const everything = `${(error as Error).message} ${JSON.stringify(error)} ${String((error as Error).cause)} ${(error as Error).stack ?? ''}`;
    for (const needle of [sas, signature, encodeURIComponent(signature)]) expect(everything).not.toContain(needle);
  });
});

describe('failures and conflicts on the lean path', () => {
  const leanDestination = (prefix: string, extra: object = {}) => createAzureDestination({ ...fixture.settings, connectionString: fixture.connectionStringVia(proxy.url), keyPrefix: prefix, ...extra });

  it.each([
    [503, 'ServerBusy'],
    [429, 'TooManyRequests'],
  ] as const)('%i %s with Retry-After is rate_limited with the delay and its request id, nothing stored', async (status, code) => {
    const destination = leanDestination(`lean-busy-${status}/`);
    const busy = azureErrorResponse(code, status, 'The server is busy.');
    proxy.inject(faults.respond({ ...busy, headers: { ...busy.headers, 'retry-after': '3' } }), { times: 1, match: isPut });
    const error = await errorOf(destination.put(text('k', 'x')));
    await destination.close?.();
    expect(
      DestinationError.isInstance(error) && { kind: error.kind, status: error.status, code: error.code, retryAfterMs: error.retryAfterMs, requestIdKept: String(error.cause).includes(busy.headers?.['x-ms-request-id'] ?? 'no request id') },
    ).toEqual({ kind: 'rate_limited', status, code, retryAfterMs: 3000, requestIdKept: true });
    expect(proxy.requests.filter(isPut).map((request) => request.headers['user-agent'])).toEqual([leanAgent]);
    expect(await backdoor().listKeys(`lean-busy-${status}/`)).toEqual([]);
  });

  it('an answer that does not come within requestTimeoutMs is unreachable ETIMEDOUT, and the late write is then resolved by the read-back', async () => {
    const destination = leanDestination('lean-timeout/', { requestTimeoutMs: 300 });
    proxy.inject(faults.delay(1_500), { times: 1, match: isPut });
    const error = await errorOf(destination.put(text('k', 'late')));
    expect(DestinationError.isInstance(error) && [error.kind, error.code]).toEqual(['unreachable', 'ETIMEDOUT']);
    expect(proxy.requests.filter(isPut).map((request) => request.headers['user-agent'])).toEqual([leanAgent]);
    // The delayed request may still land; the retry then finds the same bytes and succeeds without a second object.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const retried = await destination.put(text('k', 'late'));
    await destination.close?.();
    expect(typeof retried.created).toBe('boolean');
    expect(await backdoor().listKeys('lean-timeout/')).toEqual(['lean-timeout/k']);
  });

  it('the conflict read-back: same bytes again → created false; other bytes → conflict; the first object stays intact', async () => {
    const destination = leanDestination('lean-conflict/');
    const first = text('k', 'first version');
    expect((await destination.put(first)).created).toBe(true);
    expect((await destination.put(first)).created).toBe(false);
    const error = await errorOf(destination.put(text('k', 'second version')));
    await destination.close?.();
    expect(DestinationError.isInstance(error) && error.kind).toBe('conflict');
    const conflicts = proxy.requests.filter((request) => isPut(request) && request.status === 409);
    expect(conflicts.length).toBeGreaterThanOrEqual(2);
    expect(conflicts.every((request) => request.headers['user-agent'] === leanAgent)).toBe(true);
    const stored = await backdoor().readObject('lean-conflict/k');
    expect(stored && Buffer.from(stored.body).toString()).toBe('first version');
  });

  it('a connection reset during the upload is unreachable ECONNRESET, stores nothing, and the retry stores the whole object once', async () => {
    const destination = leanDestination('lean-reset/');
    proxy.inject(faults.reset(), { times: 1, match: isPut });
    const body = new Uint8Array(randomBytes(512 * 1024));
    const error = await errorOf(destination.put(inputOf('k', body)));
    expect(DestinationError.isInstance(error) && [error.kind, error.code]).toEqual(['unreachable', 'ECONNRESET']);
    expect(await backdoor().listKeys('lean-reset/')).toEqual([]);
    expect((await destination.put(inputOf('k', body))).created).toBe(true);
    await destination.close?.();
    const stored = await backdoor().readObject('lean-reset/k');
    expect(stored && Buffer.from(stored.body).equals(Buffer.from(body))).toBe(true);
  });

  it('an abort in the middle of a stalled upload rejects at once with the reason (not a mapped error), and the next write goes through', async () => {
    // A server that reads part of the body, then stops reading and never answers.
    let received = 0;
    const sockets = new Set<Socket>();
    let firstBytes: () => void = () => {};
    const arrived = new Promise<void>((resolve) => (firstBytes = resolve));
    const stall = createTcpServer((socket) => {
      sockets.add(socket);
      socket.on('data', (chunk: Buffer) => {
        received += chunk.byteLength;
        if (received > 64 * 1024) {
          socket.pause();
          firstBytes();
        }
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => stall.listen(0, '127.0.0.1', resolve));
    try {
      const port = (stall.address() as { port: number }).port;
      const destination = createAzureDestination({ ...fixture.settings, connectionString: fixture.connectionStringVia(`http://127.0.0.1:${port}`), keyPrefix: 'lean-abort/' });
      const controller = new AbortController();
      const pending = errorOf(destination.put(inputOf('k', new Uint8Array(randomBytes(8 * 1024 * 1024))), { signal: controller.signal }));
      await arrived;
      const reason = new Error('caller gave up');
      controller.abort(reason);
      const error = await pending;
      expect(DestinationError.isInstance(error)).toBe(false);
      expect(error === reason || (error as Error).name === 'AbortError').toBe(true);
      await destination.close?.();
      expect(received).toBeLessThan(8 * 1024 * 1024);
      const next = leanDestination('lean-abort/');
      expect((await next.put(text('k', 'after the abort'))).created).toBe(true);
      await next.close?.();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => stall.close(resolve));
    }
  });
});
