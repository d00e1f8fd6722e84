import { describe, expect, it } from 'vitest';
import {
  assertValidObjectKey,
  DestinationError,
  objectKeyProblem,
  resolveDestination,
  UnsupportedDestinationVersionError,
} from '../../src/destination/index.js';

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

  it.each(['a', 'sent_messages/email/abc/unassociated/id.json.gz', 'ü/日本/😀', '...', '.hidden', '%2e%2e', 'a b+c=d'])(
    'accepts %j',
    (key) => expect(objectKeyProblem(key)).toBeUndefined(),
  );
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
