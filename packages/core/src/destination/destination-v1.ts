import type { DestinationError } from './destination-error.js';

/**
 * The destination contract, specification version 1.
 *
 * A destination stores archived messages as objects under keys. It is created by a factory
 * (`createFsDestination(settings)`, `createS3Destination(settings)`, ...) and must behave as
 * described here; `@sentcopy/destination-test-suite` checks that it does.
 */

/** Capabilities a destination declares, so callers can adapt without probing. */
export interface DestinationCapabilities {
  /** Whether `delete()` is implemented (used by probes and tests; archives are never deleted by sentcopy). */
  readonly delete: boolean;
  /** Whether objects can be made immutable by the store itself (S3 Object Lock, Azure immutability policy, GCS retention). */
  readonly immutability: boolean;
  /** Whether `probe()` can tell if the bucket or container is publicly readable. */
  readonly publicAccessCheck: boolean;
  /** Largest object `put()` accepts, in bytes. `undefined` means no practical limit. */
  readonly maxObjectSize?: number;
  /**
   * Order of keys in `list()`: ascending UTF-8 bytes (S3, GCS, a local folder), or ascending UTF-16
   * code units (Azure Blob Storage). The two differ only between characters U+E000–U+FFFF and
   * characters above U+FFFF (emoji). @default 'utf8'
   */
  readonly listOrder?: 'utf8' | 'utf16';
  /**
   * Whether the store may keep earlier bytes of an object after `delete()` (S3 versioning, Azure
   * blob versions and snapshots, GCS noncurrent generations), and whether the destination can
   * remove them:
   * - `none`: the store never keeps earlier versions (a local folder);
   * - `erasable`: it may, and `eraseVersions()` lists and removes every one of them;
   * - `undefined`: the destination cannot tell; an erasure then reports each object it deleted as
   *   not confirmed erased (earlier versions may remain).
   * @default undefined
   */
  readonly versions?: 'none' | 'erasable';
}

