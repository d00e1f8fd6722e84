import type { DestinationError } from '../destination-error.js';
import type { DestinationCapabilities, ProbeCheck } from '../destination-v1.js';
import type { SdkErrorFacts } from '../sdk-error.js';

/** One object as the kit hands it to {@link ObjectStoreDriver.create}: names and metadata already in the store's terms. */
export interface ObjectStoreWrite {
  /** Full object name in the store (the key prefix included). */
  readonly name: string;
  /** The exact bytes to store. */
  readonly body: Uint8Array;
  /** SHA-256 of `body`, lower-case hex (already checked against the body). */
  readonly sha256: string;
  /** MIME type to record. */
  readonly contentType: string;
  /** Content encoding to record, when the bytes are encoded. */
  readonly contentEncoding?: string;
  /** Metadata to record, names already encoded for the store, the SHA-256 record included. */
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Why the kit writes: an archived object (carries retention, holds, locks), a probe object (must be
 * removable: no retention or holds), or the immutability probe (see {@link ObjectStoreImmutabilityProbe}).
 */
export type ObjectStoreWritePurpose = 'archive' | 'probe';

/** What a store reports about one stored object. */
export interface ObjectStoreEntry {
  /** Size in bytes. */
  readonly size: number;
  /** Content type recorded with the object. */
  readonly contentType?: string | undefined;
  /** Content encoding recorded with the object. */
  readonly contentEncoding?: string | undefined;
  /** Metadata as stored (encoded names, the SHA-256 record included); the kit decodes it. */
  readonly metadata: Readonly<Record<string, string>>;
  /** A SHA-256 the store itself verified and keeps (S3's `x-amz-checksum-sha256`), lower-case hex, when there is one. */
  readonly checksumSha256?: string | undefined;
  /** When the object was written, if the store says. */
  readonly lastModified?: Date | undefined;
}

/** One object read back, with its bytes. */
export interface ObjectStoreBody extends ObjectStoreEntry {
  /** The exact stored bytes (never decompressed). */
  readonly body: Uint8Array;
}

/** One entry of a listing page, by full name. */
export interface ObjectStoreListEntry {
  /** Full object name in the store (the key prefix included). */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /** When the object was written, if known. */
  readonly lastModified?: Date | undefined;
}

/** What {@link ObjectStoreDriver.list} is asked for. */
export interface ObjectStoreListRequest {
  /** Full-name prefix (the key prefix included). */
  readonly prefix: string;
  /** The store's continuation token from the previous page. */
  readonly cursor?: string | undefined;
  /** Largest page wanted; the driver may cap it at the store's own maximum. */
  readonly limit: number;
}

/** One page of a listing in store order (ascending). */
export interface ObjectStoreListPage {
  /** Entries on this page. */
  readonly entries: readonly ObjectStoreListEntry[];
  /** The store's continuation token; `undefined` on the last page. */
  readonly cursor?: string | undefined;
}

/** One stored version of an object, as {@link ObjectStoreDriver.listVersions} reports it. */
export interface ObjectStoreVersion {
  /** The store's version id: what {@link ObjectStoreDriver.removeVersion} is given back. */
  readonly version: string;
  /** `version` (bytes), `delete_marker` (S3, no bytes) or `snapshot` (Azure). */
  readonly type: 'version' | 'delete_marker' | 'snapshot';
  /** Whether it is the current (latest) version. */
  readonly current: boolean;
}

/** How the store records metadata. */
export interface ObjectStoreMetadataRules {
  /** Metadata name under which the kit records the SHA-256, in the store's spelling (e.g. `sentcopy-sha256`). */
  readonly sha256Name: string;
  /** Largest total of recorded names and values, in bytes, the SHA-256 record included. */
  readonly maxBytes: number;
  /** Whether values that start or end with spaces are refused (HTTP headers drop them). @default true */
  readonly refusePaddedValues?: boolean;
  /** Turns a caller's name (`[a-z0-9-]`) into the store's spelling; must reverse exactly with `decodeName`. @default identity */
  encodeName?(name: string): string;
  /** Reverses `encodeName`. @default identity */
  decodeName?(stored: string): string;
}

/**
 * The immutability write check: the probe writes one object with the retention archived objects
 * carry (a two-second one), so a store that refuses it fails the probe instead of every message.
 */
export interface ObjectStoreImmutabilityProbe {
  /** Name of the probe check, e.g. `object-lock`, `retention`. */
  readonly checkName: string;
  /** What is written, for the check's sentences, e.g. `the configured Object Lock settings`. */
  readonly setting: string;
  /** Whether the object can be removed only once the retention has passed (the kit then waits about 2.25 s). */
  readonly waitForRetention: boolean;
  /** Writes `write` with a retention until `retainUntil`; returns the version to remove, if the store versions objects. */
  create(write: ObjectStoreWrite, retainUntil: Date, signal: AbortSignal): Promise<string | undefined>;
  /** Removes the probe object (and `version`, when given). */
  remove(name: string, version: string | undefined, signal: AbortSignal): Promise<void>;
  /** A sentence appended when the write fails, saying how to fix the store or the settings; may be empty. */
  hint(error: unknown): string;
  /** Appended to the passed sentence, e.g. ` (COMPLIANCE retention)`. */
  readonly passedSuffix?: string;
}

/** What a driver's public-access check found. */
export interface ObjectStorePublicAccess {
  /** Whether the bucket or container is publicly readable. */
  readonly public: boolean | 'unknown';
  /** The `public-access` probe check. */
  readonly check: ProbeCheck;
}

/** Turns an error into the destination's human sentence (its one error map); rethrows aborts. */
export type DescribeError = (error: unknown, operation: string, name?: string) => string;

/**
 * The store-specific half of an object-store destination: its SDK calls and its one error map.
 * {@link createObjectStoreDestination} adds the rest (write-once put, key and input validation,
 * metadata rules, deadlines, aborts, probe steps). Every method receives full object names (the
 * key prefix included) and an `AbortSignal` it must pass to the SDK; errors are thrown as the SDK
 * threw them and are mapped by {@link mapError}.
 */
export interface ObjectStoreDriver {
  /** Provider id, e.g. `s3`. */
  readonly provider: string;
  /** The store as users know it, e.g. `S3`, `Azure Blob Storage`; used in sentences. */
  readonly service: string;
  /** Where objects land, for sentences, e.g. `S3 bucket "archive"`. */
  readonly location: string;
  /** The destination id, e.g. `s3://bucket/prefix/`. Never contains secrets. */
  readonly id: string;
  /** What the destination can do (`delete` is always implemented by the kit). */
  readonly capabilities: DestinationCapabilities;
  /** Largest body one `create()` may send, in bytes. */
  readonly maxObjectBytes: number;
  /** How the store records metadata. */
  readonly metadata: ObjectStoreMetadataRules;
  /** The precondition the driver's `create()` sends, for sentences, e.g. `If-None-Match: *`. */
  readonly createCondition: string;
  /** How often a write of a key another writer is racing (see {@link isTransientConflict}) is retried. @default 3 */
  readonly conflictRetries?: number;
  /** Deadline of one store call, in milliseconds; `Infinity` when the SDK enforces its own timeouts. @default 60000 */
  readonly callTimeoutMs?: number;
  /** What the `ETIMEDOUT` error of a missed deadline says. @default `no complete answer within <ms> ms` */
  describeTimeout?(timeoutMs: number): string;

