import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createArchiver, sampleMessages, serializeJson } from '@sentcopy/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Destination, sha256MetadataName, type S3DestinationSettings } from '../src/index.js';

// A cross-check against an S3 implementation we did not write (s3rver 3.7, run as its own process):
// the adapter's requests must work there too, and its probe must notice that s3rver overwrites
// despite If-None-Match (see TESTING.md), which is why write-once itself is proven against @sentcopy/test-servers.
const bucket = `interop-${process.pid}`;
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
let server: ChildProcess;
let directory: string;
let settings: S3DestinationSettings;
let raw: S3Client;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

beforeAll(async () => {
  directory = mkdtempSync(path.join(tmpdir(), 'sentcopy-s3rver-'));
  const port = await freePort();
  const bin = path.join(path.dirname(createRequire(import.meta.url).resolve('s3rver/package.json')), 'bin', 's3rver.js');
  // --openssl-legacy-provider: s3rver's continuation tokens use DES.
  server = spawn(process.execPath, ['--openssl-legacy-provider', bin, '-d', directory, '-a', '127.0.0.1', '-p', String(port), '--configure-bucket', bucket], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening')) resolve();
    };
    server.stdout!.on('data', onData);
    server.stderr!.on('data', onData);
    server.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${output}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  settings = { bucket, region: 'us-east-1', endpoint, forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED' };
  raw = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED' });
});

afterAll(() => {
  raw?.destroy();
  server?.kill('SIGKILL');
  rmSync(directory, { recursive: true, force: true });
});

describe('destination-s3 against s3rver', () => {
  it('stores archived messages that read back byte for byte with their metadata', async () => {
    const destination = createS3Destination({ ...settings, keyPrefix: 'archive/' });
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, profile: 'braze', retry: false });
    for (const message of sampleMessages({ projectId: 'acme', count: 8 })) {
      const result = await archiver.archive(message);
      const answer = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: `archive/${result.key}` }));
      const bytes = await answer.Body!.transformToByteArray();
      expect({ sha: sha256(bytes), recorded: answer.Metadata?.[sha256MetadataName], encoding: answer.ContentEncoding, type: answer.ContentType }).toEqual({
        sha: result.sha256,
        recorded: result.sha256,
        encoding: 'gzip',
        type: 'application/json',
      });
      expect(Buffer.from(await archiver.codec.decode(bytes)).equals(Buffer.from(serializeJson(archiver.profile.render(message))))).toBe(true);
      expect((await destination.head(result.key))?.sha256).toBe(result.sha256);
      expect((await destination.get(result.key))?.body).toEqual(bytes);
    }
    await destination.close?.();
  });

  it('lists every key across pages', async () => {
    const destination = createS3Destination({ ...settings, keyPrefix: 'list/' });
    const written = new Set<string>();
    for (let index = 0; index < 25; index++) {
      const body = new TextEncoder().encode(`object ${index}`);
      const key = `k/${String(index).padStart(2, '0')}.txt`;
      await destination.put({ key, body, sha256: sha256(body), contentType: 'text/plain' });
      written.add(key);
    }
    const listed: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await destination.list({ prefix: 'k/', limit: 10, cursor });
      listed.push(...page.objects.map((object) => object.key));
      cursor = page.cursor;
      pages++;
    } while (cursor !== undefined);
    // s3rver does not list in S3's byte order for every key shape, so only the set is compared here.
    expect(new Set(listed)).toEqual(written);
    expect(listed).toHaveLength(25);
    expect(pages).toBe(3);
    await destination.close?.();
  });

  it('probe refuses a store that overwrites despite If-None-Match', async () => {
    const destination = createS3Destination(settings);
    const result = await destination.probe();
    expect(result.ok).toBe(false);
    expect(result.checks.find((check) => check.name === 'write-once')).toMatchObject({ status: 'failed' });
    expect(result.checks.find((check) => check.name === 'write')).toMatchObject({ status: 'passed' });
    await destination.close?.();
  });
});
