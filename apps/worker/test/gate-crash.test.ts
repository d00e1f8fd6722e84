import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { readLedger, sampleMessages } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, createJetStreamQueue, hashApiKey, type MessageQueue, type WorkerConfig } from '../src/index.js';
import { buildFixture, removeFixture } from './build-fixture.js';
import { storedKeys, waitFor, waitForSettledWorker } from './helpers.js';
import { tempFolders } from './temp-folders.js';

// kill -9 the whole worker while callers of the before-send gate (POST /v1/archive) archive
// messages one at a time and retry whatever got no answer. The gate stores the object itself, so
// its ledger entry waits in memory until its segment is written: the queue's record of the message
// ("stored, not yet in the ledger") is what lists it after a kill. `SENTCOPY_SOAK=1` runs more.
const soak = process.env.SENTCOPY_SOAK === '1';
const total = soak ? 4_000 : 600;
const kills = soak ? 12 : 4;
const callers = 8;
const apiKey = 'sc_gate_crash_key_000000000000000000000000000';

const newFolder = tempFolders('gate-crash');
let fixture: string | undefined;
let nats: NatsTestServer | undefined;
beforeAll(async () => {
  [fixture, nats] = await Promise.all([buildFixture('http-worker-child'), startNatsServer()]);
});
afterAll(async () => {
  removeFixture(fixture);
  await nats?.stop();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The embedded queue, or JetStream (deployment `name`, ack wait 1 s: a killed worker's claims come back after it). */
function startWorker(configFile: string, port: number, name?: string): Promise<{ child: ChildProcess; url: string; exited: Promise<unknown> }> {
  const child = fork(fixture!, [configFile, String(port), ...(name === undefined ? [] : [nats!.url, name, '1000'])], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    child.once('message', (message: { url: string }) => resolve({ child, url: message.url, exited }));
    void exited.then(() => reject(new Error('The worker exited before it was ready.')));
  });
}

describe.each(['embedded', 'jetstream'] as const)('crash safety of the before-send gate (%s queue)', (queueKind) => {
  it(
    `lists every object the gate answered 201 for exactly once in the ledger, with one object each, across ${kills} kill -9s of the worker (${total} gate calls)`,
    async () => {
      const folder = newFolder();
      const configFile = path.join(folder, 'sentcopy.config.json');
      const root = path.join(folder, 'archive');
      const deployment = queueKind === 'jetstream' ? `g${randomBytes(5).toString('hex')}` : undefined;
      const config: WorkerConfig = {
        version: 1,
        // Absolute: a cluster's workers share the configuration from JetStream, not its file's folder.
        destinations: { local: { type: 'fs', root, acknowledge_personal_data: true } },
        projects: { gate: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
        // Segments are written a second after their first entry: most kills fall before some entries' segment, some between a segment and its removals.
        ledger: { segment_max_age_ms: 1_000 },
      };
      writeFileSync(configFile, JSON.stringify(config));
      const port = await freePort();
      const messages = sampleMessages({ projectId: 'gate', count: total, seed: 41 });

      let worker = await startWorker(configFile, port, deployment);
      try {
        // Key → message id of every 201 answer.
        const answered = new Map<string, string>();
        let unanswered = 0;
        let next = 0;
        const call = async (message: unknown): Promise<void> => {
          // A caller retries until it gets an answer: a call cut off by a crash may or may not have stored the object.
          for (;;) {
            let status: number;
            let answer: { key?: string; error?: { code: string } };
            try {
              const response = await fetch(`${worker.url}/v1/archive`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(message) });
              status = response.status;
              answer = (await response.json()) as typeof answer;
            } catch {
              unanswered++;
              await new Promise((resolve) => setTimeout(resolve, 50));
              continue;
            }
            if (status === 201) {
              answered.set(answer.key!, (message as { message_id: string }).message_id);
              return;
            }
            // A worker shutting down or not ready yet says so; anything else is a failure of the test.
            expect({ status, code: answer.error?.code }).toMatchObject({ status: 503 });
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        };
        const producers = Promise.all(
          Array.from({ length: callers }, async () => {
            while (next < messages.length) await call(messages[next++]);
          }),
        );

        for (let kill = 0; kill < kills; kill++) {
          // Spread over the run by progress, not by time (a faster gate finished all its calls before the
          // last timed kill, and then no kill cut a call off), with a little jitter.
          const target = Math.floor((total * (kill + 1)) / (kills + 2));
          const waitUntil = Date.now() + 60_000;
          while (answered.size < target && Date.now() < waitUntil) await new Promise((resolve) => setTimeout(resolve, 5));
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 50));
          worker.child.kill('SIGKILL');
          await worker.exited;
          worker = await startWorker(configFile, port, deployment);
        }
        await producers;
        expect(new Set(answered.values()).size).toBe(total);
        expect(answered.size).toBe(total);

        const ledgerKeys = async () => {
          const ledger = await readLedger(createFsDestination({ root }));
          return new Set(ledger.entries.keys());
        };
        // The records of killed workers come back and are archived again, listed within a segment's age: fail when nothing new is listed for 60 s.
        const missing = async () => {
          const listed = await ledgerKeys();
          return [...answered.keys()].filter((key) => !listed.has(key));
        };
        for (let left = (await missing()).length, since = Date.now(); left > 0; ) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          const now = (await missing()).length;
          if (now < left) [left, since] = [now, Date.now()];
          else if (Date.now() - since > 60_000) throw new Error(`${left} of the ${total} objects the gate answered 201 for are not in the ledger.`);
        }
        await waitForSettledWorker(worker.url, 60_000);
        worker.child.kill('SIGTERM');
        await worker.exited;

        // One object per answered message, nothing else stored; every object listed exactly once (a repeat is only a counted duplicate), valid chains.
        expect(storedKeys(root)).toEqual([...answered.keys()].sort());
        const ledger = await readLedger(createFsDestination({ root }));
        expect(ledger.problems).toEqual([]);
        // The embedded worker continues its chain across restarts; each JetStream worker process writes one of its own.
        if (deployment === undefined) expect(ledger.chains).toHaveLength(1);
        else expect(ledger.chains.length).toBeLessThanOrEqual(kills + 1);
        expect([...ledger.entries.keys()].sort()).toEqual(storedKeys(root));
        expect(ledger.entries.size).toBe(total);
        const lines = ledger.chains.reduce((sum, chain) => sum + chain.entries, 0);
        expect(lines).toBe(total + ledger.duplicates);
        // Every record was settled: the queue holds nothing once the entries are written.
        const queue: MessageQueue = deployment === undefined ? await createEmbeddedQueue({ directory: path.join(folder, '.sentcopy', 'queue') }) : await createJetStreamQueue({ servers: nats!.url, name: deployment });
        try {
          expect(await queue.stats()).toMatchObject({ depth: 0, inFlight: 0 });
        } finally {
          await queue.close();
        }
        console.info(`gate-crash ledger (${queueKind} queue): ${total} gate calls, ${kills} kills, ${unanswered} calls cut off, ${ledger.chains.length} chain(s), ${lines} entry lines, ${ledger.duplicates} counted duplicates`);
        // The kills must have hit while calls were in flight, or the test proves nothing.
        expect(unanswered).toBeGreaterThan(0);
      } finally {
        // A failed expectation must not leave the worker running.
        worker.child.kill('SIGKILL');
      }
    },
    soak ? 600_000 : 180_000,
  );
});

