import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createS3Destination } from '@sentcopy/destination-s3';
import { startS3Server, type S3TestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messagePath } from '../src/viewer/viewer-context.js';
import { s3Entry, s3Settings } from './ls-fixtures.js';
import { hostileEmail, otherChannelMessages, startMessageViewer, type MessageViewer } from './viewer-message-fixture.js';

let server: S3TestServer;
let bucket: string;
let viewer: MessageViewer;
beforeAll(async () => {
  server = await startS3Server();
  bucket = server.createBucket();
  viewer = await startMessageViewer([hostileEmail('http://127.0.0.1:9'), ...otherChannelMessages('http://127.0.0.1:9')], {
    destination: { create: () => createS3Destination(s3Settings(server.endpoint, bucket)), entry: s3Entry(server.endpoint, bucket) },
  });
});
afterAll(async () => {
  await viewer?.stop();
  await server?.stop();
});

/** The file the S3 test server keeps an object's body in (found by its bytes: the server does not say). */
function bodyFile(body: Buffer): string {
  const walk = (folder: string): string | undefined => {
    for (const name of readdirSync(folder)) {
      const file = path.join(folder, name);
      if (statSync(file).isDirectory()) {
        const found = walk(file);
        if (found !== undefined) return found;
      } else if (statSync(file).size === body.length && readFileSync(file).equals(body)) return file;
    }
    return undefined;
  };
  const found = walk(server.directory);
  if (found === undefined) throw new Error('the object body was not found in the server folder');
  return found;
}

describe('the message page over S3', { timeout: 60_000 }, () => {
  it('serves the exact stored JSON and reports the hashes recorded by S3 and the ledger as matching', async () => {
    const key = viewer.keys.get('m-hostile')!;
    const stored = server.getObject(bucket, key)!;
    const json = Buffer.from(await (await fetch(`${viewer.url}${messagePath('archive', key)}/json`)).arrayBuffer());
    expect(json.equals(gunzipSync(stored.body))).toBe(true);
    const html = await (await fetch(`${viewer.url}${messagePath('archive', key)}`)).text();
    expect(html.match(/<strong class="ok">match<\/strong>/g)?.length).toBe(3);
    expect(html).not.toContain('MISMATCH');
  });

  it('opens an object whose bytes S3 refuses (they fail its checksum) as a corrupt-object page, with its ledger entry', async () => {
    const key = viewer.keys.get('m-sms')!;
    const file = bodyFile(server.getObject(bucket, key)!.body);
    const bytes = readFileSync(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    writeFileSync(file, bytes);
    const before = viewer.events.length;
    const response = await fetch(`${viewer.url}${messagePath('archive', key)}`);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain('This object is corrupt');
    expect(html).toContain('<code>viewer-test</code>');
    expect(viewer.events.slice(before)).toEqual([expect.objectContaining({ action: 'view', what: expect.objectContaining({ corrupt: true }) })]);
    expect((await fetch(`${viewer.url}${messagePath('archive', key)}/json`)).status).toBe(422);
  });
});
