import { constants as bufferConstants } from 'node:buffer';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Codec, CodecDecodeOptions } from './codec.js';
import { corruptInput, outputTooLarge, ownedBytes, resolveMaxOutputBytes } from './bytes.js';

/*
 * node:zlib, not fflate, at level 6 (bench/codecs.mjs, three runs on a shared 2-core machine,
 * 30 KB HTML email JSON / 160-byte SMS JSON): fflate gzipSync level 6 encoded the email at
 * 0.17-0.39x zlib's speed (46-70 vs 180-283 MB/s), the SMS at 0.22-0.37x, and decoded the email at
 * 0.29-0.49x, for the same size (8.4% vs 8.3% of the email).
 *
 * Sync below 1 MiB, thread pool from 1 MiB: with one call in flight zlib's async variant ran at
 * 0.31-0.47x sync for the email and 0.05-0.06x for the SMS (the thread-pool round trip dominates);
 * on a 1 MiB email it ran at 0.90-0.95x sync and keeps the event loop free for the ~6 ms it takes.
 */
const level = 6;
const threadPoolThresholdBytes = 1024 * 1024;

const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);

function zlibDecodeOptions(maxOutputBytes: number): zlib.ZlibOptions {
  // zlib refuses 0; an empty output is still checked against the limit afterwards.
  return { maxOutputLength: Math.max(1, Math.min(maxOutputBytes, bufferConstants.MAX_LENGTH)) };
}

function decodeError(error: unknown, maxOutputBytes: number): Error {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ERR_BUFFER_TOO_LARGE') return outputTooLarge('gzip', maxOutputBytes, 'grew past the limit while inflating', error);
  const message = error instanceof Error ? error.message : String(error);
  return corruptInput('gzip', message, error);
}

function checked(output: Uint8Array, maxOutputBytes: number): Uint8Array {
  if (output.byteLength > maxOutputBytes) throw outputTooLarge('gzip', maxOutputBytes, `of ${output.byteLength} bytes`);
  return ownedBytes(output);
}

/** zlib's default output chunk, in bytes; also the largest one used here. */
const maxChunkBytes = 16 * 1024;

function encodeSync(bytes: Uint8Array): Uint8Array {
  // zlib's default 16 KiB output buffer is allocated per call and the result copied out of it: for
  // the typical message (a few KB of JSON, a few hundred bytes compressed) a buffer near the
  // compressed size is less garbage. The chunk size changes how output is collected, never the bytes.
  const chunkSize = Math.min(maxChunkBytes, Math.max(zlib.constants.Z_MIN_CHUNK, (bytes.byteLength >>> 1) + 64));
  return ownedBytes(zlib.gzipSync(bytes, { level, chunkSize }));
}

function decodeSync(bytes: Uint8Array, options?: CodecDecodeOptions): Uint8Array {
  const maxOutputBytes = resolveMaxOutputBytes(options);
  let output: Buffer;
  try {
    output = zlib.gunzipSync(bytes, zlibDecodeOptions(maxOutputBytes));
  } catch (error) {
    throw decodeError(error, maxOutputBytes);
  }
  return checked(output, maxOutputBytes);
}

async function encode(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes.byteLength < threadPoolThresholdBytes) return encodeSync(bytes);
  return ownedBytes(await gzipAsync(bytes, { level }));
}

async function decode(bytes: Uint8Array, options?: CodecDecodeOptions): Promise<Uint8Array> {
  if (bytes.byteLength < threadPoolThresholdBytes) return decodeSync(bytes, options);
  const maxOutputBytes = resolveMaxOutputBytes(options);
  let output: Buffer;
  try {
    output = await gunzipAsync(bytes, zlibDecodeOptions(maxOutputBytes));
  } catch (error) {
    throw decodeError(error, maxOutputBytes);
  }
  return checked(output, maxOutputBytes);
}

/**
 * gzip (RFC 1952) at level 6 via node:zlib; `gzip -dc` opens its output. Decoding stops inflating
 * as soon as the output passes `maxOutputBytes`. Bytes are identical for the same input on the same
 * machine, not necessarily across Node versions or CPUs (Node's zlib picks SIMD paths at run time);
 * the archive hashes the stored bytes, so that is all it needs.
 */
export const gzipCodec: Codec = Object.freeze({
  name: 'gzip',
  extension: '.gz',
  contentType: 'application/json',
  contentEncoding: 'gzip',
  encode,
  decode,
  encodeSync,
  decodeSync,
});
