import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { sampleMessages } from '@sentcopy/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsDestination } from '@sentcopy/destination-fs';
import { createEmbeddedQueue, createIntakeServer, hashApiKey, type WorkerConfig } from '../src/index.js';
import { plainDirectory } from './fixtures/intake-directory.js';
import { buildFixture, removeFixture } from './build-fixture.js';
import { storedKeys, waitFor } from './helpers.js';
import { tempFolders } from './temp-folders.js';

// Issue #14, item 1: one odd request line used to take the whole worker down (new URL() threw outside
// the error path). The worker runs as a child process here, so a crash shows as its exit.
const newFolder = tempFolders('request-lines');
const apiKey = 'sc_request_lines_key_000000000000000000000000000';
let fixture: string | undefined;
let worker: { child: ChildProcess; port: number; root: string; exited: Promise<unknown> } | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  fixture = await buildFixture('http-worker-child');
  const folder = newFolder();
  const configFile = path.join(folder, 'sentcopy.config.json');
  const config: WorkerConfig = {
    version: 1,
    destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
    projects: { shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
  };
  writeFileSync(configFile, JSON.stringify(config));
  const port = await freePort();
  const child = fork(fixture, [configFile, String(port)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    void exited.then(() => reject(new Error('The worker exited before it was ready.')));
  });
  worker = { child, port, root: path.join(folder, 'archive'), exited };
}, 60_000);

afterAll(async () => {
  if (worker !== undefined && worker.child.exitCode === null) {
    worker.child.kill('SIGKILL');
    await worker.exited;
  }
  removeFixture(fixture);
});

/** Sends raw bytes on a fresh connection and collects everything the server sends until it closes the connection (or 5 s pass). */
function rawExchange(bytes: string, options: { endAfterWrite?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(worker!.port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(bytes, 'latin1');
    if (options.endAfterWrite === true) socket.end();
  });
}

/** The status code of the first response in `raw`, or 0 when there was none. */
const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
const bodyOf = (raw: string) => raw.slice(raw.indexOf('\r\n\r\n') + 4);

/** Sends a request and lets the connection half-close so the server answers and closes. */
const request = (head: string) => rawExchange(`${head}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);

async function expectAlive(): Promise<void> {
  const answer = await request('GET /healthz HTTP/1.1');
  expect(statusOf(answer)).toBe(200);
  expect(worker!.child.exitCode).toBeNull();
}

describe('request lines the URL parser refuses', () => {
  it('answers every odd request target with 400 or 404 and keeps running and taking messages', async () => {
    const cases: [string, number][] = [
      ['GET // HTTP/1.1', 404],
      ['GET //[ HTTP/1.1', 404],
      ['GET //a:99999/ HTTP/1.1', 404],
      ['GET /\\ HTTP/1.1', 404],
      ['GET /\\\\ HTTP/1.1', 404],
      ['GET //v1/dead-letters HTTP/1.1', 404],
      ['POST //v1/messages HTTP/1.1', 404],
      ['GET http://[::1 HTTP/1.1', 400],
      ['GET http://a:99999/healthz HTTP/1.1', 400],
      ['GET ftp://example.com/healthz HTTP/1.1', 400],
      ['OPTIONS * HTTP/1.1', 400],
      ['GET /v1/dead-letters?cursor=%zz&limit=%ff HTTP/1.1', 401],
      // Absolute-form (RFC 9112 3.2.2) is a valid way to ask for a route.
      ['GET http://127.0.0.1/healthz HTTP/1.1', 200],
    ];
    const answers: Record<string, number> = {};
    for (const [line] of cases) {
      const raw = await request(line);
      answers[line] = statusOf(raw);
      // Every answer is JSON from the intake itself, not a bare close.
      if (answers[line] !== 200) expect(JSON.parse(bodyOf(raw))).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
    expect(answers).toEqual(Object.fromEntries(cases));
    // The crash came about 1.5 s after the request (an unhandled rejection): give it the time to happen.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await expectAlive();
    const messages = sampleMessages({ projectId: 'shop', count: 3, seed: 41 });
    const body = JSON.stringify(messages);
    const accepted = await rawExchange(`POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    expect(statusOf(accepted)).toBe(202);
    await waitFor(() => storedKeys(worker!.root).length === 3, 20_000, 'the three copies');
  }, 60_000);

  it('answers CONNECT, Upgrade and garbage, and survives clients that disconnect mid-body or mid-headers', async () => {
    expect(statusOf(await request('CONNECT 127.0.0.1:22 HTTP/1.1'))).toBe(405);
    expect(statusOf(await rawExchange('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', { endAfterWrite: true }))).toBe(200);
    // Node's own parser answers what is not HTTP at all.
    expect(statusOf(await rawExchange('\u0000\u0001garbage\r\n\r\n'))).toBe(400);
    expect(statusOf(await rawExchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: ${'a'.repeat(20_000)}\r\n\r\n`))).toBe(431);
    // Bodies cut off: the client announces more than it sends, then closes.
    const partial = '[{"version":1,"channel":"sms"';
    for (const route of ['/v1/messages', '/v1/archive', '/v1/dead-letters/replay']) {
      for (const authorization of [`Bearer ${apiKey}`, 'Bearer wrong-key']) {
        const answer = await rawExchange(`POST ${route} HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n${partial}`, { endAfterWrite: true });
        // Unauthenticated requests are answered at once; an authenticated one whose body never completes gets a 400 or just a closed connection.
        if (authorization === 'Bearer wrong-key') expect(statusOf(answer)).toBe(401);
        else expect([0, 400]).toContain(statusOf(answer));
      }
    }
    // Disconnect in the middle of the headers, and right after the request line.
    await rawExchange('POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Ty', { endAfterWrite: true });
    await rawExchange('GET //[ HTTP/1.1\r\n', { endAfterWrite: true });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await expectAlive();
  }, 60_000);

  it('keeps answering when the metrics hook throws: each request gets its usual answer, never an unhandled rejection', async () => {
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    const directory = plainDirectory({ shop: { channels: ['sms'], apiKeys: [apiKey], destination: createFsDestination({ root: newFolder() }) } });
    const logged: string[] = [];
    const intake = createIntakeServer({
      queue,
      directory,
      onEvent: () => {
        throw new Error('metrics hook failed');
      },
      logger: (entry) => logged.push(entry.event),
    });
    const url = await intake.listen(0);
    try {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const refused = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: '[{"version":1}]' });
      expect(refused.status).toBe(422);
      const [sms] = sampleMessages({ projectId: 'shop', count: 8, seed: 43 }).filter((message) => message.channel === 'sms');
      const accepted = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify([sms]) });
      expect(accepted.status).toBe(202);
      expect((await queue.stats()).depth).toBe(1);
      expect(await rawExchangeTo(url, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 405 /);
      expect(logged).toContain('intake.event_failed');
    } finally {
      await intake.close({ graceMs: 100 });
      await queue.close();
    }
  });
});

/** Sends raw bytes to the server at `url` and resolves with what it answers before closing. */
function rawExchangeTo(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(bytes, 'latin1');
  });
}
