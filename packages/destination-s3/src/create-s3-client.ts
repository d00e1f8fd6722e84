import { S3Client } from '@aws-sdk/client-s3';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { S3DestinationSettings } from './s3-destination-settings.js';

/** The region from the settings, the environment, or `us-east-1` for custom endpoints; `undefined` when none can be found. */
export function resolveRegion(settings: S3DestinationSettings, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const region = settings.region ?? (env.AWS_REGION || undefined) ?? (env.AWS_DEFAULT_REGION || undefined);
  if (region !== undefined) return region;
  return settings.endpoint === undefined ? undefined : 'us-east-1';
}

/** Builds the S3 client the destination uses when none is injected: credentials (static, provider, default chain, or an assumed role), endpoint, timeouts. */
export function createS3Client(settings: S3DestinationSettings, region: string): S3Client {
  const assumeRole = settings.assumeRole;
  const credentials =
    assumeRole === undefined
      ? settings.credentials
      : fromTemporaryCredentials({
          params: {
            RoleArn: assumeRole.roleArn,
            RoleSessionName: assumeRole.roleSessionName,
            ...(assumeRole.externalId === undefined ? {} : { ExternalId: assumeRole.externalId }),
            DurationSeconds: assumeRole.durationSeconds ?? 3600,
          },
          ...(settings.credentials === undefined ? {} : { masterCredentials: settings.credentials }),
          clientConfig: {
            region: assumeRole.stsRegion ?? region,
            ...(assumeRole.stsEndpoint === undefined ? {} : { endpoint: assumeRole.stsEndpoint }),
          },
        });
  const agent = { keepAlive: true, maxSockets: settings.maxSockets ?? 64 };
  return new S3Client({
    region,
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    forcePathStyle: settings.forcePathStyle ?? false,
    ...(credentials === undefined ? {} : { credentials }),
    requestChecksumCalculation: settings.requestChecksumCalculation ?? 'WHEN_SUPPORTED',
    maxAttempts: settings.sdkMaxAttempts ?? 1,
    requestHandler: {
      connectionTimeout: settings.connectionTimeoutMs ?? 5_000,
      requestTimeout: settings.requestTimeoutMs ?? 60_000,
      // Without it the SDK only logs a warning when the timeout passes and keeps waiting.
      throwOnRequestTimeout: true,
      httpAgent: agent,
      httpsAgent: agent,
    },
  });
}
