import { createHash, randomUUID } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
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
import { createS3Client, resolveRegion } from './create-s3-client.js';
import { isNotFound, mapS3Error, s3ErrorFacts } from './map-s3-error.js';
import { checkPublicAccess } from './public-access.js';
import type { S3DestinationSettings } from './s3-destination-settings.js';

const provider = 's3';

/** User-metadata name under which `put()` records the object's SHA-256 (hex); refused in caller metadata. */
export const sha256MetadataName = 'sentcopy-sha256';

/** Largest object one PutObject may store (S3's single-request limit), in bytes. */
export const maxS3ObjectBytes = 5 * 1024 ** 3;

/** Largest total of user-metadata names and values S3 accepts, in bytes. */
const maxMetadataBytes = 2048;

/** Folder (below the key prefix) holding probe objects while `probe()` runs. */
const probeFolder = '.sentcopy-probe/';

function invalid(message: string, key?: string): DestinationError {
  return new DestinationError({ kind: 'invalid', provider, key, message });
}

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function normalizePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  const normalized = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const problem = objectKeyProblem(`${normalized}x`);
  if (problem !== undefined) throw invalid(`Invalid keyPrefix: a key under it ${problem}.`);
  return normalized;
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

function assertMetadata(metadata: Readonly<Record<string, string>> | undefined, key: string): void {
  let bytes = Buffer.byteLength(sha256MetadataName) + 64;
  for (const [name, value] of Object.entries(metadata ?? {})) {
    if (!/^[a-z0-9-]+$/.test(name)) throw invalid(`Metadata names must be lower-case [a-z0-9-]; "${name}" is not.`, key);
    if (name === sha256MetadataName) throw invalid(`The metadata name "${sha256MetadataName}" is reserved for the SHA-256 the destination records.`, key);
    if (typeof value !== 'string' || !/^[\x20-\x7e]*$/.test(value)) throw invalid(`Metadata values must be printable ASCII; the value of "${name}" is not.`, key);
    if (value !== value.trim()) throw invalid(`Metadata values must not start or end with spaces (HTTP drops them); the value of "${name}" does.`, key);
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  if (bytes > maxMetadataBytes) throw invalid(`The metadata takes ${bytes} bytes; S3 accepts at most ${maxMetadataBytes} (including the recorded SHA-256).`, key);
}

/** The SHA-256 an object's metadata or S3 checksum records, lower-case hex; `undefined` when neither does. */
function recordedSha256(metadata: Record<string, string> | undefined, checksumSha256: string | undefined): string | undefined {
  const fromMetadata = metadata?.[sha256MetadataName];
  if (fromMetadata !== undefined && /^[0-9a-f]{64}$/.test(fromMetadata)) return fromMetadata;
  // A composite (multipart) checksum ends in `-<parts>` and is not the SHA-256 of the whole object.
  if (checksumSha256 !== undefined && !checksumSha256.includes('-')) {
    const bytes = Buffer.from(checksumSha256, 'base64');
    if (bytes.length === 32) return bytes.toString('hex');
  }
  return undefined;
}

function userMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const result: Record<string, string> = { ...metadata };
  delete result[sha256MetadataName];
  return result;
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
  const bucket = settings.bucket;
  const prefix = normalizePrefix(settings.keyPrefix);
  let client: S3Client;
  const ownsClient = settings.client === undefined;
  if (settings.client !== undefined) {
    client = settings.client;
  } else {
    const region = resolveRegion(settings);
    if (region === undefined) throw invalid('The S3 destination needs a region: set `region`, or AWS_REGION in the environment.');
    client = createS3Client(settings, region);
  }
  const owner = settings.expectedBucketOwner === undefined ? {} : { ExpectedBucketOwner: settings.expectedBucketOwner };
  const conflictRetries = settings.conditionalConflictRetries ?? 5;

  const fullKey = (key: unknown): string => {
    assertValidObjectKey(key, provider);
    if (key.startsWith(probeFolder)) throw invalid(`Invalid object key: keys starting with "${probeFolder}" are reserved for probe objects.`, key);
    const full = prefix + key;
    if (Buffer.byteLength(full, 'utf8') > maxObjectKeyBytes) {
      throw invalid(`Invalid object key: with the key prefix it takes ${Buffer.byteLength(full, 'utf8')} UTF-8 bytes; S3 accepts at most ${maxObjectKeyBytes}.`, key);
    }
    return full;
  };

  const failure = (error: unknown, operation: string, key: string | undefined, signal: AbortSignal | undefined): unknown => {
    if (DestinationError.isInstance(error) || isAbortError(error, signal)) return error;
    return mapS3Error(error, { operation, bucket, key });
  };

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
  const conditionalPut = (key: string, input: Pick<PutObjectInput, 'body' | 'sha256' | 'contentType' | 'contentEncoding' | 'metadata'>, extra: Partial<PutObjectCommandInput>, signal: AbortSignal | undefined) =>
    client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: input.body,
        ContentLength: input.body.byteLength,
        ContentType: input.contentType,
        ...(input.contentEncoding === undefined ? {} : { ContentEncoding: input.contentEncoding }),
        Metadata: { ...input.metadata, [sha256MetadataName]: input.sha256 },
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: Buffer.from(input.sha256, 'hex').toString('base64'),
        IfNoneMatch: '*',
        ...owner,
        ...extra,
      }),
      { abortSignal: signal },
    );

  /** The SHA-256 of what `key` holds, or `undefined` when it holds nothing. */
  const storedSha256 = async (key: string, signal: AbortSignal | undefined): Promise<string | undefined> => {
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED', ...owner }), { abortSignal: signal });
      const recorded = recordedSha256(head.Metadata, head.ChecksumSHA256);
      if (recorded !== undefined) return recorded;
      // Written by something else than sentcopy, without a SHA-256: hash the bytes.
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...owner }), { abortSignal: signal });
      return sha256Hex(await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };

  const put: DestinationV1['put'] = async (input, options) => {
    const signal = options?.signal;
    try {
      signal?.throwIfAborted();
      const key = fullKey(input?.key);
      if (!(input.body instanceof Uint8Array)) throw invalid('The object body must be a Uint8Array.', input.key);
      if (input.body.byteLength > maxS3ObjectBytes) throw invalid(`The object is ${input.body.byteLength} bytes; one S3 PutObject stores at most ${maxS3ObjectBytes}.`, input.key);
      if (typeof input.contentType !== 'string' || input.contentType === '') throw invalid('The object needs a content type.', input.key);
      if (typeof input.sha256 !== 'string' || sha256Hex(input.body) !== input.sha256) throw invalid('The given sha256 does not match the object body.', input.key);
      assertMetadata(input.metadata, input.key);
      const extra = { ...writeOptions(), ...lockOptions() };
      const result = (created: boolean): PutObjectResult => ({ key: input.key, size: input.body.byteLength, sha256: input.sha256, created });

      for (let attempt = 0; ; attempt++) {
        try {
          await conditionalPut(key, input, extra, signal);
          return result(true);
        } catch (error) {
          if (isAbortError(error, signal)) throw error;
          const { code, status } = s3ErrorFacts(error);
          if (code === 'PreconditionFailed' || status === 412) {
            const existing = await storedSha256(key, signal);
            if (existing === input.sha256) return result(false);
            if (existing !== undefined) {
              throw new DestinationError({ kind: 'conflict', provider, key: input.key, code, status, message: `The key "${key}" already holds different content in S3 bucket "${bucket}"; write-once destinations never overwrite.` });
            }
            // Deleted between our PUT and HEAD: try to create it again.
          } else if (!(code === 'ConditionalRequestConflict' || status === 409)) {
            throw error;
          }
          if (attempt >= conflictRetries) throw error;
          // Another write of this key is in flight; it settles within milliseconds, so back off briefly (full jitter).
          await sleep(Math.random() * Math.min(1000, 25 * 2 ** attempt), signal);
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
      const answer = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: full, ChecksumMode: 'ENABLED', ...owner }), { abortSignal: signal });
      const info: ObjectInfo = {
        key,
        size: answer.ContentLength ?? 0,
        sha256: recordedSha256(answer.Metadata, answer.ChecksumSHA256),
        contentType: answer.ContentType,
        contentEncoding: answer.ContentEncoding,
        metadata: userMetadata(answer.Metadata),
        lastModified: answer.LastModified,
      };
      return info;
    } catch (error) {
      if (full !== undefined && isNotFound(error)) return undefined;
      throw failure(error, 'read the object metadata', full, signal);
    }
  };

  const get: DestinationV1['get'] = async (key, options) => {
    const signal = options?.signal;
    let full: string | undefined;
    try {
      signal?.throwIfAborted();
      full = fullKey(key);
      const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: full, ChecksumMode: 'ENABLED', ...owner }), { abortSignal: signal });
      const body = await (answer.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
      return {
        key,
        size: body.byteLength,
        sha256: recordedSha256(answer.Metadata, answer.ChecksumSHA256) ?? sha256Hex(body),
        contentType: answer.ContentType,
        contentEncoding: answer.ContentEncoding,
        metadata: userMetadata(answer.Metadata),
        lastModified: answer.LastModified,
        body,
      };
    } catch (error) {
      if (full !== undefined && isNotFound(error)) return undefined;
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
      const answer = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix + (options.prefix ?? ''),
          MaxKeys: Math.min(limit, 1000),
          ...(options.cursor === undefined ? {} : { ContinuationToken: options.cursor }),
          ...owner,
        }),
        { abortSignal: signal },
      );
      const objects: ListedObject[] = [];
      for (const entry of answer.Contents ?? []) {
        const key = entry.Key?.slice(prefix.length);
        // Left out: keys no destination call could address (another writer's `a//b`), and probe leftovers.
        if (key === undefined || objectKeyProblem(key) !== undefined || key.startsWith(probeFolder)) continue;
        objects.push({ key, size: entry.Size ?? 0, ...(entry.LastModified ? { lastModified: entry.LastModified } : {}) });
      }
      return { objects, cursor: answer.IsTruncated && answer.NextContinuationToken ? answer.NextContinuationToken : undefined };
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
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: full, ...owner }), { abortSignal: signal });
    } catch (error) {
      if (full !== undefined && isNotFound(error)) return;
      throw failure(error, 'delete the object', full, signal);
    }
  };

  /**
   * Writes a probe object with the Object Lock headers archived objects carry, so a bucket without
   * Object Lock (or credentials without s3:PutObjectRetention / s3:PutObjectLegalHold) fails the
   * probe instead of every message. The retention lasts two seconds and the legal hold is sent as
   * OFF, so the object can be deleted again once the retention has passed.
   */
  const probeObjectLock = async (signal: AbortSignal | undefined, describe: (error: unknown, operation: string, key?: string) => string): Promise<ProbeCheck> => {
    const lock = settings.objectLock!;
    const key = `${prefix}${probeFolder}${randomUUID()}`;
    const body = new Uint8Array(Buffer.from(`sentcopy object lock probe ${new Date().toISOString()}\n`, 'utf8'));
    const retainUntil = new Date(Date.now() + 2_000);
    const extra: Partial<PutObjectCommandInput> = { ...writeOptions() };
    if (lock.mode !== undefined) Object.assign(extra, { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: retainUntil });
    if (lock.legalHold) extra.ObjectLockLegalHoldStatus = 'OFF';
    let versionId: string | undefined;
    try {
      versionId = (await conditionalPut(key, { body, sha256: sha256Hex(body), contentType: 'text/plain' }, extra, signal)).VersionId;
    } catch (error) {
      if (isAbortError(error, signal)) throw error;
      const { code } = s3ErrorFacts(error);
      const hint = code === 'InvalidRequest' ? ' The bucket has no Object Lock configuration: Object Lock is enabled when a bucket is created, so use a bucket created with it, or remove objectLock from the settings.' : '';
      return { name: 'object-lock', status: 'failed', detail: `Writing an object with the configured Object Lock settings failed: ${describe(error, 'write an Object Lock probe object', key)}${hint}` };
    }
    const wait = retainUntil.getTime() + 250 - Date.now();
    if (lock.mode !== undefined && wait > 0) await sleep(wait, signal);
    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, ...(versionId === undefined ? {} : { VersionId: versionId }), ...owner }), { abortSignal: signal });
    } catch (error) {
      if (isAbortError(error, signal)) throw error;
      return { name: 'object-lock', status: 'passed', detail: `Wrote an object with the configured Object Lock settings; removing it afterwards failed (${describe(error, 'delete the Object Lock probe object', key)}), so ${key} is left behind.` };
    }
    return { name: 'object-lock', status: 'passed', detail: `Wrote (and removed) an object with the configured Object Lock settings${lock.mode === undefined ? '' : ` (${lock.mode} retention)`}${lock.legalHold ? ' and a legal hold header' : ''}.` };
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

    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket, ...owner }), { abortSignal: signal });
      checks.push({ name: 'reachable', status: 'passed', detail: `Bucket "${bucket}" exists and the credentials reach it.` });
    } catch (error) {
      if (isAbortError(error, signal)) throw error;
      const { status } = s3ErrorFacts(error);
      const detail = status === 404 ? `Bucket "${bucket}" does not exist (HTTP 404); create it first, or check the name and region.` : describe(error, 'reach the bucket');
      checks.push({ name: 'reachable', status: 'failed', detail });
      return result();
    }

    const probeKey = `${prefix}${probeFolder}${randomUUID()}`;
    const body = new Uint8Array(Buffer.from(`sentcopy probe ${new Date().toISOString()}\n`, 'utf8'));
    const probeInput = { body, sha256: sha256Hex(body), contentType: 'text/plain' };
    // No Object Lock on the probe object, so it can be removed again.
    try {
      await conditionalPut(probeKey, probeInput, writeOptions(), signal);
      checks.push({ name: 'write', status: 'passed', detail: 'Wrote a probe object with If-None-Match: * and its SHA-256 checksum.' });
    } catch (error) {
      if (isAbortError(error, signal)) throw error;
      checks.push({ name: 'write', status: 'failed', detail: describe(error, 'write a probe object', probeKey) });
      return result();
    }

    try {
      const other = new Uint8Array(Buffer.from('sentcopy probe: this overwrite must be refused\n', 'utf8'));
      await conditionalPut(probeKey, { body: other, sha256: sha256Hex(other), contentType: 'text/plain' }, writeOptions(), signal);
      checks.push({
        name: 'write-once',
        status: 'failed',
        detail: 'The store overwrote an existing object despite If-None-Match: *; it does not support conditional writes, so write-once (never overwrite) cannot be guaranteed here.',
      });
    } catch (error) {
      if (isAbortError(error, signal)) throw error;
      const { code, status } = s3ErrorFacts(error);
      if (code === 'PreconditionFailed' || status === 412) checks.push({ name: 'write-once', status: 'passed', detail: 'A second write of the probe key was refused with 412 PreconditionFailed.' });
      else checks.push({ name: 'write-once', status: 'failed', detail: `A second conditional write of the probe key failed unexpectedly: ${describe(error, 'test a conditional write', probeKey)}` });
    }

    if (settings.objectLock !== undefined) checks.push(await probeObjectLock(signal, describe));

    try {
      const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: probeKey, ...owner }), { abortSignal: signal });
      const read = await (answer.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
      if (Buffer.from(read).equals(Buffer.from(body))) checks.push({ name: 'read', status: 'passed' });
      else checks.push({ name: 'read', status: 'failed', detail: 'The probe object read back differs from what was written.' });
    } catch (error) {
      if (isAbortError(error, signal)) throw error;
      checks.push({ name: 'read', status: 'failed', detail: describe(error, 'read the probe object', probeKey) });
    }

    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: probeKey, ...owner }), { abortSignal: signal });
      checks.push({ name: 'delete', status: 'passed' });
    } catch (error) {
      if (isAbortError(error, signal)) throw error;
      checks.push({ name: 'delete', status: 'failed', detail: describe(error, 'delete the probe object', probeKey) });
    }

    const access = await checkPublicAccess(client, { bucket, owner, signal, allowPublicBucket: settings.allowPublicBucket ?? false, describe });
    isPublic = access.public;
    checks.push(access.check);
    return result();
  };

  return {
    specificationVersion: 'v1',
    provider,
    id: `s3://${bucket}/${prefix}`,
    capabilities: { delete: true, immutability: true, publicAccessCheck: true, maxObjectSize: maxS3ObjectBytes },
    put,
    get,
    head,
    list,
    delete: deleteObject,
    probe,
    async close() {
      if (ownsClient) client.destroy();
    },
  };
}
