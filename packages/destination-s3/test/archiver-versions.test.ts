import { createHash } from 'node:crypto';
import { createArchiver, parseVersionKey, sampleMessages, serializeJson } from '@sentcopy/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Destination } from '../src/index.js';
import { startS3Fixture, type S3Fixture } from './s3-fixture.js';

// Same message id, different content, against the S3 test server (which answers 412 PreconditionFailed
// to If-None-Match: * as S3 does): the first object stays, the second lands under its version key.
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
let fixture: S3Fixture;
beforeAll(async () => {
  fixture = await startS3Fixture();
});
afterAll(async () => {
  await fixture.stop();
});

describe('createArchiver with the S3 destination: a different message under an existing key', () => {
  it('keeps the first object untouched and stores the second as a version next to it, once', async () => {
    const destination = createS3Destination({ ...fixture.settings, keyPrefix: 'versions/' });
    const archiver = createArchiver({ destination, recipientKey: 'sentcopy-test-recipient-key' });
    const email = sampleMessages({ projectId: 'acme', count: 4 }).find((message) => message.channel === 'email')!;
    const second = { ...email, subject: `${String(email.subject)} (corrected)` };
    const first = await archiver.archive(email);
    const firstStored = fixture.server.getObject(fixture.bucket, `versions/${first.key}`)!;
    const firstBytes = Buffer.from(firstStored.body);

    const version = await archiver.archive(second);
    expect(version).toMatchObject({ created: true, version: true, originalKey: first.key });
    expect(parseVersionKey(version.key)?.originalKey).toBe(first.key);
    expect(Buffer.from(fixture.server.getObject(fixture.bucket, `versions/${first.key}`)!.body).equals(firstBytes)).toBe(true);
    const versionStored = fixture.server.getObject(fixture.bucket, `versions/${version.key}`)!;
    expect(sha256(versionStored.body)).toBe(version.sha256);
    const prepared = await archiver.prepare(second);
    expect(Buffer.from(await archiver.codec.decode(versionStored.body)).equals(Buffer.from(serializeJson(archiver.profile.render(prepared.message))))).toBe(true);

    expect(await archiver.archive(second)).toEqual({ ...version, created: false });
    expect(
      fixture.server
        .listKeys(fixture.bucket)
        .filter((key) => key.startsWith('versions/'))
        .sort(),
    ).toEqual([`versions/${first.key}`, `versions/${version.key}`].sort());
    await destination.close?.();
  });
});