/** What `put()` writes. */
export interface PutObjectInput {
  /** Object key: `/`-separated, relative, no empty, `.` or `..` segments, no control characters; at most 1024 UTF-8 bytes. */
  readonly key: string;
  /** The exact bytes to store. */
  readonly body: Uint8Array;
  /** SHA-256 of `body`, lower-case hex. Recorded with the object and compared on a repeated put. */
  readonly sha256: string;
  /** MIME type of the stored bytes, e.g. `application/json`. */
  readonly contentType: string;
  /** Content encoding of the stored bytes, e.g. `gzip`. Omitted when the bytes are not encoded. */
  readonly contentEncoding?: string;
  /** Extra metadata recorded with the object. Keys are lower-case `[a-z0-9-]`; values are ASCII. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** What a successful `put()` reports. */
export interface PutObjectResult {
  /** The key written. */
  readonly key: string;
  /** Size of the stored object, in bytes. */
  readonly size: number;
  /** SHA-256 of the stored bytes, lower-case hex. */
  readonly sha256: string;
  /** `true` if this call created the object; `false` if an identical object was already there (idempotent retry). */
  readonly created: boolean;
}

/** Per-call options. */
export interface OperationOptions {
  /** Aborts the call. An aborted `put()` leaves either nothing or the whole object, never a partial one. */
  readonly signal?: AbortSignal;
}

/** What `head()` reports about a stored object. */
export interface ObjectInfo {
  /** The object's key. */
  readonly key: string;
  /** Size in bytes. */
  readonly size: number;
  /** SHA-256 recorded when the object was written (lower-case hex), if the store kept it. */
  readonly sha256?: string;
  /** Content type recorded with the object. */
  readonly contentType?: string;
  /** Content encoding recorded with the object. */
  readonly contentEncoding?: string;
  /** Metadata recorded with the object (as given to `put()`). */
  readonly metadata: Readonly<Record<string, string>>;
  /** When the object was written, if the store reports it. */
  readonly lastModified?: Date;
}

/** A stored object with its bytes. */
export interface StoredObject extends ObjectInfo {
  /** The exact stored bytes. */
  readonly body: Uint8Array;
}

/** Options for `list()`. */
export interface ListOptions extends OperationOptions {
  /** Only keys starting with this string. @default '' (all keys) */
  readonly prefix?: string;
  /** Continue after the page that returned this cursor. */
  readonly cursor?: string;
  /** Largest page size wanted; a destination may return fewer. @default 1000 */
  readonly limit?: number;
}

/** One entry of a listing. */
export interface ListedObject {
  /** The object's key. */
  readonly key: string;
  /** Size in bytes. */
  readonly size: number;
  /** When the object was written, if known. */
  readonly lastModified?: Date;
}

/** One page of a listing. Keys come in ascending order: UTF-8 bytes, or UTF-16 code units where `capabilities.listOrder` says so. */
export interface ListPage {
  /** The objects on this page. */
  readonly objects: readonly ListedObject[];
  /** Pass to the next `list()` call to continue; `undefined` on the last page. */
  readonly cursor?: string;
}

/** One stored version of an object and what `eraseVersions()` did with it. */
export interface ObjectVersionErasure {
  /** The store's id of this version: an S3 `VersionId` (`null` in a bucket that never had versioning), an Azure `versionId` or snapshot time, a GCS generation. */
  readonly version: string;
  /** `version`: a version holding bytes; `delete_marker`: an S3 delete marker (no bytes); `snapshot`: an Azure blob snapshot. */
  readonly type: 'version' | 'delete_marker' | 'snapshot';
  /** Whether this was the current (latest) version when listed. */
  readonly current: boolean;
  /** `erased`: removed now; `held`: the store refused (retention, legal hold, permission; see `error`); `failed`: the store could not be reached. */
  readonly outcome: 'erased' | 'held' | 'failed';
  /** Why a version was held or failed: the store's answer as a `DestinationError` (its `kind` and redacted message). */
  readonly error?: DestinationError;
}

/** What `eraseVersions()` did for one key. */
export interface EraseVersionsResult {
  /** The key (without the destination's key prefix). */
  readonly key: string;
  /** Every version the store listed for the key, in the order they were handled. Empty when the key had none. */
  readonly versions: readonly ObjectVersionErasure[];
  /** `true` when a listing after the deletes found no version of the key left (no bytes and no delete marker). */
  readonly complete: boolean;
}

/** Outcome of one probe check. */
export interface ProbeCheck {
  /** What was checked, e.g. `reachable`, `write`, `read`, `delete`, `public-access`. */
  readonly name: string;
  /** `passed`, `failed`, or `unsupported` when this store cannot answer the question. */
  readonly status: 'passed' | 'failed' | 'unsupported';
  /** A human sentence explaining the result. */
  readonly detail?: string;
}

/** What `probe()` found. */
export interface ProbeResult {
  /** `true` when the destination is reachable, writable and not public (or the public check was overridden). */
  readonly ok: boolean;
  /** Whether the bucket or container is publicly readable: `true`, `false`, or `unknown` when it cannot be checked. */
  readonly public: boolean | 'unknown';
  /** Each check that ran, in order. */
  readonly checks: readonly ProbeCheck[];
}

/** A destination implementing specification version 1. */
export interface DestinationV1 {
  /** The contract version this object implements. Core refuses versions it does not know. */
  readonly specificationVersion: 'v1';
  /** Provider name, e.g. `fs`, `s3`, `azure`, `gcs`. */
  readonly provider: string;
  /** Identifies this destination in logs and metrics, e.g. `s3://bucket/prefix`. Never contains secrets. */
  readonly id: string;
  /** What this destination can do. */
  readonly capabilities: DestinationCapabilities;
  /**
   * Write-once create. Stores `body` under `key` only if the key is absent. If the key already
   * holds an object with the same SHA-256 this is a success with `created: false`; if it holds
   * different content it throws a `DestinationError` of kind `conflict`. Never overwrites.
   */
  put(input: PutObjectInput, options?: OperationOptions): Promise<PutObjectResult>;
  /** Reads an object, or `undefined` if the key is absent. */
  get(key: string, options?: OperationOptions): Promise<StoredObject | undefined>;
  /** Reads an object's metadata, or `undefined` if the key is absent. */
  head(key: string, options?: OperationOptions): Promise<ObjectInfo | undefined>;
  /** Lists objects in ascending key order, one page at a time. */
  list(options?: ListOptions): Promise<ListPage>;
  /** Removes an object; only present when `capabilities.delete` is true. Absent keys are not an error. */
  delete?(key: string, options?: OperationOptions): Promise<void>;
  /**
   * Removes every stored version of `key` (and of anything the destination stores beside it for
   * that key), not only the current one, so no earlier bytes remain behind a delete marker: lists
   * the key's versions, deletes each by its version id, and lists again. A version the store
   * refuses to delete (retention, legal hold, permission) is reported `held` with the error and
   * the others are still deleted; it throws only when the versions cannot be listed at all. Only
   * present when `capabilities.versions` is `erasable`.
   */
  eraseVersions?(key: string, options?: OperationOptions): Promise<EraseVersionsResult>;
  /** Checks reachability, write permission and public access; never throws for a failed check. */
  probe(options?: OperationOptions): Promise<ProbeResult>;
  /** Releases connections and handles. */
  close?(): Promise<void>;
}
