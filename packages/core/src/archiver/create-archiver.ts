import { DestinationError } from '../destination/destination-error.js';
import type { DestinationV1, OperationOptions } from '../destination/destination-v1.js';
import { resolveDestination } from '../destination/resolve-destination.js';
import { getCodec, type Codec, type CodecName } from '../codecs/index.js';
import { compileKeyLayout, versionKey, type KeyLayout } from '../key-layout/index.js';
import { parseKeyLayoutTemplate } from '../key-layout/key-layout-template.js';
import { getProfile, type Profile, type ProfileName } from '../profiles/index.js';
import { retryInline, RetryExhaustedError, type InlineRetryOptions } from '../retry/index.js';
import { archiveMetadataKeys, checkHere, createPrepare, type CheckedMessage, type PreparedObject } from './prepare-object.js';
import type { PreparePool } from './prepare-pool.js';
import { ledgerFactsOf } from './prepared-ledger-facts.js';
import { isLedgerKey, ledgerEntryFromFacts, ledgerPrefix, type LedgerWriter } from '../ledger/index.js';
import { MessageValidationError } from '../payload/index.js';

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
  /**
   * What happens when the message's key already holds a different copy (the same `message_id` was
   * sent twice with different content). `'version'`: both were sent, so both are kept — the first
   * stays untouched and the new one is stored write-once next to it under a version key (see
   * `versionKey`: `…/msg-1~v-<16 hex of its content SHA-256>.json.gz`); the result says
   * `version: true`. `'fail'`: the write fails with an {@link ArchiveError} of kind `conflict`
   * (the behaviour before versions existed). A conflict on the version key itself (two different
   * contents sharing 64 bits of SHA-256) is always a `conflict`.
   * @default 'version'
   */
  readonly onConflict?: 'version' | 'fail';
  /**
   * The archive ledger (`createLedgerWriter()` on the same destination): every successful write —
   * a new object, or one found already stored identical — appends one entry, and the result
   * carries its `ledgerPosition`. A repeat appends again because the archiver cannot know whether
   * the earlier entry reached a written segment; readers count each object once. The writer is
   * shared, not owned: `archiver.close()` flushes it, `ledger.close()` closes it.
   * @default none (no ledger)
   */
  readonly ledger?: LedgerWriter;
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
  /**
   * `true` when the message's own key already held a different copy, so this one was stored (or,
   * on a repeat, found) under a version key next to it; `key` is then the version key.
   */
  readonly version: boolean;
  /** The key of the first copy, when `version` is `true`. */
  readonly originalKey?: string;
  /**
   * With a ledger: the position of this object's entry; it is durable once the ledger's
   * `durablePosition` reaches it. Absent without a ledger.
   */
  readonly ledgerPosition?: number;
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
   * Runs the steps of `prepare()` that can refuse a message (validation, the profile's rendering,
   * the key layout) on the calling thread, without serializing, compressing or writing, and
   * returns the key the message would be stored under. A message `check()` accepts is one
   * `prepare()` accepts: both run the same steps, including reading an email's absent `to`,
   * `sent_at` and `message_id` from its `raw_mime` headers (`completeRawMimeMessage()`), so the
   * result's `message` is the one that would be stored. Takes the same input as `prepare()`; rejects
   * with the same `MessageValidationError` (field paths and problems, never values).
   */
  check(message: unknown): Promise<CheckedMessage>;
  /**
   * Stores one message (an object, or its JSON text in UTF-8 bytes), write-once. Resolves once the
   * object is durably stored.
   * Throws `MessageValidationError` for bad input and {@link ArchiveError} when the destination
   * keeps failing after the inline retries.
   */
  archive(message: unknown, options?: OperationOptions): Promise<ArchiveResult>;
  /** Writes an object from `prepare()`, with the same retries and error handling as `archive()`. */
  write(prepared: PreparedObject, options?: OperationOptions): Promise<ArchiveResult>;
  /** Writes the ledger's open segment (when there is a ledger) and resolves once every entry appended so far is durable. */
  close(): Promise<void>;
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
    throw new TypeError(`The key layout ends with "${ending}" but the codec is "${codec.name}" (files end with ".json${codec.extension}"). ` + 'Change the layout or the codec so stored files open with the right tool.');
  }
}

/**
 * Creates the library entry point: validate a message, render it with a profile, encode it,
 * key it with a layout and store it write-once, retrying quickly within a budget.
 */
