export { codecNames, defaultMaxOutputBytes } from './codec.js';
export type { Codec, CodecDecodeOptions, CodecName } from './codec.js';
export { CodecError } from './codec-error.js';
export type { CodecErrorKind, CodecErrorOptions } from './codec-error.js';
export { detectCodec, getCodec, isCodecName } from './get-codec.js';
export { createLz4Codec } from './lz4-codec.js';
export type { Lz4Codec, Lz4CodecOptions, Lz4Implementation } from './lz4-codec.js';
