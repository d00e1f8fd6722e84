// What the lean PutObject must get right that the SDK's stack did before: the same request headers,
// both addressing styles, a signature the server verifies, credential refresh, error answers and
// transport failures mapped by the same error map, aborts and timeouts in the middle of an upload.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import dns from 'node:dns';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DestinationError, type DestinationV1, type PutObjectInput } from '@sentcopy/core';
import { authenticate, faults, s3ErrorResponse, sendCanned, startFakeSts, startFaultProxy, startS3Server, type FakeSts, type FaultProxy, type TestCredentials } from '@sentcopy/test-servers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createS3Destination, sha256MetadataName, type S3DestinationSettings } from '../src/index.js';
import { S3LeanWriter } from '../src/s3-lean-writer.js';
import { startS3Fixture, testCredentials, type S3Fixture } from './s3-fixture.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const inputOf = (key: string, body: Uint8Array, extra: Partial<PutObjectInput> = {}): PutObjectInput => ({ key, body, sha256: sha256(body), contentType: 'application/json', ...extra });
const text = (key: string, value: string): PutObjectInput => inputOf(key, new Uint8Array(Buffer.from(value, 'utf8')));
const errorOf = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => 'fulfilled',
    (error: unknown) => error,
  );
const leanAgent = 'sentcopy-destination-s3';

/** One request a capture server received. */
interface Captured {
  readonly method: string;
  readonly host: string | undefined;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Whether the SigV4 signature verifies with `testCredentials` (the payload hash checked against the body). */
  readonly signatureValid: boolean;
}

