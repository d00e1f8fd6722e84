import type { DestinationDescriptorV1, DestinationSettingSchema, ValidationIssue } from '@sentcopy/core';
import { createS3Destination } from './create-s3-destination.js';

/** Where a secret setting's value comes from: the environment variable a configuration file names. */
export interface S3SecretReference {
  /** Name of the environment variable holding the secret. */
  readonly env: string;
}

/** An `s3` destination as a configuration file holds it (snake_case, every field but `type` and the acknowledgement). */
export interface S3DestinationFileSettings {
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
  readonly access_key_id?: S3SecretReference;
  /** Static secret access key; goes with `access_key_id`. */
  readonly secret_access_key?: S3SecretReference;
  /** Role to assume through STS (refreshed automatically). */
  readonly role_arn?: string;
  /** Session name for the assumed role. @default `sentcopy` */
  readonly role_session_name?: string;
  /** External id the role's trust policy requires. */
  readonly external_id?: S3SecretReference;
  /** Account that must own the bucket. */
  readonly expected_bucket_owner?: string;
  /** KMS key for server-side encryption (aws:kms); without it, AES256 is not requested explicitly. */
  readonly kms_key_id?: string;
  /** Storage class of every object; keep `STANDARD` for messages (`STANDARD_IA` and `GLACIER_IR` bill each object as at least 128 KB, `GLACIER` and `DEEP_ARCHIVE` add 40 KB; see `sentcopy cost`). @default the bucket's default */
  readonly storage_class?: string;
  /** Use a bucket that is publicly readable anyway (refused by default). @default false */
  readonly allow_public_bucket?: boolean;
  /** Object Lock (WORM) for every object written; the bucket must have Object Lock enabled. @default none */
  readonly object_lock?: {
    /** `GOVERNANCE` or `COMPLIANCE`; goes with `retention_days`. */
    readonly mode?: 'GOVERNANCE' | 'COMPLIANCE';
    /** Retention in days from the write. @default none */
    readonly retention_days?: number;
    /** Places a legal hold on every object. @default false */
    readonly legal_hold?: boolean;
  };
  /** When the SDK computes request checksums; `WHEN_REQUIRED` suits stores that mishandle streaming checksums. @default 'WHEN_SUPPORTED' */
  readonly request_checksum_calculation?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
}

const secret = (description: string): DestinationSettingSchema => ({ 'x-secret': true, description });
const given = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [P in K]: V }));

function checkSettings(settings: S3DestinationFileSettings): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const add = (path: string, problem: string) => issues.push({ path, problem });
  if (settings.access_key_id !== undefined && settings.secret_access_key === undefined) add('secret_access_key', 'is required with access_key_id (give both, or neither to use the default credential chain)');
  if (settings.secret_access_key !== undefined && settings.access_key_id === undefined) add('access_key_id', 'is required with secret_access_key (give both, or neither to use the default credential chain)');
  if (settings.external_id !== undefined && settings.role_arn === undefined) add('external_id', 'needs role_arn (the external id is sent when assuming that role)');
  if (settings.role_session_name !== undefined && settings.role_arn === undefined) add('role_session_name', 'needs role_arn');
  const lock = settings.object_lock;
  if (lock !== undefined && (lock.mode === undefined) !== (lock.retention_days === undefined)) {
    add(lock.mode === undefined ? 'object_lock.mode' : 'object_lock.retention_days', 'goes with the other: give mode and retention_days together (or neither, for a legal hold only)');
  }
  return issues;
}

