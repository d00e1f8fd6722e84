import { createHash, randomUUID } from 'node:crypto';
import type { Bucket, File, Storage } from '@google-cloud/storage';
import {
  assertValidObjectKey,
  DestinationError,
  isAbortError,
  maxObjectKeyBytes,
  objectKeyProblem,
  sleep,
  type DestinationV1,
  type ListedObject,
  type ObjectInfo,
  type ProbeCheck,
  type PutObjectInput,
  type PutObjectResult,
} from '@sentcopy/core';
import { createGcsStorage } from './create-gcs-storage.js';
import type { GcsDestinationSettings } from './gcs-destination-settings.js';
import { gcsErrorFacts, isObjectNotFound, isPreconditionFailed, mapGcsError } from './map-gcs-error.js';
import { checkPublicAccess } from './public-access.js';

const provider = 'gcs';

/** Custom-metadata name under which `put()` records the object's SHA-256 (hex); refused in caller metadata. */
export const sha256MetadataName = 'sentcopy-sha256';

/** Largest object `put()` sends in one request, in bytes (GCS's object limit is 5 TiB; one in-memory request is kept to 5 GiB). */
export const maxGcsObjectBytes = 5 * 1024 ** 3;

/** Largest total of custom-metadata names and values GCS accepts, in bytes. */
const maxMetadataBytes = 8 * 1024;

/** Folder (below the key prefix) holding probe objects while `probe()` runs. */
const probeFolder = '.sentcopy-probe/';

/** The subset of a GCS object resource the destination reads. */
interface ObjectResource {
  size?: string | number;
  contentType?: string;
  contentEncoding?: string;
  metadata?: Record<string, unknown> | null;
  updated?: string;
  timeCreated?: string;
}

function invalid(message: string, key?: string): DestinationError {
  return new DestinationError({ kind: 'invalid', provider, key, message });
}

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function normalizePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  if (typeof prefix !== 'string') throw invalid('Invalid keyPrefix: it must be a string.');
  const normalized = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const problem = objectKeyProblem(`${normalized}x`);
  if (problem !== undefined) throw invalid(`Invalid keyPrefix: a key under it ${problem}.`);
  return normalized;
}

function validateSettings(settings: GcsDestinationSettings): void {
  if (typeof settings?.bucket !== 'string' || !/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(settings.bucket)) {
    throw invalid('The GCS destination needs a bucket: 3–222 characters of lower-case letters, digits, "-", "_" and ".", starting and ending with a letter or digit.');
  }
  if (settings.credentials !== undefined && settings.keyFilename !== undefined) throw invalid('Give at most one of credentials and keyFilename.');
  const credentials = settings.credentials;
  if (credentials !== undefined) {
    if (typeof credentials.client_email !== 'string' || !credentials.client_email.includes('@')) throw invalid('credentials.client_email must be the service account email.');
    if (typeof credentials.private_key !== 'string' || !credentials.private_key.includes('PRIVATE KEY')) throw invalid('credentials.private_key must be the PEM private key of the service account key.');
  }
  const retention = settings.retention;
  if (retention !== undefined) {
    if (!(Number.isInteger(retention.retentionDays) && retention.retentionDays > 0)) throw invalid('retention.retentionDays must be a positive whole number of days.');
    if (retention.mode !== undefined && retention.mode !== 'Unlocked' && retention.mode !== 'Locked') throw invalid('retention.mode must be Unlocked or Locked.');
  }
  if (settings.kmsKeyName !== undefined && !/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/.test(settings.kmsKeyName)) {
    throw invalid('kmsKeyName must look like projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>.');
  }
  if (settings.validation !== undefined && settings.validation !== false && settings.validation !== 'crc32c' && settings.validation !== 'md5') throw invalid("validation must be 'crc32c', 'md5' or false.");
  for (const name of ['sdkMaxRetries', 'conditionalConflictRetries'] as const) {
    const value = settings[name];
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) throw invalid(`${name} must be a whole number, 0 or more.`);
  }
  if (settings.requestTimeoutMs !== undefined && !(Number.isFinite(settings.requestTimeoutMs) && settings.requestTimeoutMs > 0)) throw invalid('requestTimeoutMs must be a positive number of milliseconds.');
}

