import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutObjectCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import {
  createObjectStoreDestination,
  DestinationError,
  normalizeKeyPrefix,
  type DestinationV1,
  type ObjectStoreDriver,
  type ObjectStoreEntry,
  type ObjectStoreImmutabilityProbe,
  type ObjectStoreVersion,
  type ObjectStoreWrite,
} from '@sentcopy/core';
import { createS3Client, resolveRegion } from './create-s3-client.js';
import { isNotFound, mapS3Error, s3ErrorFacts } from './map-s3-error.js';
import { checkPublicAccess } from './public-access.js';
import { putObjectHeaders } from './put-object-headers.js';
import { S3LeanWriter } from './s3-lean-writer.js';
import type { S3DestinationSettings } from './s3-destination-settings.js';

const provider = 's3';

/** User-metadata name under which `put()` records the object's SHA-256 (hex); refused in caller metadata. */
export const sha256MetadataName = 'sentcopy-sha256';

/** Largest object one PutObject may store (S3's single-request limit), in bytes. */
export const maxS3ObjectBytes = 5 * 1024 ** 3;

/** Largest total of user-metadata names and values S3 accepts, in bytes. */
const maxMetadataBytes = 2048;

function invalid(message: string): DestinationError {
  return new DestinationError({ kind: 'invalid', provider, message });
}

function validateSettings(settings: S3DestinationSettings): void {
  if (typeof settings?.bucket !== 'string' || settings.bucket === '') throw invalid('The S3 destination needs a bucket.');
  const lock = settings.objectLock;
  if (lock !== undefined) {
    if ((lock.mode === undefined) !== (lock.retentionDays === undefined)) throw invalid('objectLock.mode and objectLock.retentionDays go together: give both, or neither for a legal hold only.');
    if (lock.mode !== undefined && lock.mode !== 'GOVERNANCE' && lock.mode !== 'COMPLIANCE') throw invalid('objectLock.mode must be GOVERNANCE or COMPLIANCE.');
    if (lock.retentionDays !== undefined && !(Number.isInteger(lock.retentionDays) && lock.retentionDays > 0)) throw invalid('objectLock.retentionDays must be a positive whole number of days.');
  }
  const sse = settings.serverSideEncryption;
  if (sse !== undefined && sse.type !== 'AES256' && sse.type !== 'aws:kms') throw invalid('serverSideEncryption.type must be AES256 or aws:kms.');
  const retries = settings.conditionalConflictRetries;
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) throw invalid('conditionalConflictRetries must be a whole number, 0 or more.');
}

