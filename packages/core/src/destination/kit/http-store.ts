import { DestinationError } from '../destination-error.js';
import { httpStatusError, networkErrorCodes } from './http-status-kind.js';
import type { ObjectStoreEntry, ObjectStorePublicAccess, ObjectStoreWrite } from './object-store-driver.js';
import { redactSecrets } from './redact-secrets.js';

/** An answer other than 2xx from a store spoken over plain HTTP, thrown by {@link createHttpStoreRequester}'s requests. */
export class HttpStoreResponseError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The body the store sent (not yet redacted: only {@link mapHttpStoreError} puts it into a message, redacted). */
  readonly detail: string;
  /** The `Retry-After` header as received, or `null`. */
  readonly retryAfter: string | null;

  constructor(status: number, detail: string, retryAfter: string | null = null) {
    super(`The store answered HTTP ${status}.`);
    this.name = 'HttpStoreResponseError';
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }

  /** True when `error` is an `HttpStoreResponseError` with one of `statuses`. */
  static hasStatus(error: unknown, ...statuses: number[]): boolean {
    return error instanceof HttpStoreResponseError && statuses.includes(error.status);
  }
}

/** What a request of {@link createHttpStoreRequester} may carry. */
export interface HttpStoreRequestInit {
  /** The request body. */
  readonly body?: Uint8Array | string | undefined;
  /** Headers besides the requester's own (lower-case names). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/** Sends one request for an object or folder name; resolves with a 2xx response, else throws {@link HttpStoreResponseError}. */
export interface HttpStoreRequester {
  (method: string, name: string, signal: AbortSignal, init?: HttpStoreRequestInit): Promise<Response>;
  /** The URL of `name`: the base URL plus each `/`-separated segment percent-encoded (so `?`, `#`, `%` and `..` stay literal). */
  url(name: string): string;
}

/**
 * Requests against a store addressed by URL path (WebDAV, a plain HTTP file server, a REST API):
 * names are encoded segment by segment below `baseUrl` (which must end in `/`), every request
 * carries `headers` (credentials), redirects are not followed (a login page is not an answer), and
 * a non-2xx answer is thrown as an {@link HttpStoreResponseError} with its body and `Retry-After`.
 */
export function createHttpStoreRequester(baseUrl: string, headers: Readonly<Record<string, string>> = {}): HttpStoreRequester {
  const url = (name: string) => baseUrl + name.split('/').map(encodeURIComponent).join('/');
  const request = async (method: string, name: string, signal: AbortSignal, init: HttpStoreRequestInit = {}): Promise<Response> => {
    const response = await fetch(url(name), { method, signal, redirect: 'manual', body: init.body, headers: { ...headers, ...init.headers } });
    if (response.ok) return response;
    const detail = await response.text().catch(() => '');
    throw new HttpStoreResponseError(response.status, detail, response.headers.get('retry-after'));
  };
  return Object.assign(request, { url });
}

/** The system error code of a failed `fetch()` (undici puts it on the error's `cause`) or of a Node.js error. */
export function fetchErrorCode(error: unknown): string | undefined {
  const { code, cause } = (error ?? {}) as { code?: unknown; cause?: { code?: unknown } };
  const found = cause?.code ?? code;
  return typeof found === 'string' ? found : undefined;
}

/** Where a failure of {@link mapHttpStoreError} happened. */
export interface HttpStoreErrorContext {
  /** Provider id, e.g. `webdav`. */
  readonly provider: string;
  /** What was being done, e.g. `write the object`. */
  readonly operation: string;
  /** The object name involved, if any. */
  readonly key?: string | undefined;
  /** Where objects land, for the sentence of an unexpected error, e.g. `WebDAV folder https://dav.example.com/archive/`. */
  readonly location: string;
}

/**
 * The error map of a store spoken over `fetch()`: a `DestinationError` passes through; an
 * {@link HttpStoreResponseError} is classified by its status ({@link httpStatusError}); a network
 * failure is `unreachable`; anything else is `unknown`. Messages are redacted; no cause is kept,
 * so logging the error cannot leak a request's headers.
 */
export function mapHttpStoreError(error: unknown, context: HttpStoreErrorContext): DestinationError {
  if (DestinationError.isInstance(error)) return error;
  const { provider, operation, key } = context;
  if (error instanceof HttpStoreResponseError) return httpStatusError({ provider, operation, key, status: error.status, detail: error.detail, retryAfter: error.retryAfter });
  const code = fetchErrorCode(error);
  if (code !== undefined && networkErrorCodes.has(code)) return httpStatusError({ provider, operation, key, status: undefined, detail: code });
  const message = redactSecrets(error instanceof Error ? error.message : String(error));
  return new DestinationError({ kind: 'unknown', provider, key, code, message: `Could not ${operation} in ${context.location}${key === undefined ? '' : ` (${key})`}: unexpected error (${message}).` });
}

/** What a store without native object metadata keeps beside an object (a sidecar file, a WebDAV dead property, an extended attribute). */
export type ObjectRecord = Pick<ObjectStoreEntry, 'contentType' | 'contentEncoding' | 'metadata'>;

/** The metadata record of `write` as one line of JSON (format version 1): content type, content encoding and metadata, the SHA-256 record included. */
export function serializeObjectRecord(write: ObjectStoreWrite): string {
  return JSON.stringify({ version: 1, contentType: write.contentType, contentEncoding: write.contentEncoding, metadata: write.metadata });
}

/**
 * Reads a record written by {@link serializeObjectRecord}. What is missing, unreadable or of the
 * wrong type comes back absent (metadata `{}`), so an object whose record was damaged still reads,
 * and the kit then hashes its bytes instead of trusting a recorded SHA-256.
 */
export function parseObjectRecord(text: string | undefined): ObjectRecord {
  let parsed: unknown;
  try {
    parsed = text === undefined ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const record = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const stringOrAbsent = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const metadata = typeof record.metadata === 'object' && record.metadata !== null && !Array.isArray(record.metadata) ? record.metadata : {};
  return {
    contentType: stringOrAbsent(record.contentType),
    contentEncoding: stringOrAbsent(record.contentEncoding),
    metadata: Object.fromEntries(Object.entries(metadata).filter((entry): entry is [string, string] => typeof entry[1] === 'string')),
  };
}

/**
 * The `public-access` probe check of a store spoken over HTTP: asks `url` without credentials (for
 * WebDAV `PROPFIND` with `Depth: 0`, for a file server `HEAD`). An answer of 2xx means anyone can
 * read it: public, and the check fails; anything else passes. Never follows redirects.
 */
export async function checkAnonymousAccess(url: string, signal: AbortSignal, init: { readonly method: string; readonly headers?: Readonly<Record<string, string>> }): Promise<ObjectStorePublicAccess> {
  const answer = await fetch(url, { method: init.method, headers: init.headers, signal, redirect: 'manual' });
  await answer.body?.cancel();
  const detail = answer.ok ? `Anyone can read ${url} without credentials; archived messages hold personal data` : `${url} refuses requests without credentials`;
  return { public: answer.ok, check: { name: 'public-access', status: answer.ok ? 'failed' : 'passed', detail: `${detail} (${init.method} answered HTTP ${answer.status}).` } };
}

/**
 * The base URL of a store spoken over HTTP from its `url` setting, ending in `/`; throws a
 * `DestinationError` of kind `invalid` naming the setting when it is not an `http:`/`https:` URL,
 * or carries credentials (they belong in their own, secret, settings).
 */
export function parseHttpStoreUrl(value: unknown, provider: string, setting = 'url'): URL {
  const url = typeof value === 'string' && URL.canParse(value) ? new URL(value.replace(/\/?$/, '/')) : undefined;
  if (url !== undefined && /^https?:$/.test(url.protocol) && url.username === '' && url.password === '' && url.search === '' && url.hash === '') return url;
  throw new DestinationError({ kind: 'invalid', provider, message: `Invalid ${setting}: it must be an http: or https: URL without credentials, query or fragment.` });
}
