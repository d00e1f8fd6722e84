import type { CodecName } from './codec.js';

const marker = Symbol.for('sentcopy.codec-error');

/**
 * What went wrong.
 * - `corrupt_input`: the bytes are not a valid, complete object of that codec (truncated, bad
 *   checksum, wrong magic number, empty).
 * - `output_too_large`: the decoded output would exceed `maxOutputBytes` (a decompression bomb, or
 *   a limit set too low).
 * - `unknown_codec`: a codec name that is not one of `codecNames`.
 * - `unavailable`: an implementation that was asked for explicitly cannot be loaded here.
 */
export type CodecErrorKind = 'corrupt_input' | 'output_too_large' | 'unknown_codec' | 'unavailable';

/** Options for {@link CodecError}. */
export interface CodecErrorOptions {
  /** The classification. */
  kind: CodecErrorKind;
  /** A human sentence: what failed and, where possible, what to do. */
  message: string;
  /** The codec involved, if known. */
  codec?: CodecName;
  /** The underlying error, e.g. the zlib or LZ4 library's own. */
  cause?: unknown;
}

/** The one error type the codecs throw. */
export class CodecError extends Error {
  private readonly [marker] = true;
  readonly kind: CodecErrorKind;
  readonly codec: CodecName | undefined;

  constructor(options: CodecErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CodecError';
    this.kind = options.kind;
    this.codec = options.codec;
  }

  /** True for a `CodecError` from any copy of this package (works across duplicate installs). */
  static isInstance(error: unknown): error is CodecError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}
