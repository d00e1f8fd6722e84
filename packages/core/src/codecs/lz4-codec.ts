import { createRequire } from 'node:module';
import type * as Lz4Napi from 'lz4-napi';
import type { Codec, CodecDecodeOptions } from './codec.js';
import { CodecError } from './codec-error.js';
import { asBuffer, corruptInput, outputTooLarge, ownedBytes, resolveMaxOutputBytes } from './bytes.js';
import type { Lz4jsCompressBlock } from './lz4-frame.js';
import { decodeLz4Js, encodeLz4FrameJs, inspectLz4 } from './lz4-frame.js';

/**
 * Which LZ4 implementation a codec uses. `native` is lz4-napi (Rust lz4_flex, prebuilt binaries);
 * `js` is lz4js's block compressor in our own frame writer, and our own bounded decoder.
 */
export type Lz4Implementation = 'native' | 'js';

/** Options for {@link createLz4Codec}. */
export interface Lz4CodecOptions {
  /**
   * `auto` uses lz4-napi when its native binding loads on this platform and falls back to pure JS
   * otherwise; `native` and `js` force one (for tests and benchmarks). Forcing `native` where the
   * binding can't load throws `CodecError` of kind `unavailable` on first use.
   * @default 'auto'
   */
  implementation?: 'auto' | Lz4Implementation;
  /**
   * Module id the native binding is loaded from; tests pass one that does not exist to exercise
   * the fallback.
   * @default 'lz4-napi'
   */
  nativeModuleId?: string;
}

/** The LZ4 codec, plus which implementation it resolved to. */
export interface Lz4Codec extends Codec {
  readonly name: 'lz4';
  /** The implementation in use; loads it on first call. */
  resolveImplementation(): Lz4Implementation;
}

interface Lz4js {
  compressBlock: Lz4jsCompressBlock;
}

const require = createRequire(import.meta.url);
const nativeModules = new Map<string, { module: typeof Lz4Napi } | { error: unknown }>();
let jsModule: Lz4js | undefined;

function loadNative(moduleId: string): { module: typeof Lz4Napi } | { error: unknown } {
  let loaded = nativeModules.get(moduleId);
  if (!loaded) {
    try {
      loaded = { module: require(moduleId) as typeof Lz4Napi };
    } catch (error) {
      loaded = { error };
    }
    nativeModules.set(moduleId, loaded);
  }
  return loaded;
}

function loadJs(): Lz4js {
  jsModule ??= require('lz4js') as Lz4js;
  return jsModule;
}

function requireNative(moduleId: string): typeof Lz4Napi {
  const loaded = loadNative(moduleId);
  if ('module' in loaded) return loaded.module;
  throw new CodecError({
    kind: 'unavailable',
    codec: 'lz4',
    message: `the native LZ4 binding (${moduleId}) can't be loaded on ${process.platform}-${process.arch}; use implementation 'auto' or 'js'`,
    cause: loaded.error,
  });
}

function encodeJs(bytes: Uint8Array): Uint8Array {
  return encodeLz4FrameJs(bytes, loadJs().compressBlock);
}

function encodeNative(native: typeof Lz4Napi, bytes: Uint8Array): Uint8Array {
  return ownedBytes(native.compressFrameSync(asBuffer(bytes), { contentChecksum: true }));
}

function decodeNative(native: typeof Lz4Napi, bytes: Uint8Array, maxOutputBytes: number): Uint8Array {
  const layout = inspectLz4(bytes);
  if (layout.declaredSize !== undefined && layout.declaredSize > maxOutputBytes) {
    throw outputTooLarge('lz4', maxOutputBytes, `declared as ${layout.declaredSize} bytes`);
  }
  // lz4-napi decodes only the first frame and has no output limit, so anything else goes to the bounded JS decoder.
  if (layout.dataFrames !== 1 || layout.skippableFrames !== 0 || layout.outputBound > maxOutputBytes) {
    return decodeLz4Js(bytes, maxOutputBytes, layout);
  }
  let output: Buffer;
  try {
    output = native.decompressFrameSync(asBuffer(bytes));
  } catch (error) {
    throw corruptInput('lz4', error instanceof Error ? error.message : String(error), error);
  }
  if (output.length > maxOutputBytes) throw outputTooLarge('lz4', maxOutputBytes, `of ${output.length} bytes`);
  if (layout.declaredSize !== undefined && output.length !== layout.declaredSize) {
    throw corruptInput('lz4', `frame declares ${layout.declaredSize} bytes but holds ${output.length}`);
  }
  return ownedBytes(output);
}

/*
 * Native whenever it loads (bench/codecs.mjs, three runs, 30 KB email JSON / 160-byte SMS JSON):
 * lz4-napi compressFrameSync encoded the email at 2.3-3.5x node:zlib gzip level 6 (570-780 MB/s)
 * and the SMS at 1.9-3.2x; lz4js compress at 0.9-1.7x and 0.25-0.5x. Synchronous everywhere
 * (`encode` wraps `encodeSync`): even a 25 MB message encodes natively in about 30-40 ms.
 */

/**
 * Creates an LZ4 codec writing the LZ4 *frame* format (magic 04 22 4D 18) with a content checksum,
 * which `lz4 -dc` opens and verifies. Decoding accepts any frame the `lz4` tool writes. Stored as
 * `application/x-lz4` without a `Content-Encoding`: HTTP has no registered LZ4 content coding, and
 * an unknown one makes clients and CDNs either try to decode the object or refuse it.
 * @internal Use `getCodec('lz4')`; the options exist for tests and benchmarks.
 */
export function createLz4Codec(options: Lz4CodecOptions = {}): Lz4Codec {
  const requested = options.implementation ?? 'auto';
  const nativeModuleId = options.nativeModuleId ?? 'lz4-napi';
  let resolved: Lz4Implementation | undefined;
  const resolveImplementation = (): Lz4Implementation => {
    resolved ??= requested === 'auto' ? ('module' in loadNative(nativeModuleId) ? 'native' : 'js') : requested;
    return resolved;
  };
  const encodeSync = (bytes: Uint8Array): Uint8Array => (resolveImplementation() === 'native' ? encodeNative(requireNative(nativeModuleId), bytes) : encodeJs(bytes));
  const decodeSync = (bytes: Uint8Array, decodeOptions?: CodecDecodeOptions): Uint8Array => {
    const maxOutputBytes = resolveMaxOutputBytes(decodeOptions);
    return resolveImplementation() === 'native' ? decodeNative(requireNative(nativeModuleId), bytes, maxOutputBytes) : decodeLz4Js(bytes, maxOutputBytes);
  };
  return Object.freeze({
    name: 'lz4',
    extension: '.lz4',
    contentType: 'application/x-lz4',
    resolveImplementation,
    encodeSync,
    decodeSync,
    encode: async (bytes: Uint8Array) => encodeSync(bytes),
    decode: async (bytes: Uint8Array, decodeOptions?: CodecDecodeOptions) => decodeSync(bytes, decodeOptions),
  });
}
