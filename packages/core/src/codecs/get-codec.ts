import type { Codec, CodecName } from './codec.js';
import { codecNames } from './codec.js';
import { CodecError } from './codec-error.js';
import { gzipCodec } from './gzip-codec.js';
import { createLz4Codec } from './lz4-codec.js';
import { noneCodec } from './none-codec.js';

const codecs: Readonly<Record<CodecName, Codec>> = { gzip: gzipCodec, lz4: createLz4Codec(), none: noneCodec };

/** True when `name` is one of {@link codecNames}. */
export function isCodecName(name: string): name is CodecName {
  return (codecNames as readonly string[]).includes(name);
}

/** The shared codec called `name`; throws `CodecError` of kind `unknown_codec` listing the valid names otherwise. */
export function getCodec(name: string): Codec {
  if (!isCodecName(name)) {
    throw new CodecError({ kind: 'unknown_codec', message: `unknown codec ${JSON.stringify(name)}; valid codecs: ${codecNames.join(', ')}` });
  }
  return codecs[name];
}

/**
 * Which codec wrote `bytes`, by magic number: gzip `1f 8b`, LZ4 frame `04 22 4d 18`, anything else
 * `none`. Does not validate the rest; `decode` does.
 */
export function detectCodec(bytes: Uint8Array): CodecName {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gzip';
  if (bytes.length >= 4 && bytes[0] === 0x04 && bytes[1] === 0x22 && bytes[2] === 0x4d && bytes[3] === 0x18) return 'lz4';
  return 'none';
}