/** The SHA-256 (hex) of a whole-object S3 checksum; a composite (multipart) checksum ends in `-<parts>` and is not one. */
function checksumHex(checksumSha256: string | undefined): string | undefined {
  if (checksumSha256 === undefined || checksumSha256.includes('-')) return undefined;
  const bytes = Buffer.from(checksumSha256, 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : undefined;
}

async function bodyBytes(body: unknown): Promise<Uint8Array> {
  return (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
}

/** The S3 side of the destination: its SDK calls and its error map; the kit does the rest. */
function createS3Driver(settings: S3DestinationSettings, client: S3Client, ownsClient: boolean, prefix: string, lean: S3LeanWriter | undefined): ObjectStoreDriver {
  const bucket = settings.bucket;
  const owner = settings.expectedBucketOwner === undefined ? {} : { ExpectedBucketOwner: settings.expectedBucketOwner };

  const writeOptions = (): Partial<PutObjectCommandInput> => {
    const options: Partial<PutObjectCommandInput> = {};
    const sse = settings.serverSideEncryption;
    if (sse?.type === 'AES256') options.ServerSideEncryption = 'AES256';
    if (sse?.type === 'aws:kms') {
      options.ServerSideEncryption = 'aws:kms';
      if (sse.kmsKeyId !== undefined) options.SSEKMSKeyId = sse.kmsKeyId;
      if (sse.bucketKeyEnabled !== undefined) options.BucketKeyEnabled = sse.bucketKeyEnabled;
    }
    if (settings.storageClass !== undefined) options.StorageClass = settings.storageClass as PutObjectCommandInput['StorageClass'];
    return options;
  };

  const lockOptions = (): Partial<PutObjectCommandInput> => {
    const lock = settings.objectLock;
    if (lock === undefined) return {};
    const options: Partial<PutObjectCommandInput> = {};
    if (lock.mode !== undefined && lock.retentionDays !== undefined) {
      options.ObjectLockMode = lock.mode;
      options.ObjectLockRetainUntilDate = new Date(Date.now() + lock.retentionDays * 86_400_000);
    }
    if (lock.legalHold) options.ObjectLockLegalHoldStatus = 'ON';
    return options;
  };

  /** PutObject with `If-None-Match: *`, the SHA-256 as metadata and as the S3 checksum (which S3 verifies; Object Lock requires one). */
  const conditionalPut = async (write: ObjectStoreWrite, extra: Partial<PutObjectCommandInput>, signal: AbortSignal): Promise<{ VersionId?: string | undefined }> => {
    const input: PutObjectCommandInput = {
      Bucket: bucket,
      Key: write.name,
      Body: write.body,
      ContentLength: write.body.byteLength,
      ContentType: write.contentType,
      ...(write.contentEncoding === undefined ? {} : { ContentEncoding: write.contentEncoding }),
      Metadata: { ...write.metadata },
      ChecksumAlgorithm: 'SHA256',
      ChecksumSHA256: Buffer.from(write.sha256, 'hex').toString('base64'),
      IfNoneMatch: '*',
      ...owner,
      ...extra,
    };
    if (lean !== undefined) {
      const answer = await lean.put({ key: write.name, headers: putObjectHeaders(input), body: write.body, sha256: write.sha256 }, signal);
      if (answer !== 'sdk') return { VersionId: answer.versionId };
    }
    return client.send(new PutObjectCommand(input), { abortSignal: signal });
  };

  const entryOf = (answer: { ContentLength?: number; ContentType?: string; ContentEncoding?: string; Metadata?: Record<string, string>; ChecksumSHA256?: string; LastModified?: Date }): ObjectStoreEntry => ({
    size: answer.ContentLength ?? 0,
    contentType: answer.ContentType,
    contentEncoding: answer.ContentEncoding,
    metadata: answer.Metadata ?? {},
    checksumSha256: checksumHex(answer.ChecksumSHA256),
    lastModified: answer.LastModified,
  });

  const lock = settings.objectLock;
  /**
   * Writes a probe object with the Object Lock headers archived objects carry, so a bucket without
   * Object Lock (or credentials without s3:PutObjectRetention / s3:PutObjectLegalHold) fails the
   * probe instead of every message. The legal hold is sent as OFF, so the object can be deleted.
   */
  const immutabilityProbe: ObjectStoreImmutabilityProbe | undefined =
    lock === undefined
      ? undefined
      : {
          checkName: 'object-lock',
          setting: 'the configured Object Lock settings',
          waitForRetention: lock.mode !== undefined,
          passedSuffix: `${lock.mode === undefined ? '' : ` (${lock.mode} retention)`}${lock.legalHold ? ' and a legal hold header' : ''}`,
          async create(write, retainUntil, signal) {
            const extra: Partial<PutObjectCommandInput> = { ...writeOptions() };
            if (lock.mode !== undefined) Object.assign(extra, { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: retainUntil });
            if (lock.legalHold) extra.ObjectLockLegalHoldStatus = 'OFF';
            return (await conditionalPut(write, extra, signal)).VersionId;
          },
          async remove(name, version, signal) {
            await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: name, ...(version === undefined ? {} : { VersionId: version }), ...owner }), { abortSignal: signal });
          },
          hint: (error) =>
            s3ErrorFacts(error).code === 'InvalidRequest' ? 'The bucket has no Object Lock configuration: Object Lock is enabled when a bucket is created, so use a bucket created with it, or remove objectLock from the settings.' : '',
        };

  return {
    provider,
    service: 'S3',
    location: `S3 bucket "${bucket}"`,
    id: `s3://${bucket}/${prefix}`,
    capabilities: { delete: true, immutability: true, publicAccessCheck: true, maxObjectSize: maxS3ObjectBytes },
    maxObjectBytes: maxS3ObjectBytes,
    metadata: { sha256Name: sha256MetadataName, maxBytes: maxMetadataBytes },
    createCondition: 'If-None-Match: * and its SHA-256 checksum',
    conflictRetries: settings.conditionalConflictRetries ?? 5,
    // The SDK and the write pool enforce their own connection and idle timeouts; an overall deadline would cut a large upload that is still progressing.
    callTimeoutMs: Number.POSITIVE_INFINITY,
    immutabilityProbe,

    async create(write, purpose, signal) {
      await conditionalPut(write, purpose === 'archive' ? { ...writeOptions(), ...lockOptions() } : writeOptions(), signal);
    },
    isAlreadyExists(error) {
      const { code, status } = s3ErrorFacts(error);
      return code === 'PreconditionFailed' || status === 412;
    },
    isTransientConflict(error) {
      const { code, status } = s3ErrorFacts(error);
      return code === 'ConditionalRequestConflict' || status === 409;
    },
    async stat(name, signal) {
      return entryOf(await client.send(new HeadObjectCommand({ Bucket: bucket, Key: name, ChecksumMode: 'ENABLED', ...owner }), { abortSignal: signal }));
    },
    async read(name, signal) {
      const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: name, ChecksumMode: 'ENABLED', ...owner }), { abortSignal: signal });
      const body = await bodyBytes(answer.Body);
      return { ...entryOf(answer), size: body.byteLength, body };
    },
    async list(request, signal) {
      const answer = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: request.prefix,
          MaxKeys: Math.min(request.limit, 1000),
          ...(request.cursor === undefined ? {} : { ContinuationToken: request.cursor }),
          ...owner,
        }),
        { abortSignal: signal },
      );
      const entries = (answer.Contents ?? []).flatMap((entry) => (entry.Key === undefined ? [] : [{ name: entry.Key, size: entry.Size ?? 0, lastModified: entry.LastModified }]));
      return { entries, cursor: answer.IsTruncated && answer.NextContinuationToken ? answer.NextContinuationToken : undefined };
    },
    async remove(name, signal) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: name, ...owner }), { abortSignal: signal });
    },
    // A versioned bucket (every bucket with Object Lock) keeps the bytes behind a delete marker: erasure removes each version by id.
    async listVersions(name, signal) {
      const versions: ObjectStoreVersion[] = [];
      let keyMarker: string | undefined;
      let versionIdMarker: string | undefined;
      for (;;) {
        const answer = await client.send(
          new ListObjectVersionsCommand({
            Bucket: bucket,
            Prefix: name,
            ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
            ...(versionIdMarker === undefined ? {} : { VersionIdMarker: versionIdMarker }),
            ...owner,
          }),
          { abortSignal: signal },
        );
        for (const entry of answer.Versions ?? []) if (entry.Key === name) versions.push({ version: entry.VersionId ?? 'null', type: 'version', current: entry.IsLatest === true });
        for (const entry of answer.DeleteMarkers ?? []) if (entry.Key === name) versions.push({ version: entry.VersionId ?? 'null', type: 'delete_marker', current: entry.IsLatest === true });
        // Keys sharing `name` as a prefix sort after it: once the listing passed it, nothing more can match.
        const passed = [...(answer.Versions ?? []), ...(answer.DeleteMarkers ?? [])].some((entry) => entry.Key !== undefined && entry.Key !== name);
        if (!answer.IsTruncated || passed || answer.NextKeyMarker === undefined) return versions;
        keyMarker = answer.NextKeyMarker;
        versionIdMarker = answer.NextVersionIdMarker;
      }
    },
    async removeVersion(name, version, signal) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: name, VersionId: version.version, ...owner }), { abortSignal: signal });
    },
    isNotFound,
    errorFacts: s3ErrorFacts,
    mapError: (error, operation, name) => mapS3Error(error, { operation, bucket, key: name }),

    async checkReachable(signal, describe) {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket, ...owner }), { abortSignal: signal });
        return { check: { name: 'reachable', status: 'passed', detail: `Bucket "${bucket}" exists and the credentials reach it.` } };
      } catch (error) {
        const detail = s3ErrorFacts(error).status === 404 ? `Bucket "${bucket}" does not exist (HTTP 404); create it first, or check the name and region.` : describe(error, 'reach the bucket');
        return { check: { name: 'reachable', status: 'failed', detail } };
      }
    },
    checkPublicAccess: (signal, describe) => checkPublicAccess(client, { bucket, owner, signal, allowPublicBucket: settings.allowPublicBucket ?? false, describe }),
    async close() {
      if (ownsClient) client.destroy();
      await lean?.close();
    },
  };
}

