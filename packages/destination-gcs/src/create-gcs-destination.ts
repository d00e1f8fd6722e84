import { createHash } from 'node:crypto';
import type { Bucket, File, Storage } from '@google-cloud/storage';
import { createObjectStoreDestination, DestinationError, normalizeKeyPrefix, type DestinationV1, type ObjectStoreDriver, type ObjectStoreEntry, type ObjectStoreImmutabilityProbe, type ObjectStoreWrite } from '@sentcopy/core';
import { createGcsStorage } from './create-gcs-storage.js';
import { GcsLeanWriter } from './gcs-lean-writer.js';
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

/** The subset of a GCS object resource the destination reads. */
interface ObjectResource {
  size?: string | number;
  contentType?: string;
  contentEncoding?: string;
  metadata?: Record<string, unknown> | null;
  updated?: string;
  timeCreated?: string;
}

function invalid(message: string): DestinationError {
  return new DestinationError({ kind: 'invalid', provider, message });
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

function lastModified(resource: ObjectResource): { lastModified?: Date } {
  const text = resource.updated ?? resource.timeCreated;
  const date = text === undefined ? undefined : new Date(text);
  return date === undefined || Number.isNaN(date.getTime()) ? {} : { lastModified: date };
}

/** Ends `stream` with the abort reason when `signal` aborts, so the SDK stops sending or receiving. */
function destroyOnAbort(stream: { destroy(error?: Error): unknown }, signal: AbortSignal): void {
  if (signal.aborted) stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('The operation was aborted.'));
  else signal.addEventListener('abort', () => stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('The operation was aborted.')), { once: true });
}

function entryOf(resource: ObjectResource): ObjectStoreEntry {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(resource.metadata ?? {})) if (typeof value === 'string') metadata[name] = value;
  return { size: Number(resource.size ?? 0), contentType: resource.contentType, contentEncoding: resource.contentEncoding, metadata, ...lastModified(resource) };
}

/** What the probe's reachable step learnt, for the public-access step. */
interface ReachableState {
  readonly iamConfiguration: { publicAccessPrevention?: string; uniformBucketLevelAccess?: { enabled?: boolean } } | undefined;
  readonly metadataProblem: string | undefined;
}

