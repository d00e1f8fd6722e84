import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { createArchiver, maxMessageIdLength, sampleMessages, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { startNatsServer } from '@sentcopy/test-servers';
import { afterAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, createIntakeServer, createJetStreamQueue, hashApiKey, runWorker, type MessageQueue, type RunningWorker, type WorkerConfig } from '../src/index.js';
import { plainDirectory } from './fixtures/intake-directory.js';
import { expectFolderHoldsExactly, storedKeys, waitFor } from './helpers.js';
import { tempFolders } from './temp-folders.js';

// Issue #14 items 3, 4 and 10 (intake part), issue #21 item 3: a message is refused at intake, on its
// own, when it can never be stored; the good messages of its batch are accepted beside it.
const newFolder = tempFolders('intake-storable');
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

const keys = { shop: 'sc_storable_shop_key_0000000000000000000000000', braze: 'sc_storable_braze_key_000000000000000000000000', laid: 'sc_storable_laid_key_0000000000000000000000000' };
const channels = ['email', 'sms', 'push', 'whatsapp'] as const;

interface Result {
  readonly index: number;
  readonly message_id?: string;
  readonly status: string;
  readonly reason?: string;
  readonly errors?: { field: string; problem: string }[];
}
interface BatchAnswer {
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly results: Result[];
}

async function startWorker(limits?: { max_message_bytes?: number; max_body_bytes?: number }): Promise<{ worker: RunningWorker; root: string; post: (route: string, body: unknown, project?: keyof typeof keys) => Promise<Response> }> {
  const folder = newFolder();
  const configFile = path.join(folder, 'sentcopy.config.json');
  const config: WorkerConfig = {
    version: 1,
    destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
    projects: {
      shop: { destination: 'local', channels: [...channels], api_keys: [{ sha256: hashApiKey(keys.shop) }] },
      braze: { destination: 'local', channels: [...channels], profile: 'braze', api_keys: [{ sha256: hashApiKey(keys.braze) }] },
      laid: { destination: 'local', channels: [...channels], layout: '{project_id}/{campaign_id}/{extras.region}/{message_id}.json.gz', api_keys: [{ sha256: hashApiKey(keys.laid) }] },
    },
    ...(limits === undefined ? {} : { http: { limits } }),
  };
  writeFileSync(configFile, JSON.stringify(config));
  const worker = await runWorker({ configFile, port: 0, prepareThreads: 0 });
  closers.push(() => worker.stop());
  const post = (route: string, body: unknown, project: keyof typeof keys = 'shop') =>
    fetch(`${worker.url}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys[project]}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { worker, root: path.join(folder, 'archive'), post };
}

async function deadLetterTotal(worker: RunningWorker, project: keyof typeof keys): Promise<number> {
  const response = await fetch(`${worker.url}/v1/dead-letters`, { headers: { authorization: `Bearer ${keys[project]}` } });
  return ((await response.json()) as { total: number }).total;
}

const smsOf = (projectId: string, seed: number, count = 1) =>
  sampleMessages({ projectId, count: count * 8, seed })
    .filter((message) => message.channel === 'sms')
    .slice(0, count);
const withFields = (message: Message, fields: Record<string, unknown>) => ({ ...message, ...fields });
const emoji = (count: number) => '😀'.repeat(count);

describe('messages the project cannot store are refused at intake (issue #14 item 3)', () => {
  it('refuses a dispatch_id under the braze profile and key-layout fields that are missing or not scalars, accepts the rest of the batch, and dead-letters nothing', async () => {
    const { worker, root, post } = await startWorker();
    const [brazeGood, brazeBad] = smsOf('braze', 3, 2) as [Message, Message];
    const withDispatchId = withFields(brazeBad, { dispatch_id: 'their-own-id' });
    const brazeAnswer = await post('/v1/messages', [brazeGood, withDispatchId], 'braze');
    expect(brazeAnswer.status).toBe(202);
    const brazeBody = (await brazeAnswer.json()) as BatchAnswer;
    expect(brazeBody).toMatchObject({ accepted: 1, duplicates: 0, rejected: 1 });
    expect(brazeBody.results[0]).toEqual({ index: 0, message_id: brazeGood.message_id, status: 'accepted' });
    expect(brazeBody.results[1]).toMatchObject({ index: 1, status: 'rejected', reason: 'invalid', errors: [{ field: 'dispatch_id', problem: expect.stringContaining('braze profile') }] });
    // The archive call refuses the same message with the same field error: one code path.
    const archiveAnswer = await post('/v1/archive', withDispatchId, 'braze');
    expect(archiveAnswer.status).toBe(422);
    expect(((await archiveAnswer.json()) as { error: { errors: unknown } }).error.errors).toEqual(brazeBody.results[1]!.errors);

    const laid = smsOf('laid', 4, 5) as Message[];
    const laidBatch = [
      withFields(laid[0]!, { campaign_id: 'spring', extras: { region: 'eu' } }),
      withFields(laid[1]!, { campaign_id: undefined, extras: { region: 'eu' } }),
      withFields(laid[2]!, { campaign_id: 'spring', extras: { region: { nested: 'eu' } } }),
      withFields(laid[3]!, { campaign_id: 'spring', extras: { region: ['eu'] } }),
      withFields(laid[4]!, { campaign_id: 'spring', extras: { region: 'us' } }),
    ];
    const laidAnswer = await post('/v1/messages', laidBatch, 'laid');
    expect(laidAnswer.status).toBe(202);
    const laidBody = (await laidAnswer.json()) as BatchAnswer;
    expect(laidBody).toMatchObject({ accepted: 2, rejected: 3 });
    expect(laidBody.results.map((result) => [result.status, result.errors?.map((error) => error.field)])).toEqual([
      ['accepted', undefined],
      ['rejected', ['campaign_id']],
      ['rejected', ['extras.region']],
      ['rejected', ['extras.region']],
      ['accepted', undefined],
    ]);
    for (const result of laidBody.results.filter((entry) => entry.status === 'rejected')) expect(result.errors?.[0]?.problem).toContain('key layout');

    // What was accepted is stored; nothing lands in the dead letters, where replaying could not help.
    await waitFor(() => storedKeys(root).length === 3, 20_000, 'the three accepted messages to be stored');
    expect(storedKeys(root).filter((key) => key.startsWith('laid/'))).toEqual([`laid/spring/eu/${laid[0]!.message_id}.json.gz`, `laid/spring/us/${laid[4]!.message_id}.json.gz`]);
    expect(await deadLetterTotal(worker, 'braze')).toBe(0);
    expect(await deadLetterTotal(worker, 'laid')).toBe(0);
  }, 60_000);
});

describe('while the destination is not ready', () => {
  it("still refuses what the project's profile cannot store, and queues the rest to wait", async () => {
    const folder = newFolder();
    const configFile = path.join(folder, 'sentcopy.config.json');
    // Nothing listens on this port, so the probe fails and the destination stays not ready.
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const config: WorkerConfig = {
      version: 1,
      destinations: {
        down: {
          type: 's3',
          bucket: 'nowhere',
          region: 'us-east-1',
          endpoint: `http://127.0.0.1:${closedPort}`,
          force_path_style: true,
          access_key_id: { env: 'SC_ID' },
          secret_access_key: { env: 'SC_SECRET' },
          acknowledge_personal_data: true,
        },
      },
      projects: { braze: { destination: 'down', channels: [...channels], profile: 'braze', api_keys: [{ sha256: hashApiKey(keys.braze) }] } },
    };
    writeFileSync(configFile, JSON.stringify(config));
    const worker = await runWorker({ configFile, port: 0, prepareThreads: 0, env: { SC_ID: 'id', SC_SECRET: 'secret' } });
    closers.push(() => worker.stop());
    const [good, bad] = smsOf('braze', 23, 2) as [Message, Message];
    const post = (route: string, body: unknown) => fetch(`${worker.url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${keys.braze}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await post('/v1/messages', [good, withFields(bad, { dispatch_id: 'theirs' })]);
    expect(answer.status).toBe(202);
    const body = (await answer.json()) as BatchAnswer;
    expect(body.results.map((result) => [result.status, result.errors?.[0]?.field])).toEqual([
      ['accepted', undefined],
      ['rejected', 'dispatch_id'],
    ]);
    const gate = await post('/v1/archive', withFields(bad, { dispatch_id: 'theirs' }));
    expect(gate.status).toBe(422);
    expect(((await gate.json()) as { error: { errors: unknown } }).error.errors).toEqual(body.results[1]!.errors);
    const waiting = await post('/v1/archive', good);
    expect(waiting.status).toBe(503);
  }, 60_000);
});

describe('one message the queue cannot hold never fails its batch (issue #14 item 4, issue #21 item 3)', () => {
  it(`takes a message_id of up to ${maxMessageIdLength} emoji (what core allows), refuses a longer one on its own, and never answers 503`, async () => {
    const { worker, root, post } = await startWorker();
    const [first, second, third, fourth] = smsOf('shop', 7, 4) as [Message, Message, Message, Message];
    const batch = [first, withFields(second, { message_id: emoji(300) }), withFields(third, { message_id: emoji(maxMessageIdLength + 1) }), withFields(fourth, { message_id: emoji(maxMessageIdLength) })];
    for (const attempt of [1, 2]) {
      const answer = await post('/v1/messages', batch);
      expect(answer.status).toBe(202);
      const body = (await answer.json()) as BatchAnswer;
      const expected = attempt === 1 ? 'accepted' : 'duplicate';
      expect(body.results.map((result) => result.status)).toEqual([expected, expected, 'rejected', expected]);
      expect(body.results[2]).toMatchObject({ reason: 'invalid', errors: [{ field: 'message_id', problem: `must be at most ${maxMessageIdLength} characters` }] });
      expect(body.results[1]!.message_id).toBe(emoji(300));
    }
    await waitFor(() => storedKeys(root).length === 3, 20_000, 'the three accepted messages to be stored');
    // Project shop has the sentcopy profile and the configuration no recipient_hash_key: the worker writes the unkeyed layout.
    await expectFolderHoldsExactly(root, createArchiver({ destination: createFsDestination({ root }), layout: 'sentcopy-unkeyed', retry: false }), [batch[0], batch[1], batch[3]]);
    expect(await deadLetterTotal(worker, 'shop')).toBe(0);
  }, 60_000);

  async function refusesOverQueueLimit(queue: MessageQueue, expectedSetting: RegExp): Promise<void> {
    const root = newFolder();
    const apiKey = `sc_queue_limit_${randomBytes(12).toString('hex')}`;
    const directory = plainDirectory({ shop: { channels: [...channels], apiKeys: [apiKey], destination: createFsDestination({ root }) } });
    const intake = createIntakeServer({ queue, directory });
    const url = await intake.listen(0);
    closers.push(() => intake.close({ graceMs: 100 }));
    const [small, big, other] = smsOf('shop', 9, 3) as [Message, Message, Message];
    const large = withFields(big, { body: 'x'.repeat(queue.maxPayloadBytes) });
    const answer = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify([small, large, other]) });
    expect(answer.status).toBe(202);
    const body = (await answer.json()) as BatchAnswer;
    expect(body).toMatchObject({ accepted: 2, rejected: 1 });
    expect(body.results[1]).toMatchObject({ index: 1, message_id: big.message_id, status: 'rejected', reason: 'too_large', errors: [{ field: '' }] });
    expect(body.results[1]!.errors![0]!.problem).toMatch(expectedSetting);
    expect(body.results[1]!.errors![0]!.problem).toContain(String(queue.maxPayloadBytes));
    expect((await queue.stats()).depth).toBe(2);
  }

  it('refuses a message larger than the embedded queue holds as too_large, naming the limit, and accepts the rest', async () => {
    const queue = await createEmbeddedQueue({ directory: newFolder(), maxPayloadBytes: 4_096 });
    closers.push(() => queue.close());
    expect(queue.maxPayloadBytes).toBe(4_096);
    await refusesOverQueueLimit(queue, /embedded queue holds at most 4096 bytes/);
  });

  it("refuses a message larger than the NATS server's max_payload as too_large, naming max_payload, and accepts the rest", async () => {
    const nats = await startNatsServer({ maxPayloadBytes: 64 * 1024 });
    closers.push(() => nats.stop());
    const queue = await createJetStreamQueue({ servers: nats.url, name: `limit${randomBytes(4).toString('hex')}` });
    closers.push(() => queue.close());
    expect(queue.maxPayloadBytes).toBeLessThan(64 * 1024);
    await refusesOverQueueLimit(queue, /max_payload/);
  }, 60_000);
});

/** 700,000 extras keys: about 8 MB of JSON, under the 10 MiB body limit; without `to`, so validation would refuse it too. */
function hugeMessage(): string {
  const [sms] = smsOf('shop', 11) as [Message];
  const { to: _to, ...rest } = sms as Message & { to: string };
  const extras: Record<string, number> = {};
  for (let index = 0; index < 700_000; index++) extras[`k${index}`] = 1;
  return JSON.stringify({ ...rest, message_id: 'huge', extras });
}

/** A POST whose answer is awaited while the test does other things. */
function postRaw(url: string, route: string, apiKey: string, body: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ hostname, port, path: route, method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    // The server may answer and close before reading all of a refused body.
    request.on('error', reject);
    request.end(body);
  });
}

describe('limits are checked before validation (issue #14 item 10)', () => {
  // The defaults hold an email with 25 MiB of attachments (see intake-big-messages.test.ts); smaller settings keep these tests light.
  const smallLimits = { max_message_bytes: 5 * 1024 * 1024, max_body_bytes: 10 * 1024 * 1024 };

  it('refuses a 9 MiB message on /v1/archive with 413 naming limits.max_message_bytes; nothing is stored', async () => {
    const { root, post } = await startWorker(smallLimits);
    const [sms] = smsOf('shop', 13) as [Message];
    const big = withFields(sms, { body: 'x'.repeat(9 * 1024 * 1024) });
    const answer = await post('/v1/archive', big);
    expect(answer.status).toBe(413);
    const body = (await answer.json()) as { error: { code: string; message: string; reason: string; limit_bytes: number } };
    expect(body.error).toMatchObject({ code: 'message_too_large', reason: 'too_large', limit_bytes: 5 * 1024 * 1024 });
    expect(body.error.message).toContain('limits.max_message_bytes');
    expect(body.error.message).not.toMatch(/smaller batches/i);
    expect(storedKeys(root)).toEqual([]);
  }, 60_000);

  it('refuses a message with 700,000 keys as too_large without validating it, accepts its neighbours, and answers /healthz meanwhile', async () => {
    const { worker, root } = await startWorker(smallLimits);
    const [good] = smsOf('shop', 17) as [Message];
    const huge = hugeMessage();
    const batch = `[${JSON.stringify(good)},${huge}]`;
    const pending = postRaw(worker.url, '/v1/messages', keys.shop, batch);
    const health = await fetch(`${worker.url}/healthz`);
    expect(health.status).toBe(200);
    const answer = await pending;
    expect(answer.status).toBe(202);
    const body = JSON.parse(answer.body) as BatchAnswer;
    // Validation would have said "invalid" (no `to`): the size decided first.
    expect(body.results).toEqual([
      { index: 0, message_id: good.message_id, status: 'accepted' },
      { index: 1, message_id: 'huge', status: 'rejected', reason: 'too_large', errors: [{ field: '', problem: expect.stringContaining('limits.max_message_bytes') }] },
    ]);
    // On /v1/archive the declared length alone refuses it, before the body is read.
    const archive = await postRaw(worker.url, '/v1/archive', keys.shop, huge);
    expect(archive.status).toBe(413);
    expect(JSON.parse(archive.body)).toMatchObject({ error: { code: 'message_too_large', reason: 'too_large' } });
    await waitFor(() => storedKeys(root).length === 1, 20_000, 'the good message to be stored');
  }, 60_000);

  it('answers a batch over the body limit with advice that fits a batch: smaller batches, and the largest single message', async () => {
    const { post } = await startWorker(smallLimits);
    const messages = smsOf('shop', 19, 2) as Message[];
    const answer = await post('/v1/messages', [withFields(messages[0]!, { body: 'y'.repeat(6 * 1024 * 1024) }), withFields(messages[1]!, { body: 'z'.repeat(5 * 1024 * 1024) })]);
    expect(answer.status).toBe(413);
    const body = (await answer.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('payload_too_large');
    expect(body.error.message).toMatch(/limits\.max_body_bytes \(10485760 bytes\)\. Send the messages in smaller batches \(one message may be up to 5242880 bytes of JSON\), or raise limits\.max_body_bytes/);
  }, 60_000);
});
