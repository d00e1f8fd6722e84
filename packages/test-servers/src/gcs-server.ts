import { createHash, createPublicKey, randomBytes, randomUUID, verify, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { sendCanned } from './canned-response.js';
import { gcsErrorResponse } from './cloud-errors.js';
import { crc32cBase64 } from './gcs/crc32c.js';
import { multipartBoundary, parseMultipart } from './gcs/multipart.js';
import { headerValue, listen, readBody } from './http-server.js';

/** A binding of a bucket's IAM policy, e.g. `{ role: 'roles/storage.objectViewer', members: ['allUsers'] }`. */
export interface GcsIamBinding {
  readonly role: string;
  readonly members: readonly string[];
}

/** Access settings of a bucket, as bucket metadata and `getIamPolicy` report them. */
export interface GcsBucketAccess {
  /** `iamConfiguration.publicAccessPrevention`. @default 'inherited' */
  readonly publicAccessPrevention?: 'inherited' | 'enforced';
  /** `iamConfiguration.uniformBucketLevelAccess.enabled`. @default true */
  readonly uniformBucketLevelAccess?: boolean;
  /** IAM bindings besides the project owners' (e.g. `allUsers` as `roles/storage.objectViewer` makes the bucket public). @default none */
  readonly iamBindings?: readonly GcsIamBinding[];
}

/** Options for {@link GcsTestServer.createBucket}. */
export interface GcsBucketOptions extends GcsBucketAccess {
  /** Object retention enabled on the bucket (`objectRetention.mode: 'Enabled'`); required for per-object `retention`. @default false */
  readonly objectRetention?: boolean;
  /**
   * Object Versioning: a replaced or deleted live object becomes a noncurrent generation (with
   * `timeDeleted`) instead of going away; `DELETE …?generation=` removes one generation for good
   * (refused while it is held or retained); `GET …/o?versions=true` lists noncurrent generations
   * too (all of them, without paging). @default false
   */
  readonly versioning?: boolean;
}

/** A service account whose self-signed JWTs (RS256 bearer tokens) the server accepts. */
export interface GcsTestServiceAccount {
  /** `client_email`, expected as the token's `iss`. */
  readonly clientEmail: string;
  /** The account's public key (PEM), used to verify the token's signature. */
  readonly publicKey: string | KeyObject;
}

/** Options for {@link startGcsServer}. */
export interface GcsServerOptions {
  /**
   * When set, every request needs `Authorization: Bearer …` with one of `tokens` or a JWT signed by
   * one of `serviceAccounts`; otherwise 401 as GCS answers it. @default none: every request is accepted
   */
  readonly authentication?: { readonly tokens?: readonly string[]; readonly serviceAccounts?: readonly GcsTestServiceAccount[] };
  /** Largest object one upload may store, in bytes. @default 5 TiB (GCS's limit) */
  readonly maxObjectSize?: number;
  /** API areas answered with 501 notImplemented, as partial emulators do: `iam` (getIamPolicy), `bucketMetadata` (GET of a bucket). @default none */
  readonly unsupported?: readonly ('iam' | 'bucketMetadata')[];
  /** Project number reported in bucket metadata. @default '123456789012' */
  readonly projectNumber?: string;
}

/** One request the server answered. */
export interface GcsRequestRecord {
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  /** Query parameters as sent. */
  readonly query: Readonly<Record<string, string>>;
  readonly bucket?: string;
  readonly object?: string;
  /** `uploadType` for uploads. */
  readonly uploadType?: string;
  /** The `Authorization` header's scheme (`Bearer`), if one was sent; never the token. */
  readonly authorization?: string;
  /** The verified subject: a service account's email, or `token` for an accepted opaque token. */
  readonly principal?: string;
  readonly status: number;
  /** The first error reason answered (`conditionNotMet`, `notFound`), if any. */
  readonly reason?: string;
}

/** An object as the server holds it. */
export interface GcsServerObject {
  readonly bucket: string;
  readonly name: string;
  readonly body: Buffer;
  /** Generation (microseconds since the epoch at creation), as a decimal string. */
  readonly generation: string;
  readonly metageneration: string;
  readonly contentType: string;
  readonly contentEncoding?: string;
  /** Custom metadata (`metadata` of the object resource). */
  readonly metadata: Readonly<Record<string, string>>;
  /** MD5 of the body, base64. */
  readonly md5Hash: string;
  /** CRC-32C of the body, big-endian, base64. */
  readonly crc32c: string;
  readonly storageClass: string;
  readonly timeCreated: Date;
  /** `retention` as sent (mode `Unlocked`/`Locked`, `retainUntilTime` RFC 3339). */
  readonly retention?: { readonly mode: string; readonly retainUntilTime: string };
  readonly eventBasedHold?: boolean;
  readonly temporaryHold?: boolean;
  /** The Cloud KMS key (with `/cryptoKeyVersions/1`), when one was named. */
  readonly kmsKeyName?: string;
}

/** A running GCS JSON-API server. */
export interface GcsTestServer {
  /** `http://127.0.0.1:<port>`: the `apiEndpoint` to give `@google-cloud/storage`. */
  readonly endpoint: string;
  readonly port: number;
  /** Every request answered, in order. */
  readonly requests: GcsRequestRecord[];
  /** Creates a bucket directly (no request); returns its name. @default name a unique `sentcopy-test-<random>` */
  createBucket(name?: string, options?: GcsBucketOptions): string;
  /** Replaces a bucket's access settings (public access prevention, IAM bindings). */
  configureBucket(name: string, access: GcsBucketAccess): void;
  /** Reads an object directly, bypassing HTTP. */
  getObject(bucket: string, name: string): GcsServerObject | undefined;
  /** Every object name of a bucket, in UTF-8 byte order. */
  listObjects(bucket: string): string[];
  /** Every generation of `name`, live or noncurrent (see {@link GcsBucketOptions.versioning}), oldest first. */
  listGenerations(bucket: string, name: string): { readonly generation: string; readonly live: boolean; readonly body: Buffer }[];
  /** Stores an object directly (e.g. one written by another tool, without sentcopy's metadata). */
  putObject(bucket: string, name: string, body: Uint8Array, options?: { contentType?: string; contentEncoding?: string; metadata?: Record<string, string> }): GcsServerObject;
  /** Stops the server. */
  stop(): Promise<void>;
}

interface Bucket {
  readonly name: string;
  readonly created: Date;
  readonly objectRetention: boolean;
  readonly versioning: boolean;
  /** Noncurrent generations by name, oldest first (versioned buckets). */
  readonly noncurrent: Map<string, (GcsServerObject & { readonly timeDeleted: Date })[]>;
  metageneration: number;
  access: GcsBucketAccess;
  readonly objects: Map<string, GcsServerObject>;
  sorted?: { name: string; bytes: Buffer }[];
}

interface PendingUpload {
  readonly bucket: string;
  readonly name: string;
  readonly resource: Record<string, unknown>;
  readonly query: Readonly<Record<string, string>>;
  readonly chunks: Buffer[];
  received: number;
}

/** A JSON API error: status, reason and message as GCS words them. */
class GcsFailure extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const conditionNotMet = () => new GcsFailure(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
const noSuchBucket = () => new GcsFailure(404, 'notFound', 'The specified bucket does not exist.');
const storageClasses = new Set(['STANDARD', 'NEARLINE', 'COLDLINE', 'ARCHIVE', 'MULTI_REGIONAL', 'REGIONAL', 'DURABLE_REDUCED_AVAILABILITY']);
const maxNameBytes = 1024;

function parseQuery(raw: string): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(raw)) query[name] = value;
  return query;
}

