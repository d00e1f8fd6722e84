// What the lean multipart upload must get right that the SDK's write stream did before: the same
// URL, query and multipart body, the SDK auth client's Authorization header (accepted by the GCS test
// server) or none on an unauthenticated custom endpoint, error answers classified exactly as on the
// SDK path, resets and aborts in the middle of an upload, the conflict read-back, and the SDK's
// integrity check (a CRC32C mismatch removes the object it wrote).
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { Storage } from '@google-cloud/storage';
import { DestinationError, type PutObjectInput } from '@sentcopy/core';
import { crc32cBase64, faults, gcsErrorResponse, startFaultProxy, type CannedResponse, type FaultProxy } from '@sentcopy/test-servers';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createGcsDestination, type GcsDestinationSettings } from '../src/index.js';
import { startGcsFixture, type GcsFixture } from './gcs-fixture.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const inputOf = (key: string, body: Uint8Array, extra: Partial<PutObjectInput> = {}): PutObjectInput => ({ key, body, sha256: sha256(body), contentType: 'application/json', ...extra });
const text = (key: string, value: string): PutObjectInput => inputOf(key, new Uint8Array(Buffer.from(value, 'utf8')));
const errorOf = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => 'fulfilled',
    (error: unknown) => error,
  );
const leanAgent = 'sentcopy-destination-gcs';
const isUpload = (request: { method: string; url: string }) => request.method === 'POST' && request.url.startsWith('/upload/');

/** The parts of a multipart/related body with its boundary, so two bodies compare regardless of their random boundaries. */
function partsOf(contentType: string | undefined, body: Buffer): string {
  const boundary = /boundary=([^;]+)/.exec(contentType ?? '')?.[1] ?? '';
  return body.toString('latin1').replaceAll(boundary, 'BOUNDARY');
}

/** An HTTP server that answers every upload 200 with an object resource carrying the data part's CRC32C and MD5, and records it. */
async function startCaptureServer(): Promise<{ endpoint: string; requests: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }[]; stop(): Promise<void> }> {
  const requests: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }[] = [];
  const server: Server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      const boundary = /boundary=([^;]+)/.exec(request.headers['content-type'] ?? '')?.[1] ?? '';
      const data = body.toString('latin1').split(`--${boundary}`)[2]?.split('\r\n\r\n').slice(1).join('\r\n\r\n').replace(/\r\n$/, '') ?? '';
      const bytes = Buffer.from(data, 'latin1');
      const resource = { kind: 'storage#object', name: 'x', bucket: 'b', generation: '1', size: String(bytes.byteLength), md5Hash: createHash('md5').update(bytes).digest('base64'), crc32c: crc32cBase64(bytes) };
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(resource));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

let fixture: GcsFixture;
let proxy: FaultProxy;
beforeAll(async () => {
  fixture = await startGcsFixture({ bucket: { objectRetention: true } as never });
  proxy = await startFaultProxy({ target: fixture.server.endpoint });
});
beforeEach(() => proxy.reset());
afterAll(async () => {
  await proxy?.stop();
  await fixture?.stop();
});

