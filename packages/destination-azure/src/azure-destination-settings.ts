import type { TokenCredential } from '@azure/core-auth';
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';

/** Access tier of every blob written. `Archive` blobs cannot be read until rehydrated (hours). */
export type AzureAccessTier = 'Hot' | 'Cool' | 'Cold' | 'Archive';

/**
 * Per-blob immutability (WORM) applied to every blob written. The container must have version-level
 * immutability support enabled (the storage account's or container's setting).
 */
export interface AzureImmutabilitySettings {
  /** Retention period in days from the moment of the write; each blob's policy expires at `now + retentionDays`. */
  readonly retentionDays: number;
  /**
   * `Unlocked` (the policy can still be shortened or removed by someone with permission) or
   * `Locked` (nobody can delete or shorten it before it expires, not even the account owner).
   * @default 'Unlocked'
   */
  readonly mode?: 'Unlocked' | 'Locked';
}

/** Shared Key: the storage account key signs every request. */
export interface AzureAccountKeyCredential {
  /** The storage account key (base64). Never logged, never part of an error message. */
  readonly accountKey: string;
  /** The storage account name. @default read from `accountUrl` (`<account>.blob.core.windows.net`, or the first path segment of a path-style URL) */
  readonly accountName?: string;
}

/** A shared access signature (account or container SAS). */
export interface AzureSasCredential {
  /** The SAS token, with or without the leading `?` (`sv=…&sp=…&sig=…`). Never logged, never part of an error message. */
  readonly sasToken: string;
}

/** A Microsoft Entra ID token credential. Needs an `https` account URL: the SDK never sends bearer tokens over plain HTTP. */
export interface AzureTokenCredential {
  /** Any `TokenCredential`, e.g. `new ManagedIdentityCredential()` from `@azure/identity`, or an object implementing `getToken()`. */
  readonly tokenCredential: TokenCredential;
}

/** `DefaultAzureCredential` from `@azure/identity` (environment, workload identity, managed identity, Azure CLI…). Needs an `https` account URL. */
export interface AzureDefaultCredential {
  /**
   * Must be `true`. `@azure/identity` is an optional peer dependency, imported on the first token
   * request only: install it next to this package.
   */
  readonly defaultAzureCredential: true;
}

/** Credentials for an account URL: exactly one kind. A connection string carries its own instead. */
export type AzureCredential = AzureAccountKeyCredential | AzureSasCredential | AzureTokenCredential | AzureDefaultCredential;

/** Settings for {@link createAzureDestination}. */
export interface AzureDestinationSettings {
  /** The container blobs are archived into. It must exist (3–63 characters of `a-z0-9-`). */
  readonly container: string;
  /**
   * A connection string (`DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…` or with
   * `SharedAccessSignature=…`). Give either this or `accountUrl` with `credential`. Never logged,
   * never part of an error message.
   */
  readonly connectionString?: string;
  /**
   * The blob service URL of the storage account, e.g. `https://myaccount.blob.core.windows.net`
   * (or a path-style URL such as Azurite's `http://127.0.0.1:10000/devstoreaccount1`). Used with `credential`.
   */
  readonly accountUrl?: string;
  /** How to authenticate against `accountUrl`. Required with `accountUrl`; ignored with `connectionString`. */
  readonly credential?: AzureCredential;
  /**
   * Prefix of every blob name written, e.g. `archive/`; a missing trailing `/` is added. Keys passed to
   * `put`/`get`/`head`/`list` are relative to it. @default '' (the container root)
   */
  readonly keyPrefix?: string;
  /** Access tier of every blob. @default the account's default tier (usually `Hot`) */
  readonly accessTier?: AzureAccessTier;
  /** Per-blob immutability policy for every blob. @default none */
  readonly immutability?: AzureImmutabilitySettings;
  /** Places a legal hold on every blob (kept until cleared explicitly, independent of the immutability policy). Needs version-level immutability support. @default false */
  readonly legalHold?: boolean;
  /** Encryption scope every blob is encrypted with (it must exist in the account). @default the container's default scope */
  readonly encryptionScope?: string;
  /** Lets `probe()` pass although the container allows anonymous public read access. Archived messages hold personal data: leave off. @default false */
  readonly allowPublicContainer?: boolean;
  /**
   * Attempts the Azure SDK makes per request before an error reaches sentcopy. sentcopy's own retry
   * engine (inline retries, the durable queue) decides on retries from the error kind, so the
   * default leaves the SDK's retries off. Above 1, writes go through the SDK client instead of the
   * lean Put Blob, so that its retries apply to them too. @default 1
   */
  readonly sdkMaxTries?: number;
  /** Longest time one request may take, from sending to the complete answer, in milliseconds (enforced within a quarter of it, at most a second late); raise it for very large objects on slow links. @default 60000 */
  readonly requestTimeoutMs?: number;
  /**
   * A container client to use instead of creating one (advanced use and tests). Everything about the
   * connection (`connectionString`, `accountUrl`, `credential`, `sdkMaxTries`) is then ignored, and so is `container`'s
   * value except in messages. Writes go through this client's pipeline, not the lean Put Blob. `close()` leaves the client alone.
   */
  readonly containerClient?: ContainerClient;
  /** A service client to take the container client from instead of creating one; like `containerClient`, the connection settings are then ignored. */
  readonly serviceClient?: BlobServiceClient;
}
