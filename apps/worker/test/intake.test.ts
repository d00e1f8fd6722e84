import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { sampleMessages, type Message } from '@sentcopy/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createConfigRuntime, createEmbeddedQueue, createIntakeServer, createProcessor, hashApiKey, type IntakeEvent, type LogEntry, type WorkerConfig } from '../src/index.js';
import { storedKeys } from './helpers.js';
import { faults, s3ErrorResponse } from '@sentcopy/test-servers';
import { goodCredentials, startS3Setup, wrongCredentials } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('intake');
const s3 = await startS3Setup();
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await s3.stop();
});

const shopKey = 'sc_shop_key_0000000000000000000000000000000000';
const blogKey = 'sc_blog_key_0000000000000000000000000000000000';
const cloudKey = 'sc_cloud_key_000000000000000000000000000000000';
const brokenKey = 'sc_broken_key_00000000000000000000000000000000';
const orphanKey = 'sc_orphan_key_00000000000000000000000000000000';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function startIntake(options: { limits?: { maxBodyBytes?: number; maxBatchMessages?: number } } = {}) {
  const folder = newFolder();
  const file = path.join(folder, 'sentcopy.config.json');
  const cloudBucket = s3.server.createBucket();
  const s3Destination = (credentials: string) => ({
    type: 's3' as const,
    bucket: cloudBucket,
    region: 'us-east-1',
    endpoint: s3.proxy.url,
    force_path_style: true,
    access_key_id: { env: `${credentials}_ID` },
    secret_access_key: { env: `${credentials}_SECRET` },
    acknowledge_personal_data: true as const,
  });
  const config: WorkerConfig = {
    version: 1,
    destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true }, cloud: s3Destination('GOOD') },
    projects: {
      shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(shopKey) }] },
      blog: { destination: 'local', channels: ['email'], api_keys: [{ sha256: hashApiKey(blogKey) }] },
      cloud: { destination: 'cloud', channels: ['sms', 'email', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(cloudKey) }] },
      orphan: { channels: ['sms'], api_keys: [{ sha256: hashApiKey(orphanKey) }] },
    },
  };
  writeFileSync(file, JSON.stringify(config));
  const env = { GOOD_ID: goodCredentials.accessKeyId, GOOD_SECRET: goodCredentials.secretAccessKey, BAD_ID: wrongCredentials.accessKeyId, BAD_SECRET: wrongCredentials.secretAccessKey };
  const directory = await createConfigRuntime({ file, env, pollIntervalMs: 60_000 });
  const queueFolder = newFolder();
  const queue = await createEmbeddedQueue({ directory: queueFolder });
  const events: IntakeEvent[] = [];
  const logs: LogEntry[] = [];
  const intake = createIntakeServer({ queue, directory, onEvent: (event) => events.push(event), logger: (entry) => logs.push(entry), ...(options.limits ? { limits: options.limits } : {}) });
  const url = await intake.listen(0);
  closers.push(
    () => directory.close(),
    () => queue.close(),
    () => intake.close({ graceMs: 100 }),
  );
  const post = (route: string, body: unknown, key: string | null = shopKey, headers: Record<string, string> = {}) =>
    fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { url, post, queue, queueFolder, directory, archiveRoot: path.join(folder, 'archive'), cloudBucket, events, logs, file, config };
}

const samples = sampleMessages({ projectId: 'shop', count: 40 });
const sms = samples.find((message) => message.channel === 'sms') as Message;
const email = samples.find((message) => message.channel === 'email') as Message;
const withId = (message: Message, id: string, extra: Record<string, unknown> = {}) => ({ ...message, message_id: id, ...extra });

