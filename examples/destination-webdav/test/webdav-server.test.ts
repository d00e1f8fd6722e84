import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebdavDestination } from '../src/index.js';
import { startWebdavServer, type WebdavTestServer } from './webdav-fixture.js';

// What the adapter relies on, checked against the server the conformance test uses, with raw requests.
let server: WebdavTestServer;
let authorization: string;
beforeAll(async () => {
  server = await startWebdavServer();
  authorization = `Basic ${Buffer.from(`${server.username}:${server.password}`).toString('base64')}`;
});
afterAll(() => server.stop());

const request = (method: string, path: string, headers: Record<string, string> = {}, body?: string) => fetch(new URL(path, server.url), { method, body, headers: { authorization, ...headers } });

describe('webdav-server 2 (the test server)', () => {
  it('honours MOVE with Overwrite: F atomically: of 50 racing moves onto one name exactly one lands, the others get 412', async () => {
    await Promise.all(Array.from({ length: 50 }, (_, index) => request('PUT', `race-${index}`, {}, `candidate ${index}`)));
    const statuses = await Promise.all(Array.from({ length: 50 }, (_, index) => request('MOVE', `race-${index}`, { destination: new URL('raced', server.url).href, overwrite: 'F' }).then((answer) => answer.status)));
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 412)).toHaveLength(49);
    const winner = statuses.indexOf(201);
    expect(await (await request('GET', 'raced')).text()).toBe(`candidate ${winner}`);
  });

  it('ignores If-None-Match: * on PUT and overwrites (why the adapter uses MOVE, not a conditional PUT)', async () => {
    expect((await request('PUT', 'conditional', { 'if-none-match': '*' }, 'first')).status).toBe(201);
    expect((await request('PUT', 'conditional', { 'if-none-match': '*' }, 'second')).status).toBe(200);
    expect(await (await request('GET', 'conditional')).text()).toBe('second');
  });
});

describe('probe of a WebDAV folder anyone can read', () => {
  it('reports it public and fails, since archived messages hold personal data', async () => {
    const open = await startWebdavServer({ anonymous: true });
    try {
      const probe = await createWebdavDestination({ url: open.url, username: open.username, password: open.password }).probe();
      expect(probe.public).toBe(true);
      expect(probe.ok).toBe(false);
      expect(probe.checks.find((check) => check.name === 'public-access')?.status).toBe('failed');
    } finally {
      await open.stop();
    }
  });
});
