import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAwsChunked } from './aws-chunked.js';
import { requestId, sendCanned } from './canned-response.js';
import { drainBody, headerValue, listen, readBody } from './http-server.js';
import { s3ErrorResponse, type S3ErrorOptions } from './s3-errors.js';
import { authenticate, parseAuthorization, type TestCredentials } from './sigv4.js';
import { element } from './xml.js';

/** Public-access settings of a bucket, as GetBucketPolicyStatus, GetPublicAccessBlock and GetBucketAcl report them. */
export interface S3BucketAccess {
  /** What GetBucketPolicyStatus answers; `undefined` answers 404 NoSuchBucketPolicy (no policy). */
  readonly policyStatus?: { readonly isPublic: boolean };
  /** What GetPublicAccessBlock answers; `undefined` answers 404 NoSuchPublicAccessBlockConfiguration. */
  readonly publicAccessBlock?: {
    readonly blockPublicAcls: boolean;
    readonly ignorePublicAcls: boolean;
    readonly blockPublicPolicy: boolean;
    readonly restrictPublicBuckets: boolean;
  };
  /** Grants to the global groups GetBucketAcl lists besides the owner's FULL_CONTROL. */
  readonly publicGrants?: readonly { readonly group: 'AllUsers' | 'AuthenticatedUsers'; readonly permission: 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP' | 'FULL_CONTROL' }[];
}

/** Options for {@link S3TestServer.createBucket}. */
export interface S3BucketOptions extends S3BucketAccess {
  /** Creates the bucket with Object Lock enabled (required for retention and legal-hold headers). @default false */
  readonly objectLock?: boolean;
  /**
   * Turns S3 Versioning on: a PUT adds a version, a DELETE without a version id adds a delete
   * marker (the earlier versions stay), `DELETE ?versionId=` removes one version (refused with 403
   * while that version is retained or under a legal hold), and `GET ?versions` lists them
   * (ListObjectVersions). Real S3 turns it on with Object Lock; here it is separate so tests can
   * model either. Without it, `GET ?versions` lists each object once with version id `null`.
   * @default false
   */
  readonly versioning?: boolean;
}

/** Options for {@link startS3Server}. */
export interface S3ServerOptions {
  /** Folder for object bodies. @default a new folder under the OS temp dir, removed by `stop()` */
  readonly directory?: string;
  /**
   * Credentials the server accepts; every request's SigV4 signature, session token and expiry are
   * verified against them. @default none: any request is accepted, signed or not
   */
  readonly credentials?: readonly TestCredentials[];
  /** Account id owning every bucket, compared with `x-amz-expected-bucket-owner`. @default '111122223333' */
  readonly accountId?: string;
  /**
   * A conditional write (`If-None-Match: *`) that arrives while another write of the same key is in
   * flight: `conflict` answers 409 ConditionalRequestConflict as S3 does; `wait` queues it behind the
   * other write. Either way the existence check and the write are atomic. @default 'conflict'
   */
  readonly concurrentConditionalWrites?: 'conflict' | 'wait';
  /**
   * `ignore` stores every PUT and overwrites, ignoring `If-None-Match: *`, as s3rver, fauxqs and
   * other emulators do; for testing that clients detect such a store. @default 'enforce'
   */
  readonly conditionalWrites?: 'enforce' | 'ignore';
  /** Largest object one PUT may store, in bytes. @default 5 GiB (S3's limit) */
  readonly maxObjectSize?: number;
  /**
   * Bucket sub-resources answered with 501 NotImplemented, as many S3-compatible servers do,
   * e.g. `['policyStatus', 'publicAccessBlock', 'acl']`. @default none
   */
  readonly unsupported?: readonly string[];
}

/** One request the server answered. */
export interface S3RequestRecord {
  readonly method: string;
  readonly bucket?: string;
  readonly key?: string;
  /** The query's parameter names, e.g. `['list-type', 'prefix']`, or `['acl']`. */
  readonly query: readonly string[];
  /** The access key id of the signature, if signed. */
  readonly accessKeyId?: string;
  /** The `x-amz-expected-bucket-owner` header, if sent. */
  readonly expectedBucketOwner?: string;
  /** Whether `x-amz-security-token` was sent. */
  readonly sessionToken: boolean;
  /** The `If-None-Match` header, if sent. */
  readonly ifNoneMatch?: string;
  /** The HTTP status answered. */
  readonly status: number;
  /** The S3 error code answered, if any. */
  readonly errorCode?: string;
}

/** An object as the server holds it (for assertions in the server's own tests). */
export interface S3ServerObject {
  readonly key: string;
  readonly body: Buffer;
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  /** User metadata (`x-amz-meta-*`), names lower-cased. */
  readonly metadata: Readonly<Record<string, string>>;
  /** `x-amz-checksum-sha256` as sent (base64), if any. */
  readonly checksumSha256?: string;
  readonly serverSideEncryption?: string;
  readonly kmsKeyId?: string;
  readonly bucketKeyEnabled?: boolean;
  readonly storageClass: string;
  readonly objectLockMode?: string;
  readonly retainUntil?: Date;
  readonly legalHold?: string;
}

/** One version of an object in a bucket (see {@link S3BucketOptions.versioning}), newest first per key. */
export interface S3ServerVersion {
  readonly key: string;
  /** The version id; `null` in a bucket without versioning. */
  readonly versionId: string;
  /** Whether it is the key's latest version (or delete marker). */
  readonly isLatest: boolean;
  /** A delete marker: no bytes. */
  readonly deleteMarker: boolean;
  /** The version's bytes (absent for a delete marker). */
  readonly body?: Buffer;
  readonly legalHold?: string;
  readonly retainUntil?: Date;
}

/** A running S3-compatible server. */
export interface S3TestServer {
  /** `http://127.0.0.1:<port>`; use with path-style addressing (`forcePathStyle: true`). */
  readonly endpoint: string;
  readonly port: number;
  /** Folder holding object bodies. */
  readonly directory: string;
  /** The account id owning every bucket. */
  readonly accountId: string;
  /** Every request answered, in order. */
  readonly requests: S3RequestRecord[];
  /** Creates a bucket directly (no request); returns its name. @default name a unique `sentcopy-test-<random>` */
  createBucket(name?: string, options?: S3BucketOptions): string;
  /** Replaces a bucket's public-access settings. */
  configureBucket(name: string, access: S3BucketAccess): void;
  /** Accepts these credentials from now on (e.g. ones a fake STS just issued). */
  allowCredentials(credentials: TestCredentials): void;
  /** Reads an object directly, bypassing HTTP. */
  getObject(bucket: string, key: string): S3ServerObject | undefined;
  /** Every key of a bucket, in UTF-8 byte order. */
  listKeys(bucket: string): string[];
  /** Every version and delete marker of a bucket (keys in UTF-8 byte order, newest first per key), bypassing HTTP. */
  listVersions(bucket: string): S3ServerVersion[];
  /** Stops the server and removes its folder (when it created it). */
  stop(): Promise<void>;
}

interface StoredRecord extends Omit<S3ServerObject, 'body'> {
  readonly file: string;
  readonly size: number;
}

/** One entry of a versioned key's history: a stored version, or a delete marker (no record). */
interface VersionEntry {
  readonly versionId: string;
  readonly lastModified: Date;
  readonly record?: StoredRecord;
}

interface Bucket {
  readonly name: string;
  readonly objectLock: boolean;
  readonly versioning: boolean;
  /** Versioned buckets: each key's versions and delete markers, oldest first. */
  readonly history: Map<string, VersionEntry[]>;
  access: S3BucketAccess;
  readonly objects: Map<string, StoredRecord>;
  sorted?: { key: string; bytes: Buffer }[];
}

class S3Failure extends Error {
  constructor(
    readonly code: string,
    readonly options: S3ErrorOptions = {},
  ) {
    super(code);
  }
}

const storageClasses = new Set(['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'EXPRESS_ONEZONE']);
const maxKeyBytes = 1024;
const maxMetadataBytes = 2048;
const emptySha256 = createHash('sha256').digest('hex');

/** UTF-8 byte order, the order S3 lists keys in. */
function compareBytes(left: Buffer, right: Buffer): number {
  return Buffer.compare(left, right);
}

function httpDate(date: Date): string {
  return date.toUTCString();
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '.000Z');
}

function decodePathSegment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new S3Failure('InvalidURI', { status: 400, message: "Couldn't parse the specified URI." });
  }
}

