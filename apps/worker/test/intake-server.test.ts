import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest } from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createArchiver, sampleMessages, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, createIntakeServer, createProcessor, type IntakeEvent, type IntakeServerOptions, type LogEntry, type Readiness } from '../src/index.js';
import { findJsonSyntaxError } from '../src/intake/json-syntax-error.js';
import { plainDirectory } from './fixtures/intake-directory.js';
import { seededRandom, sha256, storedKeys, waitFor } from './helpers.js';
import { createS3Destination, goodCredentials, startS3Setup, wrongCredentials } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';

// The intake against a small plain-object project directory (the config file's directory is tested in intake.test.ts).
const newFolder = tempFolders('intake-server');
const s3 = await startS3Setup();
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await s3.stop();
});

const shopKey = 'sc_shop_plain_key_111111111111111111111111111111';
const blogKey = 'sc_blog_plain_key_222222222222222222222222222222';
const s3Key = 'sc_s3_plain_key_33333333333333333333333333333333';
const waitingKey = 'sc_waiting_plain_key_444444444444444444444444444';
const orphanKey = 'sc_orphan_plain_key_55555555555555555555555555555';

type Options = Partial<Pick<IntakeServerOptions, 'limits' | 'metrics' | 'readiness'>>;

async function startIntake(options: Options = {}) {
  const archiveRoot = newFolder();
  const local = createFsDestination({ root: archiveRoot });
  const directory = plainDirectory({
    shop: { channels: ['email', 'sms', 'push', 'whatsapp'], apiKeys: [shopKey], destination: local },
    blog: { channels: ['email'], apiKeys: [blogKey], destination: local },
    s3: { channels: ['sms', 'email'], apiKeys: [s3Key], destination: createS3Destination(s3.settings({ credentials: wrongCredentials })) },
    waiting: { channels: ['sms'], apiKeys: [waitingKey], destination: local, ready: false },
    orphan: { channels: ['sms'], apiKeys: [orphanKey] },
  });
  const queueFolder = newFolder();
  const queue = await createEmbeddedQueue({ directory: queueFolder });
  const events: IntakeEvent[] = [];
  const logs: LogEntry[] = [];
  const intake = createIntakeServer({ queue, directory, onEvent: (event) => events.push(event), logger: (entry) => logs.push(entry), ...options });
  const url = await intake.listen(0);
  closers.push(
    () => queue.close(),
    () => intake.close({ graceMs: 100 }),
  );
  const post = (route: string, body: unknown, key: string | null = shopKey, headers: Record<string, string> = {}) =>
    fetch(`${url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...headers },
      body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
    });
  return { url, post, intake, queue, queueFolder, directory, archiveRoot, events, logs };
}

/** Starts a POST whose body is sent in parts, so a test can act while the server is in the middle of it. */
function slowPost(url: string, route: string, body: string, key: string) {
  const { hostname, port } = new URL(url);
  let request!: ClientRequest;
  const answer = new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    request = httpRequest({ hostname, port, path: route, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'content-length': Buffer.byteLength(body) } }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text, headers: response.headers }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
  const half = Math.floor(body.length / 2);
  request.write(body.slice(0, half));
  return { answer, finish: () => request.end(body.slice(half)) };
}

const samples = sampleMessages({ projectId: 'shop', count: 20, seed: 5 });
const sms = samples.find((message) => message.channel === 'sms') as Message;
const email = samples.find((message) => message.channel === 'email') as Message;
const withId = (message: Message, id: string, extra: Record<string, unknown> = {}) => ({ ...message, message_id: id, ...extra });
const recipientsOf = (messages: readonly Message[]) =>
  messages.flatMap((message) => {
    const record = message as unknown as Record<string, unknown>;
    return [record.to, record.cc, record.bcc].flat().filter((value): value is string => typeof value === 'string' && value.length > 3);
  });

describe('exact copy through the batch route', () => {
  it("stores, for each element of a batch, the same bytes as archiving the sender's own JSON text would", async () => {
    const setup = await startIntake();
    // Spellings that JSON.parse → JSON.stringify changes (escapes, exponents, -0, 1.50, key order, duplicate keys), and values it must keep.
    const tricky = String.raw`{ "b\u00e9" : "\u00e9\ud83d\ude00\n\t\u0000\u2028</script>", "num": [1e2, 1E-7, -0, 0.1, 1.7976931348623157e308, 5e-324, 1.50, 123456789012345678],
      "__proto__": { "polluted": true }, "2": "integer-like key", "10": "another", "dup": 1, "dup": 2, "empty": {}, "nested": [[[]], {"": ""}] }`;
    const elements = [`${JSON.stringify(withId(sms, 'exact-1')).slice(0, -1)},"x_tricky":${tricky}}`, `\n  ${JSON.stringify(withId(email, 'exact-2'), null, 3).slice(0, -1)},\t"x_tricky" :${tricky}\r\n}  `];
    const response = await setup.post('/v1/messages', `[${elements.join(',')}]`);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({
      accepted: 2,
      results: [
        { message_id: 'exact-1', status: 'accepted' },
        { message_id: 'exact-2', status: 'accepted' },
      ],
    });

    const archiver = setup.directory.archiverFor('shop', 'queued')!;
    const processor = createProcessor({ queue: setup.queue, archiverFor: (project) => setup.directory.archiverFor(project, 'queued') });
    await processor.processAvailable();
    await processor.stop();
    expect(storedKeys(setup.archiveRoot)).toHaveLength(2);

    for (const element of elements) {
      // What the archiver stores when handed the sender's exact bytes.
      const expected = await archiver.prepare(new TextEncoder().encode(element));
      const stored = readFileSync(path.join(setup.archiveRoot, ...expected.key.split('/')));
      expect(sha256(stored)).toBe(expected.sha256);
      expect(Buffer.compare(stored, Buffer.from(expected.body))).toBe(0);
      const decoded = JSON.parse(gunzipSync(stored).toString('utf8')) as { x_tricky: Record<string, unknown>; to: unknown };
      const sent = JSON.parse(tricky) as Record<string, unknown>;
      expect(decoded.x_tricky['b\u00e9']).toBe('\u00e9\u{1f600}\n\t\u0000\u2028</script>');
      expect(decoded.x_tricky.num).toEqual([100, 1e-7, 0, 0.1, 1.7976931348623157e308, 5e-324, 1.5, 123456789012345678]);
      expect(Object.hasOwn(decoded.x_tricky, '__proto__')).toBe(true);
      expect(Object.getOwnPropertyDescriptor(decoded.x_tricky, '__proto__')?.value).toEqual({ polluted: true });
      expect(Object.keys(decoded.x_tricky).sort()).toEqual(Object.keys(sent).sort());
      expect(decoded.x_tricky.dup).toBe(2);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });
});

describe('queue failure and graceful close', () => {
  it('answers 503 queue_unavailable with Retry-After when the queue cannot store a batch: nothing is acknowledged', async () => {
    const setup = await startIntake();
    await setup.queue.close();
    const response = await setup.post('/v1/messages', [withId(sms, 'q-1'), withId(email, 'q-2'), { ...withId(sms, 'q-bad'), to: 5 }]);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.json()).toEqual({ error: { code: 'queue_unavailable', message: expect.stringContaining('Send it again later') } });
    expect(
      setup.events
        .filter((event) => event.type === 'rejected')
        .map((event) => (event as { reason: string }).reason)
        .sort(),
    ).toEqual(['invalid', 'queue_unavailable', 'queue_unavailable']);
    expect(setup.events.some((event) => event.type === 'accepted')).toBe(false);
    expect(setup.logs).toContainEqual(expect.objectContaining({ level: 'error', event: 'intake.enqueue_failed', project: 'shop', messages: 2 }));
    // The default readiness asks the queue: it no longer answers.
    const ready = await fetch(`${setup.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, checks: { queue: 'not answering' } });
    const reopened = await createEmbeddedQueue({ directory: setup.queueFolder });
    expect((await reopened.stats()).depth).toBe(0);
    await reopened.close();
  });

  it('close() refuses new connections, answers the request in flight (its messages are durable), and does not wait out the grace period', async () => {
    const setup = await startIntake();
    // Half of the body is on the wire once the server has the request: it is inside it.
    const inside = once(setup.intake.server, 'request');
    const slow = slowPost(setup.url, '/v1/messages', JSON.stringify([withId(sms, 'in-flight-1'), withId(email, 'in-flight-2')]), shopKey);
    await inside;
    const started = Date.now();
    const closed = setup.intake.close({ graceMs: 8_000 });
    await expect(fetch(`${setup.url}/healthz`)).rejects.toThrow();
    slow.finish();
    const answer = await slow.answer;
    expect(answer.status).toBe(202);
    expect(JSON.parse(answer.body)).toMatchObject({ accepted: 2 });
    expect(answer.headers.connection).toBe('close');
    await closed;
    expect(Date.now() - started).toBeLessThan(4_000);
    expect((await setup.queue.stats()).depth).toBe(2);
  });

  it('close() is bounded: a client that never finishes its body is cut off after graceMs, and nothing of it is queued', async () => {
    const setup = await startIntake();
    const inside = once(setup.intake.server, 'request');
    const stalled = slowPost(setup.url, '/v1/messages', JSON.stringify([withId(sms, 'stalled')]), shopKey);
    const outcome = stalled.answer.then(
      (answer) => `answered ${answer.status}`,
      () => 'cut off',
    );
    await inside;
    const started = Date.now();
    await setup.intake.close({ graceMs: 300 });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3_000);
    expect(await outcome).toBe('cut off');
    expect((await setup.queue.stats()).depth).toBe(0);
  });
});

