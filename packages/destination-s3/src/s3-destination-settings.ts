import type { S3Client, StorageClass } from '@aws-sdk/client-s3';

/** Static access keys. */
export interface S3StaticCredentials {
  /** The access key id (`AKIA…`, or `ASIA…` for temporary keys). */
  readonly accessKeyId: string;
  /** The secret access key. Never logged, never part of an error message. */
  readonly secretAccessKey: string;
  /** The session token of temporary keys. */
  readonly sessionToken?: string;
}

/** A credential provider as the AWS SDK defines it, e.g. `fromIni()` or `fromNodeProviderChain()` from `@aws-sdk/credential-providers`. */
export type S3CredentialProvider = () => Promise<S3StaticCredentials & { readonly expiration?: Date }>;

/** Assume an IAM role through STS; the temporary credentials are refreshed automatically before they expire. */
export interface S3AssumeRoleSettings {
  /** ARN of the role to assume, e.g. `arn:aws:iam::123456789012:role/sentcopy-archive`. */
  readonly roleArn: string;
  /** Name of the role session, visible in CloudTrail, e.g. `sentcopy`. 2–64 characters of `[\w+=,.@-]`. */
  readonly roleSessionName: string;
  /** The external id the role's trust policy requires, if any (the usual guard for a role assumed by a vendor). */
  readonly externalId?: string;
  /** Lifetime of each set of temporary credentials, in seconds (STS allows 900 up to the role's maximum). @default 3600 */
  readonly durationSeconds?: number;
  /** STS endpoint, e.g. a regional or VPC endpoint URL. @default the SDK's endpoint for the STS region */
  readonly stsEndpoint?: string;
  /** Region of the STS endpoint. @default the destination's `region` */
  readonly stsRegion?: string;
}

/** Server-side encryption of every object written. */
export type S3ServerSideEncryption =
  /** SSE-S3: keys managed by S3. */
  | { readonly type: 'AES256' }
  /** SSE-KMS: a KMS key; `kmsKeyId` (id, alias or ARN) or the account's `aws/s3` key when omitted. */
  | { readonly type: 'aws:kms'; readonly kmsKeyId?: string; readonly bucketKeyEnabled?: boolean };

/** S3 Object Lock applied to every object written. The bucket must have Object Lock enabled. */
export interface S3ObjectLockSettings {
  /**
   * Retention: `GOVERNANCE` (users with `s3:BypassGovernanceRetention` may shorten or remove it) or
   * `COMPLIANCE` (nobody, not even the root user, can delete the object before the date).
   * Omit together with `retentionDays` for a legal hold only.
   */
  readonly mode?: 'GOVERNANCE' | 'COMPLIANCE';
  /** Retention period in days from the moment of the write; each object gets `RetainUntilDate = now + retentionDays`. Required with `mode`. */
  readonly retentionDays?: number;
  /** Places a legal hold on every object (kept until removed explicitly, independent of retention). @default false */
  readonly legalHold?: boolean;
}

/** Settings for {@link createS3Destination}. */
export interface S3DestinationSettings {
  /** The bucket objects are archived into. It must exist. */
  readonly bucket: string;
  /**
   * The bucket's region, e.g. `eu-west-1`.
   * @default `AWS_REGION` or `AWS_DEFAULT_REGION` from the environment; `us-east-1` when a custom `endpoint` is set
   */
  readonly region?: string;
  /**
   * Prefix of every key written, e.g. `archive/`; a missing trailing `/` is added. Keys passed to
   * `put`/`get`/`head`/`list` are relative to it. @default '' (the bucket root)
   */
  readonly keyPrefix?: string;
  /**
   * Credentials: static keys, or any AWS SDK credential provider (e.g. `fromIni()`). With
   * `assumeRole` these are the source credentials that call STS.
   * @default the AWS SDK default chain (environment, shared config and SSO, web identity, ECS/EC2 metadata)
   */
  readonly credentials?: S3StaticCredentials | S3CredentialProvider;
  /** Assume this role through STS (with automatic refresh) instead of using `credentials` directly. */
  readonly assumeRole?: S3AssumeRoleSettings;
  /** Custom endpoint URL for S3-compatible stores (MinIO, Cloudflare R2, Ceph RGW), e.g. `https://minio.internal:9000`. @default AWS S3 */
  readonly endpoint?: string;
  /** Path-style addressing (`https://host/bucket/key`) instead of virtual-hosted (`https://bucket.host/key`); most self-hosted stores need it. @default false */
  readonly forcePathStyle?: boolean;
  /** The AWS account id that must own the bucket, sent as `ExpectedBucketOwner` on every call; a bucket owned by another account fails with `unauthorized`. */
  readonly expectedBucketOwner?: string;
  /** Server-side encryption of every object. @default the bucket's default encryption */
  readonly serverSideEncryption?: S3ServerSideEncryption;
  /**
   * Storage class of every object. Keep `STANDARD` for messages: `STANDARD_IA` and `GLACIER_IR` bill
   * each object as at least 128 KB, `GLACIER` and `DEEP_ARCHIVE` add 40 KB and need a restore before
   * a read, and all of them bill dearer writes and minimum durations (`sentcopy cost` compares them).
   * @default the bucket's default (`STANDARD`)
   */
  readonly storageClass?: StorageClass | (string & {});
  /** Object Lock retention and legal hold for every object. @default none */
  readonly objectLock?: S3ObjectLockSettings;
  /** Lets `probe()` pass although the bucket is publicly readable. Archived messages hold personal data: leave off. @default false */
  readonly allowPublicBucket?: boolean;
  /**
   * When the SDK computes request checksums itself. `put()` always sends its own SHA-256
   * (`x-amz-checksum-sha256`), so this only matters for other requests and other SDK versions;
   * `WHEN_REQUIRED` avoids `aws-chunked` uploads, which some S3-compatible servers (s3rver) store corrupted.
   * @default 'WHEN_SUPPORTED'
   */
  readonly requestChecksumCalculation?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
  /**
   * Attempts the AWS SDK makes per request before an error reaches sentcopy. sentcopy's own retry
   * engine (inline retries, the durable queue) decides on retries from the error kind, so the
   * default leaves the SDK's retries off. Above 1, objects are written through the SDK (so its
   * retries apply) instead of the lean write path. @default 1
   */
  readonly sdkMaxAttempts?: number;
  /** Longest time to establish a connection (SDK calls and writes), in milliseconds. @default 5000 */
  readonly connectionTimeoutMs?: number;
  /**
   * Longest time one request may go without progress (sending the body, awaiting or reading the
   * answer), in milliseconds, for SDK calls and writes alike; raise it for slow links. @default 60000
   */
  readonly requestTimeoutMs?: number;
  /** Most concurrent connections to the endpoint, for the SDK client and for the write pool each. @default 64 */
  readonly maxSockets?: number;
  /**
   * How many times `put()` retries a 409 ConditionalRequestConflict (another write of the same key
   * in flight) before giving up with `rate_limited`. @default 5
   */
  readonly conditionalConflictRetries?: number;
  /**
   * An S3 client to use instead of creating one (advanced use and tests). `region`, `credentials`,
   * `assumeRole`, `endpoint`, `forcePathStyle`, `requestChecksumCalculation`, `sdkMaxAttempts`,
   * timeouts and `maxSockets` are then ignored, objects are written through this client's SDK stack
   * (its middleware applies) instead of the lean write path, and `close()` leaves the client open.
   */
  readonly client?: S3Client;
}