function parseQuery(raw: string): Map<string, string> {
  const query = new Map<string, string>();
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decodeURIComponent((equals === -1 ? pair : pair.slice(0, equals)).replace(/\+/g, '%20'));
    query.set(name, equals === -1 ? '' : decodeURIComponent(pair.slice(equals + 1).replace(/\+/g, '%20')));
  }
  return query;
}

/** A version id shaped like S3's (32 URL-safe characters), increasing so that newer sorts later within a millisecond too. */
let versionCounter = 0;
function newVersionId(): string {
  versionCounter += 1;
  return `${Date.now().toString(36).padStart(9, '0')}${versionCounter.toString(36).padStart(7, '0')}${randomBytes(12).toString('base64url')}`.slice(0, 32);
}

const isLocked = (record: StoredRecord): boolean => record.legalHold === 'ON' || (record.retainUntil !== undefined && record.retainUntil.getTime() > Date.now());

const urlEncodeKey = (key: string): string => encodeURIComponent(key).replace(/%2F/g, '/');

/**
 * Starts an S3-compatible server on 127.0.0.1 with a random port: path-style CreateBucket,
 * HeadBucket, PutObject (user metadata, Content-Type/-Encoding, `x-amz-checksum-sha256` and
 * Content-MD5 verified, atomic `If-None-Match: *`, SSE, storage class, Object Lock), GetObject,
 * HeadObject, DeleteObject, ListObjectsV2 (UTF-8 byte order, continuation tokens, delimiter),
 * Versioning per bucket (ListObjectVersions, delete markers, DeleteObject by version id), and
 * GetBucketPolicyStatus / GetPublicAccessBlock / GetBucketAcl. Errors are S3's XML bodies.
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3TestServer> {
  const ownsDirectory = options.directory === undefined;
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), 'sentcopy-s3-server-'));
  await mkdir(directory, { recursive: true });
  const accountId = options.accountId ?? '111122223333';
  const conditionalMode = options.concurrentConditionalWrites ?? 'conflict';
  const maxObjectSize = options.maxObjectSize ?? 5 * 1024 ** 3;
  const ignoreConditions = options.conditionalWrites === 'ignore';
  const unsupported = new Set(options.unsupported ?? []);
  const credentials = options.credentials === undefined ? undefined : new Map(options.credentials.map((entry) => [entry.accessKeyId, entry]));
  const buckets = new Map<string, Bucket>();
  const requests: S3RequestRecord[] = [];
  /** Keys with a write in flight, each with the promise that settles when it ends. */
  const writing = new Map<string, Promise<void>>();

  const createBucket = (name = `sentcopy-test-${randomBytes(6).toString('hex')}`, bucketOptions: S3BucketOptions = {}): string => {
    if (!buckets.has(name)) {
      const { objectLock, versioning, ...access } = bucketOptions;
      buckets.set(name, { name, objectLock: objectLock ?? false, versioning: versioning ?? false, history: new Map(), access, objects: new Map() });
    }
    return name;
  };

  const requireBucket = (name: string): Bucket => {
    const bucket = buckets.get(name);
    if (!bucket) throw new S3Failure('NoSuchBucket', { extra: { BucketName: name } });
    return bucket;
  };

  const sortedKeys = (bucket: Bucket): { key: string; bytes: Buffer }[] => {
    bucket.sorted ??= [...bucket.objects.keys()].map((key) => ({ key, bytes: Buffer.from(key, 'utf8') })).sort((left, right) => compareBytes(left.bytes, right.bytes));
    return bucket.sorted;
  };

  const objectHeaders = (record: StoredRecord, request: IncomingMessage): Record<string, string> => {
    const headers: Record<string, string> = {
      'content-length': String(record.size),
      etag: record.etag,
      'last-modified': httpDate(record.lastModified),
      'accept-ranges': 'bytes',
    };
    if (record.contentType !== undefined) headers['content-type'] = record.contentType;
    if (record.contentEncoding !== undefined) headers['content-encoding'] = record.contentEncoding;
    for (const [name, value] of Object.entries(record.metadata)) headers[`x-amz-meta-${name}`] = value;
    if (record.serverSideEncryption !== undefined) headers['x-amz-server-side-encryption'] = record.serverSideEncryption;
    if (record.kmsKeyId !== undefined) headers['x-amz-server-side-encryption-aws-kms-key-id'] = record.kmsKeyId;
    if (record.bucketKeyEnabled) headers['x-amz-server-side-encryption-bucket-key-enabled'] = 'true';
    if (record.storageClass !== 'STANDARD') headers['x-amz-storage-class'] = record.storageClass;
    if (record.objectLockMode !== undefined) headers['x-amz-object-lock-mode'] = record.objectLockMode;
    if (record.retainUntil !== undefined) headers['x-amz-object-lock-retain-until-date'] = isoSeconds(record.retainUntil);
    if (record.legalHold !== undefined) headers['x-amz-object-lock-legal-hold'] = record.legalHold;
    if (record.checksumSha256 !== undefined && headerValue(request, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') {
      headers['x-amz-checksum-sha256'] = record.checksumSha256;
      headers['x-amz-checksum-type'] = 'FULL_OBJECT';
    }
    return headers;
  };

  const putObject = async (request: IncomingMessage, bucket: Bucket, key: string): Promise<{ status: number; headers: Record<string, string> }> => {
    const ifNoneMatch = ignoreConditions ? undefined : headerValue(request, 'if-none-match');
    if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
      throw new S3Failure('NotImplemented', { message: 'A header you provided implies functionality that is not implemented', extra: { Header: 'If-None-Match' } });
    }
    // An existing key fails at once, before the body is read, so retries after a race settle fast.
    if (ifNoneMatch !== undefined && bucket.objects.has(key)) throw new S3Failure('PreconditionFailed', { extra: { Condition: 'If-None-Match' } });
    const lockKey = `${bucket.name}/${key}`;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    for (;;) {
      const current = writing.get(lockKey);
      if (current === undefined) break;
      if (ifNoneMatch !== undefined && conditionalMode === 'conflict') throw new S3Failure('ConditionalRequestConflict');
      await current;
    }
    writing.set(lockKey, held);
    try {
      let body = await readBody(request);
      const contentEncodings = (headerValue(request, 'content-encoding') ?? '')
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== '');
      const trailers: Record<string, string> = {};
      if (contentEncodings.includes('aws-chunked')) {
        const decoded = decodeAwsChunked(body);
        if (!decoded) throw new S3Failure('IncompleteBody', { status: 400, message: 'The request body terminated unexpectedly' });
        body = decoded.data;
        Object.assign(trailers, decoded.trailers);
      }
      const declared = headerValue(request, 'x-amz-decoded-content-length');
      if (declared !== undefined && Number(declared) !== body.length) throw new S3Failure('IncompleteBody', { status: 400, message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.' });

      const payloadHash = headerValue(request, 'x-amz-content-sha256');
      if (payloadHash !== undefined && /^[0-9a-f]{64}$/.test(payloadHash)) {
        const actual = createHash('sha256').update(body).digest('hex');
        if (actual !== payloadHash) throw new S3Failure('XAmzContentSHA256Mismatch', { extra: { ClientComputedContentSHA256: payloadHash, S3ComputedContentSHA256: actual } });
      }
      const contentMd5 = headerValue(request, 'content-md5');
      if (contentMd5 !== undefined && createHash('md5').update(body).digest('base64') !== contentMd5) {
        throw new S3Failure('BadDigest', { message: 'The Content-MD5 you specified did not match what we received.' });
      }
      const checksumSha256 = headerValue(request, 'x-amz-checksum-sha256') ?? trailers['x-amz-checksum-sha256'];
      if (checksumSha256 !== undefined) {
        if (Buffer.from(checksumSha256, 'base64').length !== 32) throw new S3Failure('InvalidRequest', { message: 'Value for x-amz-checksum-sha256 header is invalid.' });
        if (createHash('sha256').update(body).digest('base64') !== checksumSha256) throw new S3Failure('BadDigest');
      }
      if (Buffer.byteLength(key, 'utf8') > maxKeyBytes) throw new S3Failure('KeyTooLongError', { extra: { MaxSizeAllowed: String(maxKeyBytes), Size: String(Buffer.byteLength(key, 'utf8')) } });
      if (body.length > maxObjectSize) throw new S3Failure('EntityTooLarge', { extra: { ProposedSize: String(body.length), MaxSizeAllowed: String(maxObjectSize) } });

      const metadata: Record<string, string> = {};
      let metadataBytes = 0;
      for (const [name, value] of Object.entries(request.headers)) {
        if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
        const text = Array.isArray(value) ? value.join(',') : value;
        metadata[name.slice('x-amz-meta-'.length)] = text;
        metadataBytes += Buffer.byteLength(name.slice('x-amz-meta-'.length)) + Buffer.byteLength(text);
      }
      if (metadataBytes > maxMetadataBytes) throw new S3Failure('MetadataTooLarge', { extra: { Size: String(metadataBytes), MaxSizeAllowed: String(maxMetadataBytes) } });

      const serverSideEncryption = headerValue(request, 'x-amz-server-side-encryption');
      if (serverSideEncryption !== undefined && !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(serverSideEncryption)) {
        throw new S3Failure('InvalidArgument', { message: 'The encryption method specified is not supported', extra: { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: serverSideEncryption } });
      }
      const kmsKeyId = headerValue(request, 'x-amz-server-side-encryption-aws-kms-key-id');
      if (kmsKeyId !== undefined && serverSideEncryption !== 'aws:kms' && serverSideEncryption !== 'aws:kms:dsse') {
        throw new S3Failure('InvalidArgument', { message: 'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms' });
      }
      const storageClass = headerValue(request, 'x-amz-storage-class') ?? 'STANDARD';
      if (!storageClasses.has(storageClass)) throw new S3Failure('InvalidStorageClass', { extra: { StorageClassRequested: storageClass } });

      const objectLockMode = headerValue(request, 'x-amz-object-lock-mode');
      const retainUntilText = headerValue(request, 'x-amz-object-lock-retain-until-date');
      const legalHold = headerValue(request, 'x-amz-object-lock-legal-hold');
      if (objectLockMode !== undefined || retainUntilText !== undefined || legalHold !== undefined) {
        if (!bucket.objectLock) throw new S3Failure('InvalidRequest', { message: 'Bucket is missing Object Lock Configuration' });
        const hasChecksum = contentMd5 !== undefined || Object.keys(request.headers).some((name) => name.startsWith('x-amz-checksum-') || name === 'x-amz-sdk-checksum-algorithm') || Object.keys(trailers).length > 0;
        if (!hasChecksum) throw new S3Failure('InvalidRequest', { message: 'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters' });
        if ((objectLockMode === undefined) !== (retainUntilText === undefined)) {
          throw new S3Failure('InvalidArgument', { message: 'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied' });
        }
        if (objectLockMode !== undefined && objectLockMode !== 'GOVERNANCE' && objectLockMode !== 'COMPLIANCE') throw new S3Failure('InvalidArgument', { message: 'Unknown wormMode directive.' });
        if (retainUntilText !== undefined && !(new Date(retainUntilText).getTime() > Date.now())) {
          throw new S3Failure('InvalidArgument', { message: 'The retain until date must be in the future!' });
        }
        if (legalHold !== undefined && legalHold !== 'ON' && legalHold !== 'OFF') throw new S3Failure('InvalidArgument', { message: 'Legal Hold must be either of ON or OFF' });
      }

      if (ifNoneMatch !== undefined && bucket.objects.has(key)) {
        throw new S3Failure('PreconditionFailed', { extra: { Condition: 'If-None-Match' } });
      }

      const file = join(directory, randomUUID());
      await writeFile(file, body);
      const etag = `"${createHash('md5').update(body).digest('hex')}"`;
      const previous = bucket.objects.get(key);
      const stored: StoredRecord = {
        key,
        file,
        size: body.length,
        etag,
        lastModified: new Date(),
        contentType: headerValue(request, 'content-type') ?? 'binary/octet-stream',
        contentEncoding: contentEncodings.filter((part) => part !== 'aws-chunked').join(',') || undefined,
        metadata,
        checksumSha256,
        serverSideEncryption: serverSideEncryption ?? 'AES256',
        kmsKeyId: serverSideEncryption?.startsWith('aws:kms') ? (kmsKeyId ?? `arn:aws:kms:us-east-1:${accountId}:key/aws-managed-s3`) : undefined,
        bucketKeyEnabled: headerValue(request, 'x-amz-server-side-encryption-bucket-key-enabled') === 'true' || undefined,
        storageClass,
        objectLockMode,
        retainUntil: retainUntilText === undefined ? undefined : new Date(retainUntilText),
        legalHold,
      };
      bucket.objects.set(key, stored);
      const headers: Record<string, string> = { etag, 'x-amz-server-side-encryption': serverSideEncryption ?? 'AES256' };
      if (bucket.versioning) {
        const versionId = newVersionId();
        const history = bucket.history.get(key) ?? [];
        history.push({ versionId, lastModified: stored.lastModified, record: stored });
        bucket.history.set(key, history);
        headers['x-amz-version-id'] = versionId;
        if (!previous) bucket.sorted = undefined;
      } else if (!previous) bucket.sorted = undefined;
      else await unlink(previous.file).catch(() => undefined);
      if (checksumSha256 !== undefined) headers['x-amz-checksum-sha256'] = checksumSha256;
      return { status: 200, headers };
    } finally {
      writing.delete(lockKey);
      release();
    }
  };

  const listObjects = (bucket: Bucket, query: Map<string, string>): string => {
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeysText = query.get('max-keys');
    const maxKeys = maxKeysText === undefined ? 1000 : Math.min(1000, Number(maxKeysText));
    if (!Number.isInteger(maxKeys) || maxKeys < 0) throw new S3Failure('InvalidArgument', { message: 'Provided max-keys not an integer or within integer range', extra: { ArgumentName: 'max-keys', ArgumentValue: String(maxKeysText) } });
    const token = query.get('continuation-token');
    let after = query.get('start-after') ?? '';
    if (token !== undefined) {
      const decoded = Buffer.from(token, 'base64').toString('utf8');
      if (!decoded.startsWith('sentcopy-test:') || Buffer.from(decoded, 'utf8').toString('base64') !== token) {
        throw new S3Failure('InvalidArgument', { message: 'The continuation token provided is incorrect', extra: { ArgumentName: 'continuation-token' } });
      }
      after = decoded.slice('sentcopy-test:'.length);
    }
    const encode = query.get('encoding-type') === 'url' ? urlEncodeKey : (text: string) => text;
    const keys = sortedKeys(bucket);
    // First index whose key sorts after `bound` (or at it, when `inclusive`).
    const lowerBound = (bound: string, inclusive: boolean): number => {
      const boundBytes = Buffer.from(bound, 'utf8');
      let low = 0;
      let high = keys.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        const order = compareBytes((keys[middle] as { bytes: Buffer }).bytes, boundBytes);
        if (order < 0 || (order === 0 && !inclusive)) low = middle + 1;
        else high = middle;
      }
      return low;
    };
    const start = Math.max(after === '' ? 0 : lowerBound(after, false), lowerBound(prefix, true));
    const contents: StoredRecord[] = [];
    const commonPrefixes: string[] = [];
    let truncated = false;
    let last = '';
    for (let index = start; index < keys.length; index++) {
      const { key } = keys[index] as { key: string };
      if (!key.startsWith(prefix)) break;
      const rest = key.slice(prefix.length);
      const cut = delimiter === '' ? -1 : rest.indexOf(delimiter);
      const common = cut === -1 ? undefined : prefix + rest.slice(0, cut + delimiter.length);
      if (common !== undefined && commonPrefixes.at(-1) === common) continue;
      if (contents.length + commonPrefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (common !== undefined) {
        commonPrefixes.push(common);
        // Skip every key under this common prefix: continue after its last possible key.
        last = common;
        while (index + 1 < keys.length && (keys[index + 1] as { key: string }).key.startsWith(common)) {
          index++;
          last = (keys[index] as { key: string }).key;
        }
      } else {
        contents.push(bucket.objects.get(key) as StoredRecord);
        last = key;
      }
    }
    const parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">', element('Name', bucket.name), element('Prefix', encode(prefix))];
    if (delimiter !== '') parts.push(element('Delimiter', encode(delimiter)));
    if (query.has('start-after')) parts.push(element('StartAfter', encode(query.get('start-after') ?? '')));
    if (query.get('encoding-type') === 'url') parts.push(element('EncodingType', 'url'));
    parts.push(element('KeyCount', contents.length + commonPrefixes.length), element('MaxKeys', maxKeys), element('IsTruncated', truncated));
    if (token !== undefined) parts.push(element('ContinuationToken', token));
    if (truncated) parts.push(element('NextContinuationToken', Buffer.from(`sentcopy-test:${last}`, 'utf8').toString('base64')));
    for (const record of contents) {
      parts.push(
        `<Contents>${element('Key', encode(record.key))}${element('LastModified', isoSeconds(record.lastModified))}${element('ETag', record.etag)}` +
          `${element('Size', record.size)}${element('StorageClass', record.storageClass)}</Contents>`,
      );
    }
    for (const common of commonPrefixes) parts.push(`<CommonPrefixes>${element('Prefix', encode(common))}</CommonPrefixes>`);
    parts.push('</ListBucketResult>');
    return parts.join('');
  };

  /** Every version of the bucket: keys in byte order, newest first per key; a bucket without versioning has one `null` version per object. */
  const versionsOf = (bucket: Bucket): (S3ServerVersion & { record?: StoredRecord; lastModified: Date })[] => {
    const keys = bucket.versioning ? [...bucket.history.keys()].sort((left, right) => compareBytes(Buffer.from(left), Buffer.from(right))) : sortedKeys(bucket).map((entry) => entry.key);
    return keys.flatMap((key) => {
      if (!bucket.versioning) {
        const record = bucket.objects.get(key) as StoredRecord;
        return [{ key, versionId: 'null', isLatest: true, deleteMarker: false, record, lastModified: record.lastModified, legalHold: record.legalHold, retainUntil: record.retainUntil }];
      }
      const history = bucket.history.get(key) ?? [];
      return history
        .map((entry, index) => ({
          key,
          versionId: entry.versionId,
          isLatest: index === history.length - 1,
          deleteMarker: entry.record === undefined,
          record: entry.record,
          lastModified: entry.lastModified,
          legalHold: entry.record?.legalHold,
          retainUntil: entry.record?.retainUntil,
        }))
        .reverse();
    });
  };

  /** ListObjectVersions (`GET /bucket?versions`): prefix, max-keys, key-marker and version-id-marker. */
  const listVersionsXml = (bucket: Bucket, query: Map<string, string>): string => {
    const prefix = query.get('prefix') ?? '';
    const maxKeys = Math.min(1000, Number(query.get('max-keys') ?? 1000));
    const keyMarker = query.get('key-marker') ?? '';
    const versionMarker = query.get('version-id-marker') ?? '';
    let all = versionsOf(bucket).filter((entry) => entry.key.startsWith(prefix));
    if (keyMarker !== '') {
      const markerIndex = versionMarker === '' ? -1 : all.findIndex((entry) => entry.key === keyMarker && entry.versionId === versionMarker);
      all = markerIndex === -1 ? all.filter((entry) => compareBytes(Buffer.from(entry.key), Buffer.from(keyMarker)) > 0) : all.slice(markerIndex + 1);
    }
    const page = all.slice(0, maxKeys);
    const truncated = all.length > page.length;
    const parts = [
      '<?xml version="1.0" encoding="UTF-8"?>\n<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
      element('Name', bucket.name),
      element('Prefix', prefix),
      element('KeyMarker', keyMarker),
      element('VersionIdMarker', versionMarker),
      element('MaxKeys', maxKeys),
      element('IsTruncated', truncated),
    ];
    if (truncated) parts.push(element('NextKeyMarker', page.at(-1)!.key), element('NextVersionIdMarker', page.at(-1)!.versionId));
    for (const entry of page) {
      const common = `${element('Key', entry.key)}${element('VersionId', entry.versionId)}${element('IsLatest', entry.isLatest)}${element('LastModified', isoSeconds(entry.lastModified))}`;
      parts.push(
        entry.record === undefined ? `<DeleteMarker>${common}</DeleteMarker>` : `<Version>${common}${element('ETag', entry.record.etag)}${element('Size', entry.record.size)}${element('StorageClass', entry.record.storageClass)}</Version>`,
      );
    }
    parts.push('</ListVersionsResult>');
    return parts.join('');
  };

  /** DeleteObject: a delete marker (versioned, no version id), one version removed (`versionId`), or the object removed. */
  const deleteObject = async (bucket: Bucket, key: string, versionId: string | undefined): Promise<Record<string, string>> => {
    if (!bucket.versioning || versionId === undefined) {
      const stored = bucket.objects.get(key);
      if (bucket.versioning) {
        // S3 adds a delete marker even over a retained version: Object Lock protects versions, not keys.
        const markerId = newVersionId();
        const history = bucket.history.get(key) ?? [];
        history.push({ versionId: markerId, lastModified: new Date() });
        bucket.history.set(key, history);
        bucket.objects.delete(key);
        bucket.sorted = undefined;
        return { 'x-amz-delete-marker': 'true', 'x-amz-version-id': markerId };
      }
      if (versionId !== undefined && versionId !== 'null') throw new S3Failure('InvalidArgument', { message: 'Invalid version id specified', extra: { ArgumentName: 'versionId', ArgumentValue: versionId } });
      if (stored) {
        if (isLocked(stored)) throw new S3Failure('AccessDenied', { message: 'Access Denied because object protected by object lock.' });
        bucket.objects.delete(key);
        bucket.sorted = undefined;
        await unlink(stored.file).catch(() => undefined);
      }
      return {};
    }
    const history = bucket.history.get(key) ?? [];
    const index = history.findIndex((entry) => entry.versionId === versionId);
    if (index === -1) throw new S3Failure('NoSuchVersion', { status: 404, message: 'The specified version does not exist.', extra: { Key: key, VersionId: versionId } });
    const entry = history[index] as VersionEntry;
    if (entry.record !== undefined && isLocked(entry.record)) throw new S3Failure('AccessDenied', { message: 'Access Denied because object protected by object lock.' });
    history.splice(index, 1);
    if (history.length === 0) bucket.history.delete(key);
    const latest = history.at(-1)?.record;
    if (latest === undefined) bucket.objects.delete(key);
    else bucket.objects.set(key, latest);
    bucket.sorted = undefined;
    if (entry.record !== undefined) await unlink(entry.record.file).catch(() => undefined);
    return { 'x-amz-version-id': versionId, ...(entry.record === undefined ? { 'x-amz-delete-marker': 'true' } : {}) };
  };

  const bucketSubresource = (bucket: Bucket, name: string): string => {
    if (unsupported.has(name)) throw new S3Failure('NotImplemented', { message: 'A parameter you provided implies functionality that is not implemented' });
    const xml = '<?xml version="1.0" encoding="UTF-8"?>\n';
    switch (name) {
      case 'policyStatus':
        if (!bucket.access.policyStatus) throw new S3Failure('NoSuchBucketPolicy', { extra: { BucketName: bucket.name } });
        return `${xml}<PolicyStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${element('IsPublic', bucket.access.policyStatus.isPublic)}</PolicyStatus>`;
      case 'publicAccessBlock': {
        const block = bucket.access.publicAccessBlock;
        if (!block) throw new S3Failure('NoSuchPublicAccessBlockConfiguration', { extra: { BucketName: bucket.name } });
        return (
          `${xml}<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
          `${element('BlockPublicAcls', block.blockPublicAcls)}${element('IgnorePublicAcls', block.ignorePublicAcls)}` +
          `${element('BlockPublicPolicy', block.blockPublicPolicy)}${element('RestrictPublicBuckets', block.restrictPublicBuckets)}</PublicAccessBlockConfiguration>`
        );
      }
      case 'acl': {
        const owner = `${accountId}0000000000000000000000000000000000000000000000000000`;
        const grants = [
          `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">${element('ID', owner)}</Grantee>${element('Permission', 'FULL_CONTROL')}</Grant>`,
          ...(bucket.access.publicGrants ?? []).map(
            (grant) =>
              `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">${element('URI', `http://acs.amazonaws.com/groups/global/${grant.group}`)}</Grantee>${element('Permission', grant.permission)}</Grant>`,
          ),
        ];
        return `${xml}<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner>${element('ID', owner)}</Owner><AccessControlList>${grants.join('')}</AccessControlList></AccessControlPolicy>`;
      }
      default:
        throw new S3Failure('NotImplemented', { message: 'A parameter you provided implies functionality that is not implemented' });
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    const question = url.indexOf('?');
    const rawPath = question === -1 ? url : url.slice(0, question);
    const query = parseQuery(question === -1 ? '' : url.slice(question + 1));
    // The SDKs add `x-id=<Operation>` to object requests; it names the operation, nothing more.
    query.delete('x-id');
    const slash = rawPath.indexOf('/', 1);
    const bucketName = rawPath.length > 1 ? decodePathSegment(slash === -1 ? rawPath.slice(1) : rawPath.slice(1, slash)) : undefined;
    const key = slash === -1 || slash === rawPath.length - 1 ? undefined : decodePathSegment(rawPath.slice(slash + 1));
    const authorization = parseAuthorization(headerValue(request, 'authorization'));
    const record = (status: number, errorCode?: string): void => {
      requests.push({
        method,
        bucket: bucketName,
        key,
        query: [...query.keys()],
        accessKeyId: authorization?.accessKeyId,
        expectedBucketOwner: headerValue(request, 'x-amz-expected-bucket-owner'),
        sessionToken: headerValue(request, 'x-amz-security-token') !== undefined,
        ifNoneMatch: headerValue(request, 'if-none-match'),
        status,
        errorCode,
      });
    };
    const fail = async (failure: S3Failure): Promise<void> => {
      if (!request.readableEnded) await drainBody(request).catch(() => undefined);
      const canned = s3ErrorResponse(failure.code, failure.options);
      record(canned.status, failure.code);
      if (response.destroyed) return;
      sendCanned(response, canned, method);
    };

    try {
      if (credentials !== undefined) {
        const result = authenticate(request, (id) => credentials.get(id), headerValue(request, 'x-amz-content-sha256') ?? emptySha256);
        if (result.failure !== undefined) throw new S3Failure(result.failure);
      }
      if (bucketName === undefined) throw new S3Failure('MethodNotAllowed');
      if (key === undefined && method === 'PUT' && query.size === 0) {
        if (buckets.has(bucketName)) throw new S3Failure('BucketAlreadyOwnedByYou', { extra: { BucketName: bucketName } });
        if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucketName)) throw new S3Failure('InvalidBucketName', { extra: { BucketName: bucketName } });
        await drainBody(request);
        createBucket(bucketName, { objectLock: headerValue(request, 'x-amz-bucket-object-lock-enabled') === 'true' });
        record(200);
        response.writeHead(200, { location: `/${bucketName}`, 'x-amz-request-id': requestId(), 'content-length': 0 });
        response.end();
        return;
      }
      const bucket = requireBucket(bucketName);
      const expectedOwner = headerValue(request, 'x-amz-expected-bucket-owner');
      if (expectedOwner !== undefined && expectedOwner !== accountId) throw new S3Failure('AccessDenied');
      const common = { 'x-amz-request-id': requestId(), 'x-amz-id-2': randomBytes(24).toString('base64') };

      if (key === undefined) {
        await drainBody(request);
        if (method === 'HEAD' && query.size === 0) {
          record(200);
          response.writeHead(200, { ...common, 'x-amz-bucket-region': 'us-east-1', 'content-length': 0 });
          response.end();
          return;
        }
        if (method !== 'GET') throw new S3Failure('MethodNotAllowed');
        const body = query.get('list-type') === '2' ? listObjects(bucket, query) : query.has('versions') ? listVersionsXml(bucket, query) : query.size === 1 ? bucketSubresource(bucket, [...query.keys()][0] as string) : undefined;
        if (body === undefined) throw new S3Failure('NotImplemented', { message: 'Only ListObjectsV2 (list-type=2) and the policyStatus, publicAccessBlock and acl sub-resources are implemented' });
        record(200);
        sendCanned(response, { status: 200, headers: { ...common, 'content-type': 'application/xml' }, body }, method);
        return;
      }

      switch (method) {
        case 'PUT': {
          if (query.size > 0) throw new S3Failure('NotImplemented', { message: 'Only plain PutObject is implemented for objects' });
          const result = await putObject(request, bucket, key);
          record(result.status);
          response.writeHead(result.status, { ...common, ...result.headers, 'content-length': 0 });
          response.end();
          return;
        }
        case 'GET':
        case 'HEAD': {
          await drainBody(request);
          for (let attempt = 0; ; attempt++) {
            const stored = bucket.objects.get(key);
            if (!stored) throw new S3Failure('NoSuchKey', { extra: { Key: key } });
            let body: Buffer | undefined;
            if (method === 'GET') {
              try {
                body = await readFile(stored.file);
              } catch (error) {
                // Replaced by a concurrent PUT between the lookup and the read: look it up again.
                if ((error as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 3) continue;
                throw error;
              }
            }
            record(200);
            response.writeHead(200, { ...common, ...objectHeaders(stored, request) });
            response.end(body);
            return;
          }
        }
        case 'DELETE': {
          await drainBody(request);
          const headers = await deleteObject(bucket, key, query.get('versionId'));
          record(204);
          response.writeHead(204, { ...common, ...headers });
          response.end();
          return;
        }
        default:
          throw new S3Failure('MethodNotAllowed');
      }
    } catch (error) {
      if (error instanceof S3Failure) return fail(error);
      // The client went away mid-request (an aborted upload): nothing was stored, nobody to answer.
      if (request.destroyed || (error as NodeJS.ErrnoException).code === 'ECONNRESET' || (error as Error).message === 'aborted') {
        record(499, 'ClientClosedRequest');
        return;
      }
      throw error;
    }
  };

  const server = await listen(handle);
  return {
    endpoint: server.url,
    port: server.port,
    directory,
    accountId,
    requests,
    createBucket,
    configureBucket(name, access) {
      requireBucket(name).access = access;
    },
    allowCredentials(entry) {
      if (!credentials) throw new TypeError('Start the server with `credentials` to make it verify signatures.');
      credentials.set(entry.accessKeyId, entry);
    },
    getObject(bucketName, key) {
      const stored = buckets.get(bucketName)?.objects.get(key);
      if (!stored) return undefined;
      const { file: _file, size: _size, ...rest } = stored;
      return { ...rest, body: readFileSync(stored.file) };
    },
    listVersions(bucketName) {
      const bucket = buckets.get(bucketName);
      if (!bucket) return [];
      return versionsOf(bucket).map(({ record, lastModified: _lastModified, ...version }) => (record === undefined ? version : { ...version, body: readFileSync(record.file) }));
    },
    listKeys(bucketName) {
      const bucket = buckets.get(bucketName);
      return bucket ? sortedKeys(bucket).map((entry) => entry.key) : [];
    },
    async stop() {
      await server.close();
      if (ownsDirectory) await rm(directory, { recursive: true, force: true });
    },
  };
}
