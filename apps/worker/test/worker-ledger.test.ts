import { createHash, createHmac } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { messageRecipients, parseMessage, readLedger, sampleMessages, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { faults, s3ErrorResponse } from '@sentcopy/test-servers';
import { afterAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, hashApiKey, runWorker, type WorkerConfig } from '../src/index.js';
import { storedKeys, waitFor } from './helpers.js';
import { createS3Destination, goodCredentials, startS3Setup } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('worker-ledger');
const s3 = await startS3Setup();
afterAll(() => s3.stop());

const apiKey = 'sc_ledger_test_key_0000000000000000000000000000';
const otherKey = 'sc_ledger_test_key_1111111111111111111111111111';
const recipientKey = 'ledger-test-recipient-key-0123456789';
const channels = ['email', 'sms', 'push', 'whatsapp'] as const;

async function send(url: string, key: string, messages: readonly unknown[]): Promise<void> {
  const response = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) });
  expect(response.status).toBe(202);
}

function fsConfig(extra: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    version: 1,
    destinations: { local: { type: 'fs', root: 'archive', fsync: false, acknowledge_personal_data: true } },
    projects: { shop: { destination: 'local', channels: [...channels], layout: 'sentcopy-unkeyed', api_keys: [{ sha256: hashApiKey(apiKey) }] } },
    ...extra,
  };
}

