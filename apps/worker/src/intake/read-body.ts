import type { IncomingMessage } from 'node:http';

/** The request body, or why it was not read. */
export type BodyResult = { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false; readonly reason: 'too_large' | 'aborted' };

/**
 * Reads a request body up to `maxBytes`, and stops reading as soon as it is known to be larger.
 * With a Content-Length, the body is read straight into one buffer of that size: a body of tens of
 * MB is then held once, not once in chunks and again when they are joined.
 */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve({ ok: false, reason: 'too_large' });
  // A request may have waited for the intake's byte budget; one whose connection closed meanwhile will never end.
  if (request.destroyed) return Promise.resolve({ ok: false, reason: 'aborted' });
  if (Number.isSafeInteger(declared) && declared > 0 && request.headers['transfer-encoding'] === undefined) return readDeclared(request, declared);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      request.off('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        request.pause();
        settle({ ok: false, reason: 'too_large' });
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => settle({ ok: true, bytes: Buffer.concat(chunks, size) }));
    request.once('error', () => settle({ ok: false, reason: 'aborted' }));
    request.once('close', () => settle({ ok: false, reason: 'aborted' }));
  });
}

/** Reads a body of exactly `length` bytes (its Content-Length) into one buffer. */
function readDeclared(request: IncomingMessage, length: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    let bytes: Buffer | undefined = Buffer.allocUnsafe(length);
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      request.off('data', onData);
      bytes = undefined;
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      // Node's parser never delivers more than the Content-Length; guard anyway rather than write past the buffer.
      if (bytes === undefined || size + chunk.length > length) {
        request.pause();
        settle({ ok: false, reason: 'too_large' });
        return;
      }
      chunk.copy(bytes, size);
      size += chunk.length;
    };
    request.on('data', onData);
    request.once('end', () => {
      const body = bytes;
      if (body === undefined || size !== length) settle({ ok: false, reason: 'aborted' });
      else settle({ ok: true, bytes: body });
    });
    request.once('error', () => settle({ ok: false, reason: 'aborted' }));
    request.once('close', () => settle({ ok: false, reason: 'aborted' }));
  });
}
