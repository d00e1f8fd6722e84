import type { Channel, CodecName, ProfileName } from '@sentcopy/core';

/**
 * Where a secret comes from: the named environment variable, read when the configuration is
 * loaded. Secrets are never written into the configuration file itself.
 */
export interface SecretReference {
  /** Name of the environment variable holding the secret. */
  readonly env: string;
}

/** Settings every destination has. */
interface DestinationConfigBase {
  /**
   * Confirms that whoever configured this destination knows the archived messages hold personal
   * data (addresses, phone numbers, message content). Must be `true`: a destination without it is
   * not used.
   */
  readonly acknowledge_personal_data: true;
}

/** A folder on this machine (the zero-setup default). */
export interface FsDestinationConfig extends DestinationConfigBase {
  readonly type: 'fs';
  /** The archive's root folder; relative paths are resolved against the configuration file's folder. */
  readonly root: string;
  /** Flush every object to disk before reporting it stored. @default true */
  readonly fsync?: boolean;
  /** Whether the first probe or write may create a missing root; never again afterwards. Set `false` for a mounted volume. @default true */
  readonly create_root?: boolean;
  /** Refuse the root until it is a mount point, so nothing lands on the disk beneath an unmounted volume. @default false */
  readonly require_mount_point?: boolean;
  /** Permission bits of archived files, in octal (e.g. `"0640"`). @default "0600" */
  readonly file_mode?: string;
  /** Permission bits of the folders the destination creates, in octal. @default "0700" */
  readonly directory_mode?: string;
}

/** An Amazon S3 bucket, or an S3-compatible store (MinIO, R2, Ceph…). */
export interface S3DestinationConfig extends DestinationConfigBase {
  readonly type: 's3';
  /** Bucket name. */
  readonly bucket: string;
  /** AWS region. @default from the environment (AWS_REGION), else us-east-1 */
  readonly region?: string;
  /** Key prefix inside the bucket, e.g. `archive/`. @default none */
  readonly key_prefix?: string;
  /** Endpoint of an S3-compatible store. @default AWS */
  readonly endpoint?: string;
  /** Path-style addressing (`endpoint/bucket/key`), which most S3-compatible stores need. @default false */
  readonly force_path_style?: boolean;
  /** Static access key id. @default the AWS default credential chain */
  readonly access_key_id?: SecretReference;
  /** Static secret access key; goes with `access_key_id`. */
  readonly secret_access_key?: SecretReference;
  /** Role to assume through STS (refreshed automatically). */
  readonly role_arn?: string;
  /** Session name for the assumed role. @default `sentcopy` */
  readonly role_session_name?: string;
  /** External id the role's trust policy requires. */
  readonly external_id?: SecretReference;
  /** Account that must own the bucket. */
  readonly expected_bucket_owner?: string;
  /** KMS key for server-side encryption (aws:kms); without it, AES256 is not requested explicitly. */
  readonly kms_key_id?: string;
  /** Storage class, e.g. `STANDARD_IA`. @default the bucket's default */
  readonly storage_class?: string;
  /** Use a bucket that is publicly readable anyway (refused by default). @default false */
  readonly allow_public_bucket?: boolean;
  /** Object Lock (WORM) for every object written; the bucket must have Object Lock enabled. @default none */
  readonly object_lock?: S3ObjectLockConfig;
  /**
   * When the SDK computes request checksums. `WHEN_REQUIRED` suits S3-compatible stores that
   * mishandle streaming checksums. @default 'WHEN_SUPPORTED'
   */
  readonly request_checksum_calculation?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
}

/** S3 Object Lock applied to every object written. */
export interface S3ObjectLockConfig {
  /** `GOVERNANCE` (users with a special permission may shorten it) or `COMPLIANCE` (nobody can). Required with `retention_days`. */
  readonly mode?: 'GOVERNANCE' | 'COMPLIANCE';
  /** Retention in days from the write. @default none */
  readonly retention_days?: number;
  /** Places a legal hold on every object. @default false */
  readonly legal_hold?: boolean;
}