/**
 * Creates a destination that archives objects into an S3 bucket (or an S3-compatible store),
 * write-once: every put is a PutObject with `If-None-Match: *`, so an existing key is never
 * overwritten; a 412 is resolved by comparing SHA-256s (same → `created: false`, different →
 * `conflict`). The SHA-256 is recorded as user metadata `sentcopy-sha256` and sent as the S3
 * checksum (`x-amz-checksum-sha256`), which S3 verifies before storing anything.
 */
export function createS3Destination(settings: S3DestinationSettings): DestinationV1 {
  validateSettings(settings);
  const prefix = normalizeKeyPrefix(settings.keyPrefix, provider);
  if (settings.client !== undefined) return createObjectStoreDestination(createS3Driver(settings, settings.client, false, prefix, undefined), { keyPrefix: prefix });
  const region = resolveRegion(settings);
  if (region === undefined) throw invalid('The S3 destination needs a region: set `region`, or AWS_REGION in the environment.');
  const client = createS3Client(settings, region);
  // SDK retries on writes were asked for explicitly: only the SDK's stack makes them.
  const lean =
    (settings.sdkMaxAttempts ?? 1) > 1
      ? undefined
      : new S3LeanWriter(client, settings.bucket, { maxSockets: settings.maxSockets ?? 64, connectionTimeoutMs: settings.connectionTimeoutMs ?? 5_000, requestTimeoutMs: settings.requestTimeoutMs ?? 60_000 });
  return createObjectStoreDestination(createS3Driver(settings, client, true, prefix, lean), { keyPrefix: prefix });
}
