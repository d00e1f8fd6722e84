import type { Codec, CodecDecodeOptions } from './codec.js';
import { copyBytes as copy, outputTooLarge, resolveMaxOutputBytes } from './bytes.js';

function decodeSync(bytes: Uint8Array, options?: CodecDecodeOptions): Uint8Array {
  const maxOutputBytes = resolveMaxOutputBytes(options);
  if (bytes.byteLength > maxOutputBytes) throw outputTooLarge('none', maxOutputBytes, `of ${bytes.byteLength} bytes`);
  return copy(bytes);
}

/**
 * Stores the JSON as is. Content type without `charset`: RFC 8259 defines no charset parameter for
 * `application/json` (it is always UTF-8). Returns copies so a caller can't alter what was hashed.
 */
export const noneCodec: Codec = Object.freeze({
  name: 'none',
  extension: '',
  contentType: 'application/json',
  encodeSync: copy,
  decodeSync,
  encode: async (bytes: Uint8Array) => copy(bytes),
  decode: async (bytes: Uint8Array, options?: CodecDecodeOptions) => decodeSync(bytes, options),
});
