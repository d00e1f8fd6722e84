import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DestinationError, type DestinationV1, type PutObjectInput } from '@sentcopy/core';
import { faults, s3ErrorResponse, startFaultProxy, startS3Server, type FaultProxy } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Destination, sha256MetadataName, type S3DestinationSettings } from '../src/index.js';
import { startS3Fixture, testCredentials, type S3Fixture } from './s3-fixture.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
const input = (key: string, text: string, extra: Partial<PutObjectInput> = {}): PutObjectInput => {
  const body = utf8(text);
  return { key, body, sha256: sha256(body), contentType: 'application/json', ...extra };
};
const kindOf = async (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'fulfilled',
    (error: unknown) => (DestinationError.isInstance(error) ? error.kind : `foreign: ${String(error)}`),
  );
const errorOf = async (promise: Promise<unknown>): Promise<DestinationError> => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!DestinationError.isInstance(error)) throw new Error(`expected a DestinationError, got ${String(error)}`);
  return error;
};

let fixture: S3Fixture;
let lockedFixture: S3Fixture;
let proxy: FaultProxy;
const destinations: DestinationV1[] = [];
const destination = (overrides: Partial<S3DestinationSettings> = {}, base: S3Fixture = fixture): DestinationV1 => {
  const created = createS3Destination({ ...base.settings, ...overrides });
  destinations.push(created);
  return created;
};

beforeAll(async () => {
  fixture = await startS3Fixture();
  lockedFixture = await startS3Fixture({ objectLock: true });
  proxy = await startFaultProxy({ target: fixture.server.endpoint });
});
afterAll(async () => {
  await Promise.all(destinations.map((created) => created.close?.()));
  await proxy.stop();
  await fixture.stop();
  await lockedFixture.stop();
});

