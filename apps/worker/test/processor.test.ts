import { createArchiver, DestinationError, resolveRetryPolicy, sampleMessages, type Archiver } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, createProcessor, type EmbeddedQueue, type ProcessOutcome, type Processor } from '../src/index.js';
import { abortableDelay, expectFolderHoldsExactly, instrumentDestination, queued, storedKeys, waitFor, waitForEmptyQueue } from './helpers.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('processor');

describe('processor', () => {
  const queues: EmbeddedQueue[] = [];
  const processors: Processor[] = [];
  afterEach(async () => {
    await Promise.all(processors.splice(0).map((processor) => processor.stop({ timeoutMs: 100 })));
    await Promise.all(queues.splice(0).map((queue) => queue.close()));
  });
  const openQueue = async (options: Partial<Parameters<typeof createEmbeddedQueue>[0]> = {}) => {
    const queue = await createEmbeddedQueue({ directory: newFolder(), ...options });
    queues.push(queue);
    return queue;
  };
  const track = (processor: Processor) => {
    processors.push(processor);
    return processor;
  };

  it('archives every queued message once: the bytes archive() would store, a SHA-256 that verifies, an empty queue', async () => {
    const root = newFolder();
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root }), retry: false });
    const queue = await openQueue();
    const messages = sampleMessages({ projectId: 'acme', count: 40 });
    await queue.enqueue(messages.map((message) => queued(message)));
    const outcomes: ProcessOutcome[] = [];
    const processor = track(createProcessor({ queue, archiverFor: () => archiver, onOutcome: (outcome) => outcomes.push(outcome), idleWaitMs: 50 }));
    processor.start();
    await waitForEmptyQueue(queue, 10_000);
    expect(await processor.stop()).toEqual({ finished: 0, returned: 0, abandoned: 0 });
    await expectFolderHoldsExactly(root, archiver, messages);
    expect(outcomes.map((outcome) => outcome.type)).toEqual(messages.map(() => 'archived'));
    expect(outcomes.every((outcome) => outcome.type === 'archived' && outcome.created && outcome.attempts === 1)).toBe(true);
    expect(await queue.stats()).toMatchObject({ depth: 0, inFlight: 0, deadLetters: 0 });
  });

  it('acks a message whose identical copy is already stored (created: false)', async () => {
    const root = newFolder();
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root }), retry: false });
    const [message] = sampleMessages({ projectId: 'acme', count: 1 });
    await archiver.archive(message);
    const queue = await openQueue();
    await queue.enqueue([queued(message!)]);
    const outcomes: ProcessOutcome[] = [];
    await createProcessor({ queue, archiverFor: () => archiver, onOutcome: (outcome) => outcomes.push(outcome) }).processAvailable();
    expect(outcomes).toEqual([expect.objectContaining({ type: 'archived', created: false })]);
    expect((await queue.stats()).depth).toBe(0);
    await expectFolderHoldsExactly(root, archiver, [message]);
  });

  it('with onConflict "fail", sends a conflict straight to the dead letters, leaving the stored object untouched', async () => {
    const root = newFolder();
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root }), retry: false, onConflict: 'fail' });
    const message = sampleMessages({ projectId: 'acme', count: 2 })[1]!;
    await archiver.archive(message);
    const queue = await openQueue();
    await queue.enqueue([queued({ ...message, body: `${String(message.body)} (edited)` })]);
    await createProcessor({ queue, archiverFor: () => archiver }).processAvailable();
    const { items } = await queue.listDeadLetters();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ kind: 'conflict', attempts: 1, messageId: message.message_id });
    expect(items[0]!.reason).toMatch(/never overwrites/);
    await expectFolderHoldsExactly(root, archiver, [message]);
  });

  it('stores a different copy under an existing key as a version next to it and acks it; the outcome says so', async () => {
    const root = newFolder();
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root }), retry: false });
    const message = sampleMessages({ projectId: 'acme', count: 2 })[1]!;
    const first = await archiver.archive(message);
    const queue = await openQueue();
    await queue.enqueue([queued({ ...message, body: `${String(message.body)} (edited)` })]);
    const outcomes: ProcessOutcome[] = [];
    await createProcessor({ queue, archiverFor: () => archiver, onOutcome: (outcome) => outcomes.push(outcome) }).processAvailable();
    expect(outcomes).toEqual([expect.objectContaining({ type: 'archived', created: true, version: true, originalKey: first.key })]);
    expect(await queue.stats()).toMatchObject({ depth: 0, deadLetters: 0 });
    const versionKey = (outcomes[0] as Extract<ProcessOutcome, { type: 'archived' }>).key;
    expect(storedKeys(root)).toEqual([first.key, versionKey].sort());
    expect((await archiver.destination.get(first.key))?.sha256).toBe(first.sha256);
  });

  it('dead-letters messages of a project without a destination, and those whose JSON names another project or id', async () => {
    const root = newFolder();
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root }), retry: false });
    const [first, second, third] = sampleMessages({ projectId: 'acme', count: 3 });
    const queue = await openQueue();
    await queue.enqueue([queued(first!, 'unknown-project'), queued(second!, 'other-project'), { ...queued(third!), messageId: 'another-id' }]);
    await createProcessor({ queue, archiverFor: (project) => (project === 'unknown-project' ? undefined : archiver) }).processAvailable();
    const { items } = await queue.listDeadLetters();
    expect(items.map((item) => [item.project, item.kind, item.issues.map((issue) => issue.path)])).toEqual([
      ['unknown-project', 'no_destination', []],
      ['other-project', 'invalid', ['project_id']],
      ['acme', 'invalid', ['message_id']],
    ]);
    expect(items[0]!.reason).toContain('unknown-project');
    expect(storedKeys(root)).toEqual([]);
  });

  it('bounds writes per destination, while different destinations proceed side by side', async () => {
    const slow = (root: string) => instrumentDestination(createFsDestination({ root }), { beforePut: (_input, signal) => abortableDelay(25, signal) });
    const destinations = { alpha: slow(newFolder()), beta: slow(newFolder()) };
    const archivers: Record<string, Archiver> = {
      alpha: createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: destinations.alpha, retry: false }),
      beta: createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: destinations.beta, retry: false }),
    };
    const queue = await openQueue();
    const messages = [...sampleMessages({ projectId: 'alpha', count: 30, seed: 1 }), ...sampleMessages({ projectId: 'beta', count: 30, seed: 2 })];
    await queue.enqueue(messages.map((message) => queued(message)));
    let bothBusy = false;
    const watcher = setInterval(() => {
      if (destinations.alpha.active() > 0 && destinations.beta.active() > 0) bothBusy = true;
    }, 5);
    await createProcessor({ queue, archiverFor: (project) => archivers[project], concurrencyPerDestination: 3, maxInFlight: 20 }).processAvailable();
    clearInterval(watcher);
    expect(destinations.alpha.maxActive()).toBe(3);
    expect(destinations.beta.maxActive()).toBe(3);
    expect(bothBusy).toBe(true);
    expect(destinations.alpha.puts).toHaveLength(30);
    expect(destinations.beta.puts).toHaveLength(30);
    expect((await queue.stats()).depth).toBe(0);
  });

  it('on stop, lets writes under way finish within the timeout and returns the waiting ones to the queue', async () => {
    const root = newFolder();
    const destination = instrumentDestination(createFsDestination({ root }), { beforePut: (_input, signal) => abortableDelay(150, signal) });
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, retry: false });
    const queue = await openQueue();
    const messages = sampleMessages({ projectId: 'acme', count: 12 });
    await queue.enqueue(messages.map((message) => queued(message)));
    const processor = track(createProcessor({ queue, archiverFor: () => archiver, concurrencyPerDestination: 2, maxInFlight: 8, idleWaitMs: 50 }));
    processor.start();
    await waitFor(() => destination.active() === 2 && processor.inFlight === 8, 5_000, 'two writes under way and six waiting');
    const report = await processor.stop({ timeoutMs: 5_000 });
    expect(report).toEqual({ finished: 2, returned: 6, abandoned: 0 });
    expect(await queue.stats()).toMatchObject({ depth: 10, inFlight: 0 });
    expect(storedKeys(root)).toHaveLength(2);

    await createProcessor({ queue, archiverFor: () => archiver }).processAvailable();
    await expectFolderHoldsExactly(root, archiver, messages);
  });

  it('on stop, aborts writes that outlast the timeout and returns them: nothing is lost', async () => {
    const root = newFolder();
    let gate = true;
    const destination = instrumentDestination(createFsDestination({ root }), {
      beforePut: async (_input, signal) => {
        while (gate) await abortableDelay(20, signal);
      },
    });
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, retry: false });
    const queue = await openQueue();
    const messages = sampleMessages({ projectId: 'acme', count: 6 });
    await queue.enqueue(messages.map((message) => queued(message)));
    const processor = track(createProcessor({ queue, archiverFor: () => archiver, concurrencyPerDestination: 3, idleWaitMs: 50 }));
    processor.start();
    await waitFor(() => destination.active() === 3, 5_000, 'three writes under way');
    expect(await processor.stop({ timeoutMs: 100 })).toEqual({ finished: 0, returned: 6, abandoned: 0 });
    expect(await queue.stats()).toMatchObject({ depth: 6, inFlight: 0, deadLetters: 0 });
    gate = false;
    await createProcessor({ queue, archiverFor: () => archiver }).processAvailable();
    await expectFolderHoldsExactly(root, archiver, messages);
  });

  it('extends the lease of a long write, so the message is not handed out twice', async () => {
    const root = newFolder();
    const destination = instrumentDestination(createFsDestination({ root }), { beforePut: (_input, signal) => abortableDelay(700, signal) });
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, retry: false });
    const queue = await openQueue();
    const [message] = sampleMessages({ projectId: 'acme', count: 1 });
    await queue.enqueue([queued(message!)]);
    const outcomes: ProcessOutcome[] = [];
    const processor = track(createProcessor({ queue, archiverFor: () => archiver, leaseMs: 150, idleWaitMs: 20, onOutcome: (outcome) => outcomes.push(outcome) }));
    processor.start();
    await waitForEmptyQueue(queue, 5_000);
    await processor.stop();
    expect(destination.puts).toHaveLength(1);
    expect(outcomes.map((outcome) => outcome.type)).toEqual(['archived']);
  });

  it('retries an unexpected error as unknown, with a reason that masks addresses and numbers', async () => {
    const root = newFolder();
    let failures = 1;
    const destination = instrumentDestination(createFsDestination({ root }), {
      beforePut: async () => {
        if (failures-- > 0) throw new Error('socket exploded while sending to Ana.Garcia@Example.com at +1 555 010 0100');
      },
    });
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, retry: false });
    const queue = await openQueue();
    const [message] = sampleMessages({ projectId: 'acme', count: 1 });
    await queue.enqueue([queued(message!)]);
    const outcomes: ProcessOutcome[] = [];
    const policy = resolveRetryPolicy({ outage: { quickInitialDelayMs: 10, quickMaxDelayMs: 20 } });
    const processor = track(createProcessor({ queue, archiverFor: () => archiver, retryPolicy: policy, idleWaitMs: 20, onOutcome: (outcome) => outcomes.push(outcome) }));
    processor.start();
    await waitForEmptyQueue(queue, 5_000);
    await processor.stop();
    const retry = outcomes[0];
    expect(retry).toMatchObject({ type: 'retry_scheduled', kind: 'unknown', phase: 'quick', attempts: 1 });
    const reason = retry?.type === 'retry_scheduled' ? retry.reason : '';
    expect(reason).toContain('socket exploded');
    expect(reason).not.toMatch(/Example\.com|555/i);
    expect(outcomes[1]).toMatchObject({ type: 'archived', attempts: 2 });
  });

  it('keeps going when the queue fails to settle, and the message comes back', async () => {
    const root = newFolder();
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root }), retry: false });
    const queue = await openQueue();
    const [message] = sampleMessages({ projectId: 'acme', count: 1 });
    await queue.enqueue([queued(message!)]);
    let failAck = true;
    const flaky = {
      ...queue,
      ack: async (lease: Parameters<typeof queue.ack>[0]) => {
        if (failAck) {
          failAck = false;
          throw new DestinationError({ kind: 'unknown', message: 'disk on fire' });
        }
        return queue.ack(lease);
      },
    };
    const logs: unknown[] = [];
    const processor = createProcessor({ queue: flaky, archiverFor: () => archiver, leaseMs: 100, logger: (entry) => logs.push(entry) });
    await processor.processAvailable();
    expect((await queue.stats()).depth).toBe(1);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', event: 'queue.settle_failed', action: 'ack' }));
    await new Promise((resolve) => setTimeout(resolve, 150));
    const outcomes: ProcessOutcome[] = [];
    await createProcessor({ queue, archiverFor: () => archiver, onOutcome: (outcome) => outcomes.push(outcome) }).processAvailable();
    expect(outcomes).toEqual([expect.objectContaining({ type: 'archived', created: false })]);
    await expectFolderHoldsExactly(root, archiver, [message]);
  });
});