export function createArchiver(options: ArchiverOptions): Archiver {
  const destination = resolveDestination(options.destination);
  const profile = typeof options.profile === 'object' ? options.profile : getProfile(options.profile ?? 'sentcopy');
  const layout = typeof options.layout === 'object' ? options.layout : compileKeyLayout(options.layout ?? profile.layout, options.recipientKey === undefined ? {} : { recipientKey: options.recipientKey });
  const codec = typeof options.codec === 'object' ? options.codec : getCodec(options.codec ?? profile.codec);
  assertLayoutMatchesCodec(layout, codec);
  const retry = options.retry;

  const prepare = createPrepare(profile, layout, codec, options.preparePool);

  const ledger = options.ledger;
  if (ledger !== undefined && ledger.destination.id !== destination.id) {
    throw new TypeError(`The ledger writes to ${ledger.destination.id}, not to the archiver's destination ${destination.id}: a ledger lives beside the archive it lists.`);
  }

  const onConflict = options.onConflict ?? 'version';
  if (onConflict !== 'version' && onConflict !== 'fail') throw new TypeError(`onConflict must be "version" or "fail", not ${JSON.stringify(onConflict)}.`);

  interface Stored {
    readonly key: string;
    readonly size: number;
    readonly sha256: string;
    readonly created: boolean;
    readonly version: boolean;
    readonly originalKey?: string;
  }

  /** Puts the prepared object under `key`; the destination's `conflict` error when the key holds a different copy. */
  async function putAt(prepared: PreparedObject, key: string, signal: AbortSignal | undefined): Promise<{ key: string; size: number; sha256: string; created: boolean } | DestinationError> {
    try {
      return await destination.put(
        {
          key,
          body: prepared.body,
          sha256: prepared.sha256,
          contentType: prepared.contentType,
          ...(prepared.contentEncoding === undefined ? {} : { contentEncoding: prepared.contentEncoding }),
          metadata: prepared.metadata,
        },
        { signal },
      );
    } catch (error) {
      if (!DestinationError.isInstance(error) || error.kind !== 'conflict') throw error;
      // A copy written by another sentcopy version may be compressed differently; same JSON is the same copy.
      const existing = await destination.head(key, { signal });
      if (existing?.metadata[archiveMetadataKeys.contentSha256] === prepared.contentSha256) {
        return { key, size: existing.size, sha256: existing.sha256 ?? prepared.sha256, created: false };
      }
      // Gone between the put and the head (a probe's delete, a lifecycle rule): the error stands, and a retry decides.
      if (existing === undefined) throw error;
      return error;
    }
  }

  function conflictError(key: string, message: string): DestinationError {
    return new DestinationError({ kind: 'conflict', provider: destination.provider, key, message });
  }

  async function putOnce(prepared: PreparedObject, signal: AbortSignal | undefined): Promise<Stored> {
    const stored = await putAt(prepared, prepared.key, signal);
    if (!DestinationError.isInstance(stored)) return { ...stored, version: false };
    if (onConflict === 'fail') throw stored;
    const alternate = versionKey(prepared.key, prepared.contentSha256);
    if (alternate === undefined) {
      throw conflictError(prepared.key, `The key ${prepared.key} already holds a different copy of this message, and a version key next to it would exceed the 1024-byte key limit.`);
    }
    const version = await putAt(prepared, alternate, signal);
    if (DestinationError.isInstance(version)) {
      throw conflictError(alternate, `Both ${prepared.key} and its version key ${alternate} hold different copies (their content SHA-256 share the first 64 bits); nothing was overwritten.`);
    }
    return { ...version, version: true, originalKey: prepared.key };
  }

  const toResult = (stored: Stored, attempts: number): ArchiveResult => ({
    key: stored.key,
    size: stored.size,
    sha256: stored.sha256,
    created: stored.created,
    attempts,
    version: stored.version,
    ...(stored.originalKey === undefined ? {} : { originalKey: stored.originalKey }),
  });

  function recorded(result: ArchiveResult, prepared: PreparedObject): ArchiveResult {
    if (ledger === undefined) return result;
    const position = ledger.append(ledgerEntryFromFacts(ledgerFactsOf(prepared), result, { recipientHash: ledger.recipientHash, storedAt: Date.now() }));
    return { ...result, ledgerPosition: position };
  }

  async function write(prepared: PreparedObject, callOptions: OperationOptions = {}): Promise<ArchiveResult> {
    const signal = callOptions.signal;
    if (isLedgerKey(prepared.key)) {
      throw new ArchiveError({
        kind: 'invalid',
        reason: `keys under ${ledgerPrefix} are reserved for the archive ledger; change the message's fields that form the first key segment, or the layout (invalid)`,
        attempts: 0,
        key: prepared.key,
        cause: undefined,
      });
    }
    try {
      if (retry === false) {
        return recorded(toResult(await putOnce(prepared, signal), 1), prepared);
      }
      const { value, attempts } = await retryInline(() => putOnce(prepared, signal), { ...retry, signal: signal ?? retry?.signal });
      return recorded(toResult(value, attempts), prepared);
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

  const checkMessage = checkHere(profile, layout);
  // The field that forms the key's first segment is the one to name when it would reach the ledger's prefix.
  const firstField = parseKeyLayoutTemplate(layout.template).segments[0]?.find((part) => part.kind === 'placeholder')?.first.field ?? 'key';
  const check = async (message: unknown): Promise<CheckedMessage> => {
    const checked = await checkMessage(message);
    if (isLedgerKey(checked.key)) throw new MessageValidationError([{ path: firstField, problem: `must not make a key under ${ledgerPrefix}, which is reserved for the archive ledger` }]);
    return checked;
  };

  return {
    destination,
    profile,
    layout,
    codec,
    prepare,
    check,
    write,
    archive: async (message, callOptions) => write(await prepare(message), callOptions),
    close: async () => {
      if (ledger !== undefined) await ledger.flush();
    },
  };
}