describe('createS3Destination against the S3-compatible test server', () => {
  it('identifies itself by bucket and prefix and declares its capabilities', () => {
    const created = destination({ keyPrefix: 'archive' });
    expect({ provider: created.provider, id: created.id, capabilities: created.capabilities }).toEqual({
      provider: 's3',
      id: `s3://${fixture.bucket}/archive/`,
      capabilities: { delete: true, immutability: true, publicAccessCheck: true, maxObjectSize: 5 * 1024 ** 3, versions: 'erasable' },
    });
  });

  it('writes with If-None-Match: *, the SHA-256 as metadata and S3 checksum, and ExpectedBucketOwner on every call', async () => {
    const created = destination({ keyPrefix: 'owner-check/', expectedBucketOwner: fixture.server.accountId });
    const before = fixture.server.requests.length;
    const object = input('2024/a.json.gz', '{"a":1}', { contentEncoding: 'gzip', metadata: { 'sentcopy-channel': 'sms' } });
    expect(await created.put(object)).toEqual({ key: object.key, size: object.body.byteLength, sha256: object.sha256, created: true });
    expect((await created.put(object)).created).toBe(false);
    await created.head(object.key);
    await created.get(object.key);
    await created.list({ prefix: '2024/' });
    await created.probe();

    const stored = fixture.server.getObject(fixture.bucket, 'owner-check/2024/a.json.gz');
    expect({ body: stored?.body.toString(), checksum: stored?.checksumSha256, metadata: stored?.metadata, type: stored?.contentType, encoding: stored?.contentEncoding }).toEqual({
      body: '{"a":1}',
      checksum: Buffer.from(object.sha256, 'hex').toString('base64'),
      metadata: { 'sentcopy-channel': 'sms', [sha256MetadataName]: object.sha256 },
      type: 'application/json',
      encoding: 'gzip',
    });
    const calls = fixture.server.requests.slice(before);
    expect(calls.length).toBeGreaterThanOrEqual(12);
    expect(calls.filter((call) => call.expectedBucketOwner !== fixture.server.accountId)).toEqual([]);
    expect(calls.filter((call) => call.method === 'PUT').map((call) => call.ifNoneMatch)).toEqual(calls.filter((call) => call.method === 'PUT').map(() => '*'));
  });

  it('refuses a bucket owned by another account with unauthorized and stores nothing', async () => {
    const created = destination({ keyPrefix: 'other-owner/', expectedBucketOwner: '999999999999' });
    const error = await errorOf(created.put(input('x', 'x')));
    expect({ kind: error.kind, code: error.code, status: error.status }).toEqual({ kind: 'unauthorized', code: 'AccessDenied', status: 403 });
    expect(fixture.server.listKeys(fixture.bucket).filter((key) => key.startsWith('other-owner/'))).toEqual([]);
    expect((await created.probe()).checks.map((check) => `${check.name}:${check.status}`)).toEqual(['reachable:failed']);
  });

  it('compares with objects written by other tools: by S3 checksum, else by hashing the bytes', async () => {
    const created = destination({ keyPrefix: 'foreign/' });
    const withChecksum = input('with-checksum', 'written elsewhere');
    await fixture.client.send(new PutObjectCommand({ Bucket: fixture.bucket, Key: 'foreign/with-checksum', Body: withChecksum.body, ChecksumSHA256: Buffer.from(withChecksum.sha256, 'hex').toString('base64') }));
    const plain = input('plain', 'no checksum, no metadata');
    await fixture.client.send(new PutObjectCommand({ Bucket: fixture.bucket, Key: 'foreign/plain', Body: plain.body }));

    expect((await created.put(withChecksum)).created).toBe(false);
    expect((await created.put(plain)).created).toBe(false);
    expect(await kindOf(created.put(input('plain', 'other bytes')))).toBe('conflict');
    expect((await created.head('with-checksum'))?.sha256).toBe(withChecksum.sha256);
    expect((await created.head('plain'))?.sha256).toBe(undefined);
    expect((await created.get('plain'))?.sha256).toBe(plain.sha256);
    expect(fixture.server.getObject(fixture.bucket, 'foreign/plain')?.body.toString()).toBe('no checksum, no metadata');
  });

  it('retries 409 ConditionalRequestConflict briefly within put(), then gives up with rate_limited', async () => {
    const viaProxy = destination({ endpoint: proxy.url, keyPrefix: 'conflict-409/' });
    const isPut = (request: { method: string }) => request.method === 'PUT';
    proxy.reset();
    proxy.inject(faults.respond(s3ErrorResponse('ConditionalRequestConflict')), { times: 2, match: isPut });
    const object = input('k', 'after two conflicts');
    expect(await viaProxy.put(object)).toMatchObject({ created: true });
    expect(proxy.requests.filter(isPut).map((request) => request.status)).toEqual([409, 409, 200]);
    expect(fixture.server.getObject(fixture.bucket, 'conflict-409/k')?.body.toString()).toBe('after two conflicts');

    proxy.reset();
    const impatient = destination({ endpoint: proxy.url, keyPrefix: 'conflict-409/', conditionalConflictRetries: 1 });
    proxy.inject(faults.respond(s3ErrorResponse('ConditionalRequestConflict')), { match: isPut });
    const error = await errorOf(impatient.put(input('k2', 'never')));
    expect({ kind: error.kind, code: error.code, puts: proxy.count(isPut) }).toEqual({ kind: 'rate_limited', code: 'ConditionalRequestConflict', puts: 2 });
    proxy.reset();
  });

  it('sends server-side encryption and the storage class', async () => {
    await destination({ keyPrefix: 'sse/', serverSideEncryption: { type: 'AES256' }, storageClass: 'STANDARD_IA' }).put(input('s3', 'sse-s3'));
    await destination({ keyPrefix: 'sse/', serverSideEncryption: { type: 'aws:kms', kmsKeyId: 'alias/sentcopy', bucketKeyEnabled: true } }).put(input('kms', 'sse-kms'));
    const s3 = fixture.server.getObject(fixture.bucket, 'sse/s3');
    const kms = fixture.server.getObject(fixture.bucket, 'sse/kms');
    expect([s3?.serverSideEncryption, s3?.storageClass, s3?.kmsKeyId]).toEqual(['AES256', 'STANDARD_IA', undefined]);
    expect([kms?.serverSideEncryption, kms?.kmsKeyId, kms?.bucketKeyEnabled, kms?.storageClass]).toEqual(['aws:kms', 'alias/sentcopy', true, 'STANDARD']);
  });

  it('applies Object Lock retention and legal hold with the checksum they require, and cannot delete such objects', async () => {
    const created = destination({ objectLock: { mode: 'COMPLIANCE', retentionDays: 30, legalHold: true } }, lockedFixture);
    const started = Date.now();
    await created.put(input('locked', 'immutable'));
    const stored = lockedFixture.server.getObject(lockedFixture.bucket, 'locked');
    expect({ mode: stored?.objectLockMode, hold: stored?.legalHold, checksum: stored?.checksumSha256 !== undefined }).toEqual({ mode: 'COMPLIANCE', hold: 'ON', checksum: true });
    const retainMs = (stored?.retainUntil?.getTime() ?? 0) - started;
    expect(Math.abs(retainMs - 30 * 86_400_000)).toBeLessThan(60_000);
    expect(await kindOf(created.delete!('locked'))).toBe('unauthorized');
    expect(lockedFixture.server.getObject(lockedFixture.bucket, 'locked')?.body.toString()).toBe('immutable');
    expect((await created.probe()).ok).toBe(true);

    const holdOnly = destination({ objectLock: { legalHold: true } }, lockedFixture);
    await holdOnly.put(input('held', 'held'));
    expect([lockedFixture.server.getObject(lockedFixture.bucket, 'held')?.legalHold, lockedFixture.server.getObject(lockedFixture.bucket, 'held')?.objectLockMode]).toEqual(['ON', undefined]);

    const error = await errorOf(destination({ keyPrefix: 'no-lock/', objectLock: { mode: 'GOVERNANCE', retentionDays: 1 } }).put(input('x', 'x')));
    expect({ kind: error.kind, code: error.code, message: error.message }).toMatchObject({ kind: 'invalid', code: 'InvalidRequest', message: expect.stringContaining('Object Lock') });
  });

  it('eraseVersions(): on a versioned bucket deletes every version and delete marker of exactly that key, under the key prefix; a locked version is held with its error; absent keys have none', async () => {
    const bucket = fixture.server.createBucket(undefined, { objectLock: true, versioning: true });
    const created = destination({ bucket, keyPrefix: 'p/' });
    const held = destination({ bucket, keyPrefix: 'p/', objectLock: { legalHold: true } });
    await created.put(input('a', 'first'));
    await created.delete!('a');
    await created.put(input('a', 'second'));
    await created.put(input('a2', 'a neighbour sharing the prefix'));
    await held.put(input('h', 'held'));
    const versionsOf = (key: string) => fixture.server.listVersions(bucket).filter((version) => version.key === key);
    expect(versionsOf('p/a').map((version) => [version.deleteMarker, version.isLatest])).toEqual([
      [false, true],
      [true, false],
      [false, false],
    ]);

    const result = await created.eraseVersions!('a');
    expect(result.complete).toBe(true);
    expect(result.versions.map(({ type, current, outcome }) => [type, current, outcome])).toEqual([
      ['version', false, 'erased'],
      ['delete_marker', false, 'erased'],
      ['version', true, 'erased'],
    ]);
    expect(versionsOf('p/a')).toEqual([]);
    expect(versionsOf('p/a2').map((version) => version.body?.toString())).toEqual(['a neighbour sharing the prefix']);

    const locked = await created.eraseVersions!('h');
    expect(locked.complete).toBe(false);
    expect(locked.versions.map(({ current, outcome, error }) => ({ current, outcome, kind: error?.kind, message: error?.message }))).toEqual([
      { current: true, outcome: 'held', kind: 'unauthorized', message: expect.stringContaining('object lock') },
    ]);
    expect(versionsOf('p/h').map((version) => [version.deleteMarker, version.body?.toString()])).toEqual([[false, 'held']]);
    expect(await created.eraseVersions!('never-written')).toEqual({ key: 'never-written', versions: [], complete: true });
  });

  it('validates settings, keys, metadata and the claimed SHA-256 before sending anything', async () => {
    expect(() => createS3Destination({ ...fixture.settings, bucket: '' })).toThrow(/needs a bucket/);
    expect(() => createS3Destination({ ...fixture.settings, objectLock: { mode: 'COMPLIANCE' } })).toThrow(/go together/);
    expect(() => createS3Destination({ ...fixture.settings, keyPrefix: '../up' })).toThrow(/keyPrefix/);
    const created = destination({ keyPrefix: 'p'.repeat(100) });
    const before = fixture.server.requests.length;
    const cases = [
      input('k'.repeat(1000), 'prefix plus key exceed 1024 bytes'),
      input('m', 'x', { metadata: { 'Upper-Case': 'x' } }),
      input('m', 'x', { metadata: { [sha256MetadataName]: 'forged' } }),
      input('m', 'x', { metadata: { note: 'naïve' } }),
      input('m', 'x', { metadata: { note: ' padded ' } }),
      input('m', 'x', { metadata: { big: 'x'.repeat(2000) } }),
      { ...input('m', 'x'), sha256: sha256(utf8('y')) },
      input('m', 'x', { contentType: '' }),
      input('.sentcopy-probe/x', 'reserved for probe objects'),
    ];
    const kinds = await Promise.all(cases.map((object) => kindOf(created.put(object))));
    expect(kinds).toEqual(cases.map(() => 'invalid'));
    expect(fixture.server.requests.length).toBe(before);
  });

  it('maps store-side refusals: a missing bucket, a too-large object, a wrong secret, a foreign cursor', async () => {
    const missing = destination({ bucket: 'no-such-bucket-here' });
    expect(await kindOf(missing.put(input('x', 'x')))).toBe('invalid');
    const probe = await missing.probe();
    expect({ ok: probe.ok, checks: probe.checks.map((check) => `${check.name}:${check.status}`), detail: probe.checks[0]?.detail }).toEqual({
      ok: false,
      checks: ['reachable:failed'],
      detail: expect.stringContaining('does not exist'),
    });

    const small = await startS3Server({ maxObjectSize: 10 });
    try {
      const bucket = small.createBucket();
      const tooLarge = await errorOf(destination({ endpoint: small.endpoint, bucket }).put(input('big', 'more than ten bytes')));
      expect({ kind: tooLarge.kind, code: tooLarge.code }).toEqual({ kind: 'invalid', code: 'EntityTooLarge' });
    } finally {
      await small.stop();
    }

    const wrongSecret = destination({ credentials: { accessKeyId: testCredentials.accessKeyId, secretAccessKey: 'wrong-secret-value-0123456789abcdefghijkl' } });
    const denied = await errorOf(wrongSecret.put(input('y', 'y')));
    expect({ kind: denied.kind, code: denied.code, leaks: `${denied.message} ${String(denied.cause)}`.includes('wrong-secret') }).toEqual({ kind: 'unauthorized', code: 'SignatureDoesNotMatch', leaks: false });
    expect(await kindOf(destination().list({ cursor: 'bm90IGEgY3Vyc29y' }))).toBe('invalid');
    expect(await kindOf(destination().list({ limit: 0 }))).toBe('invalid');
  });

  it('lists below the key prefix only, strips it, and pages with cursors', async () => {
    const created = destination({ keyPrefix: 'listing/' });
    await destination({ keyPrefix: 'listing-sibling/' }).put(input('a', 'not mine'));
    await fixture.client.send(new PutObjectCommand({ Bucket: fixture.bucket, Key: 'listing/.sentcopy-probe/left-by-a-crashed-probe', Body: 'x' }));
    await fixture.client.send(new PutObjectCommand({ Bucket: fixture.bucket, Key: 'listing/a//b', Body: 'unaddressable' }));
    for (const key of ['b', 'a/2', 'a/1', 'c']) await created.put(input(key, key));
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await created.list({ limit: 3, cursor });
      pages.push(page.objects.map((object) => object.key));
      cursor = page.cursor;
    } while (cursor !== undefined);
    // The first page of three holds the probe leftover and `a//b`, both left out.
    expect(pages).toEqual([['a/1'], ['a/2', 'b', 'c']]);
    expect((await created.list({ prefix: 'a/' })).objects.map((object) => [object.key, object.size])).toEqual([
      ['a/1', 3],
      ['a/2', 3],
    ]);
  });

  it('deletes objects; deleting an absent key is fine', async () => {
    const created = destination({ keyPrefix: 'delete/' });
    await created.put(input('d', 'bye'));
    await created.delete!('d');
    await created.delete!('d');
    expect([await created.head('d'), fixture.server.getObject(fixture.bucket, 'delete/d')]).toEqual([undefined, undefined]);
    expect((await created.put(input('d', 'again'))).created).toBe(true);
  });
});