describe('the lean upload sends what the SDK sent', () => {
  it('the same URL, query and multipart body (resource JSON and data part) as File.createWriteStream for the same write', async () => {
    const capture = await startCaptureServer();
    try {
      const settings: GcsDestinationSettings = {
        bucket: 'bkt',
        apiEndpoint: capture.endpoint,
        projectId: 'p',
        keyPrefix: 'p/',
        kmsKeyName: 'projects/p/locations/l/keyRings/r/cryptoKeys/k',
        storageClass: 'NEARLINE',
        retention: { retentionDays: 3, mode: 'Locked' },
        eventBasedHold: true,
        temporaryHold: true,
      };
      const destination = createGcsDestination(settings);
      const body = new Uint8Array(Buffer.from('{"exact":"copy ✓"}\r\n--not-a-boundary', 'utf8'));
      await destination.put(inputOf('odd name+%/é?#.json', body, { contentEncoding: 'gzip', metadata: { 'message-id': 'm-1' } }));
      await destination.close?.();
      const lean = capture.requests.at(-1)!;
      expect(lean.headers['user-agent']).toBe(leanAgent);
      const leanResource = JSON.parse(partsOf(lean.headers['content-type'], lean.body).split('\r\n\r\n')[1]!.split('\r\n--BOUNDARY')[0]!) as Record<string, unknown>;

      // The same write through the SDK's write stream, with the resource the driver built (its retainUntilTime included).
      const sdk = new Storage({ apiEndpoint: capture.endpoint, projectId: 'p', retryOptions: { autoRetry: false } });
      await new Promise<void>((resolve, reject) => {
        const stream = sdk
          .bucket('bkt')
          .file('p/odd name+%/é?#.json', { kmsKeyName: settings.kmsKeyName })
          .createWriteStream({ resumable: false, metadata: leanResource, preconditionOpts: { ifGenerationMatch: 0 }, validation: 'crc32c' });
        stream.once('error', reject);
        stream.once('finish', resolve);
        stream.end(Buffer.from(body));
      });
      const reference = capture.requests.at(-1)!;
      expect(reference.headers['user-agent']).toMatch(/gcloud-node-storage/);
      expect([lean.method, lean.url, lean.headers.accept, lean.headers['content-type']?.split(';')[0]]).toEqual([reference.method, reference.url, reference.headers.accept, reference.headers['content-type']?.split(';')[0]]);
      expect(partsOf(lean.headers['content-type'], lean.body)).toBe(partsOf(reference.headers['content-type'], reference.body));
      expect(leanResource).toMatchObject({
        contentType: 'application/json',
        contentEncoding: 'gzip',
        metadata: { 'message-id': 'm-1', 'sentcopy-sha256': sha256(body) },
        storageClass: 'NEARLINE',
        eventBasedHold: true,
        temporaryHold: true,
        retention: { mode: 'Locked' },
      });
      expect(lean.url).toContain('ifGenerationMatch=0');
      expect(lean.headers.authorization).toBe(undefined);
    } finally {
      await capture.stop();
    }
  });

  it('with sdkMaxRetries above 0, or an injected Storage, writes go through the SDK', async () => {
    const viaRetries = createGcsDestination({ ...fixture.settings, apiEndpoint: proxy.url, keyPrefix: 'sdk/', sdkMaxRetries: 1 });
    await viaRetries.put(text('a', 'x'));
    const viaStorage = createGcsDestination({ bucket: fixture.bucket, storage: new Storage({ apiEndpoint: proxy.url, projectId: 'p', retryOptions: { autoRetry: false } }), keyPrefix: 'sdk/' });
    await viaStorage.put(text('b', 'x'));
    await viaRetries.close?.();
    expect(proxy.requests.filter(isUpload).map((request) => [/gcloud-node-storage/.test(request.headers['user-agent'] ?? ''), request.status])).toEqual([
      [true, 200],
      [true, 200],
    ]);
  });

  it('with a proxy in the environment (HTTPS_PROXY) uploads go through the SDK, whose HTTP layer honours it', async () => {
    vi.stubEnv('HTTPS_PROXY', 'http://127.0.0.1:9');
    vi.stubEnv('NO_PROXY', '127.0.0.1');
    try {
      const destination = createGcsDestination({ ...fixture.settings, apiEndpoint: proxy.url, keyPrefix: 'sdk-proxy/' });
      await destination.put(text('k', 'x'));
      await destination.close?.();
    } finally {
      vi.unstubAllEnvs();
    }
    expect(proxy.requests.filter(isUpload).map((request) => [/gcloud-node-storage/.test(request.headers['user-agent'] ?? ''), request.status])).toEqual([[true, 200]]);
  });
});

describe('authentication on the lean path', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const clientEmail = 'sentcopy-lean@sentcopy-test.iam.gserviceaccount.com';
  const universeDomain = 'sentcopy.test';
  let secured: GcsFixture;
  let securedProxy: FaultProxy;
  beforeAll(async () => {
    secured = await startGcsFixture({ authentication: { serviceAccounts: [{ clientEmail, publicKey }] } });
    securedProxy = await startFaultProxy({ target: secured.server.endpoint });
  });
  beforeEach(() => securedProxy.reset());
  afterAll(async () => {
    await securedProxy?.stop();
    await secured?.stop();
  });

  it('the SDK auth client’s bearer token is verified by the server (RS256 against the public key) and the object lands', async () => {
    const destination = createGcsDestination({ ...secured.settings, apiEndpoint: securedProxy.url, universeDomain, credentials: { client_email: clientEmail, private_key: privateKey, universe_domain: universeDomain }, keyPrefix: 'lean/' });
    const body = new Uint8Array(randomBytes(2048));
    expect((await destination.put(inputOf('k', body))).created).toBe(true);
    await destination.close?.();
    const uploads = securedProxy.requests.filter(isUpload);
    expect(uploads.map((request) => [request.headers['user-agent'], /^Bearer ey/.test(request.headers.authorization ?? ''), request.status])).toEqual([[leanAgent, true, 200]]);
    expect(secured.server.requests.filter((request) => request.object === 'lean/k' && request.method === 'POST').map((request) => request.principal)).toEqual([clientEmail]);
    expect(secured.server.getObject(secured.bucket, 'lean/k')?.body.equals(Buffer.from(body))).toBe(true);
  });

  it('a custom endpoint without authenticateCustomEndpoint sends no Authorization header (as the SDK): 401 unauthorized, nothing stored', async () => {
    const destination = createGcsDestination({ ...secured.settings, apiEndpoint: securedProxy.url, keyPrefix: 'lean-anon/' });
    const error = await errorOf(destination.put(text('k', 'x')));
    await destination.close?.();
    expect(DestinationError.isInstance(error) && [error.kind, error.status]).toEqual(['unauthorized', 401]);
    expect(securedProxy.requests.filter(isUpload).map((request) => [request.headers['user-agent'], request.headers.authorization])).toEqual([[leanAgent, undefined]]);
    expect(secured.server.getObject(secured.bucket, 'lean-anon/k')).toBe(undefined);
  });
});

