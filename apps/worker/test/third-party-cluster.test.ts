import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createArchiver, sampleMessages } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { installMemoPackage, memoPackage, shelfRoot, startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configTextSha256, hashApiKey, openJetStreamConfigStore, runWorker, type WorkerConfig } from '../src/index.js';
import { expectFolderHoldsExactly, stopWithin, storedKeys, waitFor } from './helpers.js';
import { tempFolders } from './temp-folders.js';

// Issue #20: in a cluster, each worker looks a third-party destination package up next to its own
// configuration file; a worker without it refuses the pushed configuration, keeps running on the
// previous one and says so (readiness, the bucket's worker statuses), while a worker with it archives.
const newFolder = tempFolders('third-party-cluster');
const fsPackageDir = fileURLToPath(new URL('../../../packages/destination-fs', import.meta.url));
const apiKey = 'sc_cluster_memo_key_00000000000000000000000000';
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

const projects = { shop: { destination: 'main', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } };

describe('a third-party destination in a cluster', () => {
  it('is the refusal of a worker that lacks the package (not a crash), while a worker that has it archives into it', async () => {
    const name = `m${randomBytes(5).toString('hex')}`;
    const shared = newFolder();
    const first: WorkerConfig = { version: 1, destinations: { main: { type: 'fs', root: path.join(shared, 'archive'), acknowledge_personal_data: true } }, projects };
    const withPackage = newFolder();
    installMemoPackage(withPackage, fsPackageDir);
    const store = await openJetStreamConfigStore({ connection, name, baseDir: withPackage });
    await store.write(JSON.stringify(first));
    const start = (folder: string) => runWorker({ configFile: path.join(folder, 'none.json'), port: 0, prepareThreads: 0, nats: { url: nats.url, name } });
    const able = await start(withPackage);
    const unable = await start(newFolder());
    try {
      const memos = path.join(shared, 'memos');
      const pushed = { ...first, destinations: { main: { type: memoPackage, folder: memos, shelf: 7, acknowledge_personal_data: true } } } as WorkerConfig;
      const text = JSON.stringify(pushed);
      await store.write(text);
      const sha256 = configTextSha256(text);
      await waitFor(async () => (await store.workerStatuses()).filter((status) => status.applied === sha256 || status.refused?.sha256 === sha256).length === 2, 15_000, 'both workers to report on the pushed configuration');
      const statuses = await store.workerStatuses();
      expect(statuses.filter((status) => status.applied === sha256)).toHaveLength(1);
      expect(statuses.find((status) => status.refused?.sha256 === sha256)?.refused?.problem).toContain(`destinations.main.type: names the package ${memoPackage}, which is not installed`);

      const ready = await fetch(`${unable.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks['config']).toContain(memoPackage);
      expect((await fetch(`${unable.url}/healthz`)).status).toBe(200);
      // A worker that refused keeps serving its previous configuration (the fs folder) for the
      // projects it can: stopped here, so the messages below are the memo worker's alone.
      await unable.stop();

      const messages = sampleMessages({ projectId: 'shop', count: 12, seed: 20 });
      const answer = await fetch(`${able.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) });
      expect(answer.status).toBe(202);
      const root = shelfRoot(memos, 7);
      await waitFor(() => existsSync(root) && storedKeys(root).length === messages.length, 30_000, 'the messages in the memo shelf');
      await expectFolderHoldsExactly(root, createArchiver({ destination: createFsDestination({ root }), layout: 'sentcopy-unkeyed' }), messages);
    } finally {
      await store.close();
      await stopWithin([able, unable], 20_000);
    }
  }, 90_000);
});
