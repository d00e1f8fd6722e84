import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createArchiver, sampleMessages } from '@sentcopy/core';
import { faults, s3ErrorResponse } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertNotification, WorkerConfig } from '../src/index.js';
import { sha256, waitFor } from './helpers.js';
import { createS3Destination, goodCredentials, startS3Setup, type S3Setup } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';
import { apiKeyHash, metricValue, startWorker, writeWorkerConfig } from './worker-fixture.js';

const newFolder = tempFolders('destination-alerts');
let s3: S3Setup;
beforeAll(async () => {
  s3 = await startS3Setup();
});
afterAll(() => s3.stop());

const hookToken = 'hook-token-SECRET-4242';
const hookSecret = 'alert-signing-secret-0987654321';

/** A real webhook receiver on 127.0.0.1 (random port) that records every request and answers 204. */
async function startReceiver() {
  const received: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    notifications: () => received.map((entry) => JSON.parse(entry.body) as AlertNotification),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the alert webhook, end to end through runWorker', () => {
  it('fires destination.unhealthy (probe_failed) for a destination that fails its probe from start-up, and destination.recovered once it passes; messages wait and are then stored', async () => {
    const receiver = await startReceiver();
    const bucket = s3.server.createBucket();
    const config: WorkerConfig = {
      version: 1,
      destinations: { cloud: { type: 's3', bucket, region: 'us-east-1', endpoint: s3.proxy.url, force_path_style: true, access_key_id: { env: 'ID' }, secret_access_key: { env: 'SECRET' }, acknowledge_personal_data: true } },
      projects: { shop: { destination: 'cloud', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: apiKeyHash }] } },
      alerts: { webhook_url: { env: 'HOOK' }, secret: { env: 'HOOK_SECRET' } },
    };
    const file = writeWorkerConfig(newFolder(), config);
    // The bucket refuses everything until its policy is "fixed": the probe fails from the first try.
    const denied = s3.proxy.inject(faults.respond(s3ErrorResponse('AccessDenied')), { match: (request) => request.url.startsWith(`/${bucket}`) });
    const started = await startWorker(file, {
      env: { ID: goodCredentials.accessKeyId, SECRET: goodCredentials.secretAccessKey, HOOK: `${receiver.url}/hooks/${hookToken}?token=${hookToken}`, HOOK_SECRET: hookSecret },
      probeRetryMs: 300,
    });
    const messages = sampleMessages({ projectId: 'shop', count: 8, seed: 71 });
    try {
      await waitFor(() => receiver.received.length >= 1, 15_000, 'the unhealthy alert');
      const unhealthy = receiver.notifications()[0]!;
      expect(unhealthy).toMatchObject({ event: 'destination.unhealthy', destination: 'cloud', kind: 'probe_failed' });
      expect(unhealthy.reason).toMatch(/denied|permission|credentials/i);

      // Intake stays open: the messages wait in the queue, and readiness and metrics say why.
      expect(await started.send(messages)).toBe(202);
      const readiness = await started.readiness();
      expect(readiness.status).toBe(200);
      expect(readiness.body.checks['destination cloud']).toMatch(/probe failed/i);
      expect(metricValue(await started.metrics(), 'sentcopy_destination_healthy{destination="cloud"}')).toBe(0);

      denied.remove();
      await waitFor(() => receiver.received.length >= 2, 15_000, 'the recovered alert');
      await waitFor(() => s3.server.listKeys(bucket).filter((key) => !key.startsWith('.sentcopy')).length === messages.length, 20_000, 'the waiting messages to be stored');
      await waitFor(async () => metricValue(await started.metrics(), 'sentcopy_destination_healthy{destination="cloud"}') === 1, 5_000, 'the healthy gauge');
    } finally {
      denied.remove();
      await started.worker.stop();
      await receiver.stop();
    }

    const notifications = receiver.notifications();
    expect(notifications.map((notification) => [notification.event, notification.destination, notification.kind])).toEqual([
      ['destination.unhealthy', 'cloud', 'probe_failed'],
      ['destination.recovered', 'cloud', 'probe_failed'],
    ]);
    expect(notifications[1]!.since).toBe(notifications[0]!.since);
    expect(Date.parse(notifications[1]!.at)).toBeGreaterThanOrEqual(Date.parse(notifications[0]!.at));
    const recipients = messages.map((message) => String((message as { to: unknown }).to));
    for (const entry of receiver.received) {
      expect(Object.keys(JSON.parse(entry.body) as object).sort()).toEqual(['at', 'destination', 'event', 'kind', 'reason', 'since']);
      expect(entry.url).toBe(`/hooks/${hookToken}?token=${hookToken}`);
      expect(entry.headers['x-sentcopy-signature']).toBe(`sha256=${createHmac('sha256', hookSecret).update(entry.body).digest('hex')}`);
      // No secret and no raw recipient in what leaves the process.
      for (const secret of [goodCredentials.secretAccessKey, hookSecret]) expect(entry.body).not.toContain(secret);
      for (const recipient of recipients) expect(entry.body).not.toContain(recipient);
    }
    const logText = JSON.stringify(started.logs);
    for (const secret of [goodCredentials.secretAccessKey, hookSecret, hookToken]) expect(logText).not.toContain(secret);

    // Every message stored exactly as sent (the configuration has no recipient_hash_key, so the worker writes the unkeyed layout).
    const archiver = createArchiver({ destination: createS3Destination({ ...s3.settings(), bucket }), layout: 'sentcopy-unkeyed' });
    for (const message of messages) {
      const prepared = await archiver.prepare(message);
      expect(sha256(s3.server.getObject(bucket, prepared.key)!.body)).toBe(prepared.sha256);
    }
  }, 60_000);
});
