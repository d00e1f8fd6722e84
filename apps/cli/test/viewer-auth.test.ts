// The viewer's sign-in state and password hashes, in process: what the end-to-end tests cannot assert without timing.
import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../src/viewer/server/password-hash.js';
import { createViewerAuth } from '../src/viewer/server/viewer-auth.js';

describe('viewer password hashes', () => {
  it('stores scrypt with its parameters and a fresh salt; verifies the password and nothing else', async () => {
    const first = await hashPassword('correct horse battery staple');
    const second = await hashPassword('correct horse battery staple');
    expect(first).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(second).not.toBe(first);
    expect(await verifyPassword('correct horse battery staple', first)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', first)).toBe(false);
    // One character inside the hash changed (not the last, whose low bits base64 drops).
    const middle = first.length - 10;
    expect(await verifyPassword('correct horse battery staple', `${first.slice(0, middle)}${first[middle] === 'A' ? 'B' : 'A'}${first.slice(middle + 1)}`)).toBe(false);
    for (const malformed of ['', 'plain', 'scrypt$1$8$1$AAAA$AAAA', 'scrypt$99999999$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'bcrypt$2b$10$abc']) {
      expect(await verifyPassword('anything', malformed), malformed).toBe(false);
    }
  });
});

describe('viewer sign-in state', () => {
  const auth = () => createViewerAuth({ token: 'start-up-token', accounts: [], sessionTtlMs: 60_000, refusalBaseDelayMs: 1000 });

  it('slows refused sign-ins from one client: 1 s, 2 s, 4 s, then 8 s at most; another client and a success start again', () => {
    const state = auth();
    expect([1, 2, 3, 4, 5].map(() => state.refusalDelayMs('10.0.0.1'))).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(state.refusalDelayMs('10.0.0.2')).toBe(1000);
    state.clearFailures('10.0.0.1');
    expect(state.refusalDelayMs('10.0.0.1')).toBe(1000);
  });

  it('takes the token with an empty account name only, and keeps sessions until they expire or close', async () => {
    const state = auth();
    expect(await state.signIn('', 'start-up-token')).toEqual({ user: 'token' });
    expect(await state.signIn('', 'start-up-tokem')).toEqual({ refused: 'wrong token', who: 'token' });
    expect(await state.signIn('token', 'start-up-token')).toEqual({ refused: 'unknown account', who: 'unknown' });
    const session = state.openSession('token');
    expect(session.id).toMatch(/^[\w-]{43}$/);
    expect(state.sessionUser(session.id)).toBe('token');
    expect(state.sessionUser('forged')).toBeUndefined();
    state.closeSession(session.id);
    expect(state.sessionUser(session.id)).toBeUndefined();
    const expired = createViewerAuth({ accounts: [], sessionTtlMs: 0, refusalBaseDelayMs: 1 });
    expect(expired.sessionUser(expired.openSession('ana').id)).toBeUndefined();
    expect(await expired.signIn('', 'anything')).toEqual({ refused: 'no start-up token (this viewer uses accounts)', who: 'token' });
  });
});