describe('a kill -9 right after the gate answered', () => {
  it('archives again, as the same objects, and lists once: a plain message, a second version of its message id, and a raw MIME email whose fields were read from its headers', async () => {
    const folder = newFolder();
    const configFile = path.join(folder, 'sentcopy.config.json');
    const root = path.join(folder, 'archive');
    const config: WorkerConfig = {
      version: 1,
      destinations: { local: { type: 'fs', root, acknowledge_personal_data: true } },
      projects: { gate: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
      // No segment is written before the kill: every entry of the first worker is lost with it.
      ledger: { segment_max_age_ms: 60_000 },
    };
    writeFileSync(configFile, JSON.stringify(config));
    const port = await freePort();
    const [plain] = sampleMessages({ projectId: 'gate', count: 1, seed: 43 });
    const version = { ...plain!, extras: { resent: 'with other content' } };
    const head = ['From: shop@example.com', 'To: "Ana" <ana.gate@example.net>', 'Subject: Receipt', 'Date: Fri, 04 Dec 2026 21:29:40 +0000', 'Message-ID: <gate-raw@mail.example.com>', 'Content-Type: text/plain; charset=utf-8'];
    const rawEmail = Buffer.from(`${head.join('\r\n')}\r\n\r\nMerci, café\r\n`, 'utf8');
    const post = (url: string, body: string | Buffer, contentType: string) => fetch(`${url}/v1/archive`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': contentType }, body });

    let worker = await startWorker(configFile, port);
    try {
      const answers: { key: string; created: boolean; version?: boolean }[] = [];
      for (const [body, type] of [
        [JSON.stringify(plain), 'application/json'],
        [JSON.stringify(version), 'application/json'],
        [rawEmail, 'message/rfc822'],
      ] as const) {
        const response = await post(worker.url, body, type);
        expect(response.status).toBe(201);
        answers.push((await response.json()) as (typeof answers)[number]);
      }
      expect(answers.map((answer) => [answer.created, answer.version ?? false])).toEqual([
        [true, false],
        [true, true],
        [true, false],
      ]);
      const keys = answers.map((answer) => answer.key).sort();
      worker.child.kill('SIGKILL');
      await worker.exited;
      expect(storedKeys(root)).toEqual(keys);
      // Nothing was listed by the killed worker.
      expect((await readLedger(createFsDestination({ root }))).entries.size).toBe(0);

      worker = await startWorker(configFile, port);
      // The restarted worker archives the three records again; its stop writes their entries.
      const queueFolder = path.join(folder, '.sentcopy', 'queue');
      const restarted = worker.url;
      await waitFor(async () => /^sentcopy_ledger_held_messages\{[^}]*\} 3$/m.test(await (await fetch(`${restarted}/metrics`)).text()), 30_000, 'the three records to be archived again and held for their entries');
      worker.child.kill('SIGTERM');
      await worker.exited;
      const queue = await createEmbeddedQueue({ directory: queueFolder });
      try {
        expect(await queue.stats()).toMatchObject({ depth: 0 });
      } finally {
        await queue.close();
      }
      // The same three objects, none added (a record archived again stores what the gate stored), each listed once.
      expect(storedKeys(root)).toEqual(keys);
      const ledger = await readLedger(createFsDestination({ root }));
      expect(ledger.problems).toEqual([]);
      expect([...ledger.entries.keys()].sort()).toEqual(keys);
      expect(ledger.duplicates).toBe(0);
    } finally {
      worker.child.kill('SIGKILL');
    }
  }, 60_000);
});
