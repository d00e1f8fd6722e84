import path from 'node:path';
import type { DestinationV1, ValidationIssue } from '@sentcopy/core';
import { ConfigError } from './config-error.js';
import type { DestinationConfig, SecretReference } from './worker-config.js';

/** Reads a secret from the environment; a missing variable is a configuration problem naming the field and the variable, never a value. */
function secret(reference: SecretReference | undefined, field: string, env: NodeJS.ProcessEnv, issues: ValidationIssue[]): string | undefined {
  if (reference === undefined) return undefined;
  const value = env[reference.env];
  if (value === undefined || value === '') {
    issues.push({ path: field, problem: `reads the environment variable ${reference.env}, which is not set` });
    return undefined;
  }
  return value;
}

/**
 * Creates the destination a configuration entry describes. Destination packages are loaded only
 * when used, so a worker needs only the adapter for its cloud.
 */
export async function buildDestination(name: string, config: DestinationConfig, options: { readonly baseDir: string; readonly env?: NodeJS.ProcessEnv }): Promise<DestinationV1> {
  const env = options.env ?? process.env;
  const at = `destinations.${name}`;
  const issues: ValidationIssue[] = [];
  switch (config.type) {
    case 'fs': {
      const { createFsDestination } = await import('@sentcopy/destination-fs');
      return createFsDestination({ root: path.resolve(options.baseDir, config.root), ...(config.fsync === undefined ? {} : { fsync: config.fsync }) });
    }
    case 's3': {
      const accessKeyId = secret(config.access_key_id, `${at}.access_key_id`, env, issues);
      const secretAccessKey = secret(config.secret_access_key, `${at}.secret_access_key`, env, issues);
      const externalId = secret(config.external_id, `${at}.external_id`, env, issues);
      if ((config.access_key_id === undefined) !== (config.secret_access_key === undefined)) issues.push({ path: `${at}.secret_access_key`, problem: 'goes with access_key_id: give both, or neither to use the default credential chain' });
      if (issues.length > 0) throw new ConfigError('', issues);
      let module: typeof import('@sentcopy/destination-s3');
      try {
        module = await import('@sentcopy/destination-s3');
      } catch {
        throw new ConfigError('', [{ path: `${at}.type`, problem: 'needs the package @sentcopy/destination-s3: install it next to the worker' }]);
      }
      return module.createS3Destination({
        bucket: config.bucket,
        ...(config.region === undefined ? {} : { region: config.region }),
        ...(config.key_prefix === undefined ? {} : { keyPrefix: config.key_prefix }),
        ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
        ...(config.force_path_style === undefined ? {} : { forcePathStyle: config.force_path_style }),
        ...(accessKeyId === undefined || secretAccessKey === undefined ? {} : { credentials: { accessKeyId, secretAccessKey } }),
        ...(config.role_arn === undefined ? {} : { assumeRole: { roleArn: config.role_arn, roleSessionName: config.role_session_name ?? 'sentcopy', ...(externalId === undefined ? {} : { externalId }) } }),
        ...(config.expected_bucket_owner === undefined ? {} : { expectedBucketOwner: config.expected_bucket_owner }),
        ...(config.kms_key_id === undefined ? {} : { serverSideEncryption: { type: 'aws:kms', kmsKeyId: config.kms_key_id } }),
        ...(config.storage_class === undefined ? {} : { storageClass: config.storage_class }),
        ...(config.allow_public_bucket === undefined ? {} : { allowPublicBucket: config.allow_public_bucket }),
      });
    }
  }
}
