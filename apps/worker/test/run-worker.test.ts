import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { sampleMessages } from '@sentcopy/core';
import { faults, s3ErrorResponse } from '@sentcopy/test-servers';
import { afterAll, describe, expect, it } from 'vitest';
import { hashApiKey, runWorker, type WorkerConfig } from '../src/index.js';
import { storedKeys } from './helpers.js';
import { goodCredentials, startS3Setup } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('run-worker');
const s3 = await startS3Setup();
afterAll(() => s3.stop());

async function waitFor<T>(read: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('runWorker', () => {
  it('starts on a default configuration it writes, archives what it is sent, and labels metrics with destination names', async () => {
    const folder = newFolder();
    const worker = await runWorker({ configFile: path.join(folder, 'sentcopy.config.json'), createConfig: true, port: 0, prepareThreads: 1 });
    try {
      expect(worker.createdProject).toBe('default');
      const messages = sampleMessages({ projectId: 'default', count: 12 });
      const response = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${worker.createdApiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) });
      expect(response.status).toBe(202);
      const root = path.join(folder, 'sentcopy-archive');
      await waitFor(() => (storedKeys(root).length === 12 ? true : undefined), 'the copies');
      // A copy lands before its message is acknowledged and counted: wait for the count.
      const metrics = await waitFor(async () => {
        const text = await (await fetch(`${worker.url}/metrics`)).text();
        return /^sentcopy_archive_duration_seconds_count\{destination="local"\} 12$/m.test(text) ? text : undefined;
      }, 'the metrics');
      expect(metrics).toMatch(/^sentcopy_destination_healthy\{destination="local"\} 1$/m);
      expect(metrics).not.toContain(folder);
      // The ledger's line says what waits for its next segment (10 s at most by default).
      expect(await (await fetch(`${worker.url}/readyz`)).json()).toEqual({ ready: true, checks: { queue: 'ok', 'destination local': 'ok', 'ledger local': expect.stringMatching(/^ok \(12 entries pending, the oldest for \d+ s\)$/) } });
    } finally {
      await worker.stop();
    }
  });

  it('calls the alert webhook once when a destination refuses the credentials and once when it recovers', async () => {
    const received: { event: string; destination: string; kind: string }[] = [];
    const receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push(JSON.parse(body));
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const folder = newFolder();
    const bucket = s3.server.createBucket();
    const apiKey = 'sc_alerts_test_key_000000000000000000000000000';
    const config: WorkerConfig = {
      version: 1,
      destinations: { cloud: { type: 's3', bucket, region: 'us-east-1', endpoint: s3.proxy.url, force_path_style: true, access_key_id: { env: 'ID' }, secret_access_key: { env: 'SECRET' }, acknowledge_personal_data: true } },
      projects: { shop: { destination: 'cloud', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
      alerts: { webhook_url: { env: 'HOOK' } },
    };
    writeFileSync(path.join(folder, 'sentcopy.config.json'), JSON.stringify(config));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook?token=hook-token-secret`;
    const logs: string[] = [];
    const worker = await runWorker({
      configFile: path.join(folder, 'sentcopy.config.json'),
      port: 0,
      prepareThreads: 1,
      env: { ID: goodCredentials.accessKeyId, SECRET: goodCredentials.secretAccessKey, HOOK: hook },
      logger: (entry) => logs.push(JSON.stringify(entry)),
    });
    const denied = s3.proxy.inject(faults.respond(s3ErrorResponse('AccessDenied')), { match: (request) => request.method === 'PUT' && request.url.includes(bucket) });
    try {
      const messages = sampleMessages({ projectId: 'shop', count: 5 });
      expect((await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) })).status).toBe(202);
      await waitFor(() => (received.length > 0 ? true : undefined), 'the unhealthy alert');
      expect(received[0]).toMatchObject({ event: 'destination.unhealthy', destination: 'cloud', kind: 'unauthorized' });
      const ready = (await (await fetch(`${worker.url}/readyz`)).json()) as { checks: Record<string, string> };
      expect(ready.checks['destination cloud']).toMatch(/^unhealthy/);
      denied.remove();
      await waitFor(() => (s3.server.listKeys(bucket).length === 5 ? true : undefined), 'the copies after recovery', 40_000);
      await waitFor(() => (received.length >= 2 ? true : undefined), 'the recovered alert');
      expect(received.map((notification) => notification.event)).toEqual(['destination.unhealthy', 'destination.recovered']);
      expect(logs.join('\n')).not.toContain('hook-token-secret');
    } finally {
      denied.remove();
      await worker.stop();
      receiver.close();
    }
  }, 60_000);
});