function decodeSegment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new GcsFailure(400, 'invalid', 'The object name is not a valid UTF-8 URL-encoded string.');
  }
}

/** A generation: microseconds since the epoch, strictly increasing within this server. */
let lastGeneration = 0n;
function nextGeneration(): string {
  const now = BigInt(Date.now()) * 1000n;
  lastGeneration = now > lastGeneration ? now : lastGeneration + 1n;
  return lastGeneration.toString();
}

function decodeJwtPart(part: string | undefined): Record<string, unknown> | undefined {
  if (part === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts a Google Cloud Storage JSON-API server on 127.0.0.1 with a random port, answering the
 * requests `@google-cloud/storage` 7.x sends with `apiEndpoint` set: bucket insert/get,
 * getIamPolicy, object uploads (`uploadType=multipart`, `media` and `resumable`), metadata and
 * media GET (gzip served as stored to clients that accept it, transcoded otherwise), list
 * (prefix, delimiter, startOffset/endOffset, maxResults, pageToken) and delete. Generations and
 * metagenerations, preconditions (`ifGenerationMatch` — `0` means "must not exist" —,
 * `ifGenerationNotMatch`, `ifMetagenerationMatch`) checked atomically with the write, md5Hash and
 * crc32c computed and verified when the client sends them, and GCS's JSON error bodies.
 * Objects live in memory.
 */
export async function startGcsServer(options: GcsServerOptions = {}): Promise<GcsTestServer> {
  const buckets = new Map<string, Bucket>();
  const uploads = new Map<string, PendingUpload>();
  const requests: GcsRequestRecord[] = [];
  const maxObjectSize = options.maxObjectSize ?? 5 * 1024 ** 4;
  const unsupported = new Set(options.unsupported ?? []);
  const projectNumber = options.projectNumber ?? '123456789012';
  const tokens = new Set(options.authentication?.tokens ?? []);
  const accounts = new Map((options.authentication?.serviceAccounts ?? []).map((account) => [account.clientEmail, typeof account.publicKey === 'string' ? createPublicKey(account.publicKey) : account.publicKey]));
  let endpoint = '';

  const createBucket = (name = `sentcopy-test-${randomBytes(6).toString('hex')}`, bucketOptions: GcsBucketOptions = {}): string => {
    if (!buckets.has(name)) {
      const { objectRetention, versioning, ...access } = bucketOptions;
      buckets.set(name, { name, created: new Date(), objectRetention: objectRetention ?? false, versioning: versioning ?? false, noncurrent: new Map(), metageneration: 1, access, objects: new Map() });
    }
    return name;
  };

  const requireBucket = (name: string): Bucket => {
    const bucket = buckets.get(name);
    if (!bucket) throw noSuchBucket();
    return bucket;
  };

  const sortedNames = (bucket: Bucket): { name: string; bytes: Buffer }[] => {
    bucket.sorted ??= [...bucket.objects.keys()].map((name) => ({ name, bytes: Buffer.from(name, 'utf8') })).sort((left, right) => Buffer.compare(left.bytes, right.bytes));
    return bucket.sorted;
  };

  const makeNoncurrent = (bucket: Bucket, object: GcsServerObject): void => {
    const older = bucket.noncurrent.get(object.name) ?? [];
    older.push({ ...object, timeDeleted: new Date() });
    bucket.noncurrent.set(object.name, older);
  };

  /** Holds and retention refuse deleting (or making noncurrent) a generation, as GCS does. */
  const checkDeletable = (object: GcsServerObject): void => {
    if (object.temporaryHold || object.eventBasedHold)
      throw new GcsFailure(403, 'forbidden', `Object '${object.bucket}/${object.name}' is under active Temporary hold or Event-Based hold and cannot be deleted, overwritten or archived until hold is removed.`);
    if (object.retention !== undefined && new Date(object.retention.retainUntilTime).getTime() > Date.now()) {
      throw new GcsFailure(403, 'retentionPolicyNotMet', `Object '${object.bucket}/${object.name}' is subject to object retention and cannot be deleted, overwritten or archived until ${object.retention.retainUntilTime}.`);
    }
  };

  const bucketResource = (bucket: Bucket) => ({
    kind: 'storage#bucket',
    selfLink: `${endpoint}/storage/v1/b/${bucket.name}`,
    id: bucket.name,
    name: bucket.name,
    projectNumber,
    metageneration: String(bucket.metageneration),
    location: 'US',
    storageClass: 'STANDARD',
    etag: 'CAE=',
    timeCreated: bucket.created.toISOString(),
    updated: bucket.created.toISOString(),
    iamConfiguration: {
      bucketPolicyOnly: { enabled: bucket.access.uniformBucketLevelAccess ?? true },
      uniformBucketLevelAccess: { enabled: bucket.access.uniformBucketLevelAccess ?? true },
      publicAccessPrevention: bucket.access.publicAccessPrevention ?? 'inherited',
    },
    locationType: 'multi-region',
    ...(bucket.objectRetention ? { objectRetention: { mode: 'Enabled' } } : {}),
  });

  const objectResource = (object: GcsServerObject) => {
    const path = `${object.bucket}/o/${encodeURIComponent(object.name)}`;
    const etag = Buffer.from(`${object.generation}/${object.metageneration}`).toString('base64');
    return {
      kind: 'storage#object',
      id: `${object.bucket}/${object.name}/${object.generation}`,
      selfLink: `${endpoint}/storage/v1/b/${path}`,
      mediaLink: `${endpoint}/download/storage/v1/b/${path}?generation=${object.generation}&alt=media`,
      name: object.name,
      bucket: object.bucket,
      generation: object.generation,
      metageneration: object.metageneration,
      contentType: object.contentType,
      ...(object.contentEncoding === undefined ? {} : { contentEncoding: object.contentEncoding }),
      storageClass: object.storageClass,
      size: String(object.body.length),
      md5Hash: object.md5Hash,
      crc32c: object.crc32c,
      etag,
      timeCreated: object.timeCreated.toISOString(),
      updated: object.timeCreated.toISOString(),
      timeStorageClassUpdated: object.timeCreated.toISOString(),
      ...(Object.keys(object.metadata).length === 0 ? {} : { metadata: object.metadata }),
      ...(object.retention === undefined ? {} : { retention: object.retention }),
      ...(object.eventBasedHold === undefined ? {} : { eventBasedHold: object.eventBasedHold }),
      ...(object.temporaryHold === undefined ? {} : { temporaryHold: object.temporaryHold }),
      ...(object.kmsKeyName === undefined ? {} : { kmsKeyName: object.kmsKeyName }),
      ...('timeDeleted' in object && object.timeDeleted instanceof Date ? { timeDeleted: object.timeDeleted.toISOString() } : {}),
    };
  };

  /** Checks the preconditions of `query` against what `name` holds now. */
  const checkPreconditions = (existing: GcsServerObject | undefined, query: Readonly<Record<string, string>>): void => {
    const generationMatch = query.ifGenerationMatch;
    if (generationMatch !== undefined) {
      if (!/^\d+$/.test(generationMatch)) throw new GcsFailure(400, 'invalid', `Invalid argument for ifGenerationMatch: ${generationMatch}`);
      if (generationMatch === '0' ? existing !== undefined : existing?.generation !== generationMatch) throw conditionNotMet();
    }
    const generationNotMatch = query.ifGenerationNotMatch;
    if (generationNotMatch !== undefined && (generationNotMatch === '0' ? existing === undefined : existing?.generation === generationNotMatch)) throw conditionNotMet();
    const metagenerationMatch = query.ifMetagenerationMatch;
    if (metagenerationMatch !== undefined && existing?.metageneration !== metagenerationMatch) throw conditionNotMet();
    const metagenerationNotMatch = query.ifMetagenerationNotMatch;
    if (metagenerationNotMatch !== undefined && existing?.metageneration === metagenerationNotMatch) throw conditionNotMet();
  };

  /** Validates and stores an upload. Synchronous from the precondition check to the write, so concurrent uploads of one name cannot both pass `ifGenerationMatch=0`. */
  const storeObject = (bucketName: string, name: string, body: Buffer, resource: Record<string, unknown>, query: Readonly<Record<string, string>>, hashHeader: string | undefined): GcsServerObject => {
    const bucket = requireBucket(bucketName);
    if (name === '') throw new GcsFailure(400, 'required', 'Required');
    if (Buffer.byteLength(name, 'utf8') > maxNameBytes) throw new GcsFailure(400, 'invalid', 'The maximum object length is 1024 characters, but got a name with more characters.');
    if (/[\r\n]/.test(name)) throw new GcsFailure(400, 'invalid', 'Object name contains a carriage return or line feed.');
    if (body.length > maxObjectSize) throw new GcsFailure(413, 'uploadTooLarge', `Upload of ${body.length} bytes exceeds the maximum object size of ${maxObjectSize} bytes.`);
    const md5Hash = createHash('md5').update(body).digest('base64');
    const crc32c = crc32cBase64(body);
    const sentHashes: Record<string, string> = {};
    for (const pair of (hashHeader ?? '').split(',')) {
      const equals = pair.indexOf('=');
      if (equals > 0) sentHashes[pair.slice(0, equals).trim().toLowerCase()] = pair.slice(equals + 1).trim();
    }
    const sentMd5 = typeof resource.md5Hash === 'string' ? resource.md5Hash : sentHashes.md5;
    const sentCrc32c = typeof resource.crc32c === 'string' ? resource.crc32c : sentHashes.crc32c;
    if (sentMd5 !== undefined && sentMd5 !== md5Hash) throw new GcsFailure(400, 'invalid', `Provided MD5 hash "${sentMd5}" doesn't match calculated MD5 hash "${md5Hash}".`);
    if (sentCrc32c !== undefined && sentCrc32c !== crc32c) throw new GcsFailure(400, 'invalid', `Provided CRC32C "${sentCrc32c}" doesn't match calculated CRC32C "${crc32c}".`);

    const metadata: Record<string, string> = {};
    if (resource.metadata !== undefined && resource.metadata !== null) {
      if (typeof resource.metadata !== 'object') throw new GcsFailure(400, 'invalid', 'Invalid value for metadata.');
      for (const [key, value] of Object.entries(resource.metadata as Record<string, unknown>)) {
        if (value === null || value === undefined) continue;
        metadata[key] = String(value);
      }
    }
    const storageClass = typeof resource.storageClass === 'string' ? resource.storageClass : 'STANDARD';
    if (!storageClasses.has(storageClass)) throw new GcsFailure(400, 'invalid', `Invalid argument: storage class ${storageClass}.`);
    let retention: GcsServerObject['retention'];
    if (resource.retention !== undefined && resource.retention !== null) {
      const sent = resource.retention as { mode?: unknown; retainUntilTime?: unknown };
      if (!bucket.objectRetention) throw new GcsFailure(400, 'invalid', 'Object retention is not enabled on this bucket; it must be enabled when the bucket is created.');
      if (sent.mode !== 'Unlocked' && sent.mode !== 'Locked') throw new GcsFailure(400, 'invalid', `Invalid retention mode: ${String(sent.mode)}.`);
      const until = typeof sent.retainUntilTime === 'string' ? new Date(sent.retainUntilTime) : undefined;
      if (until === undefined || Number.isNaN(until.getTime())) throw new GcsFailure(400, 'invalid', 'Invalid value for retention.retainUntilTime.');
      if (until.getTime() <= Date.now()) throw new GcsFailure(400, 'invalid', 'The retention retainUntilTime must be in the future.');
      retention = { mode: sent.mode, retainUntilTime: until.toISOString() };
    }
    for (const field of ['eventBasedHold', 'temporaryHold'] as const) {
      if (resource[field] !== undefined && typeof resource[field] !== 'boolean') throw new GcsFailure(400, 'invalid', `Invalid value for ${field}.`);
    }
    const kmsKeyText = query.kmsKeyName ?? (typeof resource.kmsKeyName === 'string' ? resource.kmsKeyName : undefined);
    if (kmsKeyText !== undefined && !/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+(\/cryptoKeyVersions\/\d+)?$/.test(kmsKeyText)) {
      throw new GcsFailure(400, 'invalid', `Invalid KMS key name: ${kmsKeyText}.`);
    }

    const existing = bucket.objects.get(name);
    checkPreconditions(existing, query);
    const object: GcsServerObject = {
      bucket: bucket.name,
      name,
      body,
      generation: nextGeneration(),
      metageneration: '1',
      contentType: typeof resource.contentType === 'string' && resource.contentType !== '' ? resource.contentType : 'application/octet-stream',
      ...(typeof resource.contentEncoding === 'string' && resource.contentEncoding !== '' ? { contentEncoding: resource.contentEncoding } : {}),
      metadata,
      md5Hash,
      crc32c,
      storageClass,
      timeCreated: new Date(),
      ...(retention === undefined ? {} : { retention }),
      ...(typeof resource.eventBasedHold === 'boolean' ? { eventBasedHold: resource.eventBasedHold } : {}),
      ...(typeof resource.temporaryHold === 'boolean' ? { temporaryHold: resource.temporaryHold } : {}),
      ...(kmsKeyText === undefined ? {} : { kmsKeyName: kmsKeyText.includes('/cryptoKeyVersions/') ? kmsKeyText : `${kmsKeyText}/cryptoKeyVersions/1` }),
    };
    if (existing !== undefined && bucket.versioning) makeNoncurrent(bucket, existing);
    bucket.objects.set(name, object);
    if (existing === undefined) bucket.sorted = undefined;
    return object;
  };

  const parseResource = (text: string): Record<string, unknown> => {
    if (text.trim() === '') return {};
    try {
      const value = JSON.parse(text) as unknown;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // answered below
    }
    throw new GcsFailure(400, 'parseError', 'Parse Error');
  };

  const authenticate = (request: IncomingMessage): { scheme?: string; principal?: string } => {
    const header = headerValue(request, 'authorization');
    const [scheme, credential] = header === undefined ? [] : header.split(/\s+/, 2);
    const required = tokens.size > 0 || accounts.size > 0;
    const unauthenticated = () =>
      new GcsFailure(401, 'required', "Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist).", {
        'www-authenticate': 'Bearer realm="https://accounts.google.com/"',
      });
    const invalid = () => new GcsFailure(401, 'authError', 'Invalid Credentials', { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' });
    if (scheme === undefined || credential === undefined) {
      if (required) throw unauthenticated();
      return {};
    }
    if (!required) return { scheme };
    if (scheme.toLowerCase() !== 'bearer') throw invalid();
    if (tokens.has(credential)) return { scheme, principal: 'token' };
    const [headerPart, payloadPart, signature] = credential.split('.');
    const jwtHeader = decodeJwtPart(headerPart);
    const payload = decodeJwtPart(payloadPart);
    const key = typeof payload?.iss === 'string' ? accounts.get(payload.iss) : undefined;
    if (jwtHeader?.alg !== 'RS256' || payload === undefined || key === undefined || signature === undefined) throw invalid();
    if (!verify('RSA-SHA256', Buffer.from(`${headerPart}.${payloadPart}`), key, Buffer.from(signature, 'base64url'))) throw invalid();
    if (typeof payload.exp !== 'number' || payload.exp * 1000 < Date.now()) throw invalid();
    return { scheme, principal: payload.iss as string };
  };

  const sendJson = (response: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void => {
    const body = JSON.stringify(value);
    response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(body), 'x-guploader-uploadid': randomUUID(), ...extra });
    response.end(body);
  };

  const sendMedia = (request: IncomingMessage, response: ServerResponse, object: GcsServerObject): void => {
    const acceptsGzip = /\bgzip\b/i.test(headerValue(request, 'accept-encoding') ?? '');
    const headers: Record<string, string | number> = {
      'content-type': object.contentType,
      'x-goog-generation': object.generation,
      'x-goog-metageneration': object.metageneration,
      'x-goog-stored-content-encoding': object.contentEncoding ?? 'identity',
      'x-goog-stored-content-length': object.body.length,
      'x-goog-storage-class': object.storageClass,
      etag: `"${Buffer.from(object.md5Hash, 'base64').toString('hex')}"`,
      'last-modified': object.timeCreated.toUTCString(),
      'cache-control': 'private, max-age=0',
    };
    for (const [name, value] of Object.entries(object.metadata)) headers[`x-goog-meta-${name}`] = value;
    let body = object.body;
    if (object.contentEncoding === 'gzip' && !acceptsGzip) {
      // Decompressive transcoding: GCS serves gzip objects decompressed to clients that do not accept gzip, without hashes.
      body = gunzipSync(object.body);
      headers.warning = '214 UploadServer gunzipped';
    } else {
      headers['x-goog-hash'] = `crc32c=${object.crc32c},md5=${object.md5Hash}`;
      if (object.contentEncoding !== undefined) headers['content-encoding'] = object.contentEncoding;
    }
    headers['content-length'] = body.length;
    response.writeHead(200, headers);
    response.end(request.method === 'HEAD' ? undefined : body);
  };

  const listObjects = (bucket: Bucket, query: Readonly<Record<string, string>>) => {
    const prefix = query.prefix ?? '';
    const delimiter = query.delimiter ?? '';
    const maxText = query.maxResults;
    const maxResults = maxText === undefined ? 1000 : Number(maxText);
    if (!Number.isInteger(maxResults) || maxResults < 0) throw new GcsFailure(400, 'invalid', `Invalid unsigned integer value: '${maxText}'.`);
    const pageSize = Math.min(maxResults === 0 ? 1000 : maxResults, 1000);
    let after: Buffer | undefined;
    if (query.pageToken !== undefined) {
      const decoded = Buffer.from(query.pageToken, 'base64url').toString('utf8');
      if (!decoded.startsWith('sentcopy-gcs:')) throw new GcsFailure(400, 'invalid', 'Invalid page token.');
      after = Buffer.from(decoded.slice('sentcopy-gcs:'.length), 'utf8');
    }
    const startOffset = query.startOffset === undefined ? undefined : Buffer.from(query.startOffset, 'utf8');
    const endOffset = query.endOffset === undefined ? undefined : Buffer.from(query.endOffset, 'utf8');
    const prefixBytes = Buffer.from(prefix, 'utf8');
    const items: GcsServerObject[] = [];
    const prefixes: string[] = [];
    let last: string | undefined;
    let truncated = false;
    for (const entry of sortedNames(bucket)) {
      if (after !== undefined && Buffer.compare(entry.bytes, after) <= 0) continue;
      if (!entry.bytes.subarray(0, prefixBytes.length).equals(prefixBytes)) {
        if (Buffer.compare(entry.bytes, prefixBytes) > 0) break;
        continue;
      }
      if (startOffset !== undefined && Buffer.compare(entry.bytes, startOffset) < 0) continue;
      if (endOffset !== undefined && Buffer.compare(entry.bytes, endOffset) >= 0) break;
      if (items.length + prefixes.length >= pageSize) {
        truncated = true;
        break;
      }
      if (delimiter !== '') {
        const rest = entry.name.slice(prefix.length);
        const at = rest.indexOf(delimiter);
        if (at !== -1) {
          const common = prefix + rest.slice(0, at + delimiter.length);
          if (prefixes[prefixes.length - 1] !== common) prefixes.push(common);
          last = entry.name;
          continue;
        }
      }
      items.push(bucket.objects.get(entry.name) as GcsServerObject);
      last = entry.name;
    }
    if (query.versions === 'true') {
      // Noncurrent generations of every listed name, after its live one (the whole set; no paging).
      const names = new Set(items.map((item) => item.name));
      for (const name of bucket.noncurrent.keys()) if (name.startsWith(prefix)) names.add(name);
      const sorted = [...names].sort((left, right) => Buffer.compare(Buffer.from(left), Buffer.from(right)));
      const all = sorted.flatMap((name) => [...(bucket.objects.has(name) ? [bucket.objects.get(name) as GcsServerObject] : []), ...(bucket.noncurrent.get(name) ?? [])]);
      return { kind: 'storage#objects', ...(prefixes.length === 0 ? {} : { prefixes }), ...(all.length === 0 ? {} : { items: all.map(objectResource) }) };
    }
    return {
      kind: 'storage#objects',
      ...(truncated && last !== undefined ? { nextPageToken: Buffer.from(`sentcopy-gcs:${last}`, 'utf8').toString('base64url') } : {}),
      ...(prefixes.length === 0 ? {} : { prefixes }),
      ...(items.length === 0 ? {} : { items: items.map(objectResource) }),
    };
  };

  /** Answers one request; returns the record's bucket/object/upload type. */
  const route = async (request: IncomingMessage, response: ServerResponse, path: string, query: Record<string, string>): Promise<Partial<GcsRequestRecord>> => {
    const method = request.method ?? 'GET';
    let match: RegExpExecArray | null;

    if ((match = /^\/upload\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(path))) {
      const bucketName = decodeSegment(match[1] as string);
      const uploadType = query.uploadType ?? 'media';
      const record = { bucket: bucketName, uploadType, object: query.name };
      if (method === 'POST' && uploadType === 'multipart') {
        const body = await readBody(request);
        const boundary = multipartBoundary(headerValue(request, 'content-type'));
        const parts = boundary === undefined ? undefined : parseMultipart(body, boundary);
        if (parts === undefined || parts.length !== 2) throw new GcsFailure(400, 'badRequest', 'Invalid multipart request with 0 mime parts.');
        const resource = parseResource((parts[0] as { body: Buffer }).body.toString('utf8'));
        const name = typeof resource.name === 'string' ? resource.name : query.name;
        if (name === undefined) throw new GcsFailure(400, 'required', 'Required');
        const dataPart = parts[1] as { headers: Record<string, string>; body: Buffer };
        if (resource.contentType === undefined && dataPart.headers['content-type'] !== undefined) resource.contentType = dataPart.headers['content-type'];
        const stored = storeObject(bucketName, name, Buffer.from(dataPart.body), resource, query, headerValue(request, 'x-goog-hash'));
        sendJson(response, 200, objectResource(stored));
        return { ...record, object: name };
      }
      if (method === 'POST' && uploadType === 'media') {
        const body = await readBody(request);
        if (query.name === undefined) throw new GcsFailure(400, 'required', 'Required');
        const resource: Record<string, unknown> = { contentType: headerValue(request, 'content-type') };
        if (query.contentEncoding !== undefined) resource.contentEncoding = query.contentEncoding;
        const stored = storeObject(bucketName, query.name, body, resource, query, headerValue(request, 'x-goog-hash'));
        sendJson(response, 200, objectResource(stored));
        return record;
      }
      if (method === 'POST' && uploadType === 'resumable') {
        const resource = parseResource((await readBody(request)).toString('utf8'));
        const name = typeof resource.name === 'string' ? resource.name : query.name;
        if (name === undefined) throw new GcsFailure(400, 'required', 'Required');
        const bucket = requireBucket(bucketName);
        checkPreconditions(bucket.objects.get(name), query);
        const contentType = headerValue(request, 'x-upload-content-type');
        if (resource.contentType === undefined && contentType !== undefined) resource.contentType = contentType;
        const id = randomBytes(24).toString('base64url');
        uploads.set(id, { bucket: bucketName, name, resource, query, chunks: [], received: 0 });
        const location = `${endpoint}/upload/storage/v1/b/${encodeURIComponent(bucketName)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
        response.writeHead(200, { location, 'x-guploader-uploadid': id, 'content-length': 0 });
        response.end();
        return { ...record, object: name };
      }
      if (method === 'PUT' && uploadType === 'resumable' && query.upload_id !== undefined) {
        const upload = uploads.get(query.upload_id);
        if (upload === undefined) throw new GcsFailure(404, 'notFound', 'The requested upload was not found.');
        const chunk = await readBody(request);
        const range = headerValue(request, 'content-range') ?? '';
        const status = /^bytes \*\/(\d+|\*)$/.exec(range.trim());
        const data = /^bytes (\d+)-(\d+|\*)\/(\d+|\*)$/.exec(range.trim());
        let total: number | undefined;
        if (status) {
          total = status[1] === '*' ? undefined : Number(status[1]);
        } else if (data) {
          if (Number(data[1]) !== upload.received)
            throw new GcsFailure(400, 'invalid', `Invalid request. According to the Content-Range header, the upload offset is ${data[1]} byte(s), which exceeds already uploaded size of ${upload.received} byte(s).`);
          upload.chunks.push(chunk);
          upload.received += chunk.length;
          total = data[3] === '*' ? (data[2] === '*' ? upload.received : undefined) : Number(data[3]);
        } else if (range === '') {
          upload.chunks.push(chunk);
          upload.received += chunk.length;
          total = upload.received;
        } else {
          throw new GcsFailure(400, 'invalid', 'Invalid Content-Range header.');
        }
        if (total === undefined || upload.received < total) {
          response.writeHead(308, { ...(upload.received > 0 ? { range: `bytes=0-${upload.received - 1}` } : {}), 'content-length': 0, 'x-guploader-uploadid': query.upload_id });
          response.end();
          return { bucket: upload.bucket, object: upload.name, uploadType };
        }
        uploads.delete(query.upload_id);
        const stored = storeObject(upload.bucket, upload.name, Buffer.concat(upload.chunks), upload.resource, upload.query, headerValue(request, 'x-goog-hash'));
        sendJson(response, 200, objectResource(stored));
        return { bucket: upload.bucket, object: upload.name, uploadType };
      }
      if (method === 'DELETE' && query.upload_id !== undefined) {
        uploads.delete(query.upload_id);
        response.writeHead(499, { 'content-length': 0 });
        response.end();
        return record;
      }
      throw new GcsFailure(400, 'invalid', `Invalid upload request: ${method} with uploadType=${uploadType}.`);
    }

    if (path === '/storage/v1/b' || path === '/storage/v1/b/') {
      if (method === 'POST') {
        const resource = parseResource((await readBody(request)).toString('utf8'));
        const name = resource.name;
        if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(name)) throw new GcsFailure(400, 'invalid', 'Invalid bucket name');
        if (buckets.has(name)) throw new GcsFailure(409, 'conflict', 'Your previous request to create the named bucket succeeded and you already own it.');
        const iam = (resource.iamConfiguration ?? {}) as { publicAccessPrevention?: 'inherited' | 'enforced'; uniformBucketLevelAccess?: { enabled?: boolean } };
        createBucket(name, {
          publicAccessPrevention: iam.publicAccessPrevention,
          uniformBucketLevelAccess: iam.uniformBucketLevelAccess?.enabled,
          objectRetention: query.enableObjectRetention === 'true',
        });
        sendJson(response, 200, bucketResource(requireBucket(name)));
        return { bucket: name };
      }
      throw new GcsFailure(400, 'required', 'Required parameter: project');
    }

    if ((match = /^\/(?:storage|download\/storage)\/v1\/b\/([^/]+)(\/.*)?$/.exec(path))) {
      const bucketName = decodeSegment(match[1] as string);
      const rest = match[2] ?? '';
      if (rest === '' || rest === '/') {
        if (method === 'GET') {
          if (unsupported.has('bucketMetadata')) throw new GcsFailure(501, 'notImplemented', 'Bucket metadata is not implemented by this server.');
          sendJson(response, 200, bucketResource(requireBucket(bucketName)));
          return { bucket: bucketName };
        }
        if (method === 'DELETE') {
          const bucket = requireBucket(bucketName);
          if (bucket.objects.size > 0) throw new GcsFailure(409, 'conflict', 'The bucket you tried to delete is not empty.');
          buckets.delete(bucketName);
          response.writeHead(204, { 'content-length': 0 });
          response.end();
          return { bucket: bucketName };
        }
      }
      if (rest === '/iam' && method === 'GET') {
        if (unsupported.has('iam')) throw new GcsFailure(501, 'notImplemented', 'getIamPolicy is not implemented by this server.');
        const bucket = requireBucket(bucketName);
        sendJson(response, 200, {
          kind: 'storage#policy',
          resourceId: `projects/_/buckets/${bucket.name}`,
          version: Number(query.optionsRequestedPolicyVersion ?? 1) >= 3 ? 3 : 1,
          etag: 'CAE=',
          bindings: [
            { role: 'roles/storage.legacyBucketOwner', members: [`projectEditor:project-${projectNumber}`, `projectOwner:project-${projectNumber}`] },
            { role: 'roles/storage.legacyBucketReader', members: [`projectViewer:project-${projectNumber}`] },
            ...(bucket.access.iamBindings ?? []),
          ],
        });
        return { bucket: bucketName };
      }
      if (rest === '/o' || rest === '/o/') {
        if (method === 'GET') {
          sendJson(response, 200, listObjects(requireBucket(bucketName), query));
          return { bucket: bucketName };
        }
      }
      const objectMatch = /^\/o\/(.+)$/.exec(rest);
      if (objectMatch) {
        const name = decodeSegment(objectMatch[1] as string);
        const bucket = requireBucket(bucketName);
        const record = { bucket: bucketName, object: name };
        const notFound = () => new GcsFailure(404, 'notFound', `No such object: ${bucketName}/${name}`);
        if (method === 'GET' || method === 'HEAD') {
          const object = bucket.objects.get(name);
          if (object === undefined || (query.generation !== undefined && query.generation !== object.generation)) throw notFound();
          checkPreconditions(object, query);
          if (query.alt === 'media' || path.startsWith('/download/')) sendMedia(request, response, object);
          else sendJson(response, 200, objectResource(object));
          return record;
        }
        if (method === 'DELETE') {
          const live = bucket.objects.get(name);
          const older = bucket.noncurrent.get(name) ?? [];
          if (query.generation !== undefined && live?.generation !== query.generation) {
            const index = older.findIndex((entry) => entry.generation === query.generation);
            if (index === -1) throw notFound();
            checkDeletable(older[index] as GcsServerObject);
            older.splice(index, 1);
            if (older.length === 0) bucket.noncurrent.delete(name);
            response.writeHead(204, { 'content-length': 0 });
            response.end();
            return record;
          }
          const object = live;
          if (object === undefined) throw notFound();
          checkPreconditions(object, query);
          checkDeletable(object);
          if (bucket.versioning && query.generation === undefined) makeNoncurrent(bucket, object);
          bucket.objects.delete(name);
          bucket.sorted = undefined;
          response.writeHead(204, { 'content-length': 0 });
          response.end();
          return record;
        }
      }
    }
    throw new GcsFailure(404, 'notFound', `Not Found: ${method} ${path}`);
  };

  const server = await listen(async (request, response) => {
    const url = request.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const query = parseQuery(queryAt === -1 ? '' : url.slice(queryAt + 1));
    let record: Partial<GcsRequestRecord> = {};
    let status = 200;
    let reason: string | undefined;
    let auth: { scheme?: string; principal?: string } = {};
    try {
      auth = authenticate(request);
      record = await route(request, response, path, query);
      status = response.statusCode;
    } catch (error) {
      if (!(error instanceof GcsFailure)) {
        // A client that went away mid-upload (an aborted request) leaves nothing stored and needs no answer.
        if (request.destroyed || (error as { message?: unknown }).message === 'aborted') {
          requests.push({ method: request.method ?? 'GET', path, query, ...record, status: 499, reason: 'clientClosedRequest' });
          return;
        }
        throw error;
      }
      // Unread upload bodies are drained so the keep-alive connection stays usable.
      if (!request.readableEnded) await readBody(request).catch(() => undefined);
      status = error.status;
      reason = error.reason;
      const canned = gcsErrorResponse(error.status, error.reason, error.message);
      if (!response.headersSent && !response.destroyed) sendCanned(response, { ...canned, headers: { ...canned.headers, ...error.headers } }, request.method);
    }
    requests.push({
      method: request.method ?? 'GET',
      path,
      query,
      ...record,
      ...(auth.scheme === undefined ? {} : { authorization: auth.scheme }),
      ...(auth.principal === undefined ? {} : { principal: auth.principal }),
      status,
      ...(reason === undefined ? {} : { reason }),
    });
  });
  endpoint = server.url;

  return {
    endpoint: server.url,
    port: server.port,
    requests,
    createBucket,
    configureBucket(name, access) {
      const bucket = requireBucket(name);
      bucket.access = { ...access };
      bucket.metageneration++;
    },
    getObject: (bucket, name) => buckets.get(bucket)?.objects.get(name),
    listGenerations(bucketName, name) {
      const bucket = buckets.get(bucketName);
      if (!bucket) return [];
      const live = bucket.objects.get(name);
      return [...(bucket.noncurrent.get(name) ?? []).map((entry) => ({ generation: entry.generation, live: false, body: entry.body })), ...(live === undefined ? [] : [{ generation: live.generation, live: true, body: live.body }])];
    },
    listObjects: (bucket) => (buckets.has(bucket) ? sortedNames(requireBucket(bucket)).map((entry) => entry.name) : []),
    putObject(bucket, name, body, objectOptions = {}) {
      return storeObject(bucket, name, Buffer.from(body), { contentType: objectOptions.contentType, contentEncoding: objectOptions.contentEncoding, metadata: objectOptions.metadata }, {}, undefined);
    },
    stop: () => server.close(),
  };
}
