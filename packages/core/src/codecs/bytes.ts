import type { CodecDecodeOptions, CodecName } from './codec.js';
import { defaultMaxOutputBytes } from './codec.js';
import { CodecError } from './codec-error.js';

/**
 * Returns bytes that own their whole ArrayBuffer. Node hands back small results as views into
 * shared 8-16 KiB pools (a 200-byte gzip keeps 16 KiB alive), and callers may pass `.buffer` on.
 */
export function ownedBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && !(bytes.buffer instanceof SharedArrayBuffer)) {
    return new Uint8Array(bytes.buffer, 0, bytes.byteLength);
  }
  return copyBytes(bytes);
}

/** A fresh copy (not `slice()`: on a Buffer that returns a view). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/** A Buffer view over the same memory, for APIs typed as Buffer. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function resolveMaxOutputBytes(options: CodecDecodeOptions | undefined): number {
  const max = options?.maxOutputBytes ?? defaultMaxOutputBytes;
  if (!(max === Number.POSITIVE_INFINITY || (Number.isSafeInteger(max) && max >= 0))) {
    throw new RangeError(`maxOutputBytes must be a non-negative integer or Infinity, got ${String(max)}`);
  }
  return max;
}

export function outputTooLarge(codec: CodecName, maxOutputBytes: number, detail: string, cause?: unknown): CodecError {
  return new CodecError({
    kind: 'output_too_large',
    codec,
    message: `${codec} output ${detail} exceeds maxOutputBytes (${maxOutputBytes} bytes); refusing to decode (possible decompression bomb)`,
    cause,
  });
}

export function corruptInput(codec: CodecName, detail: string, cause?: unknown): CodecError {
  return new CodecError({ kind: 'corrupt_input', codec, message: `corrupt ${codec} input: ${detail}`, cause });
}
