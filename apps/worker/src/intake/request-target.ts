/** The path and query of a request, read from its request target without ever throwing. */
export interface RequestTarget {
  /** The path as sent, e.g. `/v1/dead-letters` (no normalization: `/a/../b` is not `/b`). */
  readonly pathname: string;
  /** The query parameters. */
  readonly query: URLSearchParams;
}

const absoluteForm = /^https?:\/\//i;

/**
 * Reads a request target: origin-form (`/path?query`, whatever the path holds: `//`, `//[`,
 * `/\`) or absolute-form (`http://host/path`, RFC 9112 section 3.2.2). `undefined` for anything
 * else (`*`, another scheme, a malformed absolute URL): the caller answers 400.
 */
export function parseRequestTarget(target: string | undefined): RequestTarget | undefined {
  if (target === undefined || target === '') return undefined;
  if (target.startsWith('/')) {
    // Not `new URL(target, base)`: it reads `//host` as an authority and throws on `//[` or `//a:99999/`.
    const cut = target.indexOf('?');
    return cut === -1 ? { pathname: target, query: new URLSearchParams() } : { pathname: target.slice(0, cut), query: new URLSearchParams(target.slice(cut + 1)) };
  }
  if (!absoluteForm.test(target)) return undefined;
  try {
    const url = new URL(target);
    return { pathname: url.pathname, query: url.searchParams };
  } catch {
    return undefined;
  }
}
