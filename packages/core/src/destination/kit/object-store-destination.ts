import { createHash } from 'node:crypto';
import { sleep } from '../../retry/index.js';
import { DestinationError } from '../destination-error.js';
import type { DestinationCapabilities, DestinationV1, EraseVersionsResult, ListOptions, ListPage, ObjectInfo, ObjectVersionErasure, OperationOptions, ProbeResult, PutObjectInput, PutObjectResult, StoredObject } from '../destination-v1.js';
import { assertValidObjectKey, maxObjectKeyBytes, objectKeyProblem } from '../object-key.js';
import { isAbortError } from '../sdk-error.js';
import { createDeadlineRunner, type DeadlineRunner } from './deadline.js';
import { ObjectMetadataCodec } from './object-metadata.js';
import type { ObjectStoreDriver, ObjectStoreEntry, ObjectStoreWrite } from './object-store-driver.js';
import { runObjectStoreProbe } from './run-object-store-probe.js';

/** Folder (below the key prefix) holding probe objects while `probe()` runs; keys under it are refused and left out of listings. */
export const probeFolder = '.sentcopy-probe/';

/** Default deadline of one store call, in milliseconds. */
export const defaultCallTimeoutMs = 60_000;

/** Options of {@link createObjectStoreDestination} besides the driver. */
export interface ObjectStoreDestinationOptions {
  /** Prefix of every object name in the store; `/` is appended when missing. @default '' */
  readonly keyPrefix?: string | undefined;
}

/** Error kinds that say the store was not reached (or was busy), not that it refused. */
const transientKinds = new Set(['unreachable', 'rate_limited', 'unknown']);

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Checks a key prefix and returns it ending in `/` (or `''`); throws `invalid` when keys under it would be invalid.
 * @param provider names the destination in the error
 */
export function normalizeKeyPrefix(prefix: unknown, provider: string): string {
  if (prefix === undefined || prefix === '') return '';
  const invalid = (message: string) => new DestinationError({ kind: 'invalid', provider, message });
  if (typeof prefix !== 'string') throw invalid('Invalid keyPrefix: it must be a string.');
  const normalized = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const problem = objectKeyProblem(`${normalized}x`);
  if (problem !== undefined) throw invalid(`Invalid keyPrefix: a key under it ${problem}.`);
  return normalized;
}

/**
 * A `DestinationV1` built from an {@link ObjectStoreDriver}: the kit owns write-once put (create if
 * absent; the same SHA-256 already there is a success; anything else a `conflict`, never an
 * overwrite), key, body and metadata validation, deadlines and aborts, the probe steps and the
 * routing of every failure through the driver's one error map.
 */