describe('health, readiness and metrics routes', () => {
  it('serves /metrics with the Prometheus content type, /readyz from the readiness callback, all without a key', async () => {
    let readiness: Readiness = { ready: true, checks: { queue: 'ok', 'destination local': 'ok' } };
    const contentType = 'text/plain; version=0.0.4; charset=utf-8';
    const setup = await startIntake({ metrics: { contentType, render: async () => '# HELP sentcopy_up Up.\n# TYPE sentcopy_up gauge\nsentcopy_up 1\n' }, readiness: () => readiness });
    const metrics = await fetch(`${setup.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toBe(contentType);
    expect(await metrics.text()).toBe('# HELP sentcopy_up Up.\n# TYPE sentcopy_up gauge\nsentcopy_up 1\n');
    const ready = await fetch(`${setup.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { queue: 'ok', 'destination local': 'ok' } });
    readiness = { ready: false, checks: { queue: 'not answering' } };
    const notReady = await fetch(`${setup.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ ready: false, checks: { queue: 'not answering' } });
    const head = await fetch(`${setup.url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const wrongMethod = await fetch(`${setup.url}/metrics`, { method: 'POST' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
    const archiveGet = await fetch(`${setup.url}/v1/archive`);
    expect(archiveGet.status).toBe(405);
    expect(archiveGet.headers.get('allow')).toBe('POST');
    expect(setup.events.filter((event) => event.type === 'request')).toEqual([
      { type: 'request', route: '/metrics', status: 200 },
      { type: 'request', route: '/readyz', status: 200 },
      { type: 'request', route: '/readyz', status: 503 },
      { type: 'request', route: '/healthz', status: 200 },
      { type: 'request', route: '/metrics', status: 405 },
      { type: 'request', route: '/v1/archive', status: 405 },
    ]);
  });

  it('close() lets a before-send archive call in flight store its copy and answer 201', async () => {
    const setup = await startIntake();
    const inside = once(setup.intake.server, 'request');
    const slow = slowPost(setup.url, '/v1/archive', JSON.stringify(withId(sms, 'gate-in-flight')), shopKey);
    await inside;
    const closed = setup.intake.close({ graceMs: 5_000 });
    slow.finish();
    const answer = await slow.answer;
    expect(answer.status).toBe(201);
    expect(answer.headers.connection).toBe('close');
    const { key, sha256: digest } = JSON.parse(answer.body) as { key: string; sha256: string };
    expect(storedKeys(setup.archiveRoot)).toEqual([key]);
    expect(sha256(readFileSync(path.join(setup.archiveRoot, ...key.split('/'))))).toBe(digest);
    await closed;
  });
});

describe('batch rules', () => {
  it('refuses a message over maxMessageBytes, names the id of an invalid message whose id is fine, and reports duplicates within one batch', async () => {
    const setup = await startIntake({ limits: { maxMessageBytes: 4_096 } });
    const big = withId(email, 'big', { html_body: `<p>${'x'.repeat(5_000)}</p>` });
    const response = await setup.post('/v1/messages', [withId(sms, 'same'), withId(sms, 'same'), big, { ...withId(sms, 'bad-to'), to: 'nobody' }, { ...withId(sms, ''), to: 'nobody' }]);
    expect(response.status).toBe(202);
    const body = (await response.json()) as { accepted: number; duplicates: number; rejected: number; results: unknown[] };
    expect(body).toMatchObject({ accepted: 1, duplicates: 1, rejected: 3 });
    expect(body.results).toEqual([
      { index: 0, message_id: 'same', status: 'accepted' },
      { index: 1, message_id: 'same', status: 'duplicate' },
      {
        index: 2,
        message_id: 'big',
        status: 'rejected',
        reason: 'too_large',
        errors: [{ field: '', problem: expect.stringMatching(/^the message is \d+ bytes of JSON, more than limits\.max_message_bytes \(4096 bytes\); raise that setting/) }],
      },
      { index: 3, message_id: 'bad-to', status: 'rejected', reason: 'invalid', errors: [{ field: 'to', problem: expect.any(String) }] },
      { index: 4, status: 'rejected', reason: 'invalid', errors: expect.arrayContaining([expect.objectContaining({ field: 'message_id' })]) },
    ]);
    expect((await setup.queue.stats()).depth).toBe(1);
    expect(setup.events.filter((event) => event.type !== 'request')).toEqual([
      // Size is checked before validation, so the channel of an oversized message is not known.
      { type: 'rejected', project: 'shop', reason: 'too_large' },
      { type: 'rejected', project: 'shop', reason: 'invalid' },
      { type: 'rejected', project: 'shop', reason: 'invalid' },
      { type: 'accepted', project: 'shop', channel: 'sms' },
      { type: 'duplicate', project: 'shop', channel: 'sms' },
    ]);
  });

  it('refuses bodies before reading them: a declared length over the limit, bad encodings and media types; counts each refusal', async () => {
    const setup = await startIntake({ limits: { maxBodyBytes: 32 * 1024 } });
    const { hostname, port } = new URL(setup.url);
    // Declares 1 GiB and sends nothing more than the headers: the answer cannot depend on reading the body.
    const declared = await new Promise<number>((resolve, reject) => {
      const request = httpRequest({ hostname, port, path: '/v1/messages', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${shopKey}`, 'content-length': String(1024 ** 3) } }, (response) => {
        resolve(response.statusCode ?? 0);
        response.resume();
        request.destroy();
      });
      request.on('error', reject);
      request.flushHeaders();
    });
    expect(declared).toBe(413);
    const notUtf8 = await setup.post('/v1/messages', new Uint8Array([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]));
    expect(notUtf8.status).toBe(400);
    expect(await notUtf8.json()).toEqual({ error: { code: 'bad_request', message: 'The body is not UTF-8 text.' } });
    expect((await setup.post('/v1/messages', JSON.stringify([withId(sms, 'charset')]), shopKey, { 'content-type': 'application/json; charset=utf-8' })).status).toBe(202);
    expect((await setup.post('/v1/messages', JSON.stringify([withId(sms, 'jsonp')]), shopKey, { 'content-type': 'application/jsonp' })).status).toBe(415);
    // A leading byte order mark is ignored (RFC 8259 allows it); the message is accepted.
    expect((await setup.post('/v1/messages', `\ufeff${JSON.stringify([withId(sms, 'bom')])}`)).status).toBe(202);
    // A deeply nested body is answered (not a crash, not a hang), and the server keeps serving.
    const deep = await setup.post('/v1/messages', `${'['.repeat(15_000)}${']'.repeat(15_000)}`);
    expect(deep.status).toBe(422);
    expect((await setup.post('/v1/messages', [withId(sms, 'after-deep')])).status).toBe(202);
    expect(setup.events.filter((event) => event.type === 'rejected')).toEqual([
      { type: 'rejected', project: 'shop', reason: 'too_large' },
      { type: 'rejected', project: 'shop', reason: 'bad_request' },
      { type: 'rejected', project: 'shop', reason: 'bad_request' },
      { type: 'rejected', project: 'shop', reason: 'invalid' },
    ]);
    expect((await setup.queue.stats()).depth).toBe(3);
  });

  it('names where and why a body is not JSON, in bytes, lines and columns, without quoting it', async () => {
    const setup = await startIntake();
    const cases: [string, string, { byte: number; line: number; column: number }][] = [
      ['[{"to": "alice@example.com", oops', 'a property name in double quotes was expected', { byte: 29, line: 1, column: 30 }],
      ['["é é", oops]', 'an unexpected character where a value was expected', { byte: 10, line: 1, column: 9 }],
      ['[\n  {"to": "bob@example.com"}\n  {"to": 1}\n]', "a ',' or ']' was expected", { byte: 32, line: 3, column: 3 }],
      ['[{"to": "carol@example.com"', 'the text ends before the JSON is complete', { byte: 27, line: 1, column: 28 }],
      ['[{"to": "carol@example.com" ]', "a ',' or '}' was expected", { byte: 28, line: 1, column: 29 }],
      ['[{"to" "dave@example.com"}]', "a ':' was expected after the property name", { byte: 7, line: 1, column: 8 }],
      ['["eve@example.com\tx"]', 'a control character inside a string must be escaped', { byte: 17, line: 1, column: 18 }],
      ['["frank@example.com', 'a string is not closed', { byte: 1, line: 1, column: 2 }],
      ['[1,]', 'an unexpected character where a value was expected', { byte: 3, line: 1, column: 4 }],
      ['[1] [2]', 'unexpected characters after the JSON value', { byte: 4, line: 1, column: 5 }],
      ['[-]', 'an invalid number', { byte: 1, line: 1, column: 2 }],
      ['["\\q"]', 'an invalid escape sequence in a string', { byte: 2, line: 1, column: 3 }],
      ['', 'the text ends before the JSON is complete', { byte: 0, line: 1, column: 1 }],
    ];
    for (const [text, problem, position] of cases) {
      const response = await setup.post('/v1/messages', text);
      expect(response.status, text).toBe(400);
      const body = await response.text();
      expect(JSON.parse(body), text).toEqual({ error: { code: 'invalid_json', message: `The body is not valid JSON: ${problem} at byte ${position.byte} (line ${position.line}, column ${position.column}).`, position } });
      for (const name of ['alice', 'bob', 'carol', 'dave', 'eve', 'frank', 'oops']) expect(body).not.toContain(name);
    }
  });
});

describe('findJsonSyntaxError', () => {
  it('agrees with JSON.parse on 10,000 mutated documents, and points inside the text', () => {
    const random = seededRandom(42);
    const pieces = ['{', '}', '[', ']', ',', ':', '"', '\\', '\\u12', '\\n', '-', '0', '01', '1.', '.5', 'e', 'E+', 'true', 'nul', ' ', '\n', '\t', '\u0001', 'é', '\ud83d', 'x'];
    const documents = [JSON.stringify(samples.slice(0, 3)), JSON.stringify({ a: [1, -2.5e-3, 'q"\\/'], b: { c: null, d: true } }), '[]', '{}', '""', '0'];
    let invalid = 0;
    for (let round = 0; round < 10_000; round++) {
      let text = documents[Math.floor(random() * documents.length)] as string;
      const edits = 1 + Math.floor(random() * 3);
      for (let edit = 0; edit < edits; edit++) {
        const at = Math.floor(random() * (text.length + 1));
        const action = random();
        if (action < 0.4) text = text.slice(0, at) + (pieces[Math.floor(random() * pieces.length)] as string) + text.slice(at);
        else if (action < 0.8) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 3));
        else text = text.slice(0, at);
      }
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      const found = findJsonSyntaxError(text);
      if (parses !== (found === undefined)) expect({ text, parses, found }).toBeUndefined();
      if (found !== undefined) {
        invalid++;
        expect(found.byte).toBeLessThanOrEqual(Buffer.byteLength(text));
      }
    }
    expect(invalid).toBeGreaterThan(5_000);
  });
});

describe('POST /v1/archive against the plain directory', () => {
  it('refuses a message of another project or an archived-off channel with 422 naming the field, and answers 503 while the destination is not ready', async () => {
    const setup = await startIntake();
    const otherProject = await setup.post('/v1/archive', withId(email, 'gate-other', { project_id: 'shop' }), blogKey);
    expect(otherProject.status).toBe(422);
    expect(await otherProject.json()).toEqual({
      error: { code: 'invalid_message', message: expect.any(String), reason: 'wrong_project', errors: [{ field: 'project_id', problem: 'must be the project of the API key used: this key belongs to project "blog"' }] },
    });
    const offChannel = await setup.post('/v1/archive', withId(sms, 'gate-sms', { project_id: 'blog' }), blogKey);
    expect(offChannel.status).toBe(422);
    expect(await offChannel.json()).toMatchObject({ error: { reason: 'channel_disabled', errors: [{ field: 'channel' }] } });
    const waiting = await setup.post('/v1/archive', withId(sms, 'gate-wait', { project_id: 'waiting' }), waitingKey);
    expect(waiting.status).toBe(503);
    expect(await waiting.json()).toMatchObject({ error: { code: 'failed_to_archive', kind: 'unreachable', reason: expect.stringContaining('not ready') } });
    const waitingInvalid = await setup.post('/v1/archive', withId(sms, 'gate-wait-bad', { project_id: 'waiting', sent_at: 'now' }), waitingKey);
    expect(waitingInvalid.status).toBe(422);
    expect(await waitingInvalid.json()).toMatchObject({ error: { errors: [{ field: 'sent_at' }] } });
    const orphan = await setup.post('/v1/archive', withId(sms, 'gate-orphan', { project_id: 'orphan' }), orphanKey);
    expect(orphan.status).toBe(409);
    expect(await orphan.json()).toMatchObject({ error: { code: 'no_destination' } });
    expect(storedKeys(setup.archiveRoot)).toEqual([]);
    expect(setup.events.filter((event) => event.type !== 'request')).toEqual([
      { type: 'rejected', project: 'blog', channel: 'email', reason: 'wrong_project' },
      { type: 'rejected', project: 'blog', channel: 'sms', reason: 'channel_disabled' },
      { type: 'gate', project: 'waiting', channel: 'sms', result: 'failed', kind: 'unreachable', seconds: expect.any(Number) },
      { type: 'rejected', project: 'waiting', reason: 'invalid' },
      { type: 'rejected', project: 'orphan', reason: 'no_destination' },
    ]);
  });

  it('answers 502 failed_to_archive, kind unauthorized, when the S3 server refuses the credentials; nothing is stored and no secret is in the answer or the logs', async () => {
    const setup = await startIntake();
    const message = withId(sms, 'gate-s3', { project_id: 's3' });
    const started = Date.now();
    const response = await setup.post('/v1/archive', message, s3Key);
    expect(response.status).toBe(502);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'failed_to_archive', message: expect.any(String), kind: 'unauthorized', reason: expect.any(String) } });
    expect(Date.now() - started).toBeLessThan(10_000);
    const everything = text + JSON.stringify(setup.logs) + JSON.stringify(setup.events);
    for (const secret of [wrongCredentials.secretAccessKey, goodCredentials.secretAccessKey, s3Key, String(sms.to)]) expect(everything).not.toContain(secret);
    expect(s3.server.listKeys(s3.bucket)).toEqual([]);
    const gate = setup.events.find((event) => event.type === 'gate');
    expect(gate).toMatchObject({ type: 'gate', project: 's3', channel: 'sms', result: 'failed', kind: 'unauthorized' });
    expect((gate as { seconds: number }).seconds).toBeGreaterThan(0);
  }, 20_000);
});

describe('keys and leaks', () => {
  it("authenticates only well-formed Bearer headers, answers every failure alike, and never echoes a key, a recipient or another project's data", async () => {
    const setup = await startIntake();
    const shopMessages = sampleMessages({ projectId: 'shop', count: 12, seed: 9 });
    const variants = ['Bearer', `Basic ${Buffer.from(`x:${shopKey}`).toString('base64')}`, `Bearer ${shopKey} extra`, `Bearer ${shopKey.slice(0, -1)}`, shopKey, `Bearer ${blogKey}${shopKey}`];
    const answers = new Set<string>();
    for (const authorization of variants) {
      const response = await fetch(`${setup.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify(shopMessages) });
      expect(response.status).toBe(401);
      answers.add(await response.text());
    }
    expect(answers.size).toBe(1);
    expect([...answers][0]).not.toContain(shopKey.slice(0, 12));
    // The blog key with the shop's messages: every one refused for its project_id; the answer holds none of their content.
    const crossed = await setup.post('/v1/messages', shopMessages, blogKey);
    expect(crossed.status).toBe(422);
    const crossedText = await crossed.text();
    const crossedBody = JSON.parse(crossedText) as { results: { status: string; reason: string; errors: { field: string }[] }[] };
    expect(crossedBody.results).toHaveLength(12);
    for (const result of crossedBody.results) {
      expect(result.status).toBe('rejected');
      expect(result.errors.map((error) => error.field)).toContain(result.reason === 'wrong_project' ? 'project_id' : 'channel');
    }
    const gate = await setup.post('/v1/archive', shopMessages[0], blogKey);
    const gateText = await gate.text();
    const everything = [...answers, crossedText, gateText, JSON.stringify(setup.logs)].join('\n');
    for (const recipient of recipientsOf(shopMessages)) expect(everything).not.toContain(recipient);
    for (const key of [shopKey, blogKey]) expect(everything).not.toContain(key);
    for (const message of shopMessages) if (message.channel === 'email') expect(everything).not.toContain(message.subject);
    expect((await setup.queue.stats()).depth).toBe(0);
    await waitFor(() => setup.events.filter((event) => event.type === 'request').length === 8, 2_000, 'the request events');
    expect(setup.events.filter((event) => event.type === 'request').map((event) => (event as { status: number }).status)).toEqual([401, 401, 401, 401, 401, 401, 422, 422]);
  });
});
