import { describe, expect, it } from 'vitest';
import { assertValidObjectKey, DestinationError, isAbortError, objectKeyProblem, resolveDestination, sdkDestinationError, UnsupportedDestinationVersionError } from '../../src/destination/index.js';

describe('DestinationError', () => {
  it('carries its kind and is recognised across copies by its marker', () => {
    const error = new DestinationError({ kind: 'rate_limited', message: 'SlowDown', status: 503, retryAfterMs: 2000 });
    expect(error).toMatchObject({ name: 'DestinationError', kind: 'rate_limited', status: 503, retryAfterMs: 2000, isRetryable: true });
    expect(DestinationError.isInstance(error)).toBe(true);
    const lookalike = Object.assign(new Error('x'), { kind: 'conflict' });
    expect(DestinationError.isInstance(lookalike)).toBe(false);
    const fromOtherCopy = { [Symbol.for('sentcopy.destination-error')]: true };
    expect(DestinationError.isInstance(fromOtherCopy)).toBe(true);
    expect(new DestinationError({ kind: 'conflict', message: 'x' }).isRetryable).toBe(false);
  });
});

describe('object keys', () => {
  it.each([
    ['', 'must not be empty'],
    ['/abs', '"/"'],
    ['a//b', '"/"'],
    ['a/', '"/"'],
    ['../x', '".."'],
    ['a/./b', '"."'],
    ['a\u0000b', 'control'],
    ['a\\b', 'backslash'],
    ['x'.repeat(1025), '1024'],
    ['\ud800', 'well-formed'],
  ])('rejects %j', (key, problem) => {
    expect(objectKeyProblem(key)).toContain(problem);
    expect(() => assertValidObjectKey(key)).toThrow(DestinationError);
  });

  it.each(['a', 'sent_messages/email/abc/unassociated/id.json.gz', 'ü/日本/😀', '...', '.hidden', '%2e%2e', 'a b+c=d'])('accepts %j', (key) => expect(objectKeyProblem(key)).toBeUndefined());
});

describe('resolveDestination', () => {
  const base = { provider: 'x', id: 'x', capabilities: { delete: false, immutability: false, publicAccessCheck: false } };

  it('accepts v1', () => {
    const destination = { ...base, specificationVersion: 'v1' };
    expect(resolveDestination(destination)).toBe(destination);
  });

  it('refuses unknown versions with a named error', () => {
    const error = (() => {
      try {
        resolveDestination({ ...base, specificationVersion: 'v2' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(UnsupportedDestinationVersionError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('"v2"');
    expect(() => resolveDestination(undefined)).toThrow(TypeError);
  });
});

describe('sdkDestinationError', () => {
  const context = { provider: 'azure', service: 'Azure Blob Storage', operation: 'write the object', where: 'container "c", blob "a/b"', key: 'a/b' };

  it('builds one message shape and a cause that holds only the facts', () => {
    const error = sdkDestinationError(context, 'unauthorized', 'the credentials were rejected', { code: 'AuthenticationFailed', status: 403, detail: 'Signature mismatch', requestId: 'r-1' });
    expect(error).toMatchObject({ kind: 'unauthorized', provider: 'azure', key: 'a/b', status: 403, code: 'AuthenticationFailed' });
    expect(error.message).toBe('Could not write the object in Azure Blob Storage (container "c", blob "a/b"): the credentials were rejected (AuthenticationFailed, HTTP 403). Server said: Signature mismatch');
    expect((error.cause as Error).name).toBe('AzureErrorSummary');
    expect((error.cause as Error).message).toBe('AuthenticationFailed (HTTP 403) request id r-1');
  });

  it('leaves the server text out of unreachable errors and works without code or status', () => {
    const error = sdkDestinationError(context, 'unreachable', 'the connection was reset', { detail: 'socket hang up' });
    expect(error.message).toBe('Could not write the object in Azure Blob Storage (container "c", blob "a/b"): the connection was reset.');
  });
});

describe('isAbortError', () => {
  it("recognises an aborted signal's reason and any AbortError, nothing else", () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    expect(isAbortError(controller.signal.reason, controller.signal)).toBe(true);
    expect(isAbortError(Object.assign(new Error('x'), { name: 'AbortError' }), undefined)).toBe(true);
    expect(isAbortError(new Error('x'), controller.signal)).toBe(false);
  });
});