/** Retention (WORM) applied to every object written to Azure or GCS. */
export interface RetentionConfig {
  /** Retention period in days from the moment of the write (1 or more). */
  readonly retention_days: number;
  /** `Unlocked` (can still be shortened by someone with permission) or `Locked` (nobody can). @default 'Unlocked' */
  readonly mode?: 'Unlocked' | 'Locked';
}

/**
 * An Azure Blob Storage container (needs the package `@sentcopy/destination-azure`). Give either
 * `connection_string`, or `account_url` with at most one of `account_key` and `sas_token`; with
 * neither, `DefaultAzureCredential` from `@azure/identity` is used (managed identity, workload
 * identity, environment, Azure CLI).
 */
export interface AzureDestinationConfig extends DestinationConfigBase {
  readonly type: 'azure';
  /** The container (it must exist; 3–63 characters of `a-z0-9-`). */
  readonly container: string;
  /** A connection string; holds the account key or a SAS, hence a reference. */
  readonly connection_string?: SecretReference;
  /** The blob service URL, e.g. `https://myaccount.blob.core.windows.net`. */
  readonly account_url?: string;
  /** The storage account name. @default read from `account_url` */
  readonly account_name?: string;
  /** The storage account key (Shared Key), with `account_url`. */
  readonly account_key?: SecretReference;
  /** A shared access signature (account or container SAS), with `account_url`. */
  readonly sas_token?: SecretReference;
  /** Prefix of every blob name, e.g. `archive/`. @default none */
  readonly key_prefix?: string;
  /** Access tier of every blob. @default the account's default tier */
  readonly access_tier?: 'Hot' | 'Cool' | 'Cold' | 'Archive';
  /** Per-blob immutability policy; needs version-level immutability support on the container. @default none */
  readonly immutability?: RetentionConfig;
  /** Places a legal hold on every blob. @default false */
  readonly legal_hold?: boolean;
  /** Encryption scope of every blob. @default the container's default scope */
  readonly encryption_scope?: string;
  /** Use a container that allows anonymous public read access anyway (refused by default). @default false */
  readonly allow_public_bucket?: boolean;
}

/**
 * A Google Cloud Storage bucket (needs the package `@sentcopy/destination-gcs`). Credentials: a
 * service account given as `client_email` with `private_key`, or a key file (`key_file`); with
 * neither, Application Default Credentials are used.
 */
export interface GcsDestinationConfig extends DestinationConfigBase {
  readonly type: 'gcs';
  /** The bucket (it must exist). */
  readonly bucket: string;
  /** Prefix of every object name, e.g. `archive/`. @default none */
  readonly key_prefix?: string;
  /** The Google Cloud project. @default the credentials' project */
  readonly project_id?: string;
  /** The service account's email; goes with `private_key`. */
  readonly client_email?: string;
  /** The service account's PEM private key; goes with `client_email`. */
  readonly private_key?: SecretReference;
  /** Path of a service account JSON key file; relative paths are resolved against the configuration file's folder. */
  readonly key_file?: string;
  /** Base URL of the JSON API (Private Service Connect, a test server). @default Google's */
  readonly api_endpoint?: string;
  /** Whether requests to a custom `api_endpoint` carry credentials. @default true when credentials are given */
  readonly authenticate_custom_endpoint?: boolean;
  /** The Google Cloud universe. @default 'googleapis.com' */
  readonly universe_domain?: string;
  /** Object retention for every object; the bucket must have object retention enabled. @default none */
  readonly retention?: RetentionConfig;
  /** Places an event-based hold on every object. @default false */
  readonly event_based_hold?: boolean;
  /** Places a temporary hold on every object. @default false */
  readonly temporary_hold?: boolean;
  /** Cloud KMS key for every object (CMEK). @default the bucket's default */
  readonly kms_key_name?: string;
  /** Storage class of every object, e.g. `NEARLINE`. @default the bucket's default */
  readonly storage_class?: string;
  /** Use a bucket that is publicly readable anyway (refused by default). @default false */
  readonly allow_public_bucket?: boolean;
}

/** One destination, by type. */
export type DestinationConfig = FsDestinationConfig | S3DestinationConfig | AzureDestinationConfig | GcsDestinationConfig;

/** The destination types a configuration may name. */
export type DestinationType = DestinationConfig['type'];