/** How sentcopy's worker and CLI validate, create and edit `s3` destinations. */
export const destinationDescriptor: DestinationDescriptorV1<S3DestinationFileSettings> = {
  specificationVersion: 'v1',
  type: 's3',
  packageName: '@sentcopy/destination-s3',
  title: 'Amazon S3 and S3-compatible stores',
  settingsSchema: {
    type: 'object',
    description: 'Amazon S3 or an S3-compatible store (package @sentcopy/destination-s3).',
    properties: {
      bucket: { type: 'string', minLength: 3, maxLength: 63 },
      region: { type: 'string', minLength: 1 },
      key_prefix: { type: 'string' },
      endpoint: { type: 'string', pattern: '^https?://' },
      force_path_style: { type: 'boolean' },
      access_key_id: secret('Static access key id; goes with secret_access_key.'),
      secret_access_key: secret('Static secret access key; goes with access_key_id.'),
      role_arn: { type: 'string', pattern: '^arn:' },
      role_session_name: { type: 'string', minLength: 2, maxLength: 64 },
      external_id: secret("External id the role's trust policy requires."),
      expected_bucket_owner: { type: 'string', pattern: '^[0-9]{12}$' },
      kms_key_id: { type: 'string', minLength: 1 },
      storage_class: { type: 'string', minLength: 1 },
      allow_public_bucket: { type: 'boolean', description: 'Use a bucket that is publicly readable anyway; the probe refuses one otherwise.' },
      object_lock: {
        type: 'object',
        description: 'S3 Object Lock for every object; the bucket must have Object Lock enabled. `mode` and `retention_days` go together.',
        properties: { mode: { enum: ['GOVERNANCE', 'COMPLIANCE'] }, retention_days: { type: 'integer', minimum: 1 }, legal_hold: { type: 'boolean' } },
        additionalProperties: false,
      },
      request_checksum_calculation: { enum: ['WHEN_SUPPORTED', 'WHEN_REQUIRED'] },
    },
    required: ['bucket'],
    additionalProperties: false,
  },
  options: [
    { setting: 'bucket', flag: 'bucket', value: 'name', description: 'the bucket (it must exist)' },
    { setting: 'key_prefix', flag: 'key-prefix', value: 'prefix', description: 'prefix of every object key, e.g. archive/' },
    { setting: 'region', flag: 'region', value: 'region', description: 'AWS region (default: AWS_REGION, else us-east-1)' },
    { setting: 'endpoint', flag: 'endpoint', value: 'url', description: 'endpoint of an S3-compatible store (R2, Ceph, Garage…)' },
    { setting: 'force_path_style', flag: 'force-path-style', description: 'path-style addressing, which most S3-compatible stores need' },
    { setting: 'access_key_id', flag: 'access-key-id-env', value: 'var', description: 'environment variable holding a static access key id (default: the AWS credential chain)' },
    { setting: 'secret_access_key', flag: 'secret-access-key-env', value: 'var', description: 'environment variable holding the secret access key' },
    { setting: 'role_arn', flag: 'role-arn', value: 'arn', description: 'IAM role to assume through STS' },
    { setting: 'role_session_name', flag: 'role-session-name', value: 'name', description: 'session name of the assumed role (default: sentcopy)' },
    { setting: 'external_id', flag: 'external-id-env', value: 'var', description: "environment variable holding the external id the role's trust policy requires" },
    { setting: 'expected_bucket_owner', flag: 'expected-bucket-owner', value: 'account', description: 'AWS account id (12 digits) that must own the bucket' },
    { setting: 'kms_key_id', flag: 'kms-key', value: 'key', description: 'KMS key id or ARN (SSE-KMS)' },
    {
      setting: 'storage_class',
      flag: 'storage-class',
      value: 'class',
      description: "storage class of every object (default: the bucket's, normally STANDARD, the cheapest for messages: classes with a 128 KB minimum or 30+ day minimums cost more, see `sentcopy cost`)",
    },
    { setting: 'object_lock.mode', flag: 'object-lock-mode', value: 'mode', description: 'Object Lock mode, GOVERNANCE or COMPLIANCE (with --object-lock-days)' },
    { setting: 'object_lock.retention_days', flag: 'object-lock-days', value: 'days', description: 'Object Lock retention of every object, in days from its write' },
    { setting: 'object_lock.legal_hold', flag: 'legal-hold', description: 'place a legal hold on every object' },
    { setting: 'request_checksum_calculation', flag: 'request-checksum-calculation', value: 'when', description: 'WHEN_SUPPORTED (default) or WHEN_REQUIRED, for stores that mishandle streaming checksums' },
  ],
  checkSettings,
  describeLocation: (settings) => `s3://${settings.bucket}/${settings.key_prefix ?? ''}${settings.endpoint === undefined ? '' : ` at ${settings.endpoint}`}`,
  create(settings, context) {
    const accessKeyId = context.readSecret('access_key_id');
    const secretAccessKey = context.readSecret('secret_access_key');
    const externalId = context.readSecret('external_id');
    const lock = settings.object_lock;
    return createS3Destination({
      bucket: settings.bucket,
      ...given('region', settings.region),
      ...given('keyPrefix', settings.key_prefix),
      ...given('endpoint', settings.endpoint),
      ...given('forcePathStyle', settings.force_path_style),
      ...(accessKeyId === undefined || secretAccessKey === undefined ? {} : { credentials: { accessKeyId, secretAccessKey } }),
      ...(settings.role_arn === undefined ? {} : { assumeRole: { roleArn: settings.role_arn, roleSessionName: settings.role_session_name ?? 'sentcopy', ...given('externalId', externalId) } }),
      ...given('expectedBucketOwner', settings.expected_bucket_owner),
      ...(settings.kms_key_id === undefined ? {} : { serverSideEncryption: { type: 'aws:kms' as const, kmsKeyId: settings.kms_key_id } }),
      ...given('storageClass', settings.storage_class),
      ...given('allowPublicBucket', settings.allow_public_bucket),
      ...(lock === undefined ? {} : { objectLock: { ...given('mode', lock.mode), ...given('retentionDays', lock.retention_days), ...given('legalHold', lock.legal_hold) } }),
      ...given('requestChecksumCalculation', settings.request_checksum_calculation),
    });
  },
};
