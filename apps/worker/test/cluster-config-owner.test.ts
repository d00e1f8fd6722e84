import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sampleMessages } from '@sentcopy/core';
import { startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configTextSha256, createJetStreamQueue, hashApiKey, openJetStreamConfigStore, runWorker, type RunningWorker, type WorkerConfig } from '../src/index.js';
import { stopWithin, storedKeys, waitFor } from './helpers.js';
import { tempFolders } from './temp-folders.js';

// Issue #21 items 5 and 6, #14 item 13: the cluster's configuration is the operator's, and it names one folder for all workers.
const newFolder = tempFolders('cluster-config-owner');
const apiKey = 'sc_owner_test_key_0000000000000000000000000000';
let nats: NatsTestServer;
let connection: NatsConnection;
beforeAll(async () => {
  nats = await startNatsServer();
  connection = await connect({ servers: nats.url });
});
afterAll(async () => {
  await connection?.close();
  await nats?.stop();
});

const deploymentName = () => `o${randomBytes(5).toString('hex')}`;
const config = (root: string): WorkerConfig => ({
  version: 1,
  destinations: { local: { type: 'fs', root, acknowledge_personal_data: true } },
  projects: { shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
});

describe("a cluster's configuration", () => {
  it('is never invented by a worker: without a file on an empty bucket the worker writes nothing, waits, and starts on what the operator pushes', async () => {
    const name = deploymentName();
    const folder = newFolder();
    const configFile = path.join(folder, 'sentcopy.config.json');
    const logs: { event?: string; message?: string }[] = [];
    let worker: RunningWorker | undefined;
    const starting = runWorker({ configFile, createConfig: true, port: 0, prepareThreads: 0, nats: { url: nats.url, name }, logger: (entry) => logs.push(entry as never) }).then((started) => (worker = started));
    try {
      await waitFor(() => logs.some((entry) => entry.event === 'config.waiting'), 10_000, 'the worker to say it waits for a configuration');
      const store = await openJetStreamConfigStore({ connection, name });
      expect(await store.read()).toBeUndefined();
      expect(existsSync(configFile)).toBe(false);
      expect(worker).toBeUndefined();
      expect(logs.find((entry) => entry.event === 'config.waiting')?.message).toContain('sentcopy config push');

      const root = path.join(folder, 'archive');
      await store.write(JSON.stringify(config(root)));
      await store.close();
      await starting;
      expect(worker?.configSource).toBe('jetstream');
      expect(worker?.createdApiKey).toBeUndefined();
      const [message] = sampleMessages({ projectId: 'shop', count: 1 });
      const answer = await fetch(`${worker!.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify([message]) });
      expect(answer.status).toBe(202);
      await waitFor(() => storedKeys(root).length === 1, 10_000, 'the message to be archived');
    } finally {
      await starting.catch(() => undefined);
      await worker?.stop();
    }
  });

  it('refuses a relative local-folder root: in a push, in a seed from a file, and when one is written into the bucket behind the check', async () => {
    const name = deploymentName();
    const folder = newFolder();
    const store = await openJetStreamConfigStore({ connection, name });
    try {
      await expect(store.write(JSON.stringify(config('archive')))).rejects.toThrow(/destinations\.local\.root: must be an absolute path in a cluster/);
      expect(await store.read()).toBeUndefined();

      const configFile = path.join(folder, 'sentcopy.config.json');
      writeFileSync(configFile, JSON.stringify(config('archive')));
      await expect(runWorker({ configFile, port: 0, prepareThreads: 0, nats: { url: nats.url, name } })).rejects.toThrow(/destinations\.local\.root: must be an absolute path/);
      expect(await store.read()).toBeUndefined();

      // Written straight into the bucket (an old CLI, or by hand): the worker refuses to start on it.
      const kv = await new Kvm(connection).open(`${name}-config`);
      await kv.put('worker-config', JSON.stringify(config('archive')));
      const refused = await runWorker({ configFile: path.join(newFolder(), 'none.json'), port: 0, prepareThreads: 0, nats: { url: nats.url, name } }).catch((error: unknown) => error as Error);
      expect(String(refused)).toMatch(/destinations\.local\.root: must be an absolute path/);
      expect(existsSync(path.join(folder, 'archive'))).toBe(false);
      // Garbage in the bucket is reported as the bucket's, not as a local file that does not exist.
      await kv.put('worker-config', 'not json {');
      const garbage = await runWorker({ configFile: path.join(newFolder(), 'none.json'), port: 0, prepareThreads: 0, nats: { url: nats.url, name } }).catch((error: unknown) => error as Error);
      expect(String(garbage)).toContain(`the ${name}-config bucket`);
      expect(String(garbage)).not.toContain('none.json');
    } finally {
      await store.close();
    }
  });

  it("a worker that refuses a pushed configuration gives the new project's messages back instead of dead-lettering them, says so on /readyz, and reports it to the bucket", async () => {
    const name = deploymentName();
    const folder = newFolder();
    const root = path.join(folder, 'archive');
    const store = await openJetStreamConfigStore({ connection, name });
    await store.write(JSON.stringify(config(root)));
    const hook = 'http://127.0.0.1:9/hook';
    const start = (env: NodeJS.ProcessEnv) => runWorker({ configFile: path.join(newFolder(), 'none.json'), port: 0, prepareThreads: 0, env, nats: { url: nats.url, name } });
    const able = await start({ SC_OWNER_HOOK: hook });
    const unable = await start({});
    try {
      // The new project's configuration names a variable only the first worker has.
      const newKey = 'sc_owner_newcomer_key_000000000000000000000000';
      const pushed = {
        ...config(root),
        alerts: { webhook_url: { env: 'SC_OWNER_HOOK' } },
        projects: { ...config(root).projects, newcomer: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(newKey) }] } },
      } as WorkerConfig;
      const text = JSON.stringify(pushed);
      await store.write(text);
      await waitFor(
        async () => (await store.workerStatuses()).filter((status) => status.applied === configTextSha256(text) || status.refused?.sha256 === configTextSha256(text)).length === 2,
        10_000,
        'both workers to report on the pushed configuration',
      );
      const statuses = await store.workerStatuses();
      expect(statuses.filter((status) => status.applied === configTextSha256(text))).toHaveLength(1);
      const refusal = statuses.find((status) => status.refused?.sha256 === configTextSha256(text));
      expect(refusal?.refused?.problem).toContain('alerts.webhook_url: reads the environment variable SC_OWNER_HOOK');
      expect(JSON.stringify(statuses)).not.toContain(hook);

      const ready = await fetch(`${unable.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks['config']).toContain('SC_OWNER_HOOK');
      expect((await fetch(`${able.url}/readyz`)).status).toBe(200);

      const messages = sampleMessages({ projectId: 'newcomer', count: 200, seed: 5 });
      for (let start = 0; start < messages.length; start += 50) {
        const answer = await fetch(`${able.url}/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${newKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(messages.slice(start, start + 50)),
          signal: AbortSignal.timeout(20_000),
        });
        expect(answer.status).toBe(202);
      }
      await waitFor(() => storedKeys(root).filter((key) => key.startsWith('newcomer/')).length === 200, 30_000, 'every message of the new project to be archived');
      const queue = await createJetStreamQueue({ servers: nats.url, name });
      try {
        expect((await queue.stats()).deadLetters).toBe(0);
      } finally {
        await queue.close();
      }
    } finally {
      await store.close();
      await stopWithin([able, unable], 20_000);
    }
  }, 120_000);
});