/** An API key that may submit messages to a project. Only its SHA-256 is stored. */
export interface ApiKeyConfig {
  /** SHA-256 of the key, lower-case hex (`sentcopy` prints it when it creates a key). */
  readonly sha256: string;
  /** What the key is for, e.g. `checkout service`. Shown in logs instead of the key. */
  readonly label?: string;
}

/** A project: one sending application whose messages go to one destination. */
export interface ProjectConfig {
  /**
   * Name of the destination (a key of `destinations`). Omitted: the project has none, e.g. after
   * its destination was deleted; new messages are refused and queued ones dead-lettered.
   */
  readonly destination?: string;
  /**
   * Channels to archive; messages on other channels are refused. The known channels (`email`,
   * `sms`, `push`, `whatsapp`) or any other name of lower-case letters, digits, `_` and `-`
   * (at most 32, starting with a letter), such as `rcs`, `in_app` or `voice`: those get the generic
   * rules (id, time, recipient) and archive like the others.
   */
  readonly channels: readonly Channel[];
  /** How the stored JSON and key are shaped. @default 'sentcopy' */
  readonly profile?: ProfileName;
  /**
   * Key layout: a template or a preset name (`sentcopy`, `sentcopy-unkeyed`, `braze`, `clevertap`,
   * `iterable`). @default the profile's layout; for the `sentcopy` profile, `sentcopy` (keyed) when
   * `recipient_hash_key` is set, else `sentcopy-unkeyed`
   */
  readonly layout?: string;
  /** Compression. @default the profile's codec */
  readonly codec?: CodecName;
  /** Keys that may submit messages to this project. */
  readonly api_keys: readonly ApiKeyConfig[];
}

/** Where the worker reports a destination turning unhealthy (e.g. credentials refused) and recovering. */
export interface AlertsConfig {
  /** URL the worker POSTs a JSON notification to; a reference because webhook URLs usually embed a token. */
  readonly webhook_url: SecretReference;
  /** Shared secret: each notification is signed with `X-Sentcopy-Signature: sha256=<HMAC>`. @default unsigned */
  readonly secret?: SecretReference;
}

/** The durable queue. Read when the worker starts. */
export interface QueueConfig {
  /** Folder of the embedded queue; relative paths are resolved against the configuration file's folder. @default `.sentcopy/queue` */
  readonly path?: string;
}

/**
 * The archive ledger (see docs/ledger.md): a hash-chained record of every stored object, written
 * beside the archive in each destination under `.sentcopy-ledger/`, which `sentcopy verify
 * --complete` checks. On by default; applies live.
 */
export interface LedgerConfig {
  /** Write the ledger. `false` turns it off for every destination. @default true */
  readonly enabled?: boolean;
  /** Destinations (by name) that get no ledger although `enabled` is true. @default none */
  readonly disabled_destinations?: readonly string[];
  /** A segment is closed once it holds this many entries. @default 5000 */
  readonly segment_max_entries?: number;
  /**
   * A segment is closed this long after its first entry, in milliseconds: the longest a stored
   * message waits in the queue as "stored, not yet in the ledger". @default 10000
   */
  readonly segment_max_age_ms?: number;
  /** After a failed segment write (destination down, disk full), how long until it is tried again, in milliseconds. @default 30000 */
  readonly retry_delay_ms?: number;
}

/** Size limits of the HTTP intake. */
export interface HttpLimitsConfig {
  /** Largest request body, in bytes; keep it above `max_message_bytes` so a batch can carry one message of that size. @default 50331648 (48 MiB) */
  readonly max_body_bytes?: number;
  /** Most messages in one batch. @default 1000 */
  readonly max_batch_messages?: number;
  /** Largest single message (its JSON text), in bytes; checked before validation. @default 41943040 (40 MiB: an email with 25 MiB of attachments) */
  readonly max_message_bytes?: number;
}

/** The HTTP intake. Read when the worker starts. */
export interface HttpConfig {
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. @default 8787 */
  readonly port?: number;
  /** Size limits. */
  readonly limits?: HttpLimitsConfig;
  /** Who may read `GET /metrics` and the checks of `GET /readyz`. @default anyone who reaches the port */
  readonly metrics?: HttpMetricsConfig;
}

