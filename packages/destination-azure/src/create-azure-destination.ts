import { createHash } from 'node:crypto';
import type { BlobDownloadResponseParsed, BlockBlobUploadOptions, ContainerClient } from '@azure/storage-blob';
import { createObjectStoreDestination, DestinationError, normalizeKeyPrefix, probeFolder, type DestinationV1, type ObjectStoreDriver, type ObjectStoreEntry, type ObjectStoreVersion } from '@sentcopy/core';
import type { AzureDestinationSettings } from './azure-destination-settings.js';
import { getDefaultProxySettings } from '@azure/core-rest-pipeline';
import { AzureLeanWriter } from './azure-lean-writer.js';
import { createContainerClient } from './create-azure-client.js';
import { azureErrorFacts, isBlobNotFound, mapAzureError } from './map-azure-error.js';
import { putBlobHeaders } from './put-blob-headers.js';
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

const accessTiers = new Set(['Hot', 'Cool', 'Cold', 'Archive']);

function invalid(message: string): DestinationError {
  return new DestinationError({ kind: 'invalid', provider, message });
}

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

/** The Azure side of the destination: its SDK calls and its error map; the kit does the rest. */
function createAzureDriver(settings: AzureDestinationSettings, client: ContainerClient, accountUrl: string, prefix: string, lean: AzureLeanWriter | undefined): ObjectStoreDriver {
  const container = settings.container;
  const blob = (name: string) => client.getBlockBlobClient(name);

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

  const entryOf = (answer: { contentLength?: number; contentType?: string; contentEncoding?: string; metadata?: Record<string, string>; lastModified?: Date }): ObjectStoreEntry => ({
    size: answer.contentLength ?? 0,
    contentType: answer.contentType,
    contentEncoding: answer.contentEncoding,
    metadata: answer.metadata ?? {},
    lastModified: answer.lastModified,
  });

  return {
    provider,
    service: 'Azure Blob Storage',
    location: `Azure container "${container}"`,
    id: `azure://${new URL(accountUrl).host}${new URL(accountUrl).pathname.replace(/\/+$/, '')}/${container}/${prefix}`,
    capabilities: { delete: true, immutability: true, publicAccessCheck: true, maxObjectSize: maxAzureObjectBytes, listOrder: 'utf16' },
    maxObjectBytes: maxAzureObjectBytes,
    metadata: { sha256Name: sha256MetadataName, maxBytes: maxMetadataBytes, encodeName: encodeMetadataName, decodeName: decodeMetadataName },
    createCondition: 'If-None-Match: * and its Content-MD5',
    callTimeoutMs: settings.requestTimeoutMs ?? 60_000,
    // A probe in the Archive tier cannot be read back (it would need hours of rehydration).
    probeReadUnsupported: settings.accessTier === 'Archive' ? 'Blobs in the Archive tier cannot be read without rehydration; the read check was skipped.' : undefined,

    /** Put Blob with `If-None-Match: *`, the SHA-256 as metadata and the MD5 as `Content-MD5` (Azure checks it on arrival). */
    async create(write, purpose, abortSignal) {
      const contentMd5 = createHash('md5').update(write.body).digest();
      const lock = purpose === 'archive' ? lockOptions() : {};
      if (lean !== undefined) {
        const headers = putBlobHeaders({
          contentType: write.contentType,
          contentEncoding: write.contentEncoding,
          metadata: write.metadata,
          contentMd5,
          accessTier: settings.accessTier,
          encryptionScope: settings.encryptionScope,
          immutabilityPolicy: lock.immutabilityPolicy === undefined ? undefined : { expiresOn: lock.immutabilityPolicy.expiriesOn as Date, mode: lock.immutabilityPolicy.policyMode as 'Unlocked' | 'Locked' },
          legalHold: lock.legalHold,
        });
        await lean.put({ name: write.name, headers, body: write.body }, abortSignal);
        return;
      }
      const options: BlockBlobUploadOptions & { transactionalContentMD5: Uint8Array } = {
        abortSignal,
        conditions: { ifNoneMatch: '*' },
        blobHTTPHeaders: { blobContentType: write.contentType, ...(write.contentEncoding === undefined ? {} : { blobContentEncoding: write.contentEncoding }) },
        metadata: { ...write.metadata },
        // Not in the SDK's declared options for upload() but passed through to Put Blob as `Content-MD5`.
        transactionalContentMD5: contentMd5,
        ...writeOptions(),
        ...lock,
      };
      await blob(write.name).upload(write.body, write.body.byteLength, options);
    },
    isAlreadyExists(error) {
      const { code, status } = azureErrorFacts(error);
      return code === 'BlobAlreadyExists' || code === 'ConditionNotMet' || status === 412;
    },
    async stat(name, abortSignal) {
      return entryOf(await blob(name).getProperties({ abortSignal }));
    },
    async read(name, abortSignal) {
      const answer = await blob(name).download(0, undefined, { abortSignal });
      const body = await readBody(answer, abortSignal);
      return { ...entryOf(answer), size: body.byteLength, body };
    },
    async list(request, abortSignal) {
      const pages = client.listBlobsFlat({ prefix: request.prefix, abortSignal }).byPage({ maxPageSize: Math.min(request.limit, 5000), ...(request.cursor === undefined ? {} : { continuationToken: request.cursor }) });
      const page = (await pages.next()).value;
      const entries = (page?.segment.blobItems ?? []).map((item: { name: string; properties: { contentLength?: number; lastModified?: Date } }) => ({
        name: item.name,
        size: item.properties.contentLength ?? 0,
        lastModified: item.properties.lastModified,
      }));
      const next = page?.continuationToken;
      return { entries, cursor: typeof next === 'string' && next !== '' ? next : undefined };
    },
    async remove(name, abortSignal) {
      await blob(name).delete({ abortSignal });
    },
    // Blob versioning and snapshots keep earlier bytes after a delete: erasure lists them and deletes each.
    async listVersions(name, abortSignal) {
      const versions: ObjectStoreVersion[] = [];
      for await (const item of client.listBlobsFlat({ prefix: name, includeSnapshots: true, includeVersions: true, abortSignal })) {
        if (item.name !== name) continue;
        if (item.snapshot !== undefined && item.snapshot !== '') versions.push({ version: item.snapshot, type: 'snapshot', current: false });
        else if (item.versionId !== undefined && item.versionId !== '' && item.isCurrentVersion !== true) versions.push({ version: item.versionId, type: 'version', current: false });
        else versions.push({ version: item.versionId ?? 'current', type: 'version', current: true });
      }
      return versions;
    },
    async removeVersion(name, version, abortSignal) {
      // The current version is deleted as the blob itself (with versioning on it becomes a previous version, which the kit's next round deletes by id).
      if (version.type === 'snapshot') await blob(name).withSnapshot(version.version).delete({ abortSignal });
      else if (!version.current) await blob(name).withVersion(version.version).delete({ abortSignal });
      else await blob(name).delete({ abortSignal });
    },
    isNotFound: isBlobNotFound,
    errorFacts: azureErrorFacts,
    mapError: (error, operation, name) => mapAzureError(error, { operation, container, key: name }),

    async checkReachable(abortSignal, describe) {
      try {
        try {
          await client.getProperties({ abortSignal });
          return { check: { name: 'reachable', status: 'passed', detail: `Container "${container}" exists and the credentials reach it.` } };
        } catch (error) {
          // A container-scoped SAS token may list and write blobs but not read container properties: listing proves the container is there.
          if (azureErrorFacts(error).status !== 403) throw error;
          await client
            .listBlobsFlat({ prefix: `${prefix}${probeFolder}`, abortSignal })
            .byPage({ maxPageSize: 1 })
            .next();
          return { check: { name: 'reachable', status: 'passed', detail: `Container "${container}" exists and the credentials can list it (they may not read container properties).` } };
        }
      } catch (error) {
        if (abortSignal.aborted) throw error;
        const { code, status } = azureErrorFacts(error);
        const detail = code === 'ContainerNotFound' || status === 404 ? `Container "${container}" does not exist (HTTP 404); create it first, or check the name and the account.` : describe(error, 'reach the container');
        return { check: { name: 'reachable', status: 'failed', detail } };
      }
    },
    checkPublicAccess: (signal, describe) => checkPublicAccess(client, { container, signal, allowPublicContainer: settings.allowPublicContainer ?? false, describe }),
    async close() {
      await lean?.close();
    },
  };
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
  const prefix = normalizeKeyPrefix(settings.keyPrefix, provider);
  let client: ContainerClient;
  let accountUrl: string;
  let lean: AzureLeanWriter | undefined;
  if (settings.containerClient !== undefined) {
    client = settings.containerClient;
    if (client.containerName !== container) throw invalid(`containerClient is for container "${client.containerName}", but container is "${container}".`);
    accountUrl = new URL(client.url).origin;
  } else if (settings.serviceClient !== undefined) {
    client = settings.serviceClient.getContainerClient(container);
    accountUrl = new URL(settings.serviceClient.url).origin + new URL(settings.serviceClient.url).pathname.replace(/\/+$/, '');
  } else {
    const created = createContainerClient(settings);
    ({ client, accountUrl } = created);
    // SDK retries on writes were asked for explicitly: only the SDK's stack makes them. Injected clients keep their own pipeline,
    // and a proxy from the environment (HTTPS_PROXY…) is honoured by the SDK's proxy policy only.
    if (created.auth !== undefined && (settings.sdkMaxTries ?? 1) === 1 && getDefaultProxySettings() === undefined)
      lean = new AzureLeanWriter(client.url, created.auth, { maxSockets: 64, requestTimeoutMs: settings.requestTimeoutMs ?? 60_000 });
  }
  return createObjectStoreDestination(createAzureDriver(settings, client, accountUrl, prefix, lean), { keyPrefix: prefix });
}
