import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { readLedger, sampleMessages } from '@sentcopy/core';
import { createS3Destination } from '@sentcopy/destination-s3';
import { faults, s3ErrorResponse } from '@sentcopy/test-servers';
import { afterAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, hashApiKey, runWorker, type WorkerConfig } from '../src/index.js';
import { waitFor } from './helpers.js';
import { goodCredentials, startS3Setup } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';

// The gate records a message in the queue while it writes the object (the two overlap): these
// tests check that the record follows the write's outcome, never the other way round.
const newFolder = tempFolders('gate-record');
const s3 = await startS3Setup();
afterAll(() => s3.stop());

const apiKey = 'sc_gate_record_key_000000000000000000000000000';
const env = { S3_ID: goodCredentials.accessKeyId, S3_SECRET: goodCredentials.secretAccessKey };

function writeConfig(folder: string, bucket: string): string {
  const config: WorkerConfig = {
    version: 1,
    destinations: {
      cloud: { type: 's3', bucket, region: 'us-east-1', endpoint: s3.proxy.url, force_path_style: true, access_key_id: { env: 'S3_ID' }, secret_access_key: { env: 'S3_SECRET' }, acknowledge_personal_data: true },
    },
    projects: { shop: { destination: 'cloud', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
  };
  const file = path.join(folder, 'sentcopy.config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

const post = async (url: string, route: string, body: unknown) => {
  const response = await fetch(`${url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('the before-send gate records a message while it writes it', () => {
  it('discards the record of a write that failed: nothing left in the queue, nothing archived later, and the same message can still be queued and archived', async () => {
    const folder = newFolder();
    const queueDirectory = path.join(folder, 'queue');
    const bucket = s3.server.createBucket();
    const configFile = writeConfig(folder, bucket);
    const [failing, passing] = sampleMessages({ projectId: 'shop', count: 2, seed: 11 }).map((message, index) => ({ ...message, message_id: index === 0 ? 'gate-write-refused' : 'gate-write-stored' }));
    const objects = () => s3.server.listKeys(bucket).filter((key) => !key.startsWith('.sentcopy-ledger/'));

    const denied = s3.proxy.inject(faults.respond(s3ErrorResponse('AccessDenied')), { match: (request) => request.method === 'PUT' && request.url.includes(bucket) && request.url.includes('gate-write-refused') });
    let storedKey: string;
    const worker = await runWorker({ configFile, queueDirectory, port: 0, env, prepareThreads: 0 });
    try {
      const refused = await post(worker.url, '/v1/archive', failing);
      expect(refused.status).toBe(502);
      expect(refused.body.error).toMatchObject({ code: 'failed_to_archive', kind: 'unauthorized' });
      const stored = await post(worker.url, '/v1/archive', passing);
      expect(stored.status).toBe(201);
      storedKey = stored.body.key as string;
    } finally {
      await worker.stop();
      denied.remove();
    }
    expect(objects()).toEqual([storedKey]);

    // The stop wrote the open segment, so the stored message's record is gone too; the failed one's was never to stay.
    const queue = await createEmbeddedQueue({ directory: queueDirectory });
    try {
      expect((await queue.stats()).depth).toBe(0);
    } finally {
      await queue.close();
    }
    const ledger = await readLedger(createS3Destination({ ...s3.settings(), bucket }));
    expect(ledger.problems).toEqual([]);
    expect([...ledger.entries.keys()]).toEqual([storedKey]);

    // Not remembered as archived: submitted to the queue now, it is accepted (not a duplicate) and stored.
    const again = await runWorker({ configFile, queueDirectory, port: 0, env, prepareThreads: 0 });
    try {
      const queued = await post(again.url, '/v1/messages', [failing]);
      expect(queued.status).toBe(202);
      expect(queued.body).toMatchObject({ accepted: 1 });
      await waitFor(() => objects().length === 2, 15_000, 'the queued message to be stored');
      expect(objects().some((key) => key.includes('gate-write-refused'))).toBe(true);
    } finally {
      await again.stop();
    }
  }, 60_000);
});
