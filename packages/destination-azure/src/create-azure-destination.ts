import { createHash, randomUUID } from 'node:crypto';
import type { BlobDownloadResponseParsed, BlockBlobUploadOptions, ContainerClient } from '@azure/storage-blob';
import {
  assertValidObjectKey,
  DestinationError,
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
import type { AzureDestinationSettings } from './azure-destination-settings.js';
import { createContainerClient } from './create-azure-client.js';
import { azureErrorFacts, isBlobNotFound, mapAzureError } from './map-azure-error.js';
import { checkPublicAccess } from './public-access.js';

const provider = 'azure';

/**
 * Metadata name under which `put()` records the object's SHA-256 (hex). Azure metadata names must
 * be C# identifiers, so it uses `_` where the S3 adapter uses `-`; refused in caller metadata.
 */
export const sha256MetadataName = 'sentcopy_sha256';

/** Largest object one Put Blob may store (Azure's single-request limit for block blobs, service version 2019-12-12 and later), in bytes. */
export const maxAzureObjectBytes = 5000 * 1024 ** 2;

/** Largest total of metadata names and values Azure accepts, in bytes. */
const maxMetadataBytes = 8 * 1024;

/** Folder (below the key prefix) holding probe objects while `probe()` runs. */
const probeFolder = '.sentcopy-probe/';

const accessTiers = new Set(['Hot', 'Cool', 'Cold', 'Archive']);

function invalid(message: string, key?: string): DestinationError {
  return new DestinationError({ kind: 'invalid', provider, key, message });
}

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * The Azure metadata name for a caller's name (`[a-z0-9-]`): `-` becomes `_`, and a name that would
 * then start with a digit or `_` gets one more leading `_`, so every name is a C# identifier and the
 * mapping reverses exactly (`message-id` → `message_id`, `1st` → `_1st`, `-x` → `__x`).
 */
export function encodeMetadataName(name: string): string {
  const underscored = name.replaceAll('-', '_');
  return /^[0-9_]/.test(underscored) ? `_${underscored}` : underscored;
}

/** Reverses {@link encodeMetadataName}. */
export function decodeMetadataName(stored: string): string {
  return (stored.startsWith('_') ? stored.slice(1) : stored).replaceAll('_', '-');
}

function normalizePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  const normalized = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const problem = objectKeyProblem(`${normalized}x`);
  if (problem !== undefined) throw invalid(`Invalid keyPrefix: a key under it ${problem}.`);
  return normalized;
}

function validateSettings(settings: AzureDestinationSettings): void {
  if (typeof settings !== 'object' || settings === null) throw invalid('The Azure destination needs settings.');
  const container = settings.container;
  if (typeof container !== 'string' || container === '') throw invalid('The Azure destination needs a container.');
  if (!/^(?=.{3,63}$)[a-z0-9](?:-?[a-z0-9])*$/.test(container) && container !== '$root') {
    throw invalid(`Invalid container "${container.slice(0, 80)}": Azure container names are 3–63 characters of lower-case letters, digits and single hyphens, starting and ending with a letter or digit.`);
  }
  if (settings.accessTier !== undefined && !accessTiers.has(settings.accessTier)) throw invalid('accessTier must be Hot, Cool, Cold or Archive.');
  const immutability = settings.immutability;
  if (immutability !== undefined) {
    if (!(Number.isInteger(immutability.retentionDays) && immutability.retentionDays > 0)) throw invalid('immutability.retentionDays must be a positive whole number of days.');
    if (immutability.mode !== undefined && immutability.mode !== 'Unlocked' && immutability.mode !== 'Locked') throw invalid('immutability.mode must be Unlocked or Locked.');
  }
  if (settings.legalHold !== undefined && typeof settings.legalHold !== 'boolean') throw invalid('legalHold must be true or false.');
  if (settings.encryptionScope !== undefined && (typeof settings.encryptionScope !== 'string' || !/^[A-Za-z0-9]{3,63}$/.test(settings.encryptionScope))) {
    throw invalid('encryptionScope must be the name of an encryption scope (3–63 letters and digits).');
  }
  const tries = settings.sdkMaxTries;
  if (tries !== undefined && !(Number.isInteger(tries) && tries >= 1)) throw invalid('sdkMaxTries must be a whole number, 1 or more.');
  const timeout = settings.requestTimeoutMs;
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) throw invalid('requestTimeoutMs must be a positive number of milliseconds.');
}

