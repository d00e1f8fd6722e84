import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { WorkerConfig } from '@sentcopy/worker';
import { verifyPassword } from './password-hash.js';

/** One viewer account as the configuration stores it. */
export type ViewerAccount = NonNullable<NonNullable<WorkerConfig['viewer']>['accounts']>[number];

/** A signed-in browser: the random id its cookie holds maps to the user and an expiry. */
interface Session {
  readonly user: string;
  readonly expiresAt: number;
}

/** Sign-in and sessions of one viewer process (sessions live in memory: a restart signs everyone out). */
export interface ViewerAuth {
  /** The user a session cookie belongs to, if it is live. */
  sessionUser(id: string | undefined): string | undefined;
  /** True when `token` is the start-up token. */
  isToken(token: string): boolean;
  /** Checks a sign-in (empty `name`: the start-up token): the user, or why it was refused and whom to log it under. */
  signIn(name: string, secret: string): Promise<{ user: string } | { refused: string; who: string }>;
  /** Opens a session for `user`: its cookie value and lifetime in seconds. */
  openSession(user: string): { id: string; maxAgeSeconds: number };
  /** Ends a session (sign-out). */
  closeSession(id: string | undefined): void;
  /** How long to hold a refused sign-in from `client` before answering (doubling per recent failure, at most 8 s). */
  refusalDelayMs(client: string): number;
  /** Forgets `client`'s failures (after a successful sign-in). */
  clearFailures(client: string): void;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
// A dummy hash checked for unknown names, so an unknown account costs the same time as a wrong password.
const dummyHash = `scrypt$32768$8$1$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(32).toString('base64url')}`;

/** Creates the viewer's sign-in state. `token` undefined: only accounts can sign in. */
export function createViewerAuth(options: { token?: string; accounts: readonly ViewerAccount[]; sessionTtlMs: number; refusalBaseDelayMs: number }): ViewerAuth {
  const sessions = new Map<string, Session>();
  const failures = new Map<string, { count: number; last: number }>();
  const tokenDigest = options.token === undefined ? undefined : digest(options.token);
  return {
    sessionUser(id) {
      if (id === undefined) return undefined;
      const session = sessions.get(id);
      if (session === undefined) return undefined;
      if (session.expiresAt <= Date.now()) {
        sessions.delete(id);
        return undefined;
      }
      return session.user;
    },
    isToken: (token) => tokenDigest !== undefined && timingSafeEqual(digest(token), tokenDigest),
    async signIn(name, secret) {
      if (name === '') {
        if (tokenDigest !== undefined && timingSafeEqual(digest(secret), tokenDigest)) return { user: 'token' };
        return { refused: tokenDigest === undefined ? 'no start-up token (this viewer uses accounts)' : 'wrong token', who: 'token' };
      }
      const account = options.accounts.find((entry) => entry.name === name);
      const matches = await verifyPassword(secret, account?.password_hash ?? dummyHash);
      if (account !== undefined && matches) return { user: account.name };
      // An unknown name is not written to the log as typed: it may be a password typed in the wrong field.
      return account === undefined ? { refused: 'unknown account', who: 'unknown' } : { refused: 'wrong password', who: account.name };
    },
    openSession(user) {
      const now = Date.now();
      for (const [id, session] of sessions) if (session.expiresAt <= now) sessions.delete(id);
      const id = randomBytes(32).toString('base64url');
      sessions.set(id, { user, expiresAt: now + options.sessionTtlMs });
      return { id, maxAgeSeconds: Math.floor(options.sessionTtlMs / 1000) };
    },
    closeSession(id) {
      if (id !== undefined) sessions.delete(id);
    },
    refusalDelayMs(client) {
      const now = Date.now();
      const previous = failures.get(client);
      // Failures older than 15 minutes are forgotten.
      const count = previous === undefined || now - previous.last > 15 * 60_000 ? 1 : previous.count + 1;
      failures.set(client, { count, last: now });
      return Math.min(8000, options.refusalBaseDelayMs * 2 ** (count - 1));
    },
    clearFailures(client) {
      failures.delete(client);
    },
  };
}