/** Access to the metrics and readiness detail, which name projects, destinations and buckets. */
export interface HttpMetricsConfig {
  /**
   * Bearer token (from an environment variable) that `GET /metrics` and the detail of
   * `GET /readyz` require; `/readyz` still answers 200/503 without it, with no names.
   */
  readonly token: SecretReference;
}

/** Overrides of the retry policy for `rate_limited` errors (see core's `RateLimitedPolicy`). */
export interface RateLimitedRetryConfig {
  /** Delay ceiling of the first retry, in milliseconds. @default 1000 */
  readonly initial_delay_ms?: number;
  /** Growth of the delay ceiling per attempt. @default 2 */
  readonly multiplier?: number;
  /** Largest delay ceiling, in milliseconds. @default 300000 */
  readonly max_delay_ms?: number;
  /** Give up this long after the first attempt, in milliseconds. @default never */
  readonly max_age_ms?: number;
}

/** Overrides of the retry policy for outages and refused credentials (see core's `OutagePolicy`). */
export interface OutageRetryConfig {
  /** Quick retries before the slow cadence. @default 3 */
  readonly quick_retries?: number;
  /** First quick retry's base delay, in milliseconds; doubles per retry. @default 1000 */
  readonly quick_initial_delay_ms?: number;
  /** Largest quick-retry delay, in milliseconds. @default 30000 */
  readonly quick_max_delay_ms?: number;
  /** Interval of the slow cadence, in milliseconds. @default 28800000 (8 hours) */
  readonly slow_interval_ms?: number;
  /** Random extra delay of each slow retry, as a fraction of `slow_interval_ms`. @default 0.05 */
  readonly slow_jitter_ratio?: number;
  /** Give up once a retry would fall later than this after the first attempt, in milliseconds. @default 604800000 (7 days) */
  readonly max_age_ms?: number;
}

/** Overrides of the queue's retry policy; unset fields keep the defaults. */
export interface RetryConfig {
  /** How `rate_limited` errors are retried. */
  readonly rate_limited?: RateLimitedRetryConfig;
  /** How `unreachable`, `unauthorized` and `unknown` errors are retried. */
  readonly outage?: OutageRetryConfig;
}

/** The worker's configuration file, format version 1. */
export interface WorkerConfig {
  /** Format version: `1`. */
  readonly version: 1;
  /** Destinations by name (letters, digits, `-` and `_`). */
  readonly destinations: Readonly<Record<string, DestinationConfig>>;
  /** Projects by id (the `project_id` messages carry). */
  readonly projects: Readonly<Record<string, ProjectConfig>>;
  /**
   * The deployment's secret for keyed recipient hashes (`{hmac(recipient)}`, used by the
   * `sentcopy` profile's layout): HMAC-SHA-256 under this secret puts each recipient's folder in
   * the key, so people who can list the bucket cannot tell whose messages a folder holds, while
   * `sentcopy ls --recipient` (which reads the same variable) still finds them. At least 16 bytes;
   * `sentcopy init` and the worker's first run generate 32 random bytes into the env file beside
   * this file (`sentcopy.config.env`, mode 0600) and reference them here as
   * `{ "env": "SENTCOPY_RECIPIENT_KEY" }`. Keep the secret as long as the archive: messages stored
   * under one secret are not found by recipient with another.
   *
   * Without it, projects on the `sentcopy` profile with no `layout` keep the unkeyed layout of
   * earlier versions (`sentcopy-unkeyed`: plain SHA-256, reversible for phone numbers), and the
   * worker warns at every load; a `layout` that uses `{hmac(recipient)}` is refused.
   * @default none (the unkeyed layout, with a warning)
   */
  readonly recipient_hash_key?: SecretReference;
  /** Alert webhook; read when the worker starts. @default no alerts */
  readonly alerts?: AlertsConfig;
  /** The durable queue; read when the worker starts. @default `.sentcopy/queue` next to this file */
  readonly queue?: QueueConfig;
  /** The HTTP intake; read when the worker starts. @default 127.0.0.1:8787 */
  readonly http?: HttpConfig;
  /** Retry policy overrides for the queue; read when the worker starts. @default core's default policy */
  readonly retry?: RetryConfig;
  /** The archive ledger; applies live. @default on for every destination */
  readonly ledger?: LedgerConfig;
}