describe('probe()', () => {
  const summary = (result: Awaited<ReturnType<DestinationV1['probe']>>) => ({
    ok: result.ok,
    public: result.public,
    checks: result.checks.map((check) => `${check.name}:${check.status}`),
  });

  it('passes a private bucket: reachable, write, write-once, read, delete, public-access; leaves nothing behind', async () => {
    const created = destination({ keyPrefix: 'probe-private/' });
    expect(summary(await created.probe())).toEqual({
      ok: true,
      public: false,
      checks: ['reachable:passed', 'write:passed', 'write-once:passed', 'read:passed', 'delete:passed', 'public-access:passed'],
    });
    expect(fixture.server.listKeys(fixture.bucket).filter((key) => key.startsWith('probe-private/'))).toEqual([]);
  });

  it('writes with the Object Lock settings it will archive with: a bucket without Object Lock fails the probe, a locked one passes and is left clean', async () => {
    const settings = { objectLock: { mode: 'COMPLIANCE' as const, retentionDays: 30, legalHold: true } };
    const refused = await destination({ keyPrefix: 'probe-no-lock/', ...settings }).probe();
    expect(summary(refused)).toMatchObject({ ok: false, checks: expect.arrayContaining(['write:passed', 'object-lock:failed']) });
    expect(refused.checks.find((check) => check.name === 'object-lock')?.detail).toMatch(/no Object Lock configuration.*remove objectLock/);
    expect(fixture.server.listKeys(fixture.bucket).filter((key) => key.startsWith('probe-no-lock/'))).toEqual([]);

    const passed = await destination({ keyPrefix: 'probe-lock/', ...settings }, lockedFixture).probe();
    expect(summary(passed)).toMatchObject({ ok: true, checks: expect.arrayContaining(['object-lock:passed', 'delete:passed']) });
    expect(lockedFixture.server.listKeys(lockedFixture.bucket).filter((key) => key.startsWith('probe-lock/'))).toEqual([]);
  });

  it('refuses a bucket whose policy is public, unless allowPublicBucket is set', async () => {
    const server = await startS3Server();
    try {
      const bucket = server.createBucket(undefined, { policyStatus: { isPublic: true } });
      const settings = { ...fixture.settings, endpoint: server.endpoint, bucket };
      const refused = await destination(settings).probe();
      expect(summary(refused)).toMatchObject({ ok: false, public: true });
      expect(refused.checks.at(-1)).toMatchObject({ name: 'public-access', status: 'failed', detail: expect.stringContaining('bucket policy grants public access') });
      const allowed = await destination({ ...settings, allowPublicBucket: true }).probe();
      expect(summary(allowed)).toMatchObject({ ok: true, public: true });
      expect(allowed.checks.at(-1)?.detail).toContain('allowPublicBucket');

      server.configureBucket(bucket, { publicGrants: [{ group: 'AllUsers', permission: 'READ' }] });
      const byAcl = await destination(settings).probe();
      expect({ ...summary(byAcl), detail: byAcl.checks.at(-1)?.detail }).toMatchObject({ ok: false, public: true, detail: expect.stringContaining('AllUsers') });

      const blocked = { blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: true, restrictPublicBuckets: true };
      server.configureBucket(bucket, { policyStatus: { isPublic: true }, publicGrants: [{ group: 'AuthenticatedUsers', permission: 'READ' }], publicAccessBlock: blocked });
      expect(summary(await destination(settings).probe())).toMatchObject({ ok: true, public: false });
    } finally {
      await server.stop();
    }
  });

  it('reports public-access checks a server does not implement as unsupported, not as a crash', async () => {
    const server = await startS3Server({ unsupported: ['policyStatus', 'publicAccessBlock', 'acl'] });
    try {
      const result = await destination({ ...fixture.settings, endpoint: server.endpoint, bucket: server.createBucket() }).probe();
      expect(summary(result)).toEqual({
        ok: true,
        public: 'unknown',
        checks: ['reachable:passed', 'write:passed', 'write-once:passed', 'read:passed', 'delete:passed', 'public-access:unsupported'],
      });
      expect(result.checks.at(-1)?.detail).toMatch(/GetBucketPolicyStatus is not supported by this server \(NotImplemented\).*GetBucketAcl is not supported/);
    } finally {
      await server.stop();
    }
  });

  it('fails the write-once check on a store that ignores If-None-Match (as s3rver does), and cleans up', async () => {
    const server = await startS3Server({ conditionalWrites: 'ignore' });
    try {
      const bucket = server.createBucket();
      const result = await destination({ ...fixture.settings, endpoint: server.endpoint, bucket }).probe();
      expect(summary(result)).toMatchObject({ ok: false, checks: expect.arrayContaining(['write-once:failed', 'delete:passed']) });
      expect(result.checks.find((check) => check.name === 'write-once')?.detail).toContain('cannot be guaranteed');
      expect(server.listKeys(bucket)).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it('rejects an already aborted probe', async () => {
    const result = await destination()
      .probe({ signal: AbortSignal.abort() })
      .then(
        () => 'resolved',
        (error: Error) => error.name,
      );
    expect(result).toBe('AbortError');
  });
});
