import { fork } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, QueueError, type EmbeddedQueue } from '../src/index.js';
import { buildFixture, removeFixture } from './build-fixture.js';
import { describeQueueBehaviour } from './queue-behaviour.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('queue');
let holdQueue: string | undefined;
beforeAll(async () => {
  holdQueue = await buildFixture('hold-queue');
});
afterAll(() => removeFixture(holdQueue));

describeQueueBehaviour('embedded', {
  newStore: async () => newFolder(),
  open: (store) => createEmbeddedQueue({ directory: store }),
});

describe('embedded queue', () => {
  const opened: EmbeddedQueue[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((queue) => queue.close()));
  });
  const open = async (options: Parameters<typeof createEmbeddedQueue>[0]) => {
    const queue = await createEmbeddedQueue(options);
    opened.push(queue);
    return queue;
  };
  const error = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );

  it('with maxBytes, claims the longest run of ready messages whose payloads fit, never reading past it (one larger message alone)', async () => {
    const queue = await open({ directory: newFolder() });
    const sizes = [1_000, 1_000, 1_000, 5_000, 1_000, 1_000];
    await queue.enqueue(sizes.map((size, index) => ({ project: 'acme', messageId: `m-${index}`, payload: 'x'.repeat(size) })));
    const batches: string[][] = [];
    for (let round = 0; round < 6; round++) batches.push((await queue.claim({ limit: 10, maxBytes: 2_500 })).map((claimed) => claimed.messageId));
    expect(batches).toEqual([['m-0', 'm-1'], ['m-2'], ['m-3'], ['m-4', 'm-5'], [], []]);
    expect(await queue.stats()).toMatchObject({ depth: 6, inFlight: 6 });
  });

  it('lets one process at a time open a folder', async () => {
    const directory = newFolder();
    const first = await open({ directory });
    const refused = await error(createEmbeddedQueue({ directory }));
    expect(QueueError.isInstance(refused) && refused.kind).toBe('locked');
    expect((refused as Error).message).toContain(directory);
    await first.close();
    await open({ directory });
  });

  it('locks out other processes, and hands out the claims of one killed with -9 as soon as it is reopened', async () => {
    const directory = newFolder();
    const setup = await createEmbeddedQueue({ directory });
    await setup.enqueue(Array.from({ length: 5 }, (_, index) => ({ project: 'acme', messageId: `m-${index}`, payload: `{"n":${index}}` })));
    await setup.close();

    const child = fork(holdQueue!, [directory, '3'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const exited = once(child, 'exit');
    const [held] = (await once(child, 'message')) as [{ ids: string[] }];
    expect(held.ids).toHaveLength(3);
    const refused = await error(createEmbeddedQueue({ directory }));
    expect(QueueError.isInstance(refused) && refused.kind).toBe('locked');
    child.kill('SIGKILL');
    await exited;

    const queue = await open({ directory });
    expect(await queue.stats()).toMatchObject({ depth: 5, inFlight: 0 });
    const claimed = await queue.claim({ limit: 10 });
    expect(claimed.map((message) => message.messageId).sort()).toEqual(['m-0', 'm-1', 'm-2', 'm-3', 'm-4']);
    expect(claimed.filter((message) => held.ids.includes(message.id)).map((message) => message.deliveries)).toEqual([2, 2, 2]);
  });

  it('refuses a store written by a newer format', async () => {
    const directory = newFolder();
    await (await createEmbeddedQueue({ directory })).close();
    const db = new Database(path.join(directory, 'queue.db'));
    db.pragma('user_version = 99');
    db.close();
    const refused = await error(createEmbeddedQueue({ directory }));
    expect(QueueError.isInstance(refused) && refused.kind).toBe('incompatible');
  });

  it('follows an injected clock for readiness, leases and the de-duplication window', async () => {
    let now = Date.UTC(2025, 2, 14, 9, 0, 0);
    const queue = await open({ directory: newFolder(), now: () => now, dedupeWindowMs: 60_000, defaultLeaseMs: 30_000 });
    const hour = 3_600_000;
    await queue.enqueue([
      { project: 'acme', messageId: 'later', payload: '{}', notBefore: now + 8 * hour },
      { project: 'acme', messageId: 'now', payload: '{}' },
    ]);
    const [first] = await queue.claim({ limit: 5 });
    expect(first).toMatchObject({ messageId: 'now', leaseExpiresAt: now + 30_000 });
    now += 29_999;
    expect(await queue.claim({ limit: 5 })).toEqual([]);
    now += 1;
    const [again] = await queue.claim({ limit: 5 });
    expect(again).toMatchObject({ messageId: 'now', deliveries: 2 });
    expect(await queue.ack(again!)).toBe(true);
    now += 60_000;
    expect((await queue.enqueue([{ project: 'acme', messageId: 'now', payload: '{}' }]))[0]!.status).toBe('duplicate');
    now += 1;
    expect((await queue.enqueue([{ project: 'acme', messageId: 'now', payload: '{}' }]))[0]!.status).toBe('accepted');
    const [resubmitted] = await queue.claim({ limit: 5 });
    expect(await queue.ack(resubmitted!)).toBe(true);

    now = Date.UTC(2025, 2, 14, 9, 0, 0) + 8 * hour - 1;
    expect(await queue.claim({ limit: 5 })).toEqual([]);
    now += 1;
    expect((await queue.claim({ limit: 5 })).map((claimed) => claimed.messageId)).toEqual(['later']);
    expect(await queue.stats()).toMatchObject({ depth: 1, inFlight: 1, oldestEnqueuedAt: Date.UTC(2025, 2, 14, 9, 0, 0) });
  });

  it('forgets archived ids at once with dedupeWindowMs 0', async () => {
    const queue = await open({ directory: newFolder(), dedupeWindowMs: 0 });
    await queue.enqueue([{ project: 'acme', messageId: 'm', payload: '{}' }]);
    const [claimed] = await queue.claim({ limit: 1 });
    await queue.ack(claimed!);
    expect((await queue.enqueue([{ project: 'acme', messageId: 'm', payload: '{}' }]))[0]!.status).toBe('accepted');
  });

  it('forgets archived ids after the window and gives the space of archived messages back', async () => {
    const directory = newFolder();
    let now = Date.UTC(2025, 2, 14, 9, 0, 0);
    const queue = await createEmbeddedQueue({ directory, now: () => now, dedupeWindowMs: 60_000, maintenanceIntervalMs: 20 });
    const payload = 'x'.repeat(4_000);
    await queue.enqueue(Array.from({ length: 3_000 }, (_, index) => ({ project: 'acme', messageId: `m-${index}`, payload })));
    for (let claimed = await queue.claim({ limit: 1_000 }); claimed.length > 0; claimed = await queue.claim({ limit: 1_000 })) {
      await Promise.all(claimed.map((message) => queue.ack(message)));
    }
    now += 60_001;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await queue.enqueue([{ project: 'acme', messageId: 'm-1', payload }]))[0]!.status).toBe('accepted');
    await queue.close();
    const db = new Database(path.join(directory, 'queue.db'));
    try {
      expect(db.prepare('SELECT count(*) AS count FROM recent_acks').get()).toEqual({ count: 0 });
      expect(db.pragma('freelist_count', { simple: true })).toBeLessThan(2_600);
    } finally {
      db.close();
    }
  });

  it('refuses payloads above maxPayloadBytes and malformed leases', async () => {
    const queue = await open({ directory: newFolder(), maxPayloadBytes: 10 });
    const tooBig = await error(queue.enqueue([{ project: 'acme', messageId: 'm', payload: '12345678901' }]));
    expect(QueueError.isInstance(tooBig) && tooBig.kind).toBe('invalid_input');
    expect((tooBig as Error).message).toContain('messages[0].payload');
    const badLease = await error(queue.ack({ id: '../1', leaseId: 'x' }));
    expect(QueueError.isInstance(badLease) && badLease.kind).toBe('invalid_input');
  });

  it('keeps queued messages on disk, not in memory', async () => {
    const queue = await open({ directory: newFolder() });
    const heapAfterGc = () => {
      (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage().heapUsed;
    };
    const payload = JSON.stringify({ body: 'x'.repeat(2_000) });
    await queue.enqueue([{ project: 'acme', messageId: 'warm-up', payload }]);
    const before = heapAfterGc();
    const total = 30_000;
    for (let start = 0; start < total; start += 1_000) {
      await queue.enqueue(Array.from({ length: 1_000 }, (_, index) => ({ project: 'acme', messageId: `m-${start + index}`, payload })));
    }
    const stats = await queue.stats();
    expect(stats.depth).toBe(total + 1);
    // 30,000 × 2 KB = 60 MB of payloads; what stays on the heap must not grow with them.
    const grown = heapAfterGc() - before;
    expect(grown).toBeLessThan(20 * 1024 * 1024);
    const claimed = await queue.claim({ limit: 500 });
    expect(claimed).toHaveLength(500);
    // 30,000 enqueues (each hashed for de-duplication) on a shared, loaded machine: not a timing test.
  }, 30_000);
});
