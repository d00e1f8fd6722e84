// What the lean write paths (one HTTP request per object, over a keep-alive pool) all need from an
// answer or a failed request, written once for every adapter. Typed structurally, so core depends
// on no HTTP client.

/** undici's codes for its own failures, as the Node.js codes the cloud SDKs surfaced for the same events. */
export const undiciTransportCodes: Readonly<Record<string, string>> = Object.freeze({
  UND_ERR_SOCKET: 'ECONNRESET',
  UND_ERR_CONNECT_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_HEADERS_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_BODY_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_CLOSED: 'ECONNRESET',
  UND_ERR_DESTROYED: 'ECONNRESET',
});

/** A request that failed before any answer, as an error map reads it. */
export interface TransportFailure {
  /** The Node.js code: the socket's own (`ECONNREFUSED`), or the one the client's code stands for (`UND_ERR_SOCKET` → `ECONNRESET`). */
  readonly code: string;
  /** The client's message with its own code: `other side closed (UND_ERR_SOCKET)`. */
  readonly message: string;
}

/**
 * Reads an error an HTTP client (undici) threw for a request: its Node.js code and message, or
 * `undefined` for anything that is not a transport failure (an abort, a programming error), which
 * the caller rethrows as it is.
 */
export function transportFailure(error: unknown): TransportFailure | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const record = error as { code?: unknown; name?: unknown; message?: unknown; cause?: { code?: unknown } };
  if (record.name === 'AbortError') return undefined;
  const code = typeof record.code === 'string' ? record.code : undefined;
  if (code === undefined || !code.startsWith('UND_ERR')) return undefined;
  const causeCode = typeof record.cause?.code === 'string' ? record.cause.code : undefined;
  return { code: causeCode ?? undiciTransportCodes[code] ?? code, message: `${typeof record.message === 'string' ? record.message : 'request failed'} (${code})` };
}

/** An answer's headers as one string each (repeated headers joined with `, `, as HTTP allows). */
export function flattenHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}

/**
 * Reads an answer's body to its end (so the connection can be reused) but keeps at most
 * `maxBytes` of it: error answers are read for their code and message, and a store (or something
 * in front of it) that answers with megabytes must not cost that much memory.
 */
export async function readCappedBody(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < maxBytes) chunks.push(chunk);
    size += chunk.byteLength;
  }
  return Buffer.concat(chunks).subarray(0, maxBytes);
}
