import type { DestinationV1 } from '@sentcopy/core';
import type { LedgerIndex } from '@sentcopy/ledger-index';
import type { Hono } from 'hono';
import type { LoadedConfig } from '../cli-kit/index.js';

/**
 * What the viewer's routes share: the configuration, the destinations opened from it, the local
 * ledger index and the access log. Built once by `sentcopy view`; each route module
 * (search, message, export) registers itself on the app with it.
 */
export interface ViewerContext {
  /** The configuration the viewer was started with. */
  readonly loaded: LoadedConfig;
  /** Every configured destination that could be opened, by its configured name. */
  readonly destinations: ReadonlyMap<string, DestinationV1>;
  /** The local ledger index (`sentcopy index`), when there is one. */
  readonly index: LedgerIndex | undefined;
  /** Appends one event to the access log; resolves once it is durable. A route answers only after its event is logged. */
  audit(event: AccessEvent): Promise<void>;
}

/** One line of the access log: who did what, when. Never holds a raw recipient, a token or a password. */
export interface AccessEvent {
  /** The account name, or `token` for the start-up token. */
  readonly who: string;
  /** What was done. */
  readonly action: 'sign-in' | 'sign-in-refused' | 'search' | 'view' | 'view-images' | 'download' | 'export' | 'access-log';
  /** What it was done to: a search's filters (recipients as their hashes), a destination and key, an export's object count. */
  readonly what: Readonly<Record<string, string | number | boolean>>;
  /** When, epoch milliseconds. @default now */
  readonly at?: number;
}

/** Hono's environment for the viewer: the signed-in user, set by the authentication middleware. */
export interface ViewerEnv {
  Variables: { user: string };
}

/** The viewer's Hono app. */
export type ViewerApp = Hono<ViewerEnv>;

/** The path of a message's page: `/messages/<destination>/<key>` with both parts URL-encoded. */
export function messagePath(destination: string, key: string): string {
  return `/messages/${encodeURIComponent(destination)}/${encodeURIComponent(key)}`;
}