function assertMetadata(metadata: Readonly<Record<string, string>> | undefined, key: string): void {
  let bytes = Buffer.byteLength(sha256MetadataName) + 64;
  for (const [name, value] of Object.entries(metadata ?? {})) {
    if (!/^[a-z0-9-]+$/.test(name)) throw invalid(`Metadata names must be lower-case [a-z0-9-]; "${name}" is not.`, key);
    if (name === sha256MetadataName) throw invalid(`The metadata name "${sha256MetadataName}" is reserved for the SHA-256 the destination records.`, key);
    if (typeof value !== 'string' || !/^[\x20-\x7e]*$/.test(value)) throw invalid(`Metadata values must be printable ASCII; the value of "${name}" is not.`, key);
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  if (bytes > maxMetadataBytes) throw invalid(`The metadata takes ${bytes} bytes; GCS accepts at most ${maxMetadataBytes} (including the recorded SHA-256).`, key);
}

function customMetadata(resource: ObjectResource): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(resource.metadata ?? {})) if (typeof value === 'string' && name !== sha256MetadataName) result[name] = value;
  return result;
}

function recordedSha256(resource: ObjectResource): string | undefined {
  const value = resource.metadata?.[sha256MetadataName];
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value) ? value : undefined;
}

function lastModified(resource: ObjectResource): { lastModified?: Date } {
  const text = resource.updated ?? resource.timeCreated;
  const date = text === undefined ? undefined : new Date(text);
  return date === undefined || Number.isNaN(date.getTime()) ? {} : { lastModified: date };
}

/**
 * Runs `run` until it settles, the signal aborts or `timeoutMs` passes; on abort or timeout calls
 * `cancel` (which destroys the SDK's stream) and rejects at once with the abort reason or an
 * `ETIMEDOUT` error.
 */
