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
}

/** One destination, by type. */
export type DestinationConfig = FsDestinationConfig | S3DestinationConfig;

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
  /** Channels to archive; messages on other channels are refused. */
  readonly channels: readonly Channel[];
  /** How the stored JSON and key are shaped. @default 'sentcopy' */
  readonly profile?: ProfileName;
  /** Key layout template. @default the profile's layout */
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

/** The worker's configuration file, format version 1. */
export interface WorkerConfig {
  /** Format version: `1`. */
  readonly version: 1;
  /** Destinations by name (letters, digits, `-` and `_`). */
  readonly destinations: Readonly<Record<string, DestinationConfig>>;
  /** Projects by id (the `project_id` messages carry). */
  readonly projects: Readonly<Record<string, ProjectConfig>>;
  /** Alert webhook; read when the worker starts. @default no alerts */
  readonly alerts?: AlertsConfig;
}
