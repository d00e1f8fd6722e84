import { S3Client } from '@aws-sdk/client-s3';
import { runDestinationConformance } from '@sentcopy/destination-test-suite';
import * as vitest from 'vitest';
import { createS3Destination } from '../src/index.js';
import { createS3Backdoor } from './backdoor.js';

// Opt-in: runs the whole conformance suite against real AWS S3 when a scratch bucket and credentials are given.
const env = process.env;
const bucket = env.SENTCOPY_LIVE_S3_BUCKET;
const region = env.SENTCOPY_LIVE_S3_REGION ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
const hasCredentials = Boolean((env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI);
const skipReason = !bucket
  ? 'SENTCOPY_LIVE_S3_BUCKET is not set'
  : !hasCredentials
    ? 'no AWS credentials in the environment (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a web identity)'
    : !region
      ? 'no region (set AWS_REGION or SENTCOPY_LIVE_S3_REGION)'
      : undefined;

if (skipReason !== undefined || bucket === undefined || region === undefined) {
  console.info(`[destination-s3] live AWS S3 tests skipped: ${skipReason}.`);
  vitest.describe('destination-s3 (live AWS S3)', () => {
    vitest.it.skip(`skipped because ${skipReason}; set SENTCOPY_LIVE_S3_BUCKET (a scratch bucket) and AWS credentials to run the conformance suite against real S3`, () => {});
  });
} else {
  const keyPrefix = `sentcopy-live/${new Date().toISOString().replace(/[:.]/g, '-')}/`;
  const client = new S3Client({ region });
  vitest.afterAll(() => client.destroy());
  runDestinationConformance({
    name: `destination-s3 (live AWS S3, s3://${bucket}/${keyPrefix})`,
    runner: vitest,
    createDestination: () => createS3Destination({ bucket, region, keyPrefix, allowPublicBucket: env.SENTCOPY_LIVE_S3_ALLOW_PUBLIC === '1' }),
    backdoor: createS3Backdoor(client, bucket, keyPrefix),
    timeoutMs: 300_000,
  });
}