class ObjectStoreDestination implements DestinationV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider: string;
  readonly id: string;
  readonly capabilities: DestinationCapabilities;
  private readonly prefix: string;
  private readonly metadata: ObjectMetadataCodec;
  private readonly deadlines: DeadlineRunner;

  constructor(
    private readonly driver: ObjectStoreDriver,
    options: ObjectStoreDestinationOptions,
  ) {
    this.provider = driver.provider;
    this.id = driver.id;
    const versioned = typeof driver.listVersions === 'function' && typeof driver.removeVersion === 'function';
    this.capabilities = { ...driver.capabilities, delete: true, ...(versioned ? { versions: 'erasable' as const } : {}) };
    this.prefix = normalizeKeyPrefix(options.keyPrefix, driver.provider);
    this.metadata = new ObjectMetadataCodec(driver.metadata, driver.provider, driver.service);
    this.deadlines = createDeadlineRunner(driver.callTimeoutMs ?? defaultCallTimeoutMs, driver.describeTimeout?.bind(driver));
    // Callers may pass the methods around detached (`const { put } = destination`).
    if (versioned) Object.defineProperty(this, 'eraseVersions', { value: this.eraseVersionsOf.bind(this), enumerable: true });
    for (const method of ['put', 'get', 'head', 'list', 'delete', 'probe', 'close'] as const) Object.defineProperty(this, method, { value: this[method].bind(this), enumerable: true });
  }

  /** Runs one store call under the caller's signal and the call deadline. */
  call<T>(signal: AbortSignal | undefined, work: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    return this.deadlines.run(signal, work);
  }

  private invalid(message: string, key?: string): DestinationError {
    return new DestinationError({ kind: 'invalid', provider: this.provider, key, message });
  }

  /** The full object name of a caller's key; throws `invalid` for invalid, reserved or too long keys. */
  private fullName(key: unknown): string {
    assertValidObjectKey(key, this.provider);
    if (key.startsWith(probeFolder)) throw this.invalid(`Invalid object key: keys starting with "${probeFolder}" are reserved for probe objects.`, key);
    const full = this.prefix + key;
    const bytes = Buffer.byteLength(full, 'utf8');
    if (bytes > maxObjectKeyBytes) throw this.invalid(`Invalid object key: with the key prefix it takes ${bytes} UTF-8 bytes; ${this.driver.service} accepts at most ${maxObjectKeyBytes}.`, key);
    return full;
  }

  /** What a failed operation throws: the caller's abort reason, an error already mapped, or the driver's mapping. */
  failure(error: unknown, operation: string, name: string | undefined, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason ?? error;
    if (DestinationError.isInstance(error) || isAbortError(error, signal)) return error;
    return this.driver.mapError(error, operation, name);
  }

  /** A write of `body` under `name` with its metadata encoded, for `put()` and the probe. */
  writeOf(name: string, key: string, input: Pick<PutObjectInput, 'body' | 'sha256' | 'contentType' | 'contentEncoding' | 'metadata'>): ObjectStoreWrite {
    return {
      name,
      body: input.body,
      sha256: input.sha256,
      contentType: input.contentType,
      ...(input.contentEncoding === undefined ? {} : { contentEncoding: input.contentEncoding }),
      metadata: this.metadata.encode(input.metadata, input.sha256, key),
    };
  }

  /** A probe object's full name, below the reserved probe folder. */
  probeName(id: string): string {
    return `${this.prefix}${probeFolder}${id}`;
  }

  /** The SHA-256 of what `name` holds, or `undefined` when it holds nothing. */
  private async storedSha256(name: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    try {
      const entry = await this.call(signal, (abortSignal) => this.driver.stat(name, abortSignal));
      const recorded = this.metadata.recordedSha256(entry.metadata, entry.checksumSha256);
      if (recorded !== undefined) return recorded;
      // Written by something else than sentcopy, without a SHA-256: hash the bytes.
      const object = await this.call(signal, (abortSignal) => this.driver.read(name, abortSignal));
      return sha256Hex(object.body);
    } catch (error) {
      if (this.driver.isNotFound(error)) return undefined;
      throw error;
    }
  }

  private validatePut(input: PutObjectInput): void {
    if (!(input.body instanceof Uint8Array)) throw this.invalid('The object body must be a Uint8Array.', input.key);
    const max = this.driver.maxObjectBytes;
    if (input.body.byteLength > max) throw this.invalid(`The object is ${input.body.byteLength} bytes; ${this.driver.service} stores at most ${max} in one request from this destination.`, input.key);
    if (typeof input.contentType !== 'string' || input.contentType === '') throw this.invalid('The object needs a content type.', input.key);
    if (typeof input.sha256 !== 'string' || sha256Hex(input.body) !== input.sha256) throw this.invalid('The given sha256 does not match the object body.', input.key);
  }

  /** Creates `write` unless its name is taken; a taken name is resolved by SHA-256 (same: `false`; different: `conflict`). */
  private async createOnce(write: ObjectStoreWrite, key: string, signal: AbortSignal | undefined): Promise<boolean> {
    const retries = this.driver.conflictRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.call(signal, (abortSignal) => this.driver.create(write, 'archive', abortSignal));
        return true;
      } catch (error) {
        if (signal?.aborted || DestinationError.isInstance(error) || isAbortError(error, signal)) throw error;
        if (this.driver.isAlreadyExists(error)) {
          const existing = await this.storedSha256(write.name, signal);
          if (existing === write.sha256) return false;
          if (existing !== undefined) {
            const { code, status } = this.driver.errorFacts(error);
            throw new DestinationError({
              kind: 'conflict',
              provider: this.provider,
              key,
              code,
              status,
              message: `The key "${write.name}" already holds different content in ${this.driver.location}; write-once destinations never overwrite.`,
            });
          }
          // Deleted between our create and the read: try to create it again.
        } else if (this.driver.isTransientConflict?.(error) !== true) {
          throw error;
        }
        if (attempt >= retries) throw error;
        // Another write of this key is in flight; it settles within milliseconds, so back off briefly (full jitter).
        await sleep(Math.random() * Math.min(1000, 25 * 2 ** attempt), signal);
      }
    }
  }

  async put(input: PutObjectInput, options?: OperationOptions): Promise<PutObjectResult> {
    const signal = options?.signal;
    try {
      signal?.throwIfAborted();
      const name = this.fullName(input?.key);
      this.validatePut(input);
      const created = await this.createOnce(this.writeOf(name, input.key, input), input.key, signal);
      return { key: input.key, size: input.body.byteLength, sha256: input.sha256, created };
    } catch (error) {
      throw this.failure(error, 'write the object', typeof input?.key === 'string' ? this.prefix + input.key : undefined, signal);
    }
  }

  private info(key: string, entry: ObjectStoreEntry, body?: Uint8Array): ObjectInfo {
    const sha256 = this.metadata.recordedSha256(entry.metadata, entry.checksumSha256) ?? (body === undefined ? undefined : sha256Hex(body));
    return {
      key,
      size: body?.byteLength ?? entry.size,
      ...(sha256 === undefined ? {} : { sha256 }),
      ...(entry.contentType === undefined ? {} : { contentType: entry.contentType }),
      ...(entry.contentEncoding === undefined ? {} : { contentEncoding: entry.contentEncoding }),
      metadata: this.metadata.decode(entry.metadata),
      ...(entry.lastModified === undefined ? {} : { lastModified: entry.lastModified }),
    };
  }

  /** Runs `work` on the full name of `key`; an absent object gives `absent`, any other failure goes through {@link failure}. */
  private async onKey<T>(key: string, options: OperationOptions | undefined, operation: string, absent: T, work: (name: string, abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = options?.signal;
    let name: string | undefined;
    try {
      signal?.throwIfAborted();
      const full = this.fullName(key);
      name = full;
      return await this.call(signal, (abortSignal) => work(full, abortSignal));
    } catch (error) {
      if (name !== undefined && !signal?.aborted && this.driver.isNotFound(error)) return absent;
      throw this.failure(error, operation, name, signal);
    }
  }

  head(key: string, options?: OperationOptions): Promise<ObjectInfo | undefined> {
    return this.onKey(key, options, 'read the object metadata', undefined, async (name, abortSignal) => this.info(key, await this.driver.stat(name, abortSignal)));
  }

  get(key: string, options?: OperationOptions): Promise<StoredObject | undefined> {
    return this.onKey(key, options, 'read the object', undefined, async (name, abortSignal) => {
      const object = await this.driver.read(name, abortSignal);
      return { ...this.info(key, object, object.body), body: object.body };
    });
  }

  async list(options: ListOptions = {}): Promise<ListPage> {
    const signal = options.signal;
    try {
      signal?.throwIfAborted();
      const limit = options.limit ?? 1000;
      if (!Number.isInteger(limit) || limit < 1) throw this.invalid('The list limit must be a positive integer.');
      if (options.cursor !== undefined && (typeof options.cursor !== 'string' || options.cursor === '')) throw this.invalid('The list cursor is not one this destination returned.');
      if (options.prefix !== undefined && typeof options.prefix !== 'string') throw this.invalid('The list prefix must be a string.');
      const request = { prefix: this.prefix + (options.prefix ?? ''), cursor: options.cursor, limit };
      const page = await this.call(signal, (abortSignal) => this.driver.list(request, abortSignal));
      const objects = [];
      for (const entry of page.entries) {
        const key = entry.name.slice(this.prefix.length);
        // Left out: names no destination call could address (another writer's `a//b`), and probe leftovers.
        if (!entry.name.startsWith(this.prefix) || objectKeyProblem(key) !== undefined || key.startsWith(probeFolder)) continue;
        objects.push({ key, size: entry.size, ...(entry.lastModified === undefined ? {} : { lastModified: entry.lastModified }) });
      }
      return { objects, ...(page.cursor === undefined || page.cursor === '' ? {} : { cursor: page.cursor }) };
    } catch (error) {
      throw this.failure(error, 'list objects', undefined, signal);
    }
  }

  delete(key: string, options?: OperationOptions): Promise<void> {
    return this.onKey(key, options, 'delete the object', undefined, (name, abortSignal) => this.driver.remove(name, abortSignal));
  }

  eraseVersions?: (key: string, options?: OperationOptions) => Promise<EraseVersionsResult>;

  private async eraseVersionsOf(key: string, options?: OperationOptions): Promise<EraseVersionsResult> {
    const signal = options?.signal;
    const listVersions = this.driver.listVersions!.bind(this.driver);
    const removeVersion = this.driver.removeVersion!.bind(this.driver);
    let name: string | undefined;
    try {
      signal?.throwIfAborted();
      const full = this.fullName(key);
      name = full;
      const list = () => this.call(signal, (abortSignal) => listVersions(full, abortSignal));
      const versions: ObjectVersionErasure[] = [];
      const seen = new Set<string>();
      let left = await list();
      // Some stores turn a deleted current version into a new noncurrent one (Azure with versioning on): a later round erases what a round left.
      for (let round = 0; round < 3; round += 1) {
        const fresh = left.filter((entry) => !seen.has(`${entry.type}:${entry.version}:${entry.current}`));
        if (fresh.length === 0) break;
        // The current version last: an erasure interrupted midway leaves the key reading as before, not half-erased.
        for (const entry of [...fresh.filter((candidate) => !candidate.current), ...fresh.filter((candidate) => candidate.current)]) {
          seen.add(`${entry.type}:${entry.version}:${entry.current}`);
          const facts = { version: entry.version, type: entry.type, current: entry.current };
          try {
            await this.call(signal, (abortSignal) => removeVersion(full, entry, abortSignal));
            versions.push({ ...facts, outcome: 'erased' });
          } catch (error) {
            if (signal?.aborted) throw error;
            if (this.driver.isNotFound(error)) {
              versions.push({ ...facts, outcome: 'erased' });
              continue;
            }
            const mapped = this.failure(error, `delete version ${entry.version} of the object`, full, signal);
            if (!DestinationError.isInstance(mapped)) throw mapped;
            versions.push({ ...facts, outcome: transientKinds.has(mapped.kind) ? 'failed' : 'held', error: mapped });
          }
        }
        left = await list();
        if (versions.some((entry) => entry.outcome !== 'erased')) break;
      }
      return { key, versions, complete: left.length === 0 };
    } catch (error) {
      throw this.failure(error, 'list the versions of the object', name, signal);
    }
  }

  probe(options?: OperationOptions): Promise<ProbeResult> {
    return runObjectStoreProbe(this, this.driver, options?.signal);
  }

  async close(): Promise<void> {
    this.deadlines.close();
    await this.driver.close?.();
  }
}

/** The parts of the kit's destination the probe runner uses. */
export type ObjectStoreProbeHost = Pick<ObjectStoreDestination, 'call' | 'failure' | 'writeOf' | 'probeName'>;

/**
 * Builds a `DestinationV1` from a store driver: write-once put, validation, metadata rules,
 * deadlines, aborts and probe steps come from the kit; the driver brings its SDK calls and error map.
 */
export function createObjectStoreDestination(driver: ObjectStoreDriver, options: ObjectStoreDestinationOptions = {}): DestinationV1 {
  return new ObjectStoreDestination(driver, options);
}
