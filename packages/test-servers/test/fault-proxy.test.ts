import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { azureErrorResponse, faults, gcsErrorResponse, s3ErrorResponse, startFaultProxy, type FaultProxy } from '../src/index.js';
import { listen, readBody, type ListeningServer } from '../src/http-server.js';

let upstream: ListeningServer;
let proxy: FaultProxy;
const received: string[] = [];
beforeAll(async () => {
  upstream = await listen(async (request, response) => {
    const body = await readBody(request);
    received.push(`${request.method} ${request.url} ${request.headers.host} ${body.toString()}`);
    response.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': 'yes' });
    response.end(`echo ${body.toString()}`);
  });
  proxy = await startFaultProxy({ target: upstream.url });
});
beforeEach(() => {
  proxy.reset();
  received.length = 0;
});
afterAll(async () => {
  await proxy.stop();
  await upstream.close();
});

const send = async (path = '/bucket/key', init: RequestInit = { method: 'PUT', body: 'data' }) => {
  const response = await fetch(`${proxy.url}${path}`, init);
  return `${response.status} ${await response.text()}`;
};

describe('startFaultProxy', () => {
  it('forwards requests unchanged, Host header included, and counts them', async () => {
    expect(await send()).toBe('200 echo data');
    expect(received).toEqual([`PUT /bucket/key 127.0.0.1:${proxy.port} data`]);
    expect([proxy.count(), proxy.requests[0]?.outcome, proxy.requests[0]?.status]).toEqual([1, 'forwarded', 200]);
  });

  it('injects a response for the next N requests, then forwards again', async () => {
    const rule = proxy.inject(faults.respond(s3ErrorResponse('SlowDown')), { times: 2 });
    const answers = [await send(), await send(), await send()];
    expect(answers.map((answer) => answer.slice(0, 3))).toEqual(['503', '503', '200']);
    expect(answers[0]).toContain('<Code>SlowDown</Code><Message>Please reduce your request rate.</Message>');
    expect({ hits: rule.hits, active: rule.active, upstream: received.length }).toEqual({ hits: 2, active: false, upstream: 1 });
  });

  it('applies a rule only to requests its predicate matches, and only for its duration', async () => {
    proxy.inject(faults.respond(s3ErrorResponse('AccessDenied')), { match: (request) => request.method === 'GET' });
    expect([await send(), (await send('/bucket/key', { method: 'GET' })).slice(0, 3)]).toEqual(['200 echo data', '403']);
    proxy.reset();
    proxy.inject(faults.respond(s3ErrorResponse('InternalError')), { forMs: 500 });
    const during = (await send()).slice(0, 3);
    await new Promise((resolve) => setTimeout(resolve, 550));
    expect([during, (await send()).slice(0, 3)]).toEqual(['500', '200']);
  });

  it('resets connections, adds latency, and replaces answers after the upstream acted', async () => {
    proxy.inject(faults.reset(), { times: 1 });
    const reset = await fetch(`${proxy.url}/x`).then(
      () => 'answered',
      (error: Error & { cause?: { code?: string } }) => error.cause?.code,
    );
    expect(reset).toBe('ECONNRESET');

    proxy.inject(faults.delay(120), { times: 1 });
    const started = performance.now();
    expect(await send()).toBe('200 echo data');
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);

    proxy.inject(faults.replace(s3ErrorResponse('InternalError')), { times: 1 });
    received.length = 0;
    expect((await send('/bucket/lost', { method: 'PUT', body: 'landed' })).slice(0, 3)).toBe('500');
    expect(received).toEqual([`PUT /bucket/lost 127.0.0.1:${proxy.port} landed`]);
  });

  it('has error bodies for each cloud', async () => {
    proxy.inject(faults.respond(azureErrorResponse('ServerBusy', 503, 'The server is busy.')), { times: 1 });
    const azure = await fetch(`${proxy.url}/container/blob`);
    expect([azure.status, azure.headers.get('x-ms-error-code'), (await azure.text()).includes('<Code>ServerBusy</Code>')]).toEqual([503, 'ServerBusy', true]);
    proxy.inject(faults.respond(gcsErrorResponse(429, 'rateLimitExceeded', 'Too many requests')), { times: 1 });
    const gcs = await fetch(`${proxy.url}/storage/v1/b/bucket/o`);
    expect([gcs.status, await gcs.json()]).toEqual([429, { error: { code: 429, message: 'Too many requests', errors: [{ message: 'Too many requests', domain: 'global', reason: 'rateLimitExceeded' }] } }]);
  });
});
