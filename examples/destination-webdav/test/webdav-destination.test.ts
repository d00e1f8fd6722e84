import { createHash, randomBytes } from 'node:crypto';
import { DestinationError } from '@sentcopy/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebdavDestination } from '../src/index.js';
import { createWebdavBackdoor, startWebdavServer, type WebdavTestServer } from './webdav-fixture.js';

let server: WebdavTestServer;
beforeAll(async () => {
  server = await startWebdavServer();
});
afterAll(() => server.stop());

const input = (key: string, body: Uint8Array) => ({ key, body, sha256: createHash('sha256').update(body).digest('hex'), contentType: 'application/octet-stream' });
const temporaryFiles = () => createWebdavBackdoor(server).listKeys('.sentcopy-probe/');
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < 1000 && !done(value); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    value = await read();
  }
  return value;
}

describe('createWebdavDestination', () => {
  it('an upload aborted after it reached the server leaves neither the object nor its temporary file', async () => {
    const destination = createWebdavDestination({ url: server.url, username: server.username, password: server.password });
    // The abort must land while the body is still arriving; should an upload finish first, that attempt proves nothing and another runs.
    let cut = 0;
    for (let attempt = 0; attempt < 3 && cut === 0; attempt++) {
      const key = `cut/short-${attempt}.bin`;
      const controller = new AbortController();
      const pending = destination.put(input(key, new Uint8Array(randomBytes(48 * 1024 * 1024))), { signal: controller.signal }).then(
        () => 'stored',
        () => 'cut',
      );
      expect(await eventually(temporaryFiles, (files) => files.length > 0), 'the upload reached the server under a temporary name').toHaveLength(1);
      controller.abort();
      if ((await pending) === 'stored') continue;
      cut++;
      expect(await eventually(temporaryFiles, (files) => files.length === 0)).toEqual([]);
      expect(await createWebdavBackdoor(server).readObject(key)).toBe(undefined);
    }
    expect(cut).toBe(1);
  });

  it('a write refused because the key is taken removes its temporary file and keeps the first object', async () => {
    const destination = createWebdavDestination({ url: server.url, username: server.username, password: server.password });
    const first = input('taken.json', new TextEncoder().encode('first'));
    await destination.put(first);
    const error = await destination.put(input('taken.json', new TextEncoder().encode('second'))).catch((caught: unknown) => caught);
    expect(DestinationError.isInstance(error) && error.kind).toBe('conflict');
    expect(await eventually(temporaryFiles, (files) => files.length === 0)).toEqual([]);
    expect((await createWebdavBackdoor(server).readObject('taken.json'))?.sha256).toBe(first.sha256);
  });

  it('a key naming a folder is no object: get() finds nothing and delete() leaves the folder and what it holds', async () => {
    const destination = createWebdavDestination({ url: server.url, folder: 'folders', username: server.username, password: server.password });
    await destination.put(input('a/b.json', new TextEncoder().encode('inside')));
    expect(await destination.get('a')).toBe(undefined);
    await destination.delete?.('a');
    expect(await createWebdavBackdoor(server, 'folders/').listKeys('')).toEqual(['a/b.json']);
  });
});
