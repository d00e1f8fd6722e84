import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createArchiver, sampleMessages, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, createIntakeServer, createProcessor } from '../src/index.js';
import { plainDirectory } from './fixtures/intake-directory.js';
import { queued, storedKeys } from './helpers.js';
import { tempFolders } from './temp-folders.js';

// GET /v1/dead-letters and POST /v1/dead-letters/replay against real dead letters of an embedded queue.
const newFolder = tempFolders('dead-letter-routes');
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

const shopKey = 'sc_shop_dead_letter_key_1111111111111111111111111';
const blogKey = 'sc_blog_dead_letter_key_2222222222222222222222222';

async function start() {
  const archiveRoot = newFolder();
  const local = createFsDestination({ root: archiveRoot });
  const directory = plainDirectory({
    // Strict conflicts, so that a different copy under a key makes a dead letter to list and replay.
    shop: { channels: ['email', 'sms', 'push', 'whatsapp'], apiKeys: [shopKey], destination: local, onConflict: 'fail' },
    blog: { channels: ['sms'], apiKeys: [blogKey], destination: local, onConflict: 'fail' },
  });
  const queue = await createEmbeddedQueue({ directory: newFolder() });
  const intake = createIntakeServer({ queue, directory });
  const url = await intake.listen(0);
  closers.push(
    () => queue.close(),
    () => intake.close({ graceMs: 100 }),
  );
  const processor = createProcessor({ queue, archiverFor: (project) => directory.archiverFor(project, 'queued') });
  const processAll = async () => {
    await processor.processAvailable();
  };
  closers.push(() => processor.stop());
  const get = async (query: string, key: string | null = shopKey) => {
    const response = await fetch(`${url}/v1/dead-letters${query}`, { headers: key === null ? {} : { authorization: `Bearer ${key}` } });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const replay = async (body: unknown, key: string = shopKey) => {
    const response = await fetch(`${url}/v1/dead-letters/replay`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  return { url, queue, archiveRoot, local, processAll, get, replay };
}

const sms = (projectId: string, index: number, body = `Your code is ${100000 + index}`): Message =>
  ({ version: 1, channel: 'sms', message_id: `${projectId}-sms-${index}`, project_id: projectId, sent_at: 1767225600000 + index, to: '+15550100000', body }) as unknown as Message;

describe('dead-letter routes', () => {
  it("list a project's dead letters with reasons and pages, and replay them by id, filter or all once the cause is fixed", async () => {
    const setup = await start();
    // A conflict: a different copy already sits under each message's key (written straight to the folder).
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: setup.local });
    const conflicting = [0, 1, 2].map((index) => sms('shop', index));
    const firstCopies = await Promise.all(conflicting.map((message) => archiver.archive({ ...message, body: 'an earlier, different copy' })));
    // An invalid payload (the queue takes whatever intake gave it) and another project's conflict.
    await setup.queue.enqueue([...conflicting.map((message) => queued(message)), { project: 'shop', messageId: 'shop-broken', payload: '{"version":1,"channel":"sms","message_id":"shop-broken","project_id":"shop"}' }]);
    const blogMessage = sms('blog', 9);
    await archiver.archive({ ...blogMessage, body: 'different' });
    await setup.queue.enqueue([queued(blogMessage)]);
    await setup.processAll();

    const all = await setup.get('');
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(4);
    expect(all.body.items.map((item: { message_id: string }) => item.message_id).sort()).toEqual(['shop-broken', 'shop-sms-0', 'shop-sms-1', 'shop-sms-2']);
    const conflict = all.body.items.find((item: { message_id: string }) => item.message_id === 'shop-sms-0');
    expect(conflict).toMatchObject({ project: 'shop', kind: 'conflict', attempts: 1, issues: [] });
    expect(conflict.reason).toMatch(/conflict|different/i);
    expect(Date.parse(conflict.dead_at)).toBeGreaterThan(0);
    const broken = all.body.items.find((item: { message_id: string }) => item.message_id === 'shop-broken');
    expect(broken.kind).toBe('invalid');
    expect(broken.issues.map((issue: { path: string }) => issue.path)).toEqual(expect.arrayContaining(['sent_at', 'to']));
    expect(JSON.stringify(all.body)).not.toContain('+15550100000');

    // Filters and pages.
    const invalidOnly = await setup.get('?kind=invalid');
    expect(invalidOnly.body).toMatchObject({ total: 1, items: [expect.objectContaining({ message_id: 'shop-broken' })] });
    const firstPage = await setup.get('?limit=3');
    expect(firstPage.body.items).toHaveLength(3);
    expect(typeof firstPage.body.cursor).toBe('string');
    const secondPage = await setup.get(`?limit=3&cursor=${encodeURIComponent(firstPage.body.cursor)}`);
    expect(secondPage.body.items).toHaveLength(1);
    expect(secondPage.body.cursor).toBeUndefined();
    expect(new Set([...firstPage.body.items, ...secondPage.body.items].map((item: { id: string }) => item.id)).size).toBe(4);
    expect((await setup.get('?to=2000-01-01T00:00:00Z')).body.total).toBe(0);
    expect((await setup.get(`?from=${Date.now() - 60_000}`)).body.total).toBe(4);

    // Scoped to the key's project.
    const blog = await setup.get('', blogKey);
    expect(blog.body).toMatchObject({ project: 'blog', total: 1, items: [expect.objectContaining({ message_id: 'blog-sms-9', kind: 'conflict' })] });
    const crossProject = await setup.replay({ ids: [blog.body.items[0].id] });
    expect(crossProject.body).toEqual({ project: 'shop', replayed: 0, already_queued: 0 });
    expect((await setup.get('', blogKey)).body.total).toBe(1);

    // Fix the cause (remove the earlier copies), then replay one by id, the rest by filter.
    for (const copy of firstCopies) {
      rmSync(path.join(setup.archiveRoot, ...copy.key.split('/')));
      rmSync(path.join(setup.archiveRoot, '.sentcopy', 'meta', ...copy.key.split('/')), { force: true });
    }
    const one = await setup.replay({ ids: [conflict.id] });
    expect(one).toEqual({ status: 200, body: { project: 'shop', replayed: 1, already_queued: 0 } });
    const rest = await setup.replay({ filter: { kind: 'conflict' } });
    expect(rest.body).toMatchObject({ replayed: 2, already_queued: 0 });
    await setup.processAll();
    const after = await setup.get('');
    expect(after.body.total).toBe(1);
    expect(after.body.items[0].message_id).toBe('shop-broken');
    for (const message of conflicting) {
      const prepared = await archiver.prepare(message);
      const stored = JSON.parse(gunzipSync(readFileSync(path.join(setup.archiveRoot, ...prepared.key.split('/')))).toString('utf8')) as { body: string };
      expect(stored.body).toBe(message.body);
    }
    // All: the invalid one comes straight back to the dead letters, with the same reason.
    expect((await setup.replay({ all: true })).body).toMatchObject({ replayed: 1 });
    await setup.processAll();
    expect((await setup.get('')).body).toMatchObject({ total: 1, items: [expect.objectContaining({ message_id: 'shop-broken', kind: 'invalid' })] });
    expect(storedKeys(setup.archiveRoot)).toHaveLength(4);
  });

  it('refuse missing keys, bad filters and bad replay bodies with clear errors', async () => {
    const setup = await start();
    expect((await setup.get('', null)).status).toBe(401);
    expect((await setup.get('', 'sc_unknown')).body.error.code).toBe('unauthorized');
    const badKind = await setup.get('?kind=exploded');
    expect(badKind).toMatchObject({ status: 400, body: { error: { code: 'bad_request', message: expect.stringContaining('kind must be one of') } } });
    expect((await setup.get('?limit=0')).body.error.message).toContain('limit');
    expect((await setup.get('?from=yesterday')).body.error.message).toContain('from must be');
    expect((await setup.get('?colour=red')).body.error.message).toContain('"colour"');
    expect((await setup.get('?cursor=not-a-cursor')).status).toBe(400);
    expect((await setup.replay({})).body.error.message).toContain('exactly one of');
    expect((await setup.replay({ filter: {} })).body.error.message).toContain('{"all": true}');
    expect((await setup.replay({ all: false })).status).toBe(400);
    expect((await setup.replay({ ids: [] })).status).toBe(400);
    expect((await setup.replay({ filter: { kind: 'conflict', colour: 'red' } })).body.error.message).toContain('filter.colour');
    const wrongMethod = await fetch(`${setup.url}/v1/dead-letters/replay`, { headers: { authorization: `Bearer ${shopKey}` } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    const noJson = await fetch(`${setup.url}/v1/dead-letters/replay`, { method: 'POST', headers: { authorization: `Bearer ${shopKey}`, 'content-type': 'text/plain' }, body: '{"all":true}' });
    expect(noJson.status).toBe(415);
    // Nothing to replay is not an error.
    expect((await setup.replay({ all: true })).body).toEqual({ project: 'shop', replayed: 0, already_queued: 0 });
    expect((await setup.get('')).body).toEqual({ project: 'shop', total: 0, items: [] });
  });
});
