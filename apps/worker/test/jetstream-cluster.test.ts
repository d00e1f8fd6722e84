import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createArchiver, readLedger, sampleMessages } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createJetStreamQueue, hashApiKey, openJetStreamConfigStore, runWorker, workerPermissions, type WorkerConfig } from '../src/index.js';
import { natsConnectOptions } from '../src/queue/index.js';
import { buildFixture, removeFixture } from './build-fixture.js';
import { expectFolderHoldsExactly, storedKeys, waitFor } from './helpers.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('jetstream-cluster');
const apiKey = 'sc_cluster_test_key_00000000000000000000000000';
// `pnpm --filter @sentcopy/worker soak` kills the workers of the cluster test many times, in turn.
const soak = process.env.SENTCOPY_SOAK === '1';
const kills = soak ? 8 : 1;
let nats: NatsTestServer;
let fixture: string | undefined;
// The server requires credentials: workers connect as a user with only the permissions
// docs/cluster.md lists (for the deployments these tests use); the test inspects as an operator.
const deploymentNames = [0, 1].map(() => `c${randomBytes(5).toString('hex')}`);
const workerUrl = () => nats.urlFor('sentcopy');
const operatorConnection = () => connect(natsConnectOptions(nats.urlFor('operator')));
beforeAll(async () => {
  const permissions = deploymentNames.map((name) => workerPermissions(name));
  const worker = { user: 'sentcopy', password: 'hunter2-secret', publish: permissions.flatMap((entry) => entry.publish), subscribe: ['_INBOX.>'] };
  [nats, fixture] = await Promise.all([startNatsServer({ users: [worker, { user: 'operator', password: 'operator-secret' }] }), buildFixture('http-worker-child')]);
});
afterAll(async () => {
  removeFixture(fixture);
  await nats?.stop();
});

const deploymentName = () => deploymentNames.shift()!;

/** A cluster's configuration: its local-folder root must be absolute, the same folder for every worker. */
function clusterConfig(projects: Record<string, string>, root: string): WorkerConfig {
  return {
    version: 1,
    destinations: { local: { type: 'fs', root, acknowledge_personal_data: true } },
    projects: Object.fromEntries(Object.entries(projects).map(([id, key]) => [id, { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(key) }] }])),
  };
}