/** The GCS side of the destination: its SDK calls and its error map; the kit does the rest. */
function createGcsDriver(settings: GcsDestinationSettings, storage: Storage, prefix: string, lean: GcsLeanWriter | undefined): ObjectStoreDriver {
  const bucketName = settings.bucket;
  const bucket: Bucket = storage.bucket(bucketName);
  const validation = settings.validation ?? 'crc32c';
  const fileOptions = settings.kmsKeyName === undefined ? undefined : { kmsKeyName: settings.kmsKeyName };
  const fileOf = (name: string): File => bucket.file(name, fileOptions);

  /** The object resource fields every write sends (retention and holds only for archived objects, not probe objects). */
  const writeResource = (write: ObjectStoreWrite, archived: boolean): Record<string, unknown> => {
    const resource: Record<string, unknown> = {
      contentType: write.contentType,
      ...(write.contentEncoding === undefined ? {} : { contentEncoding: write.contentEncoding }),
      md5Hash: createHash('md5').update(write.body).digest('base64'),
      metadata: { ...write.metadata },
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

  /** One single-request upload with `ifGenerationMatch=0`: the lean writer's, or the SDK's write stream (aborting destroys it). */
  const conditionalUpload = (write: ObjectStoreWrite, resource: Record<string, unknown>, signal: AbortSignal): Promise<void> =>
    lean !== undefined
      ? lean.put({ name: write.name, resource, contentType: write.contentType, body: write.body, kmsKeyName: settings.kmsKeyName, validation }, signal, async (generation) => {
          // Only the generation this upload created; without one there is nothing known to be ours to remove.
          if (generation !== undefined) await fileOf(write.name).delete({ ifGenerationMatch: generation });
        })
      : sdkUpload(write, resource, signal);

  const sdkUpload = (write: ObjectStoreWrite, resource: Record<string, unknown>, signal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const stream = fileOf(write.name).createWriteStream({ resumable: false, metadata: resource, preconditionOpts: { ifGenerationMatch: 0 }, validation });
      stream.once('error', reject);
      stream.once('finish', resolve);
      destroyOnAbort(stream, signal);
      stream.end(Buffer.from(write.body.buffer, write.body.byteOffset, write.body.byteLength));
    });

  /** Downloads the exact stored bytes (no decompression), checked against the CRC32C GCS reports. */
  const download = (name: string, signal: AbortSignal): Promise<Buffer> =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const stream = fileOf(name).createReadStream({ decompress: false, validation });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('error', reject);
      stream.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
      destroyOnAbort(stream, signal);
    });

  const resourceOf = async (name: string): Promise<ObjectResource> => ((await fileOf(name).getMetadata()) as unknown as [ObjectResource])[0];

  const retention = settings.retention;
  const immutabilityProbe: ObjectStoreImmutabilityProbe | undefined =
    retention === undefined
      ? undefined
      : {
          checkName: 'retention',
          setting: `the configured ${retention.mode ?? 'Unlocked'} retention`,
          waitForRetention: true,
          async create(write, retainUntil, signal) {
            await conditionalUpload(write, { ...writeResource(write, false), retention: { mode: retention.mode ?? 'Unlocked', retainUntilTime: retainUntil.toISOString() } }, signal);
            return undefined;
          },
          async remove(name) {
            await fileOf(name).delete();
          },
          hint: () => 'Object retention must be enabled on the bucket (gcloud storage buckets create --enable-per-object-retention), or remove retention from the settings.',
        };

  return {
    provider,
    service: 'GCS',
    location: `GCS bucket "${bucketName}"`,
    id: `gs://${bucketName}/${prefix}`,
    capabilities: { delete: true, immutability: true, publicAccessCheck: true, maxObjectSize: maxGcsObjectBytes },
    maxObjectBytes: maxGcsObjectBytes,
    metadata: { sha256Name: sha256MetadataName, maxBytes: maxMetadataBytes, refusePaddedValues: false },
    createCondition: 'ifGenerationMatch=0 and its MD5',
    conflictRetries: settings.conditionalConflictRetries ?? 3,
    callTimeoutMs: settings.requestTimeoutMs ?? 60_000,
    describeTimeout: (timeoutMs) => `GCS did not answer within ${timeoutMs} ms`,
    immutabilityProbe,

    create: (write, purpose, signal) => conditionalUpload(write, writeResource(write, purpose === 'archive'), signal),
    isAlreadyExists: isPreconditionFailed,
    async stat(name) {
      return entryOf(await resourceOf(name));
    },
    async read(name, signal) {
      const resource = await resourceOf(name);
      const body = new Uint8Array(await download(name, signal));
      return { ...entryOf(resource), size: body.byteLength, body };
    },
    async list(request) {
      const [files, next] = (await bucket.getFiles({
        prefix: request.prefix,
        maxResults: Math.min(request.limit, 1000),
        autoPaginate: false,
        ...(request.cursor === undefined ? {} : { pageToken: request.cursor }),
      })) as unknown as [File[], { pageToken?: string } | null | undefined];
      const entries = files.map((file) => {
        const resource = file.metadata as ObjectResource;
        return { name: file.name, size: Number(resource.size ?? 0), ...lastModified(resource) };
      });
      return { entries, cursor: next?.pageToken || undefined };
    },
    async remove(name) {
      await fileOf(name).delete();
    },
    // Object Versioning keeps a deleted object as a noncurrent generation: erasure lists the generations and deletes each by number.
    async listVersions(name) {
      const [files] = (await bucket.getFiles({ prefix: name, versions: true, autoPaginate: true })) as unknown as [File[]];
      return files
        .filter((file) => file.name === name)
        .map((file) => {
          const resource = file.metadata as { generation?: string | number; timeDeleted?: string };
          return { version: String(resource.generation ?? file.generation ?? ''), type: 'version' as const, current: resource.timeDeleted === undefined };
        });
    },
    async removeVersion(name, version) {
      await bucket.file(name, { ...fileOptions, generation: version.version }).delete();
    },
    isNotFound: isObjectNotFound,
    errorFacts: gcsErrorFacts,
    mapError: (error, operation, name) => mapGcsError(error, { operation, bucket: bucketName, key: name }),

    async checkReachable(_signal, describe) {
      try {
        const [metadata] = (await bucket.getMetadata()) as unknown as [{ iamConfiguration?: ReachableState['iamConfiguration'] }];
        const state: ReachableState = { iamConfiguration: metadata.iamConfiguration ?? {}, metadataProblem: undefined };
        return { check: { name: 'reachable', status: 'passed', detail: `Bucket "${bucketName}" exists and the credentials reach it.` }, state };
      } catch (error) {
        const { status, code } = gcsErrorFacts(error);
        if (status === 404) return { check: { name: 'reachable', status: 'failed', detail: `Bucket "${bucketName}" does not exist (HTTP 404); create it first, or check the name and project.` } };
        if (!(status === 403 || status === 501 || status === 405 || code === 'notImplemented')) return { check: { name: 'reachable', status: 'failed', detail: describe(error, 'reach the bucket') } };
        // Reading bucket metadata needs storage.buckets.get, which an object-only role lacks: reachability is proven by the write that follows.
        const metadataProblem = status === 403 ? 'reading the bucket metadata was denied (grant storage.buckets.get)' : `reading the bucket metadata is not supported by this server (${code ?? `HTTP ${status}`})`;
        const state: ReachableState = { iamConfiguration: undefined, metadataProblem };
        return { check: { name: 'reachable', status: 'unsupported', detail: `Could not read the metadata of bucket "${bucketName}": ${metadataProblem}.` }, state };
      }
    },
    async close() {
      await lean?.close();
    },
    checkPublicAccess(signal, describe, state) {
      const reachable = state as ReachableState | undefined;
      return checkPublicAccess(bucket, {
        bucketName,
        signal,
        allowPublicBucket: settings.allowPublicBucket ?? false,
        iamConfiguration: reachable?.iamConfiguration,
        metadataProblem: reachable?.metadataProblem,
        describe,
      });
    },
  };
}

/** Whether the environment names an HTTP proxy, which the SDK's HTTP layer (gaxios) would use. */
function proxyFromEnvironment(): boolean {
  return ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((name) => (process.env[name] ?? '') !== '');
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
  const prefix = normalizeKeyPrefix(settings.keyPrefix, provider);
  const storage: Storage = settings.storage ?? createGcsStorage(settings);
  // SDK retries on writes were asked for explicitly: only the SDK's stack makes them. An injected client keeps its own stack,
  // and a proxy from the environment (HTTPS_PROXY…) is honoured by the SDK's HTTP layer only.
  const lean =
    settings.storage === undefined && (settings.sdkMaxRetries ?? 0) === 0 && !proxyFromEnvironment() ? new GcsLeanWriter(storage, settings.bucket, { maxSockets: 64, requestTimeoutMs: settings.requestTimeoutMs ?? 60_000 }) : undefined;
  return createObjectStoreDestination(createGcsDriver(settings, storage, prefix, lean), { keyPrefix: prefix });
}
