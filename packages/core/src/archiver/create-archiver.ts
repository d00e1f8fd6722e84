import { DestinationError } from '../destination/destination-error.js';
import type { DestinationV1, OperationOptions } from '../destination/destination-v1.js';
import { resolveDestination } from '../destination/resolve-destination.js';
import { getCodec, type Codec, type CodecName } from '../codecs/index.js';
import { compileKeyLayout, type KeyLayout } from '../key-layout/index.js';
import { parseMessage, serializeJson, sha256Hex, type Message } from '../payload/index.js';
import { getProfile, type Profile, type ProfileName } from '../profiles/index.js';
import { retryInline, RetryExhaustedError, type InlineRetryOptions } from '../retry/index.js';

/** Options for {@link createArchiver}. */
export interface ArchiverOptions {
  /** Where objects are written: any destination implementing contract v1. */
  readonly destination: DestinationV1;
  /** How the stored JSON is shaped: sentcopy's own, or a vendor-compatible profile. @default 'sentcopy' */
  readonly profile?: ProfileName | Profile;
  /** Key template (or a compiled layout). @default the profile's layout */
  readonly layout?: string | KeyLayout;
  /** Compression of the stored object. @default the profile's codec */
  readonly codec?: CodecName | Codec;
  /**
   * Quick inline retries for callers that wait (before-send). `false` makes exactly one attempt,
   * for callers that schedule retries themselves (the worker's durable queue).
   * @default { budgetMs: 10000, maxAttempts: 4 } with the default retry policy
   */
  readonly retry?: InlineRetryOptions | false;
}

/** Metadata keys sentcopy records with every object. */
export const archiveMetadataKeys = {
  /** Payload format version (`1`). */
  payloadVersion: 'sentcopy-payload-version',
  /** Profile the JSON was rendered with. */
  profile: 'sentcopy-profile',
  /** The message's channel. */
  channel: 'sentcopy-channel',
  /** SHA-256 of the uncompressed JSON (stays stable if a codec's output ever changes). */
  contentSha256: 'sentcopy-content-sha256',
} as const;

/** An object ready to be written: what `prepare()` computes and `archive()` writes. */
export interface PreparedObject {
  /** The validated message. */
  readonly message: Message;
  /** Object key from the layout. */
  readonly key: string;
  /** The stored bytes: the rendered JSON, encoded by the codec. */
  readonly body: Uint8Array;
  /** SHA-256 of `body` (the stored bytes), lower-case hex. */
  readonly sha256: string;
  /** SHA-256 of the uncompressed JSON, lower-case hex. */
  readonly contentSha256: string;
  /** MIME type recorded with the object. */
  readonly contentType: string;
  /** Content encoding recorded with the object, if any. */
  readonly contentEncoding?: string;
  /** Metadata recorded with the object (see {@link archiveMetadataKeys}). */
  readonly metadata: Readonly<Record<string, string>>;
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
  /** Validates, renders, encodes and hashes a message without writing it. Throws `MessageValidationError` on bad input. */
  prepare(message: unknown): Promise<PreparedObject>;
  /**
   * Stores one message, write-once. Resolves once the object is durably stored.
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
    typeof options.layout === 'object' ? options.layout : compileKeyLayout(options.layout ?? profile.layout);
  const codec = typeof options.codec === 'object' ? options.codec : getCodec(options.codec ?? profile.codec);
  assertLayoutMatchesCodec(layout, codec);
  const retry = options.retry;

  async function prepare(input: unknown): Promise<PreparedObject> {
    const message = parseMessage(input);
    const key = layout.render(message);
    const json = serializeJson(profile.render(message));
    const body = await codec.encode(json);
    const contentSha256 = sha256Hex(json);
    return {
      message,
      key,
      body,
      sha256: sha256Hex(body),
      contentSha256,
      contentType: codec.contentType,
      ...(codec.contentEncoding === undefined ? {} : { contentEncoding: codec.contentEncoding }),
      metadata: {
        [archiveMetadataKeys.payloadVersion]: '1',
        [archiveMetadataKeys.profile]: profile.name,
        [archiveMetadataKeys.channel]: message.channel,
        [archiveMetadataKeys.contentSha256]: contentSha256,
      },
    };
  }

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