function encodeMetadata(metadata: Readonly<Record<string, string>> | undefined, sha256: string, key: string): Record<string, string> {
  const encoded: Record<string, string> = {};
  let bytes = sha256MetadataName.length + sha256.length;
  for (const [name, value] of Object.entries(metadata ?? {})) {
    if (!/^[a-z0-9-]+$/.test(name)) throw invalid(`Metadata names must be lower-case [a-z0-9-]; "${name}" is not.`, key);
    const stored = encodeMetadataName(name);
    if (stored === sha256MetadataName) throw invalid(`The metadata name "${name}" is reserved for the SHA-256 the destination records.`, key);
    if (typeof value !== 'string' || !/^[\x20-\x7e]*$/.test(value)) throw invalid(`Metadata values must be printable ASCII; the value of "${name}" is not.`, key);
    if (value !== value.trim()) throw invalid(`Metadata values must not start or end with spaces (HTTP drops them); the value of "${name}" does.`, key);
    encoded[stored] = value;
    bytes += stored.length + value.length;
  }
  if (bytes > maxMetadataBytes) throw invalid(`The metadata takes ${bytes} bytes; Azure accepts at most ${maxMetadataBytes} (including the recorded SHA-256).`, key);
  encoded[sha256MetadataName] = sha256;
  return encoded;
}

function recordedSha256(metadata: Record<string, string> | undefined): string | undefined {
  const value = metadata?.[sha256MetadataName];
  return value !== undefined && /^[0-9a-f]{64}$/.test(value) ? value : undefined;
}

function userMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata ?? {})) if (name !== sha256MetadataName) result[decodeMetadataName(name)] = value;
  return result;
}

