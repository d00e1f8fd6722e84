import type { Storage } from '@google-cloud/storage';

/**
 * A service account key given inline: the `client_email` and `private_key` fields of the JSON key
 * file Google Cloud issues (other fields of the file may be passed along and are ignored unless
 * named here). Never logged, never part of an error message.
 */
export interface GcsServiceAccountCredentials {
  /** The service account's email, e.g. `sentcopy@my-project.iam.gserviceaccount.com`. */
  readonly client_email: string;
  /** The PEM private key (`-----BEGIN PRIVATE KEY-----…`). Literal `\n` sequences are accepted. */
  readonly private_key: string;
  /** The key's id, sent as the token's `kid`. @default none */
  readonly private_key_id?: string;
  /** The project the key belongs to; used when `projectId` is not set. */
  readonly project_id?: string;
  /** The universe the key belongs to; must equal `universeDomain` when that is set. @default 'googleapis.com' */
  readonly universe_domain?: string;
}

/**
 * Object retention (Bucket Lock's per-object retention) applied to every object written. The
 * bucket must have object retention enabled (it can only be enabled when the bucket is created).
 */
export interface GcsObjectRetentionSettings {
  /** Retention period in days from the moment of the write; each object gets `retainUntilTime = now + retentionDays`. */
  readonly retentionDays: number;
  /**
   * `Unlocked` (someone with `storage.objects.overrideUnlockedRetention` may shorten or remove it)
   * or `Locked` (nobody can delete the object or shorten its retention before the date).
   * @default 'Unlocked'
   */
  readonly mode?: 'Unlocked' | 'Locked';
}

/** Settings for {@link createGcsDestination}. */
export interface GcsDestinationSettings {
  /** The bucket objects are archived into. It must exist. */
  readonly bucket: string;
  /**
   * Prefix of every object name written, e.g. `archive/`; a missing trailing `/` is added. Keys
   * passed to `put`/`get`/`head`/`list` are relative to it. @default '' (the bucket root)
   */
  readonly keyPrefix?: string;
  /**
   * The Google Cloud project. Object calls do not need it; it is sent where the API asks for one.
   * @default the credentials' project, or `GOOGLE_CLOUD_PROJECT` from the environment
   */
  readonly projectId?: string;
  /**
   * A service account key given inline (`client_email` and `private_key`). Give at most one of
   * `credentials` and `keyFilename`. @default Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`,
   * gcloud's user credentials, workload identity, the metadata server)
   */
  readonly credentials?: GcsServiceAccountCredentials;
  /** Path of a service account JSON key file (or an external-account configuration file). @default Application Default Credentials */
  readonly keyFilename?: string;
  /**
   * Base URL of the JSON API, for a Private Service Connect endpoint or a test server, e.g.
   * `https://storage-myendpoint.p.googleapis.com`. @default `https://storage.<universeDomain>`
   */
  readonly apiEndpoint?: string;
  /**
   * Whether requests to a custom `apiEndpoint` carry credentials. The SDK sends none to custom
   * endpoints by default (emulators do not want them); a Private Service Connect endpoint does.
   * @default true when `credentials` or `keyFilename` is set, false otherwise
   */
  readonly authenticateCustomEndpoint?: boolean;
  /** The Google Cloud universe (e.g. a sovereign cloud's domain). @default 'googleapis.com' */
  readonly universeDomain?: string;
  /** Object retention for every object written. @default none */
  readonly retention?: GcsObjectRetentionSettings;
  /** Places an event-based hold on every object (kept until released explicitly; the bucket's retention period starts then). @default false */
  readonly eventBasedHold?: boolean;
  /** Places a temporary hold on every object (the object cannot be deleted or replaced until the hold is released). @default false */
  readonly temporaryHold?: boolean;
  /**
   * Cloud KMS key encrypting every object (CMEK), e.g.
   * `projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k`. @default the bucket's default key, or Google-managed encryption
   */
  readonly kmsKeyName?: string;
  /** Storage class of every object, e.g. `NEARLINE`, `COLDLINE`, `ARCHIVE`. @default the bucket's default class */
  readonly storageClass?: string;
  /** Lets `probe()` pass although the bucket is publicly readable. Archived messages hold personal data: leave off. @default false */
  readonly allowPublicBucket?: boolean;
  /**
   * Integrity check of every upload and download by the SDK: `crc32c` or `md5` compare the hash
   * GCS reports with the one computed locally (a mismatch after an upload makes the SDK delete the
   * object and fail). Independently, every upload sends its MD5 (`md5Hash`), which GCS verifies
   * before storing anything. @default 'crc32c'
   */
  readonly validation?: 'crc32c' | 'md5' | false;
  /**
   * Retries the SDK makes per request before an error reaches sentcopy. sentcopy's own retry
   * engine (inline retries, the durable queue) decides on retries from the error kind, so the
   * default turns the SDK's retries off (`retryOptions.autoRetry: false`). Above 0, uploads go
   * through the SDK's write stream instead of the lean upload, so that its retries apply to them too. @default 0
   */
  readonly sdkMaxRetries?: number;
  /** Longest time one call may take, from sending to the complete answer, in milliseconds; raise it for very large objects on slow links. @default 60000 */
  readonly requestTimeoutMs?: number;
  /**
   * How many times `put()` writes again when the key vanished between a 412 and the read of the
   * existing object (someone deleted it). @default 3
   */
  readonly conditionalConflictRetries?: number;
  /**
   * A `Storage` client to use instead of creating one (advanced use and tests). `projectId`,
   * `credentials`, `keyFilename`, `apiEndpoint`, `authenticateCustomEndpoint`, `universeDomain`
   * and `sdkMaxRetries` are then ignored. Turn its retries off (`retryOptions: { autoRetry: false }`)
   * so faults reach sentcopy's retry engine. Uploads then go through this client's write stream, not the lean upload.
   */
  readonly storage?: Storage;
}
