import { createHash } from 'node:crypto';
import { createArchiver, resolveRetryPolicy, sampleMessages, serializeJson } from '@sentcopy/core';
import { faults, gcsErrorResponse, startFaultProxy, type FaultProxy } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcsDestination, sha256MetadataName } from '../src/index.js';
import { startGcsFixture, type GcsFixture } from './gcs-fixture.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const isUpload = (request: { method: string; url: string }) => request.method === 'POST' && request.url.startsWith('/upload/');
let fixture: GcsFixture;
let proxy: FaultProxy;
beforeAll(async () => {
  fixture = await startGcsFixture();
  proxy = await startFaultProxy({ target: fixture.server.endpoint });
});
afterAll(async () => {
  await proxy.stop();
  await fixture.stop();
});

describe('createArchiver with the GCS destination', () => {
  it('stores every sample message once: exact bytes, recorded SHA-256, decodes to the rendered JSON', async () => {
    const destination = createGcsDestination({ ...fixture.settings, keyPrefix: 'archiver/' });
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
  });

  it('survives two 503 backendError answers with quick inline retries and stores the exact bytes once', async () => {
    const destination = createGcsDestination({ ...fixture.settings, apiEndpoint: proxy.url, keyPrefix: 'archiver-retry/' });
    const policy = resolveRetryPolicy({ outage: { quickInitialDelayMs: 10, quickMaxDelayMs: 40 } });
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, retry: { policy } });
    const rule = proxy.inject(faults.respond(gcsErrorResponse(503, 'backendError', 'Backend Error')), { times: 2, match: isUpload });
    const message = sampleMessages({ projectId: 'acme', count: 1 })[0]!;
    const prepared = await archiver.prepare(message);
    const result = await archiver.archive(message);
    expect({ attempts: result.attempts, created: result.created, hits: rule.hits, uploads: proxy.requests.filter(isUpload).map((request) => request.status) }).toEqual({
      attempts: 3,
      created: true,
      hits: 2,
      uploads: [503, 503, 200],
    });
    expect(fixture.server.listObjects(fixture.bucket).filter((name) => name.startsWith('archiver-retry/'))).toEqual([`archiver-retry/${result.key}`]);
    expect(fixture.server.getObject(fixture.bucket, `archiver-retry/${result.key}`)?.body.equals(Buffer.from(prepared.body))).toBe(true);
  });
});
