import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createArchiver, sampleMessages, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, runWorker, salvageEmbeddedQueue, type LogEntry } from '../src/index.js';
import { expectFolderHoldsExactly, queued, storedKeys, waitFor } from './helpers.js';
import { damagePage, leafPages, postBatch, readyz, startWebhookReceiver, tempFolders, writeConfig, type WebhookReceiver } from './queue-fault-fixture.js';

// `pnpm --filter @sentcopy/worker soak` runs more messages and damages several pages (SENTCOPY_SOAK=1).
const soak = process.env.SENTCOPY_SOAK === '1';
const total = soak ? 3_000 : 300;
const damagedPages = soak ? 5 : 1;

const newFolder = tempFolders('queue-damage');
let hook: WebhookReceiver;
beforeAll(async () => {
  hook = await startWebhookReceiver();
});
afterAll(() => hook?.close());

const metricsOf = async (url: string) => (await fetch(`${url}/metrics`)).text();

describe('a damaged queue file', () => {
  it('is reported (readyz, 503, metrics, log, alert), and salvage recovers its readable rows, which are archived after a restart', async () => {
    const folder = newFolder();
    const { configFile, archiveRoot } = writeConfig(folder);
    const queueFolder = path.join(folder, 'queue');
    // The messages a stopped worker left queued; two more were given up on (dead letters).
    const messages = sampleMessages({ projectId: 'shop', count: total, seed: 5 });
    const seeded = await createEmbeddedQueue({ directory: queueFolder });
    for (let from = 0; from < total; from += 100) await seeded.enqueue(messages.slice(from, from + 100).map((message) => queued(message)));
    const claimed = await seeded.claim({ limit: 2 });
    for (const lease of claimed) await seeded.deadLetter(lease, { kind: 'conflict', reason: 'an earlier, different copy is stored' });
    await seeded.close();
    const deadIds = new Set(claimed.map((lease) => lease.messageId));

    // Garbage inside table pages: message content (payloads) and, in the soak run, scheduling rows too.
    const file = path.join(queueFolder, 'queue.db');
    const payloadPages = leafPages(file, 'payloads');
    for (let index = 0; index < damagedPages; index++) damagePage(file, payloadPages[Math.floor(((index + 1) * payloadPages.length) / (damagedPages + 1))]!, 0, 1024);
    if (soak) damagePage(file, leafPages(file, 'queue').at(-1)!, 0, 512);

    const logs: LogEntry[] = [];
    const worker = await runWorker({ configFile, queueDirectory: queueFolder, port: 0, prepareThreads: 0, env: { HOOK: hook.url }, logger: (entry) => logs.push(entry) });
    try {
      const ready = await readyz(worker.url);
      expect(ready.status).toBe(503);
      expect(ready.body.ready).toBe(false);
      expect(ready.body.checks.queue).toMatch(/^damaged: .*sentcopy queue salvage --from .*queue\.db/);
      expect((await fetch(`${worker.url}/healthz`)).status).toBe(200);

      const refused = await postBatch(worker.url, sampleMessages({ projectId: 'shop', count: 3, seed: 99 }));
      expect(refused.status).toBe(503);
      expect(refused.body.error).toMatchObject({ code: 'queue_unavailable', problem: 'damaged' });

      await waitFor(() => hook.received.some((body) => body.event === 'queue.unhealthy'), 10_000, 'the queue.unhealthy alert');
      expect(hook.received.find((body) => body.event === 'queue.unhealthy')).toMatchObject({ problem: 'damaged', reason: expect.stringContaining('sentcopy queue salvage') });
      const metrics = await metricsOf(worker.url);
      expect(metrics).toMatch(/^sentcopy_queue_healthy 0$/m);
      expect(metrics).toMatch(/^sentcopy_queue_problem\{problem="damaged"\} 1$/m);
      expect(metrics).toMatch(/^sentcopy_queue_problem\{problem="disk_full"\} 0$/m);
      expect(logs.some((entry) => entry.level === 'error' && entry.event === 'queue.unhealthy' && entry.problem === 'damaged')).toBe(true);
    } finally {
      await worker.stop();
    }

    // What the worker archived before it ran into the damage stays archived; salvage the rest.
    const archivedBefore = new Set(storedKeys(archiveRoot));
    const into = path.join(folder, 'queue-salvaged');
    const report = salvageEmbeddedQueue({ from: file, into });
    expect(report.complete).toBe(false);
    expect(report.damagedRanges.length).toBeGreaterThan(0);
    expect(report.recovered.deadLetters + report.lost.filter((lost) => lost.state === 'dead_letter').length).toBe(2);
    expect(report.recovered.queued).toBeGreaterThan(0);

    const lostIds = new Set(report.lost.map((lost) => lost.messageId));
    const restarted = await runWorker({ configFile, queueDirectory: into, port: 0, prepareThreads: 0, env: { HOOK: hook.url } });
    try {
      expect((await readyz(restarted.url)).status).toBe(200);
      await waitFor(async () => /^sentcopy_queue_depth 0$/m.test(await metricsOf(restarted.url)), 30_000, 'the salvaged queue to drain');
      expect(await metricsOf(restarted.url)).toMatch(/^sentcopy_dead_letters 2$/m);
      const accepted = await postBatch(restarted.url, sampleMessages({ projectId: 'shop', count: 3, seed: 98 }));
      expect(accepted.status).toBe(202);
      await waitFor(() => storedKeys(archiveRoot).length === total - 2 - lostIds.size + 3, 30_000, 'the new messages to be archived');
    } finally {
      await restarted.stop();
    }

    // Every message that was neither a dead letter nor unreadable is archived once, bytes intact,
    // whether before the damage was met or after the salvage. The configuration has no recipient_hash_key,
    // so the worker writes the unkeyed layout of earlier versions.
    const archiver = createArchiver({ destination: createFsDestination({ root: newFolder() }), layout: 'sentcopy-unkeyed', retry: false });
    const expected = [...messages.filter((message) => !deadIds.has(String(message.message_id)) && !lostIds.has(String(message.message_id))), ...sampleMessages({ projectId: 'shop', count: 3, seed: 98 })] as Message[];
    await expectFolderHoldsExactly(archiveRoot, archiver, expected);
    // The salvage accounts for every message the worker had not archived: recovered, or named as lost.
    const lostQueued = report.lost.filter((lost) => lost.state === 'queued').length;
    expect(report.recovered.queued + lostQueued).toBe(total - 2 - archivedBefore.size);
  }, 120_000);

  it('met while running (no check at open): the failing claim marks the queue damaged, and new messages are refused from then on', async () => {
    const folder = newFolder();
    const messages = sampleMessages({ projectId: 'shop', count: 200, seed: 8 });
    const seeded = await createEmbeddedQueue({ directory: folder });
    await seeded.enqueue(messages.map((message) => queued(message)));
    await seeded.close();
    const file = path.join(folder, 'queue.db');
    const pages = leafPages(file, 'payloads');
    damagePage(file, pages[Math.floor(pages.length / 2)]!, 0, 1024);

    const queue = await createEmbeddedQueue({ directory: folder, checkOnOpen: false });
    try {
      expect(queue.health()).toEqual({ ok: true });
      let failure: unknown;
      for (let round = 0; round < 100 && failure === undefined; round++) {
        try {
          const claimed = await queue.claim({ limit: 10 });
          for (const message of claimed) await queue.ack(message);
        } catch (error) {
          failure = error;
        }
      }
      expect(failure).toMatchObject({ kind: 'storage', problem: 'damaged' });
      expect(queue.health()).toMatchObject({ ok: false, problem: 'damaged', reason: expect.stringContaining('sentcopy queue salvage') });
      await expect(queue.enqueue([queued(sampleMessages({ projectId: 'shop', count: 1, seed: 9 })[0]!)])).rejects.toMatchObject({ kind: 'storage', problem: 'damaged' });
    } finally {
      await queue.close();
    }
  });

  it('deleted under a running worker: detected, reported, and no 202 afterwards', async () => {
    const folder = newFolder();
    const { configFile, archiveRoot } = writeConfig(folder);
    const queueFolder = path.join(folder, 'queue');
    const before = hook.received.length;
    const logs: LogEntry[] = [];
    const worker = await runWorker({ configFile, queueDirectory: queueFolder, port: 0, prepareThreads: 0, env: { HOOK: hook.url }, logger: (entry) => logs.push(entry) });
    try {
      expect((await postBatch(worker.url, sampleMessages({ projectId: 'shop', count: 5, seed: 1 }))).status).toBe(202);
      await waitFor(() => storedKeys(archiveRoot).length === 5, 15_000, 'the first copies');
      expect((await readyz(worker.url)).status).toBe(200);

      rmSync(path.join(queueFolder, 'queue.db'));
      // At once, before any periodic check: the queue looks at its file before it acknowledges.
      const refused = await postBatch(worker.url, sampleMessages({ projectId: 'shop', count: 5, seed: 2 }));
      expect(refused.status).toBe(503);
      expect(refused.body.error).toMatchObject({ code: 'queue_unavailable', problem: 'file_missing' });
      const ready = await readyz(worker.url);
      expect(ready.status).toBe(503);
      expect(ready.body.checks.queue).toMatch(/^file_missing: /);
      for (let attempt = 0; attempt < 3; attempt++) expect((await postBatch(worker.url, sampleMessages({ projectId: 'shop', count: 2, seed: 10 + attempt }))).status).toBe(503);
      await waitFor(() => hook.received.slice(before).some((body) => body.event === 'queue.unhealthy' && body.problem === 'file_missing'), 10_000, 'the queue.unhealthy alert');
      expect(await metricsOf(worker.url)).toMatch(/^sentcopy_queue_problem\{problem="file_missing"\} 1$/m);
      expect(logs.some((entry) => entry.level === 'error' && entry.event === 'queue.unhealthy' && entry.problem === 'file_missing')).toBe(true);
      expect(storedKeys(archiveRoot)).toHaveLength(5);
    } finally {
      await worker.stop();
    }
  }, 60_000);

  it('replaced under a running queue: refused with file_replaced, while what it holds is still handed out', async () => {
    const folder = newFolder();
    const queue = await createEmbeddedQueue({ directory: folder });
    try {
      const messages = sampleMessages({ projectId: 'shop', count: 3, seed: 3 });
      await queue.enqueue(messages.map((message) => queued(message)));
      writeFileSync(path.join(folder, 'other.db'), 'not the queue');
      renameSync(path.join(folder, 'other.db'), path.join(folder, 'queue.db'));
      await expect(queue.enqueue([queued(sampleMessages({ projectId: 'shop', count: 1, seed: 4 })[0]!)])).rejects.toMatchObject({ kind: 'storage', problem: 'file_replaced' });
      expect(queue.health()).toMatchObject({ ok: false, problem: 'file_replaced' });
      const claimed = await queue.claim({ limit: 10 });
      expect(claimed.map((message) => message.messageId).sort()).toEqual(messages.map((message) => message.message_id).sort());
      for (const message of claimed) expect(await queue.ack(message)).toBe(true);
      expect((await queue.stats()).depth).toBe(0);
    } finally {
      await queue.close();
    }
    // The other file is left alone; the queue's own content was copied beside it.
    expect(readFileSync(path.join(folder, 'queue.db'), 'utf8')).toBe('not the queue');
    expect(readdirSync(folder).filter((name) => name.startsWith('queue.db.rescued-')).length).toBeGreaterThanOrEqual(1);
  });

  it('deleted under a running queue: a copy is made when it is noticed, and what is still queued is written back when the queue closes', async () => {
    const folder = newFolder();
    const file = path.join(folder, 'queue.db');
    const messages = sampleMessages({ projectId: 'shop', count: 5, seed: 6 });
    const queue = await createEmbeddedQueue({ directory: folder });
    await queue.enqueue(messages.map((message) => queued(message)));
    rmSync(folder, { recursive: true });
    const health = queue.health();
    expect(health).toMatchObject({ ok: false, problem: 'file_missing' });
    const copy = /is in (\S+queue\.db\.rescued-\S+), in case/.exec(health.reason ?? '')?.[1];
    expect(copy).toBeDefined();
    // Two are archived (acked) after the deletion; three are still queued when the queue closes.
    const claimed = await queue.claim({ limit: 2 });
    for (const message of claimed) expect(await queue.ack(message)).toBe(true);
    await queue.close();
    expect(existsSync(file)).toBe(true);

    const salvaged = salvageEmbeddedQueue({ from: copy!, into: newFolder() });
    expect(salvaged).toMatchObject({ complete: true, recovered: { queued: 5 } });
    const reopened = await createEmbeddedQueue({ directory: folder });
    try {
      expect(reopened.health()).toEqual({ ok: true });
      const left = await reopened.claim({ limit: 10 });
      const archived = new Set(claimed.map((message) => message.messageId));
      expect(left.map((message) => message.messageId).sort()).toEqual(
        messages
          .map((message) => String(message.message_id))
          .filter((id) => !archived.has(id))
          .sort(),
      );
      for (const message of left) expect(Buffer.from(message.payload).toString('utf8')).toBe(JSON.stringify(messages.find((entry) => entry.message_id === message.messageId)));
    } finally {
      await reopened.close();
    }
  });
});
