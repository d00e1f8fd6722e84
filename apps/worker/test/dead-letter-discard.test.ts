import { createArchiver, versionKey, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, createIntakeServer, createProcessor, type LogEntry, type MessageQueue } from '../src/index.js';
import { plainDirectory } from './fixtures/intake-directory.js';
import { queued, storedKeys } from './helpers.js';
import { tempFolders } from './temp-folders.js';

// POST /v1/dead-letters/discard and GET /v1/dead-letters/discarded against real dead letters of an embedded queue.
const newFolder = tempFolders('dead-letter-discard');
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

const shopKey = 'sc_shop_discard_key_11111111111111111111111111111';
const blogKey = 'sc_blog_discard_key_22222222222222222222222222222';

const sms = (projectId: string, index: number, body = `Your code is ${100000 + index}`): Message =>
  ({ version: 1, channel: 'sms', message_id: `${projectId}-sms-${index}`, project_id: projectId, sent_at: 1767225600000 + index, to: '+15550100000', body }) as unknown as Message;

async function start(options: { withoutDiscard?: boolean } = {}) {
  const archiveRoot = newFolder();
  const local = createFsDestination({ root: archiveRoot });
  const directory = plainDirectory({
    shop: { channels: ['sms'], apiKeys: [shopKey], destination: local },
    blog: { channels: ['sms'], apiKeys: [blogKey], destination: local },
  });
  const embedded = await createEmbeddedQueue({ directory: newFolder() });
  // Both of sentcopy's queues discard; a queue of the caller's own, written in plain JavaScript, may
  // not: the same queue without those methods.
  const queue: MessageQueue = options.withoutDiscard === true ? ({ ...embedded, discardDeadLetters: undefined, listDiscardedDeadLetters: undefined } as unknown as MessageQueue) : embedded;
  const logs: LogEntry[] = [];
  const intake = createIntakeServer({ queue, directory, logger: (entry) => logs.push(entry) });
  const url = await intake.listen(0);
  closers.push(
    () => embedded.close(),
    () => intake.close({ graceMs: 100 }),
  );
  const processor = createProcessor({ queue, archiverFor: (project) => directory.archiverFor(project, 'queued') });
  closers.push(() => processor.stop());
  const call = async (method: string, route: string, body?: unknown, key = shopKey) => {
    const response = await fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  // Dead letters that no fix can archive: the key and the version key next to it both hold other copies.
  const deadLetters = async (messages: Message[]) => {
    // The same secret as plainDirectory's archivers, so the squatters sit at the keys the processor writes.
    const archiver = createArchiver({ destination: local, recipientKey: 'sentcopy-test-recipient-key' });
    for (const message of messages) {
      const other = await archiver.archive({ ...message, body: 'an earlier, different copy' });
      const prepared = await archiver.prepare(message);
      await local.put({ ...(await archiver.prepare({ ...message, body: 'a squatter' })), key: versionKey(prepared.key, prepared.contentSha256)! });
      expect(other.created).toBe(true);
    }
    await embedded.enqueue(messages.map((message) => queued(message)));
    await processor.processAvailable();
  };
  return { queue: embedded, archiveRoot, call, deadLetters, logs };
}

describe('discarding dead letters', () => {
  it("removes them for good only with a reason, scoped to the key's project, logged and recorded", async () => {
    const setup = await start();
    await setup.deadLetters([sms('shop', 0), sms('shop', 1), sms('shop', 2), sms('blog', 9)]);
    const listed = await setup.call('GET', '/v1/dead-letters');
    expect(listed.body.total).toBe(3);
    const ids = Object.fromEntries(listed.body.items.map((item: { message_id: string; id: string }) => [item.message_id, item.id]));
    const blogId = (await setup.call('GET', '/v1/dead-letters', undefined, blogKey)).body.items[0].id as string;

    // Refusals: no reason, an empty one, a selection that is not one, an unknown field. Nothing changes.
    for (const [body, text] of [
      [{ ids: [ids['shop-sms-0']] }, /reason is required/],
      [{ ids: [ids['shop-sms-0']], reason: '   ' }, /reason is required/],
      [{ reason: 'why' }, /exactly one of "ids", "filter" or "all"/],
      [{ filter: {}, reason: 'why' }, /filter must set kind, from or to; to discard every dead letter send \{"all": true\}/],
      [{ all: true, reason: 'why', colour: 'red' }, /"colour" is not a discard field/],
      [{ all: true, reason: 'x'.repeat(501) }, /at most 500 characters/],
    ] as const) {
      const refused = await setup.call('POST', '/v1/dead-letters/discard', body);
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toMatch(text);
    }
    expect(await setup.queue.countDeadLetters()).toBe(4);

    // Another project's key cannot touch shop's dead letters, even by id; shop's cannot touch blog's.
    expect((await setup.call('POST', '/v1/dead-letters/discard', { ids: [ids['shop-sms-0']], reason: 'not mine' }, blogKey)).body).toMatchObject({ project: 'blog', discarded: 0, ids: [] });
    expect((await setup.call('POST', '/v1/dead-letters/discard', { ids: [blogId], reason: 'not mine' })).body).toMatchObject({ project: 'shop', discarded: 0 });

    const discarded = await setup.call('POST', '/v1/dead-letters/discard', { ids: [ids['shop-sms-0'], ids['shop-sms-1']], reason: ' sent twice by a bug in the sender; the first copies are right ' });
    expect(discarded.status).toBe(200);
    // Ids come in the order they were dead-lettered, which concurrent processing does not fix.
    expect({ ...discarded.body, ids: [...discarded.body.ids].sort() }).toEqual({ project: 'shop', discarded: 2, ids: [ids['shop-sms-0'], ids['shop-sms-1']].sort(), reason: 'sent twice by a bug in the sender; the first copies are right' });
    expect((await setup.call('GET', '/v1/dead-letters')).body.items.map((item: { message_id: string }) => item.message_id)).toEqual(['shop-sms-2']);
    const line = setup.logs.find((entry) => entry.event === 'dead_letters.discarded');
    expect(line).toMatchObject({ level: 'warn', project: 'shop', discarded: 2, reason: 'sent twice by a bug in the sender; the first copies are right' });
    expect(JSON.stringify(setup.logs)).not.toContain('+15550100000');

    const records = await setup.call('GET', '/v1/dead-letters/discarded');
    expect(records.status).toBe(200);
    expect(records.body.items).toHaveLength(2);
    records.body.items.sort((a: { message_id: string }, b: { message_id: string }) => (a.message_id < b.message_id ? -1 : 1));
    expect(records.body.items[0]).toMatchObject({
      id: ids['shop-sms-0'],
      project: 'shop',
      message_id: 'shop-sms-0',
      kind: 'conflict',
      discard_reason: 'sent twice by a bug in the sender; the first copies are right',
      payload_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(records.body.items[0].reason).toMatch(/conflict|different/i);
    expect(Date.parse(records.body.items[0].discarded_at)).toBeGreaterThan(0);
    expect((await setup.call('GET', '/v1/dead-letters/discarded', undefined, blogKey)).body.items).toEqual([]);
    expect((await setup.call('GET', '/v1/dead-letters/discarded?limit=1')).body.cursor).toEqual(expect.any(String));

    // Gone for good: replaying everything brings back only what was not discarded.
    expect((await setup.call('POST', '/v1/dead-letters/replay', { all: true })).body).toMatchObject({ replayed: 1 });
    expect((await setup.call('POST', '/v1/dead-letters/discard', { all: true, reason: 'again' })).body).toMatchObject({ discarded: 0 });
    expect(storedKeys(setup.archiveRoot)).toHaveLength(8);
  });

  it('answers 501 from a queue that cannot discard, and changes nothing', async () => {
    const setup = await start({ withoutDiscard: true });
    await setup.deadLetters([sms('shop', 5)]);
    const answer = await setup.call('POST', '/v1/dead-letters/discard', { all: true, reason: 'cannot' });
    expect(answer.status).toBe(501);
    expect(answer.body.error.code).toBe('not_implemented');
    expect((await setup.call('GET', '/v1/dead-letters/discarded')).status).toBe(501);
    expect(await setup.queue.countDeadLetters()).toBe(1);
  });
});
