import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/** A complete HTTP answer a server or the fault proxy sends instead of doing real work. */
export interface CannedResponse {
  /** HTTP status code. */
  readonly status: number;
  /** Response headers (lower-case names). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Response body; omitted for HEAD requests. */
  readonly body?: string | Uint8Array;
}

/** Sends `canned`; for HEAD requests the body is left out, as real servers do. */
export function sendCanned(response: ServerResponse, canned: CannedResponse, method = 'GET'): void {
  const body = canned.body === undefined ? undefined : typeof canned.body === 'string' ? Buffer.from(canned.body, 'utf8') : Buffer.from(canned.body);
  const headers: Record<string, string | number> = { ...canned.headers };
  if (body !== undefined) headers['content-length'] = body.byteLength;
  response.writeHead(canned.status, headers);
  response.end(method === 'HEAD' ? undefined : body);
}

/** A random request id of `bytes` bytes, upper-case hex (the form S3 and STS use). */
export function requestId(bytes = 8): string {
  return randomBytes(bytes).toString('hex').toUpperCase();
}