function guarded<T>(run: () => Promise<T>, signal: AbortSignal | undefined, timeoutMs: number, cancel?: (reason: Error) => void): Promise<T> {
  signal?.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const stop = (reason: unknown) => {
      if (settled) return;
      finish();
      cancel?.(reason instanceof Error ? reason : new Error('The operation was aborted.'));
      reject(reason);
    };
    const onAbort = () => stop(signal?.reason);
    const timer = setTimeout(() => stop(Object.assign(new Error(`GCS did not answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    run().then(
      (value) => {
        if (settled) return;
        finish();
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        finish();
        reject(error);
      },
    );
  });
}

/**
 * Creates a destination that archives objects into a Google Cloud Storage bucket, write-once:
 * every put is one single-request (multipart) upload with `ifGenerationMatch=0`, so an existing
 * object is never replaced; a 412 is resolved by comparing SHA-256s (same → `created: false`,
 * different → `conflict`). The SHA-256 is recorded as custom metadata `sentcopy-sha256`, the MD5
 * is sent as `md5Hash` (GCS verifies it before storing), and the SDK checks the CRC32C GCS reports.
 */
export function createGcsDestination(settings: GcsDestinationSettings): DestinationV1 {
  validateSettings(settings);
  const bucketName = settings.bucket;
  const prefix = normalizePrefix(settings.keyPrefix);
  const storage: Storage = settings.storage ?? createGcsStorage(settings);
  const bucket: Bucket = storage.bucket(bucketName);
  const timeoutMs = settings.requestTimeoutMs ?? 60_000;
  const validation = settings.validation ?? 'crc32c';
  const conflictRetries = settings.conditionalConflictRetries ?? 3;
  const fileOptions = settings.kmsKeyName === undefined ? undefined : { kmsKeyName: settings.kmsKeyName };
  const fileOf = (name: string): File => bucket.file(name, fileOptions);

  const fullKey = (key: unknown): string => {
    assertValidObjectKey(key, provider);
    if (key.startsWith(probeFolder)) throw invalid(`Invalid object key: keys starting with "${probeFolder}" are reserved for probe objects.`, key);
    const full = prefix + key;
    if (Buffer.byteLength(full, 'utf8') > maxObjectKeyBytes) {
      throw invalid(`Invalid object key: with the key prefix it takes ${Buffer.byteLength(full, 'utf8')} UTF-8 bytes; GCS accepts at most ${maxObjectKeyBytes}.`, key);
    }
    return full;
  };

  const failure = (error: unknown, operation: string, key: string | undefined, signal: AbortSignal | undefined): unknown => {
    if (DestinationError.isInstance(error) || isAbortError(error, signal) || (signal?.aborted && error === signal.reason)) return error;
    return mapGcsError(error, { operation, bucket: bucketName, key });
  };

  const call = <T>(signal: AbortSignal | undefined) => (operation: () => Promise<T>) => guarded(operation, signal, timeoutMs);

  /** The object resource fields every write sends (retention and holds only for archived objects, not probe objects). */
  const writeResource = (input: Pick<PutObjectInput, 'body' | 'sha256' | 'contentType' | 'contentEncoding' | 'metadata'>, archived: boolean): Record<string, unknown> => {
    const resource: Record<string, unknown> = {
      contentType: input.contentType,
      ...(input.contentEncoding === undefined ? {} : { contentEncoding: input.contentEncoding }),
      md5Hash: createHash('md5').update(input.body).digest('base64'),
      metadata: { ...input.metadata, [sha256MetadataName]: input.sha256 },
      ...(settings.storageClass === undefined ? {} : { storageClass: settings.storageClass }),
    };
    if (archived) {
      const retention = settings.retention;
      if (retention !== undefined) resource.retention = { mode: retention.mode ?? 'Unlocked', retainUntilTime: new Date(Date.now() + retention.retentionDays * 86_400_000).toISOString() };
      if (settings.eventBasedHold) resource.eventBasedHold = true;
      if (settings.temporaryHold) resource.temporaryHold = true;
    }
    return resource;
  };

  /** One single-request upload with `ifGenerationMatch=0`; aborting or timing out destroys the SDK's stream. */
  const conditionalUpload = (name: string, body: Uint8Array, resource: Record<string, unknown>, signal: AbortSignal | undefined): Promise<void> => {
    let stream: ReturnType<File['createWriteStream']> | undefined;
    return guarded(
      () =>
        new Promise<void>((resolve, reject) => {
          stream = fileOf(name).createWriteStream({ resumable: false, metadata: resource, preconditionOpts: { ifGenerationMatch: 0 }, validation });
          stream.once('error', reject);
          stream.once('finish', resolve);
          stream.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
        }),
      signal,
      timeoutMs,
      (reason) => stream?.destroy(reason),
    );
  };

  /** Downloads the exact stored bytes (no decompression), checked against the CRC32C GCS reports. */
  const download = (name: string, signal: AbortSignal | undefined): Promise<Buffer> => {
    let stream: ReturnType<File['createReadStream']> | undefined;
    return guarded(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          const chunks: Buffer[] = [];
          stream = fileOf(name).createReadStream({ decompress: false, validation });
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.once('error', reject);
          stream.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
        }),
      signal,
      timeoutMs,
      (reason) => stream?.destroy(reason),
    );
  };

  const metadataOf = async (name: string, signal: AbortSignal | undefined): Promise<ObjectResource | undefined> => {
    try {
      const [resource] = await call<[ObjectResource]>(signal)(async () => (await fileOf(name).getMetadata()) as unknown as [ObjectResource]);
      return resource;
    } catch (error) {
      if (isObjectNotFound(error)) return undefined;
      throw error;
    }
  };

  /** The SHA-256 of what `name` holds, or `undefined` when it holds nothing. */
  const storedSha256 = async (name: string, signal: AbortSignal | undefined): Promise<string | undefined> => {
    const resource = await metadataOf(name, signal);
    if (resource === undefined) return undefined;
    const recorded = recordedSha256(resource);
    if (recorded !== undefined) return recorded;
    // Written by something else than sentcopy, without a SHA-256: hash the bytes.
    try {
      return sha256Hex(await download(name, signal));
    } catch (error) {
      if (isObjectNotFound(error)) return undefined;
      throw error;
    }
  };

  const put: DestinationV1['put'] = async (input, options) => {
    const signal = options?.signal;
    try {
      signal?.throwIfAborted();
      const name = fullKey(input?.key);
      if (!(input.body instanceof Uint8Array)) throw invalid('The object body must be a Uint8Array.', input.key);
      if (input.body.byteLength > maxGcsObjectBytes) throw invalid(`The object is ${input.body.byteLength} bytes; one GCS upload from this destination stores at most ${maxGcsObjectBytes}.`, input.key);
      if (typeof input.contentType !== 'string' || input.contentType === '') throw invalid('The object needs a content type.', input.key);
      if (typeof input.sha256 !== 'string' || sha256Hex(input.body) !== input.sha256) throw invalid('The given sha256 does not match the object body.', input.key);
      assertMetadata(input.metadata, input.key);
      const resource = writeResource(input, true);
      const result = (created: boolean): PutObjectResult => ({ key: input.key, size: input.body.byteLength, sha256: input.sha256, created });

      for (let attempt = 0; ; attempt++) {
        try {
          await conditionalUpload(name, input.body, resource, signal);
          return result(true);
        } catch (error) {
          if (isAbortError(error, signal) || !isPreconditionFailed(error)) throw error;
          const existing = await storedSha256(name, signal);
          if (existing === input.sha256) return result(false);
          if (existing !== undefined) {
            throw new DestinationError({
              kind: 'conflict',
              provider,
              key: input.key,
              code: 'conditionNotMet',
              status: 412,
              message: `The object "${name}" already holds different content in GCS bucket "${bucketName}"; write-once destinations never overwrite.`,
            });
          }
          // Deleted between our upload and the read: try to create it again.
          if (attempt >= conflictRetries) throw error;
        }
      }
    } catch (error) {
      throw failure(error, 'write the object', typeof input?.key === 'string' ? prefix + input.key : undefined, signal);
    }
  };

  const head: DestinationV1['head'] = async (key, options) => {
    const signal = options?.signal;
    let full: string | undefined;
    try {
      signal?.throwIfAborted();
      full = fullKey(key);
      const resource = await metadataOf(full, signal);
      if (resource === undefined) return undefined;
      const info: ObjectInfo = {
        key,
        size: Number(resource.size ?? 0),
        sha256: recordedSha256(resource),
        contentType: resource.contentType,
        contentEncoding: resource.contentEncoding,
        metadata: customMetadata(resource),
        ...lastModified(resource),
      };
      return info;
    } catch (error) {
      throw failure(error, 'read the object metadata', full, signal);
    }
  };

  const get: DestinationV1['get'] = async (key, options) => {
    const signal = options?.signal;
    let full: string | undefined;
    try {
      signal?.throwIfAborted();
      full = fullKey(key);
      const resource = await metadataOf(full, signal);
      if (resource === undefined) return undefined;
      const body = new Uint8Array(await download(full, signal));
      return {
        key,
        size: body.byteLength,
        sha256: recordedSha256(resource) ?? sha256Hex(body),
        contentType: resource.contentType,
        contentEncoding: resource.contentEncoding,
        metadata: customMetadata(resource),
        ...lastModified(resource),
        body,
      };
    } catch (error) {
      if (full !== undefined && isObjectNotFound(error)) return undefined;
      throw failure(error, 'read the object', full, signal);
    }
  };

  const list: DestinationV1['list'] = async (options = {}) => {
    const signal = options.signal;
    try {
      signal?.throwIfAborted();
      const limit = options.limit ?? 1000;
      if (!Number.isInteger(limit) || limit < 1) throw invalid('The list limit must be a positive integer.');
      if (options.cursor !== undefined && (typeof options.cursor !== 'string' || options.cursor === '')) throw invalid('The list cursor is not one this destination returned.');
      if (options.prefix !== undefined && typeof options.prefix !== 'string') throw invalid('The list prefix must be a string.');
      const [files, next] = await call<[File[], { pageToken?: string } | null | undefined]>(signal)(
        async () =>
          (await bucket.getFiles({
            prefix: prefix + (options.prefix ?? ''),
            maxResults: Math.min(limit, 1000),
            autoPaginate: false,
            ...(options.cursor === undefined ? {} : { pageToken: options.cursor }),
          })) as unknown as [File[], { pageToken?: string } | null | undefined],
      );
      const objects: ListedObject[] = [];
      for (const file of files) {
        const key = file.name.slice(prefix.length);
        // Left out: names no destination call could address (another writer's `a//b`), and probe leftovers.
        if (!file.name.startsWith(prefix) || objectKeyProblem(key) !== undefined || key.startsWith(probeFolder)) continue;
        const resource = file.metadata as ObjectResource;
        objects.push({ key, size: Number(resource.size ?? 0), ...lastModified(resource) });
      }
      return { objects, cursor: next?.pageToken || undefined };
    } catch (error) {
      throw failure(error, 'list objects', undefined, signal);
    }
  };

  const deleteObject = async (key: string, options?: { signal?: AbortSignal }): Promise<void> => {
    const signal = options?.signal;
    let full: string | undefined;
    try {
      signal?.throwIfAborted();
      full = fullKey(key);
      const name = full;
      await call(signal)(() => fileOf(name).delete());
    } catch (error) {
      if (full !== undefined && isObjectNotFound(error)) return;
      throw failure(error, 'delete the object', full, signal);
    }
  };

  /**
   * Writes a probe object with the retention archived objects carry (a two-second one, in the
   * configured mode), so a bucket without object retention fails the probe instead of every
   * message; the object is deleted once the retention has passed.
   */
  const probeRetention = async (signal: AbortSignal | undefined, describe: (error: unknown, operation: string, key?: string) => string): Promise<ProbeCheck> => {
    const retention = settings.retention!;
    const name = `${prefix}${probeFolder}${randomUUID()}`;
    const body = new Uint8Array(Buffer.from(`sentcopy retention probe ${new Date().toISOString()}\n`, 'utf8'));
    const retainUntil = new Date(Date.now() + 2_000);
    const resource = { ...writeResource({ body, sha256: sha256Hex(body), contentType: 'text/plain' }, false), retention: { mode: retention.mode ?? 'Unlocked', retainUntilTime: retainUntil.toISOString() } };
    try {
      await conditionalUpload(name, body, resource, signal);
    } catch (error) {
      if (isAbortError(error, signal)) throw error;
      return { name: 'retention', status: 'failed', detail: `Writing an object with the configured retention failed: ${describe(error, 'write a retention probe object', name)} Object retention must be enabled on the bucket (gcloud storage buckets create --enable-per-object-retention), or remove retention from the settings.` };
    }
    const wait = retainUntil.getTime() + 250 - Date.now();
    if (wait > 0) await sleep(wait, signal);
    try {
      await call(signal)(() => fileOf(name).delete());
    } catch (error) {
      if (isAbortError(error, signal)) throw error;
      return { name: 'retention', status: 'passed', detail: `Wrote an object with the configured retention; removing it afterwards failed (${describe(error, 'delete the retention probe object', name)}), so ${name} is left behind.` };
    }
    return { name: 'retention', status: 'passed', detail: `Wrote (and removed) an object with the configured ${retention.mode ?? 'Unlocked'} retention.` };
  };

  const probe: DestinationV1['probe'] = async (options) => {
    const signal = options?.signal;
    const checks: ProbeCheck[] = [];
    let isPublic: boolean | 'unknown' = 'unknown';
    const result = () => ({ ok: checks.every((check) => check.status !== 'failed'), public: isPublic, checks });
    const describe = (error: unknown, operation: string, key?: string): string => {
      const mapped = failure(error, operation, key, signal);
      if (!DestinationError.isInstance(mapped)) throw mapped;
      return mapped.message;
    };
    signal?.throwIfAborted();

    let iamConfiguration: { publicAccessPrevention?: string; uniformBucketLevelAccess?: { enabled?: boolean } } | undefined;
    let metadataProblem: string | undefined;
    try {
      const [metadata] = await call<[{ iamConfiguration?: typeof iamConfiguration }]>(signal)(async () => (await bucket.getMetadata()) as unknown as [{ iamConfiguration?: typeof iamConfiguration }]);
      iamConfiguration = metadata.iamConfiguration ?? {};
      checks.push({ name: 'reachable', status: 'passed', detail: `Bucket "${bucketName}" exists and the credentials reach it.` });
    } catch (error) {
      if (isAbortError(error, signal)) throw error;
      const { status, code } = gcsErrorFacts(error);
      if (status === 404) {
        checks.push({ name: 'reachable', status: 'failed', detail: `Bucket "${bucketName}" does not exist (HTTP 404); create it first, or check the name and project.` });
        return result();
      }
      if (!(status === 403 || status === 501 || status === 405 || code === 'notImplemented')) {
        checks.push({ name: 'reachable', status: 'failed', detail: describe(error, 'reach the bucket') });
        return result();
      }
      // Reading bucket metadata needs storage.buckets.get, which an object-only role lacks: reachability is proven by the write below.
      metadataProblem = status === 403 ? 'reading the bucket metadata was denied (grant storage.buckets.get)' : `reading the bucket metadata is not supported by this server (${code ?? `HTTP ${status}`})`;
      checks.push({ name: 'reachable', status: 'unsupported', detail: `Could not read the metadata of bucket "${bucketName}": ${metadataProblem}.` });
    }

    const probeName = `${prefix}${probeFolder}${randomUUID()}`;
    const body = new Uint8Array(Buffer.from(`sentcopy probe ${new Date().toISOString()}\n`, 'utf8'));
    const probeInput = { body, sha256: sha256Hex(body), contentType: 'text/plain' };
    // No retention or holds on the probe object, so it can be removed again.
    try {
      await conditionalUpload(probeName, body, writeResource(probeInput, false), signal);
      checks.push({ name: 'write', status: 'passed', detail: 'Wrote a probe object with ifGenerationMatch=0 and its MD5.' });
    } catch (error) {
      if (isAbortError(error, signal)) throw error;
      checks.push({ name: 'write', status: 'failed', detail: describe(error, 'write a probe object', probeName) });
      return result();
    }

    try {
      const other = new Uint8Array(Buffer.from('sentcopy probe: this overwrite must be refused\n', 'utf8'));
      await conditionalUpload(probeName, other, writeResource({ body: other, sha256: sha256Hex(other), contentType: 'text/plain' }, false), signal);
      checks.push({
        name: 'write-once',
        status: 'failed',
        detail: 'The store replaced an existing object despite ifGenerationMatch=0; it does not enforce preconditions, so write-once (never overwrite) cannot be guaranteed here.',
      });
    } catch (error) {
      if (isAbortError(error, signal)) throw error;
      if (isPreconditionFailed(error)) checks.push({ name: 'write-once', status: 'passed', detail: 'A second write of the probe object was refused with 412 conditionNotMet.' });
      else checks.push({ name: 'write-once', status: 'failed', detail: `A second conditional write of the probe object failed unexpectedly: ${describe(error, 'test a conditional write', probeName)}` });
    }

    if (settings.retention !== undefined) checks.push(await probeRetention(signal, describe));

    try {
      const read = await download(probeName, signal);
      if (read.equals(Buffer.from(body))) checks.push({ name: 'read', status: 'passed' });
      else checks.push({ name: 'read', status: 'failed', detail: 'The probe object read back differs from what was written.' });
    } catch (error) {
      if (isAbortError(error, signal)) throw error;
      checks.push({ name: 'read', status: 'failed', detail: describe(error, 'read the probe object', probeName) });
    }

    try {
      await call(signal)(() => fileOf(probeName).delete());
      checks.push({ name: 'delete', status: 'passed' });
    } catch (error) {
      if (isAbortError(error, signal)) throw error;
      checks.push({ name: 'delete', status: 'failed', detail: describe(error, 'delete the probe object', probeName) });
    }

    const access = await checkPublicAccess(bucket, {
      bucketName,
      signal,
      allowPublicBucket: settings.allowPublicBucket ?? false,
      iamConfiguration,
      metadataProblem,
      call: (operation) => guarded(operation, signal, timeoutMs),
      describe,
    });
    isPublic = access.public;
    checks.push(access.check);
    return result();
  };

  return {
    specificationVersion: 'v1',
    provider,
    id: `gs://${bucketName}/${prefix}`,
    capabilities: { delete: true, immutability: true, publicAccessCheck: true, maxObjectSize: maxGcsObjectBytes },
    put,
    get,
    head,
    list,
    delete: deleteObject,
    probe,
    async close() {
      // The SDK keeps no connections of its own beyond the shared keep-alive agent; nothing to release.
    },
  };
}
