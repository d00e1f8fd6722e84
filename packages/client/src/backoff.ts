/**
 * Exponential backoff with full jitter: a random delay in [0, min(max, base · 2^failures)).
 * Written here rather than taken from @sentcopy/core's retry engine: core brings node:zlib,
 * node:crypto and worker threads, and this library must stay a few kilobytes that run wherever
 * fetch does (browsers, Deno, Bun, edge runtimes). The engine's policy (a week of outage
 * retries through a durable queue) is the worker's job; the client only needs the next delay.
 */
export function backoffDelay(failures: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures, 30));
  return Math.floor(random() * ceiling);
}

/** The delay a `Retry-After` header asks for, in milliseconds (seconds or an HTTP date), or `undefined`. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day and month; Date.parse alone would also read "-3" as a year.
  if (!/^[A-Za-z]{3},? /.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