describe('POST /v1/messages', () => {
  it('answers 202 only once every accepted message is durable: a fresh queue instance sees them all', async () => {
    const setup = await startIntake();
    const response = await setup.post('/v1/messages', samples);
    expect(response.status).toBe(202);
    const body = (await response.json()) as { accepted: number; results: { status: string; message_id: string }[] };
    expect(body.accepted).toBe(40);
    expect(body.results.map((result) => result.message_id)).toEqual(samples.map((message) => message.message_id));
    // Read the store with a second process-like instance: the queue holds one process per store, so close first.
    await setup.queue.close();
    const reopened = await createEmbeddedQueue({ directory: setup.queueFolder });
    expect((await reopened.stats()).depth).toBe(40);
    await reopened.close();
  });

  it('accepts the good messages of a mixed batch and names the field of each rejected one', async () => {
    const setup = await startIntake();
    const batch = [withId(sms, 'good-1'), { ...withId(sms, 'bad-to'), to: 42 }, withId(sms, 'wrong-project', { project_id: 'blog' }), withId(email, 'good-2'), { ...withId(email, 'bad-sent-at'), sent_at: 'yesterday' }, 'not an object'];
    const response = await setup.post('/v1/messages', { messages: batch });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { accepted: number; rejected: number; results: unknown[] };
    expect(body).toMatchObject({ accepted: 2, duplicates: 0, rejected: 4 });
    expect(body.results).toEqual([
      { index: 0, message_id: 'good-1', status: 'accepted' },
      { index: 1, message_id: 'bad-to', status: 'rejected', reason: 'invalid', errors: [{ field: 'to', problem: expect.any(String) }] },
      { index: 2, message_id: 'wrong-project', status: 'rejected', reason: 'wrong_project', errors: [{ field: 'project_id', problem: 'must be the project of the API key used: this key belongs to project "shop"' }] },
      { index: 3, message_id: 'good-2', status: 'accepted' },
      { index: 4, message_id: 'bad-sent-at', status: 'rejected', reason: 'invalid', errors: [{ field: 'sent_at', problem: expect.any(String) }] },
      { index: 5, status: 'rejected', reason: 'invalid', errors: [{ field: '', problem: 'the message must be a JSON object' }] },
    ]);
    expect((await setup.queue.stats()).depth).toBe(2);
    expect(JSON.stringify(body)).not.toContain(String(sms.to));
  });

  it('refuses channels the project does not archive, answers 422 when nothing is accepted, and reports duplicates', async () => {
    const setup = await startIntake();
    const blogSms = { ...withId(sms, 'blog-sms'), project_id: 'blog' };
    const refused = await setup.post('/v1/messages', [blogSms], blogKey);
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { results: unknown[] }).results).toEqual([
      { index: 0, message_id: 'blog-sms', status: 'rejected', reason: 'channel_disabled', errors: [{ field: 'channel', problem: 'is not archived for this project (enabled: email)' }] },
    ]);
    await setup.post('/v1/messages', [withId(sms, 'twice')]);
    const again = await setup.post('/v1/messages', [withId(sms, 'twice')]);
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ accepted: 0, duplicates: 1, results: [{ status: 'duplicate', message_id: 'twice' }] });
    expect((await setup.queue.stats()).depth).toBe(1);
  });

  it('refuses messages of a project without a destination, with a clear error, and counts them', async () => {
    const setup = await startIntake();
    const response = await setup.post('/v1/messages', [{ ...withId(sms, 'o-1'), project_id: 'orphan' }], orphanKey);
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({ error: { code: 'no_destination', message: expect.stringContaining('Project "orphan" has no destination') } });
    expect(setup.events).toContainEqual({ type: 'rejected', project: 'orphan', reason: 'no_destination' });
    expect((await setup.queue.stats()).depth).toBe(0);
  });

  it('answers 401 the same way for a missing and an unknown key, never echoing it', async () => {
    const setup = await startIntake();
    const missing = await setup.post('/v1/messages', [sms], null);
    const unknown = await setup.post('/v1/messages', [sms], 'sc_not_a_real_key_123');
    expect(missing.status).toBe(401);
    expect(unknown.status).toBe(401);
    const [a, b] = [await missing.text(), await unknown.text()];
    expect(a).toBe(b);
    expect(b).not.toContain('sc_not_a_real_key_123');
    expect(unknown.headers.get('www-authenticate')).toBe('Bearer realm="sentcopy"');
  });

  it('answers bad requests with clear 4xx errors and keeps serving', async () => {
    const setup = await startIntake({ limits: { maxBatchMessages: 5, maxBodyBytes: 64 * 1024 } });
    const badJson = await setup.post('/v1/messages', '[{"to": "alice@example.com", oops');
    expect(badJson.status).toBe(400);
    const badJsonBody = await badJson.text();
    expect(badJsonBody).toMatch(/not valid JSON/);
    expect(badJsonBody).not.toContain('alice@example.com');
    expect((await setup.post('/v1/messages', '[]')).status).toBe(400);
    expect((await setup.post('/v1/messages', { nope: true })).status).toBe(400);
    expect((await setup.post('/v1/messages', JSON.stringify([sms]), shopKey, { 'content-type': 'text/plain' })).status).toBe(415);
    const tooMany = await setup.post(
      '/v1/messages',
      Array.from({ length: 6 }, (_, index) => withId(sms, `m-${index}`)),
    );
    expect(tooMany.status).toBe(413);
    expect(await tooMany.json()).toMatchObject({ error: { code: 'batch_too_large', limit_messages: 5 } });
    expect((await fetch(`${setup.url}/v2/nothing`)).status).toBe(404);
    const wrongMethod = await fetch(`${setup.url}/v1/messages`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect((await setup.post('/v1/messages', [withId(sms, 'still-fine')])).status).toBe(202);
  });

  it('stops reading a body over the limit: 413 while the client is still sending, and the next request is served', async () => {
    const setup = await startIntake({ limits: { maxBodyBytes: 64 * 1024 } });
    const { hostname, port } = new URL(setup.url);
    const answer = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      let sent = 0;
      let answered = false;
      const request = httpRequest({ hostname, port, path: '/v1/messages', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${shopKey}` } }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, body, sent });
          request.destroy();
        });
      });
      request.on('error', (error) => (answered ? undefined : reject(error)));
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      // Up to 64 MiB of whitespace, streamed without a length: the server must answer long before the end.
      const pump = () => {
        while (sent < 64 * 1024 * 1024 && !answered) {
          sent += chunk.length;
          if (!request.write(chunk)) return void request.once('drain', pump);
        }
        request.end();
      };
      request.on('response', () => (answered = true));
      pump();
    });
    expect(answer.status).toBe(413);
    expect(answer.body).toContain('payload_too_large');
    expect(answer.sent).toBeLessThan(64 * 1024 * 1024);
    expect((await setup.post('/v1/messages', [withId(sms, 'after-413')])).status).toBe(202);
  });
});

describe('POST /v1/archive (before-send gate)', () => {
  it('answers 201 once the copy is stored: the key and SHA-256 match the bytes on disk', async () => {
    const setup = await startIntake();
    const response = await setup.post('/v1/archive', withId(email, 'gate-1'));
    expect(response.status).toBe(201);
    const result = (await response.json()) as { key: string; sha256: string; size: number; created: boolean };
    const stored = readFileSync(path.join(setup.archiveRoot, ...result.key.split('/')));
    expect(sha256(stored)).toBe(result.sha256);
    expect(stored.length).toBe(result.size);
    expect(result.created).toBe(true);
    const again = await setup.post('/v1/archive', withId(email, 'gate-1'));
    expect(await again.json()).toMatchObject({ key: result.key, sha256: result.sha256, created: false });
  });

  it('answers 502 failed_to_archive with the kind and reason when the destination refuses writes, and 201 once it takes them again', async () => {
    const setup = await startIntake();
    const message = { ...withId(sms, 'gate-denied'), project_id: 'cloud' };
    const denied = s3.proxy.inject(faults.respond(s3ErrorResponse('AccessDenied')), { match: (request) => request.method === 'PUT' && request.url.includes(setup.cloudBucket) });
    const refused = await setup.post('/v1/archive', message, cloudKey);
    expect(refused.status).toBe(502);
    const body = (await refused.json()) as { error: { code: string; kind: string; reason: string } };
    expect(body.error).toMatchObject({ code: 'failed_to_archive', kind: 'unauthorized', reason: expect.stringContaining('AccessDenied') });
    expect(JSON.stringify(body)).not.toContain(goodCredentials.secretAccessKey);
    expect(s3.server.listKeys(setup.cloudBucket)).toEqual([]);
    expect(setup.events).toContainEqual(expect.objectContaining({ type: 'gate', project: 'cloud', result: 'failed', kind: 'unauthorized' }));
    denied.remove();
    const stored = await setup.post('/v1/archive', message, cloudKey);
    expect(stored.status).toBe(201);
    const { key } = (await stored.json()) as { key: string };
    expect(s3.server.listKeys(setup.cloudBucket)).toEqual([key]);
  }, 30_000);

  it('answers 503 failed_to_archive while the destination is not ready (its probe fails)', async () => {
    const setup = await startIntake();
    // Break the cloud destination's credentials in the live config.
    const broken = {
      ...setup.config,
      destinations: { ...setup.config.destinations, cloud: { ...setup.config.destinations.cloud, access_key_id: { env: 'BAD_ID' }, secret_access_key: { env: 'BAD_SECRET' }, allow_public_bucket: true } },
    } as WorkerConfig;
    writeFileSync(setup.file, JSON.stringify(broken));
    await setup.directory.reload();
    // The probe fails too, so the destination is not ready: a 503 failed_to_archive says so.
    const notReady = await setup.post('/v1/archive', { ...withId(sms, 'gate-2'), project_id: 'cloud' }, cloudKey);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ error: { code: 'failed_to_archive', kind: 'unreachable', reason: expect.stringContaining('not ready') } });
    expect(s3.server.listKeys(setup.cloudBucket)).toEqual([]);
  });

  it('answers 422 with field errors for an invalid message, and 409 for a project without destination', async () => {
    const setup = await startIntake();
    const invalid = await setup.post('/v1/archive', { ...withId(sms, 'gate-3'), to: 'nobody' });
    expect(invalid.status).toBe(422);
    expect(await invalid.json()).toMatchObject({ error: { code: 'invalid_message', errors: [{ field: 'to' }] } });
    expect((await setup.post('/v1/archive', { ...withId(sms, 'o'), project_id: 'orphan' }, orphanKey)).status).toBe(409);
  });
});

describe('health and hostile traffic', () => {
  it('serves /healthz (with the version in package.json) and /readyz without a key', async () => {
    const setup = await startIntake();
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(await (await fetch(`${setup.url}/healthz`)).json()).toEqual({ status: 'ok', version });
    const ready = await fetch(`${setup.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { queue: 'ok' } });
    expect((await fetch(`${setup.url}/metrics`)).status).toBe(404);
  });

  it('takes 1,000 hostile messages interleaved with valid ones: every valid one is stored, each rejection names a field, nothing leaks into logs', async () => {
    const setup = await startIntake();
    const valid = sampleMessages({ projectId: 'shop', count: 200 });
    const hostile = Array.from({ length: 1000 }, (_, index) => {
      const base = withId(valid[index % valid.length] as Message, `hostile-${index}`);
      const cases: [unknown, string][] = [
        [{ ...base, to: { $gt: '' } }, 'to'],
        [{ ...base, sent_at: 1e400 }, 'sent_at'],
        [{ ...base, channel: '../../etc' }, 'channel'],
        [{ ...base, message_id: '' }, 'message_id'],
        [{ ...base, version: '1' }, 'version'],
        [{ ...base, project_id: 'blog' }, 'project_id'],
        [null, ''],
        [[base], ''],
      ];
      return cases[index % cases.length] as [unknown, string];
    });
    const messages: unknown[] = [];
    const expectedFields = new Map<number, string>();
    let hostileIndex = 0;
    for (let index = 0; index < 1200; index++) {
      if (index % 6 === 0 && index / 6 < valid.length) messages.push(valid[index / 6]);
      else {
        const [value, field] = hostile[hostileIndex++] as [unknown, string];
        expectedFields.set(messages.length, field);
        messages.push(value);
      }
    }
    let accepted = 0;
    for (let start = 0; start < messages.length; start += 300) {
      const response = await setup.post('/v1/messages', messages.slice(start, start + 300));
      expect(response.status).toBe(202);
      const body = (await response.json()) as { accepted: number; results: { index: number; status: string; errors?: { field: string }[] }[] };
      accepted += body.accepted;
      for (const result of body.results) {
        const field = expectedFields.get(start + result.index);
        if (field === undefined) expect(result.status).toBe('accepted');
        else expect(result.errors?.map((error) => error.field)).toContain(field);
      }
    }
    expect(accepted).toBe(200);
    const processor = createProcessor({ queue: setup.queue, archiverFor: (project) => setup.directory.archiverFor(project, 'queued'), idleWaitMs: 50 });
    processor.start();
    const deadline = Date.now() + 30_000;
    while ((await setup.queue.stats()).depth > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await processor.stop();
    expect(storedKeys(setup.archiveRoot)).toHaveLength(200);
    expect((await setup.queue.stats()).deadLetters).toBe(0);
    const logText = JSON.stringify(setup.logs);
    for (const message of valid.slice(0, 50)) expect(logText).not.toContain(String(message.to));
    expect(logText).not.toContain(shopKey);
  }, 60_000);
});
