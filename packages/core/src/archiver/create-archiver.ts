import { DestinationError } from '../destination/destination-error.js';
import type { DestinationV1, OperationOptions } from '../destination/destination-v1.js';
import { resolveDestination } from '../destination/resolve-destination.js';
import { getCodec, type Codec, type CodecName } from '../codecs/index.js';
import { compileKeyLayout, type KeyLayout } from '../key-layout/index.js';
import { getProfile, type Profile, type ProfileName } from '../profiles/index.js';
import { retryInline, RetryExhaustedError, type InlineRetryOptions } from '../retry/index.js';
import { archiveMetadataKeys, createPrepare, type PreparedObject } from './prepare-object.js';
import type { PreparePool } from './prepare-pool.js';

/** Options for {@link createArchiver}. */
export interface ArchiverOptions {
  /** Where objects are written: any destination implementing contract v1. */
  readonly destination: DestinationV1;
  /** How the stored JSON is shaped: sentcopy's own, or a vendor-compatible profile. @default 'sentcopy' */
  readonly profile?: ProfileName | Profile;
  /**
   * Key template, preset name (`sentcopy`, `sentcopy-unkeyed`, `braze`, `clevertap`, `iterable`),
   * or a compiled layout. @default the profile's layout (for the `sentcopy` profile: the `sentcopy`
   * preset, which needs `recipientKey`)
   */
  readonly layout?: string | KeyLayout;
  /**
   * The per-deployment secret of `{hmac(recipient)}`, which sentcopy's default layout uses to key
   * recipients: a string (its UTF-8 bytes) or bytes, at least 16 bytes (32 random bytes
   * recommended). Read it from the environment or a secret store, e.g.
   * `process.env.SENTCOPY_RECIPIENT_KEY`. Required with the default layout: without it,
   * `createArchiver()` throws a `RecipientKeyError` naming this option (pass
   * `layout: 'sentcopy-unkeyed'` to keep the plain SHA-256 keys of earlier versions instead).
   * Keep it for as long as the archive: messages stored under one secret are not found by
   * recipient with another. Ignored when `layout` is a compiled `KeyLayout`. @default none
   */
  readonly recipientKey?: string | Uint8Array;
  /** Compression of the stored object. @default the profile's codec */
  readonly codec?: CodecName | Codec;
  /**
   * Quick inline retries for callers that wait (before-send). `false` makes exactly one attempt,
   * for callers that schedule retries themselves (the worker's durable queue).
   * @default { budgetMs: 10000, maxAttempts: 4 } with the default retry policy
   */
  readonly retry?: InlineRetryOptions | false;
  /**
   * Prepares messages (validate, render, encode, hash, key) on the pool's worker threads instead of
   * the calling thread, which then only writes: for high-throughput callers whose event loop is the
   * bottleneck. Needs a built-in profile and codec (they are rebuilt by name in the threads). The
   * pool is shared, not owned: close it yourself. @default none (prepare on the calling thread)
   */
  readonly preparePool?: PreparePool;
}

/** What `archive()` reports once the copy is stored. */
export interface ArchiveResult {
  /** The object's key. */
  readonly key: string;
  /** Size of the stored object, in bytes. */
  readonly size: number;
  /** SHA-256 of the stored bytes, lower-case hex. */
  readonly sha256: string;
  /** `false` when an identical copy was already stored (a repeated archive of the same message). */
  readonly created: boolean;
  /** Attempts made, the first included. */
  readonly attempts: number;
}

/** Archives messages into one destination. */
export interface Archiver {
  /** The destination written to. */
  readonly destination: DestinationV1;
  /** The profile in use. */
  readonly profile: Profile;
  /** The compiled key layout in use. */
  readonly layout: KeyLayout;
  /** The codec in use. */
  readonly codec: Codec;
  /**
   * Validates, renders, encodes and hashes a message without writing it. Takes the message as an
   * object, or as its JSON text in UTF-8 bytes (a `Uint8Array`, parsed here). Throws
   * `MessageValidationError` on bad input.
   */
  prepare(message: unknown): Promise<PreparedObject>;
  /**
   * Stores one message (an object, or its JSON text in UTF-8 bytes), write-once. Resolves once the
   * object is durably stored.
   * Throws `MessageValidationError` for bad input and {@link ArchiveError} when the destination
   * keeps failing after the inline retries.
   */
  archive(message: unknown, options?: OperationOptions): Promise<ArchiveResult>;
  /** Writes an object from `prepare()`, with the same retries and error handling as `archive()`. */
  write(prepared: PreparedObject, options?: OperationOptions): Promise<ArchiveResult>;
}

const marker = Symbol.for('sentcopy.archive-error');