async function post(url: string, key: string, body: string): Promise<Response> {
  return fetch(`${url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
}

/** How many ledger chains (one per worker process) have at least one segment in the fs archive at `root`. */
function chainsWritten(root: string): number {
  const ledger = path.join(root, '.sentcopy-ledger');
  if (!existsSync(ledger)) return 0;
  return readdirSync(ledger, { withFileTypes: true }).filter((entry) => entry.isDirectory() && readdirSync(path.join(ledger, entry.name)).length > 0).length;
}

function startChild(configFile: string, name: string): Promise<{ child: ChildProcess; url: string; exited: Promise<unknown> }> {
  const child = fork(fixture!, [configFile, '0', workerUrl(), name, '2000'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    child.once('message', (message: { url: string }) => resolve({ child, url: message.url, exited }));
    void exited.then(() => reject(new Error('The worker exited before it was ready.')));
  });
}

async function queueStats(name: string) {
  const queue = await createJetStreamQueue({ servers: workerUrl(), name });
  try {
    return await queue.stats();
  } finally {
    await queue.close();
  }
}

describe('a cluster of workers on JetStream', () => {
  it('shares one configuration from the key-value bucket: a change made through the bucket reaches every worker within 5 s', async () => {
    const name = deploymentName();
    const first = newFolder();
    writeFileSync(path.join(first, 'sentcopy.config.json'), JSON.stringify(clusterConfig({ shop: apiKey }, path.join(first, 'archive'))));
    // The second worker has no file of its own: it runs on what the first one seeded.
    const second = newFolder();
    // Credentials in the URL (the server requires them) must never reach a log line or an error.
    const url = nats.url.replace('nats://', 'nats://sentcopy:hunter2-secret@');
    const logs: string[] = [];
    const logger = (entry: object) => logs.push(JSON.stringify(entry));
    const workers = [
      await runWorker({ configFile: path.join(first, 'sentcopy.config.json'), port: 0, prepareThreads: 0, nats: { url, name }, logger }),
      await runWorker({ configFile: path.join(second, 'sentcopy.config.json'), port: 0, prepareThreads: 0, nats: { url, name }, logger }),
    ];
    const refused = await runWorker({ configFile: path.join(second, 'sentcopy.config.json'), port: 0, nats: { url: 'nats://sentcopy:hunter2-secret@127.0.0.1:1', name } }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(refused?.message).toMatch(/Cannot connect to the NATS server/);
    expect(String(refused?.message)).not.toContain('hunter2');
    const connection = await operatorConnection();
    try {
      expect(workers.map((worker) => worker.configSource)).toEqual(['jetstream', 'jetstream']);
      const [message] = sampleMessages({ projectId: 'shop', count: 1 });
      expect((await post(workers[1]!.url, apiKey, JSON.stringify([message]))).status).toBe(202);
      await waitFor(() => storedKeys(path.join(first, 'archive')).length === 1, 10_000, 'the message sent to the second worker');

      const store = await openJetStreamConfigStore({ connection, name });
      const newKey = 'sc_cluster_new_project_key_000000000000000000';
      const changedAt = Date.now();
      await store.write(JSON.stringify(clusterConfig({ shop: apiKey, newcomer: newKey }, path.join(first, 'archive'))));
      const [newcomerMessage] = sampleMessages({ projectId: 'newcomer', count: 1 });
      const reached = await Promise.all(
        workers.map(async (worker) => {
          for (;;) {
            if ((await post(worker.url, newKey, JSON.stringify([newcomerMessage]))).status === 202) return Date.now() - changedAt;
            if (Date.now() - changedAt > 10_000) return Infinity;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }),
      );
      expect(Math.max(...reached)).toBeLessThan(5_000);

      await expect(store.write('{"version":1,"destinations":{},"projects":{"x":{"destination":"nowhere"}}}')).rejects.toThrow(/projects\.x/);
      expect(await store.read()).toContain('newcomer');
      await store.close();
      expect(logs.some((line) => line.includes('config.seeded'))).toBe(true);
      expect(logs.join('\n')).not.toContain('hunter2');
    } finally {
      await connection.close();
      await Promise.all(workers.map((worker) => worker.stop()));
    }
  });

  it(
    `stores each of 20,000 messages exactly once, each listed once in the ledger, while two workers share the stream and ${soak ? 'they are killed with -9 in turn' : 'one is killed with -9 mid-run'}`,
    async () => {
      const total = 20_000;
      const name = deploymentName();
      const folder = newFolder();
      const configFile = path.join(folder, 'sentcopy.config.json');
      writeFileSync(configFile, JSON.stringify(clusterConfig({ crash: apiKey }, path.join(folder, 'archive'))));
      const messages = sampleMessages({ projectId: 'crash', count: total, seed: 31 });
      const batches: string[] = [];
      for (let start = 0; start < total; start += 100) batches.push(JSON.stringify(messages.slice(start, start + 100)));

      const workers = [await startChild(configFile, name), await startChild(configFile, name)];
      onTestFinished(() => {
        for (const worker of workers) worker.child.kill('SIGKILL');
      });
      const alive = [true, true];
      const acknowledged = new Set<string>();
      let turn = 0;
      const producer = (async () => {
        for (const body of batches) {
          for (;;) {
            const index = turn++ % 2;
            if (!alive[index]) continue;
            try {
              const response = await post(workers[index]!.url, apiKey, body);
              const answer = (await response.json()) as { results: { message_id: string; status: string }[] };
              expect(response.status).toBe(202);
              for (const result of answer.results) if (result.status === 'accepted' || result.status === 'duplicate') acknowledged.add(result.message_id);
              break;
            } catch (error) {
              // A batch cut off by the kill may or may not be stored: the producer sends it again elsewhere.
              if ((error as Error).name === 'AssertionError') throw error;
            }
          }
        }
      })();

      const root = path.join(folder, 'archive');
      // Kill one worker once both are busy archiving: it holds claimed messages the other must take
      // over. The soak kills them in turn, restarting each, as often as `kills` says.
      for (let kill = 0; kill < kills; kill++) {
        const victim = kill % 2;
        await waitFor(() => storedKeys(root).length > ((kill + 1) * total) / (kills + 3), 60_000, `${kill + 1} part(s) of the messages to be stored`);
        // The first kill waits until both workers have written a ledger segment (they close after 5,000 entries or
        // 10 s): the victim's chain then holds part of what it stored, and the survivor lists the rest. (A worker
        // the soak restarts late may get no work left to list, so later kills do not wait for its chain.)
        if (kill === 0) await waitFor(() => chainsWritten(root) >= 2, 60_000, 'the ledger chains of both workers');
        alive[victim] = false;
        workers[victim]!.child.kill('SIGKILL');
        await workers[victim]!.exited;
        if (soak) {
          workers[victim] = await startChild(configFile, name);
          alive[victim] = true;
        }
      }
      await producer;
      expect(acknowledged.size).toBe(total);

      // Slow is allowed on a loaded machine; stuck is not: fail when nothing new is stored for 30 s.
      for (let stored = storedKeys(root).length, since = Date.now(); stored < total; ) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        const now = storedKeys(root).length;
        if (now > stored) [stored, since] = [now, Date.now()];
        else if (Date.now() - since > 30_000) throw new Error(`Stuck at ${stored} of ${total} stored: ${JSON.stringify(await queueStats(name))}`);
      }
      // Every object stored does not mean every record settled: one the killed worker stored but had not
      // listed comes back after the ack wait, for the survivor to list. Stop only once the queue is empty.
      await waitFor(async () => (await queueStats(name)).depth === 0, 120_000, 'the queue to be empty');
      for (const [index, worker] of workers.entries()) {
        if (!alive[index]) continue;
        worker.child.kill('SIGTERM');
        await worker.exited;
      }
      // The configuration above has no recipient_hash_key, so the worker writes the unkeyed layout of earlier versions.
      const archiver = createArchiver({ layout: 'sentcopy-unkeyed', destination: createFsDestination({ root: newFolder() }), retry: false });
      await expectFolderHoldsExactly(root, archiver, messages);
      // Each worker process writes a chain of its own (random ids); together they list every stored
      // object, those the killed worker held re-archived and re-appended by the survivor, counted once.
      const ledger = await readLedger(createFsDestination({ root }));
      expect(ledger.problems).toEqual([]);
      expect(ledger.chains.length).toBeGreaterThanOrEqual(2);
      expect([...ledger.entries.keys()].sort()).toEqual(storedKeys(root));
      expect(ledger.entries.size).toBe(total);
      console.info(`jetstream-cluster ledger: ${total} messages, ${kills} kill(s), ${ledger.chains.length} chains, ${ledger.chains.reduce((sum, chain) => sum + chain.segments, 0)} segments, ${ledger.duplicates} counted duplicates`);

      const connection = await operatorConnection();
      try {
        expect(await queueStats(name)).toMatchObject({ depth: 0, deadLetters: 0 });
        // More deliveries than messages: the killed worker's claims were handed to the survivor, or the kill proved nothing.
        const consumer = await (await jetstreamManager(connection)).consumers.info(`${name.toUpperCase()}_QUEUE`, `${name}-workers`);
        expect(consumer.delivered.consumer_seq).toBeGreaterThan(total);
        expect(consumer.num_ack_pending).toBe(0);
      } finally {
        await connection.close();
      }
    },
    soak ? 900_000 : 300_000,
  );
});
