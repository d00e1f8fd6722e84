import { Storage } from '@google-cloud/storage';
import { runDestinationConformance } from '@sentcopy/destination-test-suite';
import * as vitest from 'vitest';
import { createGcsDestination } from '../src/index.js';
import { createSdkBackdoor } from './backdoor.js';

// Opt-in: runs the whole conformance suite against real Google Cloud Storage when a scratch bucket and credentials are given.
const env = process.env;
const bucket = env.SENTCOPY_LIVE_GCS_BUCKET;
const hasCredentials = Boolean(env.GOOGLE_APPLICATION_CREDENTIALS || env.SENTCOPY_LIVE_GCS_USE_ADC === '1');
const skipReason = !bucket
  ? 'SENTCOPY_LIVE_GCS_BUCKET is not set'
  : !hasCredentials
    ? 'no Google credentials in the environment (set GOOGLE_APPLICATION_CREDENTIALS to a key file, or SENTCOPY_LIVE_GCS_USE_ADC=1 to use Application Default Credentials)'
    : undefined;

if (skipReason !== undefined || bucket === undefined) {
  console.info(`[destination-gcs] live GCS tests skipped: ${skipReason}.`);
  vitest.describe('destination-gcs (live GCS)', () => {
    vitest.it.skip(`skipped because ${skipReason}; set SENTCOPY_LIVE_GCS_BUCKET (a scratch bucket) and GOOGLE_APPLICATION_CREDENTIALS to run the conformance suite against real GCS`, () => {});
  });
} else {
  const keyPrefix = `sentcopy-live/${new Date().toISOString().replace(/[:.]/g, '-')}/`;
  const storage = new Storage({ retryOptions: { autoRetry: false } });
  runDestinationConformance({
    name: `destination-gcs (live GCS, gs://${bucket}/${keyPrefix})`,
    runner: vitest,
    createDestination: () => createGcsDestination({ bucket, keyPrefix, allowPublicBucket: env.SENTCOPY_LIVE_GCS_ALLOW_PUBLIC === '1' }),
    backdoor: createSdkBackdoor(storage, bucket, keyPrefix),
    timeoutMs: 300_000,
  });
}