  /** Conditional create: stores `write` only if `write.name` is absent (S3/Azure `If-None-Match: *`, GCS `ifGenerationMatch=0`). */
  create(write: ObjectStoreWrite, purpose: ObjectStoreWritePurpose, signal: AbortSignal): Promise<void>;
  /** True when `create()` failed because the name already holds an object. */
  isAlreadyExists(error: unknown): boolean;
  /** True when `create()` failed because another write of the same name is in flight (S3 409 ConditionalRequestConflict): retried after a short jittered pause. */
  isTransientConflict?(error: unknown): boolean;
  /** Reads an object's properties; throws the SDK's not-found error when absent. */
  stat(name: string, signal: AbortSignal): Promise<ObjectStoreEntry>;
  /** Reads an object with its exact bytes; throws the SDK's not-found error when absent. */
  read(name: string, signal: AbortSignal): Promise<ObjectStoreBody>;
  /** Lists one page of names under a prefix, ascending. */
  list(request: ObjectStoreListRequest, signal: AbortSignal): Promise<ObjectStoreListPage>;
  /** Removes an object; may throw the SDK's not-found error when absent. */
  remove(name: string, signal: AbortSignal): Promise<void>;
  /**
   * Every stored version of exactly `name` (not of other names sharing it as a prefix): versions,
   * delete markers, snapshots, noncurrent generations. Present when the store may keep earlier
   * versions; the kit then declares `capabilities.versions: 'erasable'` and offers `eraseVersions()`.
   */
  listVersions?(name: string, signal: AbortSignal): Promise<readonly ObjectStoreVersion[]>;
  /** Removes one version listed by {@link listVersions}; may throw the SDK's not-found error when it is already gone. */
  removeVersion?(name: string, version: ObjectStoreVersion, signal: AbortSignal): Promise<void>;
  /** True when `error` says the object is absent (not the bucket). */
  isNotFound(error: unknown): boolean;
  /** The store's error code and HTTP status of `error`, for the conflict error and probe sentences. */
  errorFacts(error: unknown): SdkErrorFacts;
  /** The one error map: anything the SDK threw to a `DestinationError`. `name` is the full object name, if any. */
  mapError(error: unknown, operation: string, name: string | undefined): DestinationError;

  /**
   * The `reachable` probe check. Returns a `failed` check (with a sentence) rather than throwing
   * when the store says no; `state` is handed to {@link checkPublicAccess}.
   */
  checkReachable(signal: AbortSignal, describe: DescribeError): Promise<{ readonly check: ProbeCheck; readonly state?: unknown }>;
  /** The `public-access` probe check; `state` is what {@link checkReachable} returned. */
  checkPublicAccess(signal: AbortSignal, describe: DescribeError, state: unknown): Promise<ObjectStorePublicAccess>;
  /** The immutability write check, when the settings ask for immutability. */
  readonly immutabilityProbe?: ObjectStoreImmutabilityProbe | undefined;
  /** Why the probe cannot read its object back (e.g. Azure's Archive tier); the `read` check is then `unsupported`. */
  readonly probeReadUnsupported?: string | undefined;
  /** Releases what the driver owns (e.g. an SDK client it created). */
  close?(): Promise<void> | void;
}