async function readBody(answer: BlobDownloadResponseParsed, signal: AbortSignal): Promise<Uint8Array> {
  const stream = answer.readableStreamBody;
  if (stream === undefined) return new Uint8Array();
  const chunks: Buffer[] = [];
  const onAbort = () => (stream as NodeJS.ReadableStream & { destroy?: (error?: Error) => void }).destroy?.(signal.reason as Error);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  signal.throwIfAborted();
  const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * Creates a destination that archives objects into an Azure Blob Storage container, write-once:
 * every put is a single Put Blob with `If-None-Match: *`, so an existing blob is never overwritten;
 * a 409 BlobAlreadyExists is resolved by comparing SHA-256s (same → `created: false`, different →
 * `conflict`). The SHA-256 is recorded as metadata `sentcopy_sha256`; the body's MD5 is sent as
 * `Content-MD5`, which Azure verifies before storing anything.
 */
export function createAzureDestination(settings: AzureDestinationSettings): DestinationV1 {
  validateSettings(settings);
  const container = settings.container;
  const prefix = normalizePrefix(settings.keyPrefix);
  let client: ContainerClient;
  let accountUrl: string;
  if (settings.containerClient !== undefined) {
    client = settings.containerClient;
    if (client.containerName !== container) throw invalid(`containerClient is for container "${client.containerName}", but container is "${container}".`);
    accountUrl = new URL(client.url).origin;
  } else if (settings.serviceClient !== undefined) {
    client = settings.serviceClient.getContainerClient(container);
    accountUrl = new URL(settings.serviceClient.url).origin + new URL(settings.serviceClient.url).pathname.replace(/\/+$/, '');
  } else {
    ({ client, accountUrl } = createContainerClient(settings));
  }
  const requestTimeoutMs = settings.requestTimeoutMs ?? 60_000;

  const fullKey = (key: unknown): string => {
    assertValidObjectKey(key, provider);
    if (key.startsWith(probeFolder)) throw invalid(`Invalid object key: keys starting with "${probeFolder}" are reserved for probe objects.`, key);
    const full = prefix + key;
    if (Buffer.byteLength(full, 'utf8') > maxObjectKeyBytes) {
      throw invalid(`Invalid object key: with the key prefix it takes ${Buffer.byteLength(full, 'utf8')} UTF-8 bytes; at most ${maxObjectKeyBytes} are accepted.`, key);
    }
    return full;
  };

  const failure = (error: unknown, operation: string, key: string | undefined, signal: AbortSignal | undefined): unknown => {
    // The caller's abort wins over whatever the SDK made of it.
    if (signal?.aborted) return signal.reason ?? error;
    if (DestinationError.isInstance(error)) return error;
    return mapAzureError(error, { operation, container, key });
  };

  /**
   * Requests in flight with their deadlines. One shared sweeper aborts those past their deadline:
   * a timer per request (set and cleared around every call) cost about a tenth of the throughput
   * against a server that answers at once.
   */
  const inFlight = new Set<{ readonly deadline: number; timedOut: boolean; readonly controller: AbortController }>();
  const sweepEveryMs = Math.max(10, Math.min(1_000, requestTimeoutMs / 4));
  let sweeper: ReturnType<typeof setInterval> | undefined;
  const sweep = () => {
    const now = Date.now();
    for (const entry of inFlight) {
      if (now < entry.deadline) continue;
      inFlight.delete(entry);
      entry.timedOut = true;
      entry.controller.abort();
    }
    if (inFlight.size === 0 && sweeper !== undefined) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };

  /**
   * Runs one SDK call under the caller's signal and the request timeout (checked every quarter of
   * the timeout, at most every second). The SDK's own `tryTimeoutInMs` only asks the server to give
   * up; this deadline also ends a request the network holds up.
   */
  const withDeadline = async <T>(signal: AbortSignal | undefined, call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> => {
    signal?.throwIfAborted();
    const entry = { deadline: Date.now() + requestTimeoutMs, timedOut: false, controller: new AbortController() };
    inFlight.add(entry);
    if (sweeper === undefined) {
      sweeper = setInterval(sweep, sweepEveryMs);
      sweeper.unref();
    }
    const forward = () => entry.controller.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    try {
      return await call(entry.controller.signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      if (entry.timedOut) throw Object.assign(new Error(`no complete answer within ${requestTimeoutMs} ms`), { code: 'ETIMEDOUT' });
      throw error;
    } finally {
      inFlight.delete(entry);
      signal?.removeEventListener('abort', forward);
    }
  };

  const writeOptions = (): Partial<BlockBlobUploadOptions> => ({
    ...(settings.accessTier === undefined ? {} : { tier: settings.accessTier }),
    ...(settings.encryptionScope === undefined ? {} : { encryptionScope: settings.encryptionScope }),
  });

  const lockOptions = (): Partial<BlockBlobUploadOptions> => {
    const options: Partial<BlockBlobUploadOptions> = {};
    const immutability = settings.immutability;
    if (immutability !== undefined) {
      options.immutabilityPolicy = { expiriesOn: new Date(Date.now() + immutability.retentionDays * 86_400_000), policyMode: immutability.mode ?? 'Unlocked' };
    }
    if (settings.legalHold) options.legalHold = true;
    return options;
  };

  /** Put Blob with `If-None-Match: *`, the SHA-256 as metadata and the MD5 as `Content-MD5` (Azure checks it on arrival). */
  const conditionalPut = (
    blobName: string,
    input: Pick<PutObjectInput, 'body' | 'contentType' | 'contentEncoding'> & { metadata: Record<string, string> },
    extra: Partial<BlockBlobUploadOptions>,
    signal: AbortSignal | undefined,
  ) =>
    withDeadline(signal, (abortSignal) => {
      const options: BlockBlobUploadOptions & { transactionalContentMD5: Uint8Array } = {
        abortSignal,
        conditions: { ifNoneMatch: '*' },
        blobHTTPHeaders: { blobContentType: input.contentType, ...(input.contentEncoding === undefined ? {} : { blobContentEncoding: input.contentEncoding }) },
        metadata: input.metadata,
        // Not in the SDK's declared options for upload() but passed through to Put Blob as `Content-MD5`.
        transactionalContentMD5: createHash('md5').update(input.body).digest(),
        ...extra,
      };
      return client.getBlockBlobClient(blobName).upload(input.body, input.body.byteLength, options);
    });

  /** The SHA-256 of what `blobName` holds, or `undefined` when it holds nothing. */
  const storedSha256 = async (blobName: string, signal: AbortSignal | undefined): Promise<string | undefined> => {
    const blob = client.getBlockBlobClient(blobName);
    try {
      const properties = await withDeadline(signal, (abortSignal) => blob.getProperties({ abortSignal }));
      const recorded = recordedSha256(properties.metadata);
      if (recorded !== undefined) return recorded;
      // Written by something else than sentcopy, without a SHA-256: hash the bytes.
      return await withDeadline(signal, async (abortSignal) => sha256Hex(await readBody(await blob.download(0, undefined, { abortSignal }), abortSignal)));
    } catch (error) {
      if (isBlobNotFound(error)) return undefined;
      throw error;
    }
  };

  const put: DestinationV1['put'] = async (input, options) => {
    const signal = options?.signal;
    try {
      signal?.throwIfAborted();
      const key = fullKey(input?.key);
      if (!(input.body instanceof Uint8Array)) throw invalid('The object body must be a Uint8Array.', input.key);
      if (input.body.byteLength > maxAzureObjectBytes) throw invalid(`The object is ${input.body.byteLength} bytes; one Azure Put Blob stores at most ${maxAzureObjectBytes}.`, input.key);
      if (typeof input.contentType !== 'string' || input.contentType === '') throw invalid('The object needs a content type.', input.key);
      if (typeof input.sha256 !== 'string' || sha256Hex(input.body) !== input.sha256) throw invalid('The given sha256 does not match the object body.', input.key);
      const metadata = encodeMetadata(input.metadata, input.sha256, input.key);
      const extra = { ...writeOptions(), ...lockOptions() };
      const result = (created: boolean): PutObjectResult => ({ key: input.key, size: input.body.byteLength, sha256: input.sha256, created });

      for (let attempt = 0; ; attempt++) {
        try {
          await conditionalPut(key, { ...input, metadata }, extra, signal);
          return result(true);
        } catch (error) {
          if (signal?.aborted || DestinationError.isInstance(error)) throw error;
          const { code, status } = azureErrorFacts(error);
          if (!(code === 'BlobAlreadyExists' || code === 'ConditionNotMet' || status === 412)) throw error;
          const existing = await storedSha256(key, signal);
          if (existing === input.sha256) return result(false);
          if (existing !== undefined) {
            throw new DestinationError({ kind: 'conflict', provider, key: input.key, code, status, message: `The blob "${key}" already holds different content in Azure container "${container}"; write-once destinations never overwrite.` });
          }
          // Deleted between our Put Blob and the read: try to create it again, a few times.
          if (attempt >= 3) throw error;
          await sleep(Math.random() * 25 * 2 ** attempt, signal);
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
      const blobName = full;
      const answer = await withDeadline(signal, (abortSignal) => client.getBlockBlobClient(blobName).getProperties({ abortSignal }));
      const info: ObjectInfo = {
        key,
        size: answer.contentLength ?? 0,
        sha256: recordedSha256(answer.metadata),
        contentType: answer.contentType,
        contentEncoding: answer.contentEncoding,
        metadata: userMetadata(answer.metadata),
        lastModified: answer.lastModified,
      };
      return info;
    } catch (error) {
      if (full !== undefined && isBlobNotFound(error)) return undefined;
      throw failure(error, 'read the object metadata', full, signal);
    }
  };

  const get: DestinationV1['get'] = async (key, options) => {
    const signal = options?.signal;
    let full: string | undefined;
    try {
      signal?.throwIfAborted();
      full = fullKey(key);
      const blobName = full;
      return await withDeadline(signal, async (abortSignal) => {
        const answer = await client.getBlockBlobClient(blobName).download(0, undefined, { abortSignal });
        const body = await readBody(answer, abortSignal);
        return {
          key,
          size: body.byteLength,
          sha256: recordedSha256(answer.metadata) ?? sha256Hex(body),
          contentType: answer.contentType,
          contentEncoding: answer.contentEncoding,
          metadata: userMetadata(answer.metadata),
          lastModified: answer.lastModified,
          body,
        };
      });
    } catch (error) {
      if (full !== undefined && isBlobNotFound(error)) return undefined;
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
      const page = await withDeadline(signal, async (abortSignal) => {
        const pages = client
          .listBlobsFlat({ prefix: prefix + (options.prefix ?? ''), abortSignal })
          .byPage({ maxPageSize: Math.min(limit, 5000), ...(options.cursor === undefined ? {} : { continuationToken: options.cursor }) });
        return (await pages.next()).value;
      });
      const objects: ListedObject[] = [];
      for (const item of page?.segment.blobItems ?? []) {
        const key = item.name.slice(prefix.length);
        // Left out: names no destination call could address (another writer's `a//b`), and probe leftovers.
        if (!item.name.startsWith(prefix) || objectKeyProblem(key) !== undefined || key.startsWith(probeFolder)) continue;
        objects.push({ key, size: item.properties.contentLength ?? 0, ...(item.properties.lastModified ? { lastModified: item.properties.lastModified } : {}) });
      }
      const next = page?.continuationToken;
      return { objects, cursor: typeof next === 'string' && next !== '' ? next : undefined };
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
      const blobName = full;
      await withDeadline(signal, (abortSignal) => client.getBlockBlobClient(blobName).delete({ abortSignal }));
    } catch (error) {
      if (full !== undefined && isBlobNotFound(error)) return;
      throw failure(error, 'delete the object', full, signal);
    }
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
    const rethrowAbort = (error: unknown) => {
      if (signal?.aborted) throw signal.reason ?? error;
    };
    signal?.throwIfAborted();

    try {
      try {
        await withDeadline(signal, (abortSignal) => client.getProperties({ abortSignal }));
        checks.push({ name: 'reachable', status: 'passed', detail: `Container "${container}" exists and the credentials reach it.` });
      } catch (error) {
        rethrowAbort(error);
        // A container-scoped SAS token may list and write blobs but not read container properties: listing proves the container is there.
        if (azureErrorFacts(error).status !== 403) throw error;
        await withDeadline(signal, (abortSignal) => client.listBlobsFlat({ prefix: `${prefix}${probeFolder}`, abortSignal }).byPage({ maxPageSize: 1 }).next());
        checks.push({ name: 'reachable', status: 'passed', detail: `Container "${container}" exists and the credentials can list it (they may not read container properties).` });
      }
    } catch (error) {
      rethrowAbort(error);
      const { code, status } = azureErrorFacts(error);
      const detail =
        code === 'ContainerNotFound' || status === 404
          ? `Container "${container}" does not exist (HTTP 404); create it first, or check the name and the account.`
          : describe(error, 'reach the container');
      checks.push({ name: 'reachable', status: 'failed', detail });
      return result();
    }

    const probeName = `${prefix}${probeFolder}${randomUUID()}`;
    const body = new Uint8Array(Buffer.from(`sentcopy probe ${new Date().toISOString()}\n`, 'utf8'));
    const probeInput = (bytes: Uint8Array) => ({ body: bytes, contentType: 'text/plain', metadata: { [sha256MetadataName]: sha256Hex(bytes) } });
    // No immutability policy or legal hold on the probe blob, so it can be removed again.
    try {
      await conditionalPut(probeName, probeInput(body), writeOptions(), signal);
      checks.push({ name: 'write', status: 'passed', detail: 'Wrote a probe blob with If-None-Match: * and its Content-MD5.' });
    } catch (error) {
      rethrowAbort(error);
      checks.push({ name: 'write', status: 'failed', detail: describe(error, 'write a probe blob', probeName) });
      return result();
    }

    try {
      const other = new Uint8Array(Buffer.from('sentcopy probe: this overwrite must be refused\n', 'utf8'));
      await conditionalPut(probeName, probeInput(other), writeOptions(), signal);
      checks.push({
        name: 'write-once',
        status: 'failed',
        detail: 'The store overwrote an existing blob despite If-None-Match: *; it does not support conditional writes, so write-once (never overwrite) cannot be guaranteed here.',
      });
    } catch (error) {
      rethrowAbort(error);
      const { code, status } = azureErrorFacts(error);
      if (code === 'BlobAlreadyExists' || status === 409 || status === 412) checks.push({ name: 'write-once', status: 'passed', detail: `A second write of the probe blob was refused with ${status ?? 409} ${code ?? 'BlobAlreadyExists'}.` });
      else checks.push({ name: 'write-once', status: 'failed', detail: `A second conditional write of the probe blob failed unexpectedly: ${describe(error, 'test a conditional write', probeName)}` });
    }

    // A probe in the Archive tier cannot be read back (it would need hours of rehydration).
    if (settings.accessTier === 'Archive') {
      checks.push({ name: 'read', status: 'unsupported', detail: 'Blobs in the Archive tier cannot be read without rehydration; the read check was skipped.' });
    } else {
      try {
        const read = await withDeadline(signal, async (abortSignal) => readBody(await client.getBlockBlobClient(probeName).download(0, undefined, { abortSignal }), abortSignal));
        if (Buffer.from(read).equals(Buffer.from(body))) checks.push({ name: 'read', status: 'passed' });
        else checks.push({ name: 'read', status: 'failed', detail: 'The probe blob read back differs from what was written.' });
      } catch (error) {
        rethrowAbort(error);
        checks.push({ name: 'read', status: 'failed', detail: describe(error, 'read the probe blob', probeName) });
      }
    }

    try {
      await withDeadline(signal, (abortSignal) => client.getBlockBlobClient(probeName).delete({ abortSignal }));
      checks.push({ name: 'delete', status: 'passed' });
    } catch (error) {
      rethrowAbort(error);
      checks.push({ name: 'delete', status: 'failed', detail: describe(error, 'delete the probe blob', probeName) });
    }

    try {
      const access = await checkPublicAccess(client, { container, signal, allowPublicContainer: settings.allowPublicContainer ?? false, describe });
      isPublic = access.public;
      checks.push(access.check);
    } catch (error) {
      rethrowAbort(error);
      throw error;
    }
    return result();
  };

  return {
    specificationVersion: 'v1',
    provider,
    id: `azure://${new URL(accountUrl).host}${new URL(accountUrl).pathname.replace(/\/+$/, '')}/${container}/${prefix}`,
    capabilities: { delete: true, immutability: true, publicAccessCheck: true, maxObjectSize: maxAzureObjectBytes, listOrder: 'utf16' },
    put,
    get,
    head,
    list,
    delete: deleteObject,
    probe,
    async close() {
      // The SDK keeps no handles beyond pooled keep-alive sockets, which close when idle; the sweeper is unref'd and stops when nothing is in flight.
      if (sweeper !== undefined && inFlight.size === 0) {
        clearInterval(sweeper);
        sweeper = undefined;
      }
    },
  };
}
