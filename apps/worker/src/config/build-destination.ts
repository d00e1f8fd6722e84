import path from 'node:path';
import type { DestinationV1 } from '@sentcopy/core';
import { ConfigError } from './config-error.js';
import { readSecret } from './secret-references.js';
import type { DestinationConfig, DestinationType } from './worker-config.js';

/** The package that provides each destination type. */
export const destinationPackages: Readonly<Record<DestinationType, string>> = {
  fs: '@sentcopy/destination-fs',
  s3: '@sentcopy/destination-s3',
  azure: '@sentcopy/destination-azure',
  gcs: '@sentcopy/destination-gcs',
};

/** Imports a destination package by name. */
export type PackageImporter = (name: string) => Promise<unknown>;

/** Options for {@link buildDestination}. */
export interface BuildDestinationOptions {
  /** Folder relative paths (`root`, `key_file`) are resolved against: the configuration file's. */
  readonly baseDir: string;
  /** Where `{ "env": … }` secrets are read from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** How destination packages are imported (bundled deployments, tests). @default `import(name)` */
  readonly importPackage?: PackageImporter;
}

// Literal specifiers, so bundlers and TypeScript see each package; only the one in use is loaded.
const defaultImporter: PackageImporter = (name) => {
  switch (name) {
    case '@sentcopy/destination-fs':
      return import('@sentcopy/destination-fs');
    case '@sentcopy/destination-s3':
      return import('@sentcopy/destination-s3');
    case '@sentcopy/destination-azure':
      return import('@sentcopy/destination-azure');
    case '@sentcopy/destination-gcs':
      return import('@sentcopy/destination-gcs');
    default:
      return import(name);
  }
};

function isMissingPackage(error: unknown, name: string): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes(name);
}

async function load<T>(name: string, type: DestinationType, at: string, importPackage: PackageImporter): Promise<T> {
  try {
    return (await importPackage(name)) as T;
  } catch (error) {
    if (!isMissingPackage(error, name)) throw error;
    throw new ConfigError('', [{ path: `${at}.type`, problem: `"${type}" needs the package ${name}: install ${name} next to @sentcopy/worker (npm install ${name})` }]);
  }
}

const given = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [P in K]: V }));

/**
 * Creates the destination a configuration entry describes. Destination packages are imported only
 * when a destination of their type is configured, so a worker needs only the adapter for its cloud;
 * a missing one is a `ConfigError` saying which package to install.
 */
export async function buildDestination(name: string, config: DestinationConfig, options: BuildDestinationOptions): Promise<DestinationV1> {
  const env = options.env ?? process.env;
  const importPackage = options.importPackage ?? defaultImporter;
  const at = `destinations.${name}`;
  const secret = (field: string, reference: { readonly env: string } | undefined) => readSecret(reference, `${at}.${field}`, env);
  const packageName = destinationPackages[config.type];
  switch (config.type) {
    case 'fs': {
      const { createFsDestination } = await load<typeof import('@sentcopy/destination-fs')>(packageName, config.type, at, importPackage);
      const octal = (value: string | undefined) => (value === undefined ? undefined : Number.parseInt(value, 8));
      return createFsDestination({
        root: path.resolve(options.baseDir, config.root),
        ...given('fsync', config.fsync),
        ...given('createRoot', config.create_root),
        ...given('requireMountPoint', config.require_mount_point),
        ...given('fileMode', octal(config.file_mode)),
        ...given('directoryMode', octal(config.directory_mode)),
      });
    }
    case 's3': {
      const accessKeyId = secret('access_key_id', config.access_key_id);
      const secretAccessKey = secret('secret_access_key', config.secret_access_key);
      const externalId = secret('external_id', config.external_id);
      const { createS3Destination } = await load<typeof import('@sentcopy/destination-s3')>(packageName, config.type, at, importPackage);
      const lock = config.object_lock;
      return createS3Destination({
        bucket: config.bucket,
        ...given('region', config.region),
        ...given('keyPrefix', config.key_prefix),
        ...given('endpoint', config.endpoint),
        ...given('forcePathStyle', config.force_path_style),
        ...(accessKeyId === undefined || secretAccessKey === undefined ? {} : { credentials: { accessKeyId, secretAccessKey } }),
        ...(config.role_arn === undefined ? {} : { assumeRole: { roleArn: config.role_arn, roleSessionName: config.role_session_name ?? 'sentcopy', ...given('externalId', externalId) } }),
        ...given('expectedBucketOwner', config.expected_bucket_owner),
        ...(config.kms_key_id === undefined ? {} : { serverSideEncryption: { type: 'aws:kms' as const, kmsKeyId: config.kms_key_id } }),
        ...given('storageClass', config.storage_class),
        ...given('allowPublicBucket', config.allow_public_bucket),
        ...(lock === undefined ? {} : { objectLock: { ...given('mode', lock.mode), ...given('retentionDays', lock.retention_days), ...given('legalHold', lock.legal_hold) } }),
        ...given('requestChecksumCalculation', config.request_checksum_calculation),
      });
    }
    case 'azure': {
      const connectionString = secret('connection_string', config.connection_string);
      const accountKey = secret('account_key', config.account_key);
      const sasToken = secret('sas_token', config.sas_token);
      const { createAzureDestination } = await load<typeof import('@sentcopy/destination-azure')>(packageName, config.type, at, importPackage);
      const credential =
        accountKey !== undefined ? { accountKey, ...given('accountName', config.account_name) } : sasToken !== undefined ? { sasToken } : { defaultAzureCredential: true as const };
      return createAzureDestination({
        container: config.container,
        ...(connectionString === undefined ? { ...given('accountUrl', config.account_url), credential } : { connectionString }),
        ...given('keyPrefix', config.key_prefix),
        ...given('accessTier', config.access_tier),
        ...(config.immutability === undefined ? {} : { immutability: { retentionDays: config.immutability.retention_days, ...given('mode', config.immutability.mode) } }),
        ...given('legalHold', config.legal_hold),
        ...given('encryptionScope', config.encryption_scope),
        ...given('allowPublicContainer', config.allow_public_bucket),
      });
    }
    case 'gcs': {
      const privateKey = secret('private_key', config.private_key);
      const { createGcsDestination } = await load<typeof import('@sentcopy/destination-gcs')>(packageName, config.type, at, importPackage);
      return createGcsDestination({
        bucket: config.bucket,
        ...given('keyPrefix', config.key_prefix),
        ...given('projectId', config.project_id),
        ...(config.client_email === undefined || privateKey === undefined
          ? {}
          : { credentials: { client_email: config.client_email, private_key: privateKey, ...given('project_id', config.project_id), ...given('universe_domain', config.universe_domain) } }),
        ...(config.key_file === undefined ? {} : { keyFilename: path.resolve(options.baseDir, config.key_file) }),
        ...given('apiEndpoint', config.api_endpoint),
        ...given('authenticateCustomEndpoint', config.authenticate_custom_endpoint),
        ...given('universeDomain', config.universe_domain),
        ...(config.retention === undefined ? {} : { retention: { retentionDays: config.retention.retention_days, ...given('mode', config.retention.mode) } }),
        ...given('eventBasedHold', config.event_based_hold),
        ...given('temporaryHold', config.temporary_hold),
        ...given('kmsKeyName', config.kms_key_name),
        ...given('storageClass', config.storage_class),
        ...given('allowPublicBucket', config.allow_public_bucket),
      });
    }
  }
}