/** An HTTP server that answers every request 200 and records it, verifying its signature. */
async function startCaptureServer(): Promise<{ port: number; requests: Captured[]; stop(): Promise<void> }> {
  const requests: Captured[] = [];
  const server: Server = createHttpServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const claimed = request.headers['x-amz-content-sha256'];
      const verdict = authenticate(request, (id) => (id === testCredentials.accessKeyId ? testCredentials : undefined), typeof claimed === 'string' ? claimed : '');
      requests.push({ method: request.method ?? '', host: request.headers.host, url: request.url ?? '', headers: request.headers, body, signatureValid: verdict.failure === undefined && claimed === sha256(body) });
      response.writeHead(200, { 'x-amz-version-id': 'v-1', etag: '"e"', 'content-length': 0 });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What the next connection through a {@link startTcpFaultProxy} suffers once the client has sent `afterBytes` bytes. */
type ConnectionFault = { readonly type: 'reset' | 'stall'; readonly afterBytes: number };

/**
 * A TCP proxy to `targetPort` that hurts the next connection in the middle of its upload: `reset`
 * sends an RST to the client (and drops the upstream), `stall` stops reading from the client, so
 * its upload hangs with the request half sent. Later connections are forwarded untouched.
 */
async function startTcpFaultProxy(targetPort: number): Promise<{ url: string; next(fault: ConnectionFault): void; faulted: number; dropStalled(): void; stop(): Promise<void> }> {
  const planned: ConnectionFault[] = [];
  const sockets = new Set<Socket>();
  const state = { faulted: 0 };
  const stalled = new Set<Socket>();
  const server: TcpServer = createTcpServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const fault = planned.shift();
    let sent = 0;
    client.on('data', (chunk: Buffer) => {
      if (fault !== undefined && sent + chunk.byteLength > fault.afterBytes) {
        upstream.write(chunk.subarray(0, Math.max(0, fault.afterBytes - sent)));
        sent = fault.afterBytes;
        state.faulted++;
        if (fault.type === 'reset') {
          client.resetAndDestroy();
          upstream.destroy();
        } else {
          client.pause();
          client.removeAllListeners('data');
          stalled.add(client).add(upstream);
        }
        return;
      }
      sent += chunk.byteLength;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    next: (fault) => planned.push(fault),
    /** A paused socket never reads the client's close: drop the stalled connections as the store would drop an abandoned upload. */
    dropStalled: () => {
      for (const socket of stalled) socket.destroy();
      stalled.clear();
    },
    get faulted() {
      return state.faulted;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const opened: DestinationV1[] = [];
const open = (settings: S3DestinationSettings): DestinationV1 => {
  const destination = createS3Destination(settings);
  opened.push(destination);
  return destination;
};
afterEach(async () => {
  await Promise.all(opened.splice(0).map((destination) => destination.close?.()));
});

describe('the lean PutObject sends what the SDK sent', () => {
  it('the same headers, path and body as a PutObjectCommand with the same input; signed so the server verifies it', async () => {
    const capture = await startCaptureServer();
    const endpoint = `http://127.0.0.1:${capture.port}`;
    const base = { region: 'eu-west-1', endpoint, forcePathStyle: true, credentials: testCredentials } as const;
    const raw = new S3Client({ ...base, maxAttempts: 1 });
    try {
      const destination = open({
        ...base,
        bucket: 'archive',
        keyPrefix: 'tenant/',
        expectedBucketOwner: '111122223333',
        serverSideEncryption: { type: 'aws:kms', kmsKeyId: 'alias/sentcopy', bucketKeyEnabled: true },
        storageClass: 'STANDARD_IA',
        objectLock: { mode: 'COMPLIANCE', retentionDays: 30, legalHold: true },
      });
      const body = new Uint8Array(randomBytes(3000));
      const key = "2026/12/05/a b+c=d;e's (ü) ~*!.json";
      const put = inputOf(key, body, { contentType: 'application/json; charset=utf-8', contentEncoding: 'gzip', metadata: { channel: 'email', 'x-tenant': 'acme' } });
      expect((await destination.put(put)).created).toBe(true);
      const lean = capture.requests[0];
      const retainUntil = lean?.headers['x-amz-object-lock-retain-until-date'];
      expect(typeof retainUntil).toBe('string');

      await raw.send(
        new PutObjectCommand({
          Bucket: 'archive',
          Key: `tenant/${key}`,
          Body: body,
          ContentLength: body.byteLength,
          ContentType: 'application/json; charset=utf-8',
          ContentEncoding: 'gzip',
          Metadata: { channel: 'email', 'x-tenant': 'acme', [sha256MetadataName]: put.sha256 },
          ChecksumAlgorithm: 'SHA256',
          ChecksumSHA256: Buffer.from(put.sha256, 'hex').toString('base64'),
          IfNoneMatch: '*',
          ExpectedBucketOwner: '111122223333',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: 'alias/sentcopy',
          BucketKeyEnabled: true,
          StorageClass: 'STANDARD_IA',
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: new Date(retainUntil as string),
          ObjectLockLegalHoldStatus: 'ON',
        }),
      );
      const sdk = capture.requests[1];
      // Headers that differ between any two requests, or name the client.
      const volatile = new Set(['authorization', 'x-amz-date', 'user-agent', 'x-amz-user-agent', 'amz-sdk-invocation-id', 'amz-sdk-request', 'connection']);
      const stable = (headers: IncomingHttpHeaders | undefined) => Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => !volatile.has(name)));
      expect(lean?.headers['user-agent']).toBe(leanAgent);
      expect(sdk?.headers['user-agent']).not.toBe(leanAgent);
      expect(stable(lean?.headers)).toEqual(stable(sdk?.headers));
      expect([lean?.method, lean?.host, lean?.url]).toEqual([sdk?.method, sdk?.host, sdk?.url]);
      expect(Buffer.compare(lean?.body ?? Buffer.alloc(0), Buffer.from(body))).toBe(0);
      expect([lean?.signatureValid, sdk?.signatureValid]).toEqual([true, true]);
      expect(lean?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIASENTCOPYTEST0001\/\d{8}\/eu-west-1\/s3\/aws4_request, SignedHeaders=[^,]*host[^,]*x-amz-content-sha256[^,]*, Signature=[0-9a-f]{64}$/);
    } finally {
      raw.destroy();
      await capture.stop();
    }
  });

  it('a body of 2 MiB or more goes through the SDK, which sends Expect: 100-continue so a 412 can come before the upload', async () => {
    const capture = await startCaptureServer();
    try {
      const destination = open({ bucket: 'archive', region: 'us-east-1', endpoint: `http://127.0.0.1:${capture.port}`, credentials: testCredentials });
      await destination.put(inputOf('size/below', new Uint8Array(randomBytes(2 * 1024 * 1024 - 1))));
      await destination.put(inputOf('size/from', new Uint8Array(randomBytes(2 * 1024 * 1024))));
      expect(capture.requests.map((request) => [request.url.split('?')[0], request.headers.expect, request.headers['user-agent'] === leanAgent, request.body.byteLength, request.signatureValid])).toEqual([
        ['/archive/size/below', undefined, true, 2 * 1024 * 1024 - 1, true],
        ['/archive/size/from', '100-continue', false, 2 * 1024 * 1024, true],
      ]);
    } finally {
      await capture.stop();
    }
  });

  it('leaves to the SDK a bucket whose endpoint rules ask for another signature than SigV4 (S3 Express One Zone), without sending anything itself', async () => {
    const capture = await startCaptureServer();
    const client = new S3Client({ region: 'us-east-1', credentials: testCredentials });
    const plainClient = new S3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${capture.port}`, forcePathStyle: true, credentials: testCredentials });
    const express = new S3LeanWriter(client, 'archive--use1-az4--x-s3', { maxSockets: 1, connectionTimeoutMs: 1_000, requestTimeoutMs: 1_000 });
    const plain = new S3LeanWriter(plainClient, 'archive', { maxSockets: 1, connectionTimeoutMs: 1_000, requestTimeoutMs: 1_000 });
    const body = new Uint8Array(Buffer.from('x'));
    const request = { key: 'k', headers: { 'content-type': 'text/plain' }, body, sha256: sha256(body) };
    try {
      expect(await express.put(request, new AbortController().signal)).toBe('sdk');
      expect(await plain.put(request, new AbortController().signal)).toEqual({ versionId: 'v-1' });
      expect(capture.requests.map((captured) => [captured.url, captured.signatureValid])).toEqual([['/archive/k?x-id=PutObject', true]]);
    } finally {
      await express.close();
      await plain.close();
      client.destroy();
      plainClient.destroy();
      await capture.stop();
    }
  });

  it('addresses path-style (host, then /bucket/key) and virtual-hosted (bucket.host, then /key) as configured', async () => {
    const capture = await startCaptureServer();
    const lookup = dns.lookup;
    // A custom endpoint name the machine cannot resolve: send every *.sentcopy.test name to 127.0.0.1, as a wildcard DNS record would.
    const patched = ((host: string, ...rest: unknown[]) => (lookup as (...args: unknown[]) => void)(host.endsWith('.sentcopy.test') ? '127.0.0.1' : host, ...rest)) as typeof dns.lookup;
    dns.lookup = patched;
    try {
      const common = { bucket: 'archive-bucket', region: 'us-east-1', credentials: testCredentials } as const;
      await open({ ...common, endpoint: `http://s3.sentcopy.test:${capture.port}`, forcePathStyle: true }).put(text('path/one.json', '{"a":1}'));
      await open({ ...common, endpoint: `http://s3.sentcopy.test:${capture.port}` }).put(text('virtual/two.json', '{"b":2}'));
      await open({ ...common, endpoint: `http://127.0.0.1:${capture.port}` }).put(text('ip/three.json', '{"c":3}'));
      expect(capture.requests.map((request) => [request.method, request.host, request.url, request.signatureValid, request.headers['user-agent']])).toEqual([
        ['PUT', `s3.sentcopy.test:${capture.port}`, '/archive-bucket/path/one.json?x-id=PutObject', true, leanAgent],
        ['PUT', `archive-bucket.s3.sentcopy.test:${capture.port}`, '/virtual/two.json?x-id=PutObject', true, leanAgent],
        // An IP address cannot carry a bucket name: the SDK's endpoint rules fall back to path-style, and so does the lean path.
        ['PUT', `127.0.0.1:${capture.port}`, '/archive-bucket/ip/three.json?x-id=PutObject', true, leanAgent],
      ]);
    } finally {
      dns.lookup = lookup;
      await capture.stop();
    }
  });
});

describe('clock skew', () => {
  it("a store whose clock is an hour ahead refuses the first write RequestTimeTooSkewed; the next is signed on the store's clock and stored", async () => {
    const aheadMs = 3_600_000;
    const signedAt: number[] = [];
    const server = createHttpServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const now = Date.now() + aheadMs;
        const amzDate = String(request.headers['x-amz-date']);
        const signed = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
        signedAt.push(signed - now);
        const date = new Date(now).toUTCString();
        if (Math.abs(signed - now) > 900_000) return sendCanned(response, s3ErrorResponse('RequestTimeTooSkewed', { status: 403, headers: { date } }));
        response.writeHead(200, { date, 'content-length': 0 });
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const destination = open({ bucket: 'skewed', region: 'us-east-1', endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`, credentials: testCredentials });
      const first = await errorOf(destination.put(text('skew/one', 'x')));
      expect(DestinationError.isInstance(first) && [first.kind, first.code]).toEqual(['unauthorized', 'RequestTimeTooSkewed']);
      expect((await destination.put(text('skew/two', 'y'))).created).toBe(true);
      expect(signedAt.length).toBe(2);
      expect(Math.abs(signedAt[1] ?? Number.NaN)).toBeLessThan(60_000);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('HTTPS', () => {
  it('writes over TLS to a custom endpoint whose certificate the process trusts (NODE_EXTRA_CA_CERTS), verified by the server', async (context) => {
    const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-lean-tls-'));
    try {
      try {
        execFileSync(
          'openssl',
          ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', path.join(folder, 'key.pem'), '-out', path.join(folder, 'cert.pem')],
          { stdio: 'ignore' },
        );
      } catch (error) {
        console.log(`[destination-s3] HTTPS test skipped: openssl could not make a test certificate (${String(error)}).`);
        context.skip();
      }
      const fixture = await startS3Fixture();
      const seen: string[] = [];
      // TLS terminates here; the plain bytes go on to the S3 test server, which verifies the signature made for https://localhost:<port>.
      const tls = createTlsServer({ key: readFileSync(path.join(folder, 'key.pem')), cert: readFileSync(path.join(folder, 'cert.pem')) }, (socket) => {
        const upstream = connect(fixture.server.port, '127.0.0.1');
        socket.on('data', (chunk: Buffer) => {
          seen.push(chunk.toString('latin1'));
          upstream.write(chunk);
        });
        upstream.on('data', (chunk: Buffer) => socket.write(chunk));
        socket.on('error', () => upstream.destroy()).on('close', () => upstream.destroy());
        upstream.on('error', () => socket.destroy()).on('close', () => socket.destroy());
      });
      await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
      try {
        const port = (tls.address() as { port: number }).port;
        const settings = { ...fixture.settings, endpoint: `https://localhost:${port}` };
        const script = fileURLToPath(new URL('fixtures/https-writer.mjs', import.meta.url));
        const child = spawn(process.execPath, [script, JSON.stringify({ settings, key: 'tls/one', text: 'over TLS' })], { env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(folder, 'cert.pem') }, stdio: ['ignore', 'pipe', 'inherit'] });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
        const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
        expect([code, JSON.parse(output)]).toEqual([0, { created: true, size: 8 }]);
        expect(fixture.server.getObject(fixture.bucket, 'tls/one')?.body.toString()).toBe('over TLS');
        const request = seen.join('');
        expect(request.startsWith(`PUT /${fixture.bucket}/tls/one?x-id=PutObject HTTP/1.1`)).toBe(true);
        expect(request.toLowerCase()).toContain(`host: localhost:${port}`);
        expect(request.toLowerCase()).toContain(`user-agent: ${leanAgent}`);
      } finally {
        await new Promise((resolve) => tls.close(resolve));
        await fixture.stop();
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    // A key pair and a second Node process on a busy 2-core machine.
  }, 60_000);
});

describe('credentials from STS', () => {
  const sourceCredentials: TestCredentials = { accessKeyId: 'AKIASOURCEKEY0000002', secretAccessKey: 'source-secret-for-sts-only-0000000000000002' };
  let sts: FakeSts;
  let fixture: S3Fixture;
  let proxy: FaultProxy;
  beforeAll(async () => {
    fixture = await startS3Fixture();
    proxy = await startFaultProxy({ target: fixture.server.endpoint });
    // The SDK refreshes 5 minutes before expiry: the first keys enter that window 2 s after they are issued.
    sts = await startFakeSts({ callerCredentials: [sourceCredentials], expiresInMs: (call) => (call === 1 ? 302_000 : 3_600_000), onIssue: (issued) => fixture.server.allowCredentials(issued) });
  });
  afterAll(async () => {
    await sts.stop();
    await proxy.stop();
    await fixture.stop();
  });

  it('signs with the assumed keys and, once they near expiry, with the new ones the SDK provider fetched', async () => {
    const destination = open({
      bucket: fixture.bucket,
      region: 'us-east-1',
      endpoint: proxy.url,
      forcePathStyle: true,
      credentials: sourceCredentials,
      assumeRole: { roleArn: 'arn:aws:iam::111122223333:role/archive', roleSessionName: 'lean', durationSeconds: 900, stsEndpoint: sts.url },
    });
    await destination.put(text('sts/one', 'one'));
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await destination.put(text('sts/two', 'two'));
    const issued = sts.calls.map((call) => call.issued?.accessKeyId);
    expect(issued.length).toBe(2);
    const puts = proxy.requests.filter((request) => request.method === 'PUT');
    expect(puts.map((request) => [/Credential=([^/]+)\//.exec(String(request.headers.authorization))?.[1], request.headers['x-amz-security-token'] !== undefined, request.headers['user-agent'], request.status])).toEqual([
      [issued[0], true, leanAgent, 200],
      [issued[1], true, leanAgent, 200],
    ]);
    expect(fixture.server.listKeys(fixture.bucket)).toEqual(['sts/one', 'sts/two']);
  });
});

describe('failures of the lean PutObject', () => {
  let fixture: S3Fixture;
  let proxy: FaultProxy;
  beforeAll(async () => {
    fixture = await startS3Fixture();
    proxy = await startFaultProxy({ target: fixture.server.endpoint });
  });
  afterAll(async () => {
    await proxy.stop();
    await fixture.stop();
  });

  it('503 SlowDown with Retry-After is rate_limited with the delay, its request id kept, nothing stored', async () => {
    proxy.reset();
    const slow = s3ErrorResponse('SlowDown', { headers: { 'retry-after': '7' } });
    proxy.inject(faults.respond(slow), { times: 1, match: (request) => request.method === 'PUT' });
    const destination = open({ ...fixture.settings, endpoint: proxy.url });
    const error = await errorOf(destination.put(text('slow/k', 'x')));
    expect(DestinationError.isInstance(error) && { kind: error.kind, code: error.code, status: error.status, retryAfterMs: error.retryAfterMs }).toEqual({ kind: 'rate_limited', code: 'SlowDown', status: 503, retryAfterMs: 7_000 });
    expect(String((error as Error).cause)).toContain(String(slow.headers?.['x-amz-request-id']));
    expect(proxy.requests.map((request) => [request.method, request.headers['user-agent']])).toEqual([['PUT', leanAgent]]);
    expect(fixture.server.getObject(fixture.bucket, 'slow/k')).toBe(undefined);
    // The same destination then writes: the failure left the pool usable.
    expect((await destination.put(text('slow/k', 'x'))).created).toBe(true);
  });

  it('a connection reset in the middle of the upload is unreachable ECONNRESET, stores nothing, and the retry stores the whole object once', async () => {
    const tcp = await startTcpFaultProxy(fixture.server.port);
    try {
      const destination = open({ ...fixture.settings, endpoint: tcp.url });
      const object = inputOf('reset/big', new Uint8Array(randomBytes(1536 * 1024)));
      tcp.next({ type: 'reset', afterBytes: 256 * 1024 });
      const error = await errorOf(destination.put(object));
      expect(tcp.faulted).toBe(1);
      expect(DestinationError.isInstance(error) && [error.kind, error.code]).toEqual(['unreachable', 'ECONNRESET']);
      expect(fixture.server.getObject(fixture.bucket, 'reset/big')).toBe(undefined);
      expect(await destination.put(object)).toMatchObject({ created: true, size: object.body.byteLength });
      expect(fixture.server.getObject(fixture.bucket, 'reset/big')?.body.equals(Buffer.from(object.body))).toBe(true);
    } finally {
      await tcp.stop();
    }
  });

  it('an abort in the middle of a stalled upload rejects at once with the reason, stores nothing, and the next write goes through', async () => {
    const tcp = await startTcpFaultProxy(fixture.server.port);
    try {
      const destination = open({ ...fixture.settings, endpoint: tcp.url });
      const object = inputOf('abort/big', new Uint8Array(randomBytes(1536 * 1024)));
      tcp.next({ type: 'stall', afterBytes: 256 * 1024 });
      const controller = new AbortController();
      const pending = errorOf(destination.put(object, { signal: controller.signal }));
      while (tcp.faulted === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const reason = new Error('shutting down');
      controller.abort(reason);
      expect(await pending).toBe(reason);
      tcp.dropStalled();
      expect(fixture.server.getObject(fixture.bucket, 'abort/big')).toBe(undefined);
      expect((await destination.put(object)).created).toBe(true);
      expect(fixture.server.getObject(fixture.bucket, 'abort/big')?.body.equals(Buffer.from(object.body))).toBe(true);
    } finally {
      await tcp.stop();
    }
  });

  it('an upload that stops progressing fails unreachable ETIMEDOUT after requestTimeoutMs, and so does an answer that never comes', async () => {
    const tcp = await startTcpFaultProxy(fixture.server.port);
    try {
      const destination = open({ ...fixture.settings, endpoint: tcp.url, requestTimeoutMs: 400 });
      tcp.next({ type: 'stall', afterBytes: 256 * 1024 });
      const stalled = await errorOf(destination.put(inputOf('timeout/upload', new Uint8Array(randomBytes(1536 * 1024)))));
      expect(tcp.faulted).toBe(1);
      expect(DestinationError.isInstance(stalled) && [stalled.kind, stalled.code]).toEqual(['unreachable', 'ETIMEDOUT']);

      proxy.reset();
      proxy.inject(faults.delay(3_000), { times: 1, match: (request) => request.method === 'PUT' });
      const slow = await errorOf(open({ ...fixture.settings, endpoint: proxy.url, requestTimeoutMs: 400 }).put(text('timeout/answer', 'x')));
      expect(DestinationError.isInstance(slow) && [slow.kind, slow.code]).toEqual(['unreachable', 'ETIMEDOUT']);
      expect(fixture.server.getObject(fixture.bucket, 'timeout/upload')).toBe(undefined);
    } finally {
      await tcp.stop();
    }
  });

  it('a refused connection is unreachable ECONNREFUSED', async () => {
    const server = await startS3Server({ credentials: [testCredentials] });
    const endpoint = server.endpoint;
    await server.stop();
    const error = await errorOf(open({ ...fixture.settings, endpoint }).put(text('refused', 'x')));
    expect(DestinationError.isInstance(error) && [error.kind, error.code]).toEqual(['unreachable', 'ECONNREFUSED']);
  });
});