describe('the worker writes the archive ledger', () => {
  it('lists every stored object once, in one chain per destination that a restart continues (writer id kept in the queue folder)', async () => {
    const folder = newFolder();
    const configFile = path.join(folder, 'sentcopy.config.json');
    writeFileSync(configFile, JSON.stringify(fsConfig()));
    const root = path.join(folder, 'archive');
    const messages = sampleMessages({ projectId: 'shop', count: 60, seed: 3 });
    for (const [index, half] of [messages.slice(0, 30), messages.slice(30)].entries()) {
      const worker = await runWorker({ configFile, port: 0, prepareThreads: 0 });
      try {
        await send(worker.url, apiKey, half);
        await waitFor(() => storedKeys(root).length === 30 * (index + 1), 20_000, 'the copies');
      } finally {
        // A graceful stop writes the open segment and removes the messages waiting for it.
        await worker.stop();
      }
    }
    const idFile = path.join(folder, '.sentcopy', 'queue', 'ledger', 'local.id');
    expect(existsSync(idFile)).toBe(true);
    const writerId = readFileSync(idFile, 'utf8').trim();
    const ledger = await readLedger(createFsDestination({ root }));
    expect(ledger.problems).toEqual([]);
    expect(ledger.chains.map((chain) => chain.writerId)).toEqual([writerId]);
    expect(ledger.chains[0]!.segments).toBeGreaterThanOrEqual(2);
    expect([...ledger.entries.keys()].sort()).toEqual(storedKeys(root));
    expect(ledger.entries.size).toBe(60);
    // Nothing waits in the queue once the entries are durable.
    const queue = await createEmbeddedQueue({ directory: path.join(folder, '.sentcopy', 'queue') });
    try {
      expect((await queue.stats()).depth).toBe(0);
    } finally {
      await queue.close();
    }
  }, 60_000);

  it("hashes each entry's recipients as its project's layout does, two layouts sharing one destination's chain", async () => {
    const folder = newFolder();
    const configFile = path.join(folder, 'sentcopy.config.json');
    writeFileSync(path.join(folder, 'sentcopy.config.env'), `SENTCOPY_RECIPIENT_KEY=${recipientKey}\n`, { mode: 0o600 });
    writeFileSync(
      configFile,
      JSON.stringify({
        ...fsConfig(),
        recipient_hash_key: { env: 'SENTCOPY_RECIPIENT_KEY' },
        projects: {
          shop: { destination: 'local', channels: [...channels], api_keys: [{ sha256: hashApiKey(apiKey) }] },
          vendor: { destination: 'local', channels: [...channels], profile: 'braze', api_keys: [{ sha256: hashApiKey(otherKey) }] },
        },
      } satisfies WorkerConfig),
    );
    const keyed = sampleMessages({ projectId: 'shop', count: 8, seed: 5 });
    const braze = sampleMessages({ projectId: 'vendor', count: 8, seed: 6 });
    const worker = await runWorker({ configFile, port: 0, prepareThreads: 0 });
    try {
      await send(worker.url, apiKey, keyed);
      await send(worker.url, otherKey, braze);
      await waitFor(() => storedKeys(path.join(folder, 'archive')).length === 16, 20_000, 'the copies');
    } finally {
      await worker.stop();
    }
    const ledger = await readLedger(createFsDestination({ root: path.join(folder, 'archive') }));
    expect(ledger.problems).toEqual([]);
    expect(ledger.chains).toHaveLength(1);
    const entries = [...ledger.entries.values()];
    expect(entries).toHaveLength(16);
    const hmac = (recipient: string) => createHmac('sha256', recipientKey).update(recipient, 'utf8').digest('hex');
    const md5 = (recipient: string) => createHash('md5').update(recipient, 'utf8').digest('hex');
    for (const [list, hash, project] of [
      [keyed, hmac, 'shop'],
      [braze, md5, 'vendor'],
    ] as const) {
      for (const message of list) {
        const entry = entries.find((candidate) => candidate.project_id === project && candidate.message_id === String(message.message_id));
        expect(entry, `${project}/${String(message.message_id)}`).toBeDefined();
        const parsed = parseMessage(JSON.parse(JSON.stringify(message))) as Message;
        expect(entry!.recipients).toEqual(messageRecipients(parsed).map(hash));
      }
    }
    // Raw addresses never reach the ledger.
    const raw = JSON.stringify(entries);
    for (const message of [...keyed, ...braze]) expect(raw).not.toContain(String((message as { to: unknown }).to));
  }, 60_000);

  it('turned off for a destination, writes no ledger there and removes messages as soon as they are stored', async () => {
    const folder = newFolder();
    const configFile = path.join(folder, 'sentcopy.config.json');
    writeFileSync(configFile, JSON.stringify(fsConfig({ ledger: { disabled_destinations: ['local'] } })));
    const worker = await runWorker({ configFile, port: 0, prepareThreads: 0 });
    try {
      await send(worker.url, apiKey, sampleMessages({ projectId: 'shop', count: 10, seed: 9 }));
      await waitFor(() => storedKeys(path.join(folder, 'archive')).length === 10, 20_000, 'the copies');
      const ready = (await (await fetch(`${worker.url}/readyz`)).json()) as { checks: Record<string, string> };
      expect(ready.checks['ledger local']).toBeUndefined();
    } finally {
      await worker.stop();
    }
    expect(existsSync(path.join(folder, 'archive', '.sentcopy-ledger'))).toBe(false);
  }, 60_000);

  it('is loud while its segments are refused (readiness, metrics, alert, log) yet keeps archiving; once they are accepted every entry lands and the queue empties', async () => {
    const received: { event: string; destination: string; pending_entries?: number }[] = [];
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
    const config: WorkerConfig = {
      version: 1,
      destinations: {
        cloud: {
          type: 's3',
          bucket,
          region: 'us-east-1',
          endpoint: s3.proxy.url,
          force_path_style: true,
          access_key_id: { env: 'ID' },
          secret_access_key: { env: 'SECRET' },
          request_checksum_calculation: 'WHEN_REQUIRED',
          acknowledge_personal_data: true,
        },
      },
      projects: { shop: { destination: 'cloud', channels: [...channels], layout: 'sentcopy-unkeyed', api_keys: [{ sha256: hashApiKey(apiKey) }] } },
      alerts: { webhook_url: { env: 'HOOK' } },
      ledger: { segment_max_age_ms: 200, retry_delay_ms: 300 },
    };
    const configFile = path.join(folder, 'sentcopy.config.json');
    writeFileSync(configFile, JSON.stringify(config));
    // Only the ledger's segments are refused; messages are stored as usual.
    const refused = s3.proxy.inject(faults.respond(s3ErrorResponse('AccessDenied')), { match: (request) => request.method === 'PUT' && request.url.includes('.sentcopy-ledger') });
    const logs: { event: string }[] = [];
    const worker = await runWorker({
      configFile,
      port: 0,
      prepareThreads: 0,
      env: { ID: goodCredentials.accessKeyId, SECRET: goodCredentials.secretAccessKey, HOOK: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` },
      logger: (entry) => logs.push(entry),
    });
    const messages = sampleMessages({ projectId: 'shop', count: 40, seed: 11 });
    const objects = () => s3.server.listKeys(bucket).filter((key) => !key.startsWith('.sentcopy-ledger/'));
    try {
      await send(worker.url, apiKey, messages);
      await waitFor(() => objects().length === 40, 20_000, 'every message stored while the ledger is refused');
      await waitFor(() => received.some((notification) => notification.event === 'ledger.unhealthy'), 20_000, 'the ledger alert');
      expect(received.find((notification) => notification.event === 'ledger.unhealthy')).toMatchObject({ destination: 'cloud' });
      const ready = await fetch(`${worker.url}/readyz`);
      // Loud, but intake goes on: the messages wait as stored, not yet in the ledger.
      expect(ready.status).toBe(200);
      const checks = ((await ready.json()) as { checks: Record<string, string> }).checks;
      expect(checks['ledger cloud']).toMatch(/^unhealthy: segments cannot be written/);
      expect(checks['ledger cloud']).toMatch(/40 entries pending/);
      const metrics = await (await fetch(`${worker.url}/metrics`)).text();
      expect(metrics).toMatch(/^sentcopy_ledger_healthy\{destination="cloud"\} 0$/m);
      expect(metrics).toMatch(/^sentcopy_ledger_pending_entries\{destination="cloud"\} 40$/m);
      expect(metrics).toMatch(/^sentcopy_ledger_held_messages\{destination="cloud"\} 40$/m);
      expect(metrics).toMatch(/^sentcopy_ledger_write_failures_total\{destination="cloud"\} [1-9]/m);
      expect(metrics).toMatch(/^sentcopy_queue_depth 40$/m);
      expect(logs.some((entry) => entry.event === 'ledger.write_failed')).toBe(true);
      expect(s3.server.listKeys(bucket).some((key) => key.startsWith('.sentcopy-ledger/'))).toBe(false);

      refused.remove();
      await waitFor(async () => /^sentcopy_queue_depth 0$/m.test(await (await fetch(`${worker.url}/metrics`)).text()), 30_000, 'the queue to empty once the ledger is written');
      await waitFor(() => received.some((notification) => notification.event === 'ledger.recovered'), 20_000, 'the recovery alert');
      const after = ((await (await fetch(`${worker.url}/readyz`)).json()) as { checks: Record<string, string> }).checks;
      expect(after['ledger cloud']).toBe('ok');
    } finally {
      refused.remove();
      await worker.stop();
      receiver.close();
    }
    const destination = createS3Destination({ ...s3.settings(), bucket });
    try {
      const ledger = await readLedger(destination);
      expect(ledger.problems).toEqual([]);
      expect([...ledger.entries.keys()].sort()).toEqual(objects().sort());
      expect(ledger.entries.size).toBe(40);
    } finally {
      await destination.close?.();
    }
  }, 90_000);
});
