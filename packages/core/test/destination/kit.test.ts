import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createDeadlineRunner, DestinationError, destinationErrorKindForStatus, httpStatusError, parseRetryAfter, redactSecrets } from '../../src/index.js';

describe('destinationErrorKindForStatus', () => {
  it('maps every status class to the kind the retry engine acts on', () => {
    const statuses = [undefined, 200, 301, 400, 401, 403, 404, 407, 408, 409, 412, 413, 429, 500, 502, 503, 504];
    expect(Object.fromEntries(statuses.map((status) => [String(status), destinationErrorKindForStatus(status)]))).toEqual({
      undefined: 'unreachable',
      200: 'unknown',
      301: 'unknown',
      400: 'invalid',
      401: 'unauthorized',
      403: 'unauthorized',
      404: 'invalid',
      407: 'unauthorized',
      408: 'unreachable',
      409: 'conflict',
      412: 'conflict',
      413: 'invalid',
      429: 'rate_limited',
      500: 'unreachable',
      502: 'unreachable',
      503: 'rate_limited',
      504: 'unreachable',
    });
  });
});

describe('httpStatusError against a real HTTP answer', () => {
  it('classifies, keeps Retry-After, and redacts what the server echoed back', async () => {
    const server = createServer((_request, response) => {
      response.writeHead(429, { 'retry-after': '7', 'content-type': 'text/plain' });
      response.end('slow down jane.doe@example.com, token=abcdef Bearer eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl +4915112345678');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`);
      const error = httpStatusError({ provider: 'webdav', operation: 'write the object', key: 'a/b.json', status: answer.status, detail: await answer.text(), retryAfter: answer.headers.get('retry-after') });
      expect({ is: DestinationError.isInstance(error), kind: error.kind, status: error.status, retryAfterMs: error.retryAfterMs, provider: error.provider, key: error.key }).toEqual({
        is: true,
        kind: 'rate_limited',
        status: 429,
        retryAfterMs: 7000,
        provider: 'webdav',
        key: 'a/b.json',
      });
      expect(error.message).toMatch(/^Could not write the object "a\/b\.json": the store asked to slow down \(HTTP 429\)/);
      for (const leaked of ['jane.doe@example.com', 'abcdef', 'eyJhbGciOi', '4915112345678']) expect(error.message).not.toContain(leaked);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('says "no answer" and unreachable when there was no status', () => {
    const error = httpStatusError({ provider: 'webdav', operation: 'list objects', status: undefined, detail: 'ECONNREFUSED' });
    expect([error.kind, error.message]).toEqual(['unreachable', 'Could not list objects: the store could not be reached or reported a server error (no answer) (ECONNREFUSED).']);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, ignores garbage', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    expect([parseRetryAfter('3', now), parseRetryAfter('Fri, 04 Dec 2026 12:00:05 GMT', now), parseRetryAfter('soon', now), parseRetryAfter(null, now), parseRetryAfter('-1', now)]).toEqual([3000, 5000, undefined, undefined, undefined]);
  });
});

describe('redactSecrets', () => {
  it('removes keys, tokens, signatures, addresses and numbers, and folds white space', () => {
    const text = [
      '-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----',
      'AKIAABCDEFGHIJKLMNOP',
      'sig=abc%2Fdef&se=2026',
      'AccountKey=Zm9vYmFy;',
      'Basic dXNlcjpwYXNz',
      'ya29.a0AfH6SMB',
      'someone@example.org',
      '+1 (415) 555-0100',
      'A'.repeat(40),
    ].join('\n  ');
    const redacted = redactSecrets(text);
    for (const secret of ['MIIEv', 'AKIAABCDEFGHIJKLMNOP', 'abc%2Fdef', 'Zm9vYmFy', 'dXNlcjpwYXNz', 'a0AfH6SMB', 'someone@example.org', '555-0100', 'A'.repeat(40)]) expect(redacted).not.toContain(secret);
    expect(redacted).not.toMatch(/\n|\s{2}/);
    expect(redactSecrets('word '.repeat(100)).length).toBe(300);
  });
});

describe('createDeadlineRunner', () => {
  it('rejects a call that outlives its deadline with ETIMEDOUT and aborts its signal', async () => {
    const runner = createDeadlineRunner(50, (ms) => `no answer within ${ms} ms`);
    let innerAborted = false;
    const error = await runner
      .run(undefined, (signal) => new Promise((resolve) => signal.addEventListener('abort', () => ((innerAborted = true), resolve('late')))))
      .then(
        () => undefined,
        (reason: unknown) => reason,
      );
    expect([(error as { code?: string }).code, (error as Error).message, innerAborted]).toEqual(['ETIMEDOUT', 'no answer within 50 ms', true]);
    runner.close();
  });

  it("rejects at once with the caller's abort reason, and passes results and errors through", async () => {
    const runner = createDeadlineRunner(60_000);
    const controller = new AbortController();
    const pending = runner
      .run(controller.signal, () => new Promise(() => undefined))
      .then(
        () => 'resolved',
        (reason: unknown) => reason,
      );
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await pending).toBe(reason);
    expect(await runner.run(undefined, async () => 42)).toBe(42);
    await expect(runner.run(undefined, async () => Promise.reject(new Error('store said no')))).rejects.toThrow('store said no');
    await expect(runner.run(AbortSignal.abort(reason), async () => 1)).rejects.toBe(reason);
    runner.close();
  });
});
