import { createHash } from 'node:crypto';
import { createArchiver, resolveRetryPolicy, sampleMessages, serializeJson } from '@sentcopy/core';
import { faults, s3ErrorResponse, startFaultProxy, type FaultProxy } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Destination, sha256MetadataName } from '../src/index.js';
import { startS3Fixture, type S3Fixture } from './s3-fixture.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
let fixture: S3Fixture;
let proxy: FaultProxy;
beforeAll(async () => {
  fixture = await startS3Fixture();
  proxy = await startFaultProxy({ target: fixture.server.endpoint });
});
afterAll(async () => {
  await proxy.stop();
  await fixture.stop();
});

describe('createArchiver with the S3 destination', () => {
  it('stores every sample message once: exact bytes, recorded SHA-256, decodes to the rendered JSON', async () => {
    const destination = createS3Destination({ ...fixture.settings, keyPrefix: 'archiver/' });
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination });
    for (const message of sampleMessages({ projectId: 'acme', count: 8 })) {
      const result = await archiver.archive(message);
      const stored = fixture.server.getObject(fixture.bucket, `archiver/${result.key}`);
      expect({ created: result.created, sha: stored && sha256(stored.body), recorded: stored?.metadata[sha256MetadataName], type: stored?.contentType }).toEqual({
        created: true,
        sha: result.sha256,
        recorded: result.sha256,
        type: archiver.codec.contentType,
      });
      const json = await archiver.codec.decode(stored!.body);
      expect(Buffer.from(json).equals(Buffer.from(serializeJson(archiver.profile.render(message))))).toBe(true);
      expect((await archiver.archive(structuredClone(message))).created).toBe(false);
    }
    await destination.close?.();
  });

  it('retries SlowDown inline and stores the message exactly once', async () => {
    const destination = createS3Destination({ ...fixture.settings, endpoint: proxy.url, keyPrefix: 'archiver-retry/' });
    const policy = resolveRetryPolicy({ rateLimited: { initialDelayMs: 20, maxDelayMs: 50 } });
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, retry: { policy } });
    proxy.inject(faults.respond(s3ErrorResponse('SlowDown')), { times: 2, match: (request) => request.method === 'PUT' });
    const result = await archiver.archive(sampleMessages({ projectId: 'acme', count: 1 })[0]!);
    expect({ attempts: result.attempts, created: result.created }).toEqual({ attempts: 3, created: true });
    expect(fixture.server.listKeys(fixture.bucket).filter((key) => key.startsWith('archiver-retry/'))).toEqual([`archiver-retry/${result.key}`]);
    await destination.close?.();
  });
});
