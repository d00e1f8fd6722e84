/** The codecs an archive object can be stored with. */
export type CodecName = 'gzip' | 'lz4' | 'none';

/** Every codec name, in a stable order (useful for validation, help texts and metrics). */
export const codecNames: readonly CodecName[] = Object.freeze(['gzip', 'lz4', 'none'] as const);

/**
 * Largest decoded output {@link Codec.decode} accepts unless told otherwise, in bytes (64 MiB).
 * Well above the largest message a provider sends (about 25 MB with attachments), well below what
 * would hurt a worker.
 */
export const defaultMaxOutputBytes = 64 * 1024 * 1024;

/** Options for {@link Codec.decode} and {@link Codec.decodeSync}. */
export interface CodecDecodeOptions {
  /**
   * Largest decoded output accepted, in bytes; larger output throws a `CodecError` of kind
   * `output_too_large` (a decompression bomb). Decoding stops as soon as the output passes the
   * limit (LZ4 frames whose headers already prove it are refused before decoding), so a bomb costs
   * at most about twice this much memory, briefly. A non-negative integer, or `Infinity` for no limit.
   * @default 67108864 (64 MiB, {@link defaultMaxOutputBytes})
   */
  maxOutputBytes?: number;
}

/**
 * How one archive object's bytes are compressed. Stateless and safe to share; every method returns
 * a new `Uint8Array` that owns its whole `ArrayBuffer`, never a view into a shared pool.
 */
export interface Codec {
  /** The codec's name, as used in settings and by {@link getCodec}. */
  readonly name: CodecName;
  /** Key suffix appended after `.json`: `.gz`, `.lz4`, or `''` for no compression. */
  readonly extension: string;
  /** MIME type to store the object with (the `Content-Type` metadata). */
  readonly contentType: string;
  /** HTTP content coding to store the object with (the `Content-Encoding` metadata); absent when there is none. */
  readonly contentEncoding?: string;
  /** Compresses `bytes`. Deterministic: the same input always gives the same bytes on the same machine. */
  encode(bytes: Uint8Array): Promise<Uint8Array>;
  /** Decompresses `bytes`; throws `CodecError` on corrupt or truncated input and on output over `maxOutputBytes`. */
  decode(bytes: Uint8Array, options?: CodecDecodeOptions): Promise<Uint8Array>;
  /** Synchronous {@link Codec.encode}; blocks the event loop for the whole call. */
  encodeSync(bytes: Uint8Array): Uint8Array;
  /** Synchronous {@link Codec.decode}; blocks the event loop for the whole call. */
  decodeSync(bytes: Uint8Array, options?: CodecDecodeOptions): Uint8Array;
}
