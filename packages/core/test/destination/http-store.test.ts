import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAnonymousAccess, createHttpStoreRequester, DestinationError, fetchErrorCode, HttpStoreResponseError, mapHttpStoreError, parseHttpStoreUrl, parseObjectRecord, serializeObjectRecord } from '../../src/index.js';

// A real HTTP server that records what arrives and answers by path.
const seen: { method: string; url: string; authorization?: string }[] = [];
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((request: IncomingMessage, response) => {
    seen.push({ method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization });
    request.resume();
    if (request.url?.startsWith('/store/busy')) return void response.writeHead(503, { 'retry-after': '7' }).end('slow down, token=abc123 user jane.doe@example.com');
    if (request.url?.startsWith('/store/login')) return void response.writeHead(302, { location: '/sso' }).end();
    if (request.url?.startsWith('/open')) return void response.writeHead(207).end('<multistatus/>');
    if (!request.headers.authorization) return void response.writeHead(401, { 'www-authenticate': 'Basic' }).end();
    response.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/store/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const signal = () => AbortSignal.timeout(5000);

describe('createHttpStoreRequester', () => {
  it('encodes each segment of a name so ?, #, % and .. stay literal, and sends its headers', async () => {
    const send = createHttpStoreRequester(base, { authorization: 'Basic c2VjcmV0' });
    seen.length = 0;
    const answer = await send('GET', 'a?b/%2e%2e/c#d/é', signal());
    expect(await answer.text()).toBe('ok');
    expect(seen).toEqual([{ method: 'GET', url: '/store/a%3Fb/%252e%252e/c%23d/%C3%A9', authorization: 'Basic c2VjcmV0' }]);
    expect(send.url('x y')).toBe(`${base}x%20y`);
  });

  it('throws a non-2xx answer as HttpStoreResponseError with status, body and Retry-After, and never follows a redirect', async () => {
    const send = createHttpStoreRequester(base, { authorization: 'Basic c2VjcmV0' });
    const busy = await send('PUT', 'busy/x', signal(), { body: 'data' }).catch((error: unknown) => error);
    expect(busy).toBeInstanceOf(HttpStoreResponseError);
    expect(busy).toMatchObject({ status: 503, retryAfter: '7' });
    expect(HttpStoreResponseError.hasStatus(busy, 404, 503)).toBe(true);
    expect(HttpStoreResponseError.hasStatus(busy, 404)).toBe(false);
    seen.length = 0;
    const redirected = await send('GET', 'login', signal()).catch((error: unknown) => error);
    expect(redirected).toMatchObject({ status: 302 });
    expect(seen.map((entry) => entry.url)).toEqual(['/store/login']);
  });
});

describe('mapHttpStoreError', () => {
  const context = { provider: 'webdav', operation: 'write the object', key: 'a/b.json', location: 'WebDAV folder http://dav/' };

  it('classifies by status, keeps Retry-After and redacts what the server sent back', async () => {
    const error = await createHttpStoreRequester(base)('GET', 'busy', signal()).catch((caught: unknown) => caught);
    const mapped = mapHttpStoreError(error, context);
    expect(mapped.kind).toBe('rate_limited');
    expect(mapped.retryAfterMs).toBe(7000);
    expect(mapped.message).not.toContain('abc123');
    expect(mapped.message).not.toContain('jane.doe@example.com');
    expect(mapHttpStoreError(new HttpStoreResponseError(401, ''), context).kind).toBe('unauthorized');
    expect(mapHttpStoreError(new HttpStoreResponseError(400, ''), context).kind).toBe('invalid');
    expect(mapHttpStoreError(new HttpStoreResponseError(302, ''), context).kind).toBe('unknown');
  });

  it('a refused connection is unreachable; a foreign error is unknown; a DestinationError passes through', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await createHttpStoreRequester(`http://127.0.0.1:${port}/`)('GET', 'x', signal()).catch((caught: unknown) => caught);
    expect(fetchErrorCode(refused)).toBe('ECONNREFUSED');
    expect(mapHttpStoreError(refused, context).kind).toBe('unreachable');
    const foreign = mapHttpStoreError(new SyntaxError('Unexpected token < in JSON, password=hunter2'), context);
    expect(foreign.kind).toBe('unknown');
    expect(foreign.message).not.toContain('hunter2');
    const already = new DestinationError({ kind: 'conflict', message: 'taken' });
    expect(mapHttpStoreError(already, context)).toBe(already);
  });
});

describe('object records', () => {
  it('round-trip content type, encoding and metadata; a damaged record reads as absent instead of throwing', () => {
    const write = { name: 'a', body: new Uint8Array(), sha256: 'f'.repeat(64), contentType: 'application/json', contentEncoding: 'gzip', metadata: { 'sentcopy-sha256': 'f'.repeat(64), x: 'y' } };
    expect(parseObjectRecord(serializeObjectRecord(write))).toEqual({ contentType: 'application/json', contentEncoding: 'gzip', metadata: write.metadata });
    expect(parseObjectRecord('{"contentType":5,"metadata":{"a":1,"b":"c"}}')).toEqual({ contentType: undefined, contentEncoding: undefined, metadata: { b: 'c' } });
    expect(parseObjectRecord('not json')).toEqual({ contentType: undefined, contentEncoding: undefined, metadata: {} });
    expect(parseObjectRecord(undefined)).toEqual({ contentType: undefined, contentEncoding: undefined, metadata: {} });
  });
});

describe('checkAnonymousAccess and parseHttpStoreUrl', () => {
  it('a 2xx answer without credentials is public (failed check); a 401 is not', async () => {
    const origin = new URL(base).origin;
    const open = await checkAnonymousAccess(`${origin}/open/`, signal(), { method: 'PROPFIND', headers: { depth: '0' } });
    expect(open.public).toBe(true);
    expect(open.check.status).toBe('failed');
    const closed = await checkAnonymousAccess(`${origin}/private/`, signal(), { method: 'PROPFIND' });
    expect(closed.public).toBe(false);
    expect(closed.check.status).toBe('passed');
  });

  it('accepts http(s) URLs (adding the final /) and refuses others with invalid naming the setting', () => {
    expect(parseHttpStoreUrl('https://dav.example.com/files', 'webdav').href).toBe('https://dav.example.com/files/');
    for (const value of ['ftp://x/', 'https://user:pw@dav.example.com/', 'https://dav/?a=1', 'nope', 42]) {
      let caught: unknown;
      try {
        parseHttpStoreUrl(value, 'webdav', 'endpoint');
      } catch (error) {
        caught = error;
      }
      expect(DestinationError.isInstance(caught) && caught.kind, String(value)).toBe('invalid');
      expect((caught as Error).message).toMatch(/^Invalid endpoint: /);
      expect((caught as Error).message).not.toContain('pw');
    }
  });
});