describe('failures and conflicts on the lean path', () => {
  const answers: [string, CannedResponse][] = [
    ['429 rateLimitExceeded with Retry-After', { ...gcsErrorResponse(429, 'rateLimitExceeded', 'slow down'), headers: { ...gcsErrorResponse(429, 'rateLimitExceeded').headers, 'retry-after': '4' } }],
    ['503 backendError with Retry-After', { ...gcsErrorResponse(503, 'backendError', 'Backend Error'), headers: { ...gcsErrorResponse(503, 'backendError').headers, 'retry-after': '2' } }],
    ['429 without a body', { status: 429 }],
    ['403 forbidden', gcsErrorResponse(403, 'forbidden', 'no storage.objects.create access')],
    ['404 bucket', gcsErrorResponse(404, 'notFound', 'The specified bucket does not exist.')],
    ['400 invalid', gcsErrorResponse(400, 'invalid', 'Invalid argument.')],
    ['502 without a JSON body', { status: 502, headers: { 'content-type': 'text/html' }, body: '<html>Bad Gateway</html>' }],
  ];

  it.each(answers)('%s: the lean path and the SDK path give the same kind, status, code and Retry-After; nothing stored', async (_name, answer) => {
    const lean = createGcsDestination({ ...fixture.settings, apiEndpoint: proxy.url, keyPrefix: 'same-map/' });
    const sdk = createGcsDestination({ bucket: fixture.bucket, storage: new Storage({ apiEndpoint: proxy.url, projectId: 'p', retryOptions: { autoRetry: false } }), keyPrefix: 'same-map/' });
    const facts = async (destination: typeof lean) => {
      proxy.inject(faults.respond(answer), { times: 1, match: isUpload });
      const error = await errorOf(destination.put(text('k', 'payload-body-text')));
      return DestinationError.isInstance(error) ? { kind: error.kind, status: error.status, code: error.code, retryAfterMs: error.retryAfterMs, leaksBody: error.message.includes('payload-body-text') } : String(error);
    };
    const [fromLean, fromSdk] = [await facts(lean), await facts(sdk)];
    await lean.close?.();
    expect(fromLean).toEqual(fromSdk);
    expect(proxy.requests.filter(isUpload).map((request) => /gcloud-node-storage/.test(request.headers['user-agent'] ?? ''))).toEqual([false, true]);
    expect(fixture.server.getObject(fixture.bucket, 'same-map/k')).toBe(undefined);
  });

  it('429 with Retry-After is rate_limited with the delay', async () => {
    const lean = createGcsDestination({ ...fixture.settings, apiEndpoint: proxy.url, keyPrefix: 'busy/' });
    proxy.inject(faults.respond(answers[0]![1]), { times: 1, match: isUpload });
    const error = await errorOf(lean.put(text('k', 'x')));
    await lean.close?.();
    expect(DestinationError.isInstance(error) && [error.kind, error.status, error.code, error.retryAfterMs]).toEqual(['rate_limited', 429, 'rateLimitExceeded', 4000]);
  });

  it('an answer that does not come within requestTimeoutMs is unreachable ETIMEDOUT, and the late write is then resolved by the read-back', async () => {
    const destination = createGcsDestination({ ...fixture.settings, apiEndpoint: proxy.url, keyPrefix: 'timeout/', requestTimeoutMs: 300 });
    proxy.inject(faults.delay(1_500), { times: 1, match: isUpload });
    const error = await errorOf(destination.put(text('k', 'late')));
    expect(DestinationError.isInstance(error) && [error.kind, error.code]).toEqual(['unreachable', 'ETIMEDOUT']);
    expect(proxy.requests.filter(isUpload).map((request) => request.headers['user-agent'])).toEqual([leanAgent]);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const retried = await destination.put(text('k', 'late'));
    await destination.close?.();
    expect(typeof retried.created).toBe('boolean');
    expect(fixture.server.getObject(fixture.bucket, 'timeout/k')?.body.toString()).toBe('late');
  });

  it('the conflict read-back: same bytes again → created false; other bytes → conflict; the first object stays', async () => {
    const destination = createGcsDestination({ ...fixture.settings, apiEndpoint: proxy.url, keyPrefix: 'conflict/' });
    const first = text('k', 'first version');
    expect((await destination.put(first)).created).toBe(true);
    expect((await destination.put(first)).created).toBe(false);
    const error = await errorOf(destination.put(text('k', 'second version')));
    await destination.close?.();
    expect(DestinationError.isInstance(error) && error.kind).toBe('conflict');
    const refused = proxy.requests.filter((request) => isUpload(request) && request.status === 412);
    expect(refused.map((request) => request.headers['user-agent'])).toEqual([leanAgent, leanAgent]);
    expect(fixture.server.getObject(fixture.bucket, 'conflict/k')?.body.toString()).toBe('first version');
  });

  it('a connection reset is unreachable ECONNRESET, stores nothing, and the retry stores the whole object once', async () => {
    const destination = createGcsDestination({ ...fixture.settings, apiEndpoint: proxy.url, keyPrefix: 'reset/' });
    proxy.inject(faults.reset(), { times: 1, match: isUpload });
    const body = new Uint8Array(randomBytes(512 * 1024));
    const error = await errorOf(destination.put(inputOf('k', body)));
    expect(DestinationError.isInstance(error) && [error.kind, error.code]).toEqual(['unreachable', 'ECONNRESET']);
    expect(fixture.server.getObject(fixture.bucket, 'reset/k')).toBe(undefined);
    expect((await destination.put(inputOf('k', body))).created).toBe(true);
    await destination.close?.();
    expect(fixture.server.getObject(fixture.bucket, 'reset/k')?.body.equals(Buffer.from(body))).toBe(true);
  });

  it('an abort in the middle of a stalled upload rejects with the caller’s reason (not a mapped error); the next write goes through', async () => {
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
      const destination = createGcsDestination({ ...fixture.settings, apiEndpoint: `http://127.0.0.1:${(stall.address() as { port: number }).port}`, keyPrefix: 'abort/' });
      const controller = new AbortController();
      const pending = errorOf(destination.put(inputOf('k', new Uint8Array(randomBytes(8 * 1024 * 1024))), { signal: controller.signal }));
      await arrived;
      const reason = new Error('caller gave up');
      controller.abort(reason);
      const error = await pending;
      expect(DestinationError.isInstance(error)).toBe(false);
      expect(error === reason || (error as Error).name === 'AbortError').toBe(true);
      await destination.close?.();
      expect(received).toBeLessThan(8 * 1024 * 1024 + 4096);
      const next = createGcsDestination({ ...fixture.settings, keyPrefix: 'abort/' });
      expect((await next.put(text('k', 'after the abort'))).created).toBe(true);
      await next.close?.();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => stall.close(resolve));
    }
  });

  it('a CRC32C that does not match the body (the SDK’s check) is unreachable FILE_NO_UPLOAD, and the generation written is removed', async () => {
    // Forwards to the GCS test server, then corrupts the crc32c in the object resource it answers.
    const upstream = new URL(fixture.server.endpoint);
    const corrupting = createHttpServer((request, response) => {
      const forward = httpRequest({ host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: request.headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          let payload = Buffer.concat(chunks).toString('utf8');
          if (request.method === 'POST' && answer.statusCode === 200) payload = JSON.stringify({ ...(JSON.parse(payload) as object), crc32c: 'AAAAAA==' });
          response.writeHead(answer.statusCode ?? 500, { 'content-type': 'application/json' });
          response.end(payload);
        });
      });
      request.pipe(forward);
    });
    await new Promise<void>((resolve) => corrupting.listen(0, '127.0.0.1', resolve));
    try {
      const destination = createGcsDestination({ ...fixture.settings, apiEndpoint: `http://127.0.0.1:${(corrupting.address() as { port: number }).port}`, keyPrefix: 'crc/' });
      const error = await errorOf(destination.put(text('k', 'bytes')));
      await destination.close?.();
      expect(DestinationError.isInstance(error) && [error.kind, error.code]).toEqual(['unreachable', 'FILE_NO_UPLOAD']);
      expect(fixture.server.getObject(fixture.bucket, 'crc/k')).toBe(undefined);
      const deletes = fixture.server.requests.filter((request) => request.method === 'DELETE' && request.object === 'crc/k');
      expect(deletes.map((request) => [request.query.ifGenerationMatch !== undefined, request.status])).toEqual([[true, 204]]);
    } finally {
      await new Promise((resolve) => corrupting.close(resolve));
    }
  });
});