/** "Failed to archive": the message was valid but could not be stored. */
export class ArchiveError extends Error {
  private readonly [marker] = true;
  /** Kind of the last destination error. */
  readonly kind: DestinationError['kind'];
  /** Why no further attempt was made. */
  readonly reason: string;
  /** Attempts made, the first included. */
  readonly attempts: number;
  /** Key the message was to be stored under. */
  readonly key: string;

  constructor(options: { kind: DestinationError['kind']; reason: string; attempts: number; key: string; cause: unknown }) {
    super(`Failed to archive ${options.key}: ${options.reason}`, { cause: options.cause });
    this.name = 'ArchiveError';
    this.kind = options.kind;
    this.reason = options.reason;
    this.attempts = options.attempts;
    this.key = options.key;
  }

  /** True for this error from any copy of this package. */
  static isInstance(error: unknown): error is ArchiveError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}

/** Throws a `TypeError` when the layout's file extension contradicts the codec (e.g. `.json.gz` with lz4). */
function assertLayoutMatchesCodec(layout: KeyLayout, codec: Codec): void {
  const known = ['.json.gz', '.json.lz4', '.json'];
  const ending = known.find((suffix) => layout.template.endsWith(suffix));
  if (ending !== undefined && ending !== `.json${codec.extension}`) {
    throw new TypeError(
      `The key layout ends with "${ending}" but the codec is "${codec.name}" (files end with ".json${codec.extension}"). ` +
        'Change the layout or the codec so stored files open with the right tool.',
    );
  }
}

/**
 * Creates the library entry point: validate a message, render it with a profile, encode it,
 * key it with a layout and store it write-once, retrying quickly within a budget.
 */
export function createArchiver(options: ArchiverOptions): Archiver {
  const destination = resolveDestination(options.destination);
  const profile = typeof options.profile === 'object' ? options.profile : getProfile(options.profile ?? 'sentcopy');
  const layout =
    typeof options.layout === 'object'
      ? options.layout
      : compileKeyLayout(options.layout ?? profile.layout, options.recipientKey === undefined ? {} : { recipientKey: options.recipientKey });
  const codec = typeof options.codec === 'object' ? options.codec : getCodec(options.codec ?? profile.codec);
  assertLayoutMatchesCodec(layout, codec);
  const retry = options.retry;

  const prepare = createPrepare(profile, layout, codec, options.preparePool);

  async function putOnce(prepared: PreparedObject, signal: AbortSignal | undefined) {
    try {
      return await destination.put(
        {
          key: prepared.key,
          body: prepared.body,
          sha256: prepared.sha256,
          contentType: prepared.contentType,
          ...(prepared.contentEncoding === undefined ? {} : { contentEncoding: prepared.contentEncoding }),
          metadata: prepared.metadata,
        },
        { signal },
      );
    } catch (error) {
      // A copy written by another sentcopy version may be compressed differently; same JSON is the same copy.
      if (DestinationError.isInstance(error) && error.kind === 'conflict') {
        const existing = await destination.head(prepared.key, { signal });
        if (existing?.metadata[archiveMetadataKeys.contentSha256] === prepared.contentSha256) {
          return { key: prepared.key, size: existing.size, sha256: existing.sha256 ?? prepared.sha256, created: false };
        }
      }
      throw error;
    }
  }

  async function write(prepared: PreparedObject, callOptions: OperationOptions = {}): Promise<ArchiveResult> {
    const signal = callOptions.signal;
    try {
      if (retry === false) {
        const stored = await putOnce(prepared, signal);
        return { key: stored.key, size: stored.size, sha256: stored.sha256, created: stored.created, attempts: 1 };
      }
      const { value, attempts } = await retryInline(() => putOnce(prepared, signal), { ...retry, signal: signal ?? retry?.signal });
      return { key: value.key, size: value.size, sha256: value.sha256, created: value.created, attempts };
    } catch (error) {
      if (RetryExhaustedError.isInstance(error)) {
        throw new ArchiveError({
          kind: error.kind,
          reason: `${error.lastError.message} (${error.kind}; ${error.attempts} attempt${error.attempts === 1 ? '' : 's'}; ${error.reason})`,
          attempts: error.attempts,
          key: prepared.key,
          cause: error,
        });
      }
      if (DestinationError.isInstance(error)) {
        throw new ArchiveError({ kind: error.kind, reason: `${error.message} (${error.kind})`, attempts: 1, key: prepared.key, cause: error });
      }
      throw error;
    }
  }

  return {
    destination,
    profile,
    layout,
    codec,
    prepare,
    write,
    archive: async (message, callOptions) => write(await prepare(message), callOptions),
  };
}
