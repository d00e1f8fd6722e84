import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DestinationError, type DestinationV1, type PutObjectInput } from '@sentcopy/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcsDestination } from '../src/index.js';
import { startGcsFixture, type GcsFixture } from './gcs-fixture.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const input = (key: string, body: Uint8Array | string, extra: Partial<PutObjectInput> = {}): PutObjectInput => {
  const bytes = typeof body === 'string' ? new Uint8Array(Buffer.from(body, 'utf8')) : body;
  return { key, body: bytes, sha256: sha256(bytes), contentType: 'application/json', ...extra };
};
const errorOf = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => 'fulfilled',
    (error: unknown) => error,
  );
const kindOf = async (promise: Promise<unknown>): Promise<string> => {
  const error = await errorOf(promise);
  return DestinationError.isInstance(error) ? error.kind : String(error);
};

let fixture: GcsFixture;
let destination: DestinationV1;
beforeAll(async () => {
  fixture = await startGcsFixture();
  destination = createGcsDestination({ ...fixture.settings, keyPrefix: 'unit/' });
});
afterAll(() => fixture.stop());

describe('write-once with ifGenerationMatch=0', () => {
  it('sends one multipart upload with ifGenerationMatch=0, the SHA-256 as metadata, md5Hash, and exact gzip bytes', async () => {
    const body = gzipSync(Buffer.from('{"hello":"world"}'));
    const result = await destination.put(input('a/one.json.gz', body, { contentEncoding: 'gzip', metadata: { channel: 'sms' } }));
    expect(result).toEqual({ key: 'a/one.json.gz', size: body.length, sha256: sha256(body), created: true });
    const stored = fixture.server.getObject(fixture.bucket, 'unit/a/one.json.gz');
    expect({ body: stored?.body.equals(body), contentType: stored?.contentType, contentEncoding: stored?.contentEncoding, metadata: stored?.metadata }).toEqual({
      body: true,
      contentType: 'application/json',
      contentEncoding: 'gzip',
      metadata: { channel: 'sms', 'sentcopy-sha256': sha256(body) },
    });
    const upload = fixture.server.requests.find((request) => request.object === 'unit/a/one.json.gz' && request.method === 'POST');
    expect(upload && { uploadType: upload.uploadType, ifGenerationMatch: upload.query.ifGenerationMatch, status: upload.status }).toEqual({ uploadType: 'multipart', ifGenerationMatch: '0', status: 200 });
    // get() returns the gzip bytes as stored: the SDK must not decompress them.
    const got = await destination.get('a/one.json.gz');
    expect({ same: Buffer.from(got?.body ?? []).equals(body), sha256: got?.sha256, encoding: got?.contentEncoding, metadata: got?.metadata }).toEqual({ same: true, sha256: sha256(body), encoding: 'gzip', metadata: { channel: 'sms' } });
  });

  it('a repeated put of the same bytes is created: false; different bytes are a conflict and the first bytes stay', async () => {
    await destination.put(input('b/k', 'first'));
    const generation = fixture.server.getObject(fixture.bucket, 'unit/b/k')?.generation;
    expect((await destination.put(input('b/k', 'first'))).created).toBe(false);
    const conflict = await errorOf(destination.put(input('b/k', 'second')));
    expect(DestinationError.isInstance(conflict) && { kind: conflict.kind, status: conflict.status, code: conflict.code }).toEqual({ kind: 'conflict', status: 412, code: 'conditionNotMet' });
    const stored = fixture.server.getObject(fixture.bucket, 'unit/b/k');
    expect({ body: stored?.body.toString(), generation: stored?.generation }).toEqual({ body: 'first', generation });
  });

  it('an object written by another tool without a recorded SHA-256 is compared by hashing its bytes', async () => {
    fixture.server.putObject(fixture.bucket, 'unit/c/foreign', Buffer.from('foreign bytes'), { contentType: 'text/plain' });
    expect((await destination.put(input('c/foreign', 'foreign bytes'))).created).toBe(false);
    expect(await kindOf(destination.put(input('c/foreign', 'other bytes')))).toBe('conflict');
    expect((await destination.head('c/foreign'))?.sha256).toBe(undefined);
    expect((await destination.get('c/foreign'))?.sha256).toBe(sha256(Buffer.from('foreign bytes')));
  });

  it('refuses a wrong sha256, reserved metadata, bad metadata and invalid keys before sending anything', async () => {
    const before = fixture.server.requests.length;
    const cases = [
      destination.put({ ...input('d/x', 'body'), sha256: '0'.repeat(64) }),
      destination.put(input('d/x', 'body', { metadata: { 'sentcopy-sha256': 'x' } })),
      destination.put(input('d/x', 'body', { metadata: { Upper: 'x' } })),
      destination.put(input('d/x', 'body', { metadata: { big: 'x'.repeat(9000) } })),
      destination.put(input('../x', 'body')),
      destination.put(input('.sentcopy-probe/x', 'body')),
    ];
    expect(await Promise.all(cases.map(kindOf))).toEqual(['invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'invalid']);
    expect(fixture.server.requests.length).toBe(before);
  });

  it('lists with prefix and cursor, skipping probe leftovers; head and delete', async () => {
    for (const name of ['e/1', 'e/2', 'e/3']) await destination.put(input(name, name));
    fixture.server.putObject(fixture.bucket, 'unit/.sentcopy-probe/leftover', Buffer.from('x'));
    const first = await destination.list({ prefix: 'e/', limit: 2 });
    const second = await destination.list({ prefix: 'e/', limit: 2, cursor: first.cursor });
    expect([first.objects.map((object) => object.key), typeof first.cursor, second.objects.map((object) => object.key), second.cursor]).toEqual([['e/1', 'e/2'], 'string', ['e/3'], undefined]);
    expect((await destination.list({ prefix: '.sentcopy' })).objects).toEqual([]);
    const info = await destination.head('e/2');
    expect(info && { key: info.key, size: info.size, sha256: info.sha256, type: info.contentType, dated: info.lastModified instanceof Date }).toEqual({
      key: 'e/2',
      size: 3,
      sha256: sha256(Buffer.from('e/2')),
      type: 'application/json',
      dated: true,
    });
    await destination.delete?.('e/2');
    await destination.delete?.('e/2');
    expect([await destination.head('e/2'), await destination.get('e/2'), fixture.server.getObject(fixture.bucket, 'unit/e/2')]).toEqual([undefined, undefined, undefined]);
  });

  it('a missing bucket is invalid with a clear message', async () => {
    const missing = createGcsDestination({ ...fixture.settings, bucket: 'no-such-bucket-here' });
    const error = await errorOf(missing.put(input('k', 'x')));
    expect(DestinationError.isInstance(error) && [error.kind, error.status]).toEqual(['invalid', 404]);
    expect((error as Error).message).toContain('the bucket does not exist');
  });

  it('refuses bad settings naming the field', () => {
    const attempts: [Record<string, unknown>, RegExp][] = [
      [{ bucket: '' }, /bucket/],
      [{ bucket: 'ok-bucket', retention: { retentionDays: 0 } }, /retention\.retentionDays/],
      [{ bucket: 'ok-bucket', retention: { retentionDays: 1, mode: 'Forever' } }, /retention\.mode/],
      [{ bucket: 'ok-bucket', kmsKeyName: 'my-key' }, /kmsKeyName/],
      [{ bucket: 'ok-bucket', credentials: { client_email: 'a@b', private_key: 'x' }, keyFilename: '/k.json' }, /credentials and keyFilename/],
      [{ bucket: 'ok-bucket', credentials: { client_email: 'a@b', private_key: 'not a key' } }, /credentials\.private_key/],
      [{ bucket: 'ok-bucket', keyPrefix: 'a/../b' }, /keyPrefix/],
      [{ bucket: 'ok-bucket', sdkMaxRetries: -1 }, /sdkMaxRetries/],
    ];
    const messages = attempts.map(([settings]) => {
      try {
        createGcsDestination(settings as never);
        return 'created';
      } catch (error) {
        return DestinationError.isInstance(error) && error.kind === 'invalid' ? error.message : String(error);
      }
    });
    attempts.forEach(([, pattern], index) => expect(messages[index]).toMatch(pattern));
  });
});

describe('retention, holds, KMS key and storage class reach the object', () => {
  it('stores retention (retainUntilTime = now + days), holds, the KMS key and the class; the probe object gets none of retention and holds', async () => {
    const locked = await startGcsFixture({ bucket: { objectRetention: true } });
    try {
      const kmsKeyName = 'projects/p/locations/europe-west1/keyRings/sentcopy/cryptoKeys/archive';
      const archived = createGcsDestination({ ...locked.settings, retention: { retentionDays: 30, mode: 'Locked' }, eventBasedHold: true, temporaryHold: true, kmsKeyName, storageClass: 'NEARLINE' });
      const before = Date.now();
      await archived.put(input('r/k', 'retained'));
      const stored = locked.server.getObject(locked.bucket, 'r/k');
      const until = new Date(stored?.retention?.retainUntilTime ?? 0).getTime();
      expect({ mode: stored?.retention?.mode, holds: [stored?.eventBasedHold, stored?.temporaryHold], kms: stored?.kmsKeyName, storageClass: stored?.storageClass }).toEqual({
        mode: 'Locked',
        holds: [true, true],
        kms: `${kmsKeyName}/cryptoKeyVersions/1`,
        storageClass: 'NEARLINE',
      });
      expect(until >= before + 30 * 86_400_000 - 1000 && until <= Date.now() + 30 * 86_400_000 + 1000).toBe(true);
      expect(locked.server.requests.find((request) => request.object === 'r/k' && request.method === 'POST')?.query.kmsKeyName).toBe(kmsKeyName);
      const probe = await archived.probe();
      expect(probe.checks.map((check) => [check.name, check.status])).toEqual([
        ['reachable', 'passed'],
        ['write', 'passed'],
        ['write-once', 'passed'],
        ['retention', 'passed'],
        ['read', 'passed'],
        ['delete', 'passed'],
        ['public-access', 'passed'],
      ]);
      // The retention probe object was removed once its two seconds had passed.
      expect(locked.server.listObjects(locked.bucket).filter((name) => name.includes('.sentcopy-probe/'))).toEqual([]);
      // A retained object cannot be removed: the server refuses, as GCS does.
      expect(await kindOf(archived.delete!('r/k'))).toBe('unauthorized');
    } finally {
      await locked.stop();
    }
  });

  it('retention on a bucket without object retention is refused by GCS as invalid', async () => {
    const plain = createGcsDestination({ ...fixture.settings, retention: { retentionDays: 1 } });
    const error = await errorOf(plain.put(input('r/plain', 'x')));
    expect(DestinationError.isInstance(error) && [error.kind, error.status, error.code]).toEqual(['invalid', 400, 'invalid']);
    expect((error as Error).message).toMatch(/Object retention is not enabled/);
    // The probe writes with the same retention, so it finds this before any message is archived.
    const probe = await plain.probe();
    expect({ ok: probe.ok, retention: probe.checks.find((check) => check.name === 'retention')?.status }).toEqual({ ok: false, retention: 'failed' });
    expect(probe.checks.find((check) => check.name === 'retention')?.detail).toMatch(/Object retention is not enabled.*enable-per-object-retention/);
  });
});

describe('credentials', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const clientEmail = 'sentcopy-test@sentcopy-test.iam.gserviceaccount.com';
  const universeDomain = 'sentcopy.test';
  let secured: GcsFixture;
  beforeAll(async () => {
    secured = await startGcsFixture({ authentication: { serviceAccounts: [{ clientEmail, publicKey }] } });
  });
  afterAll(() => secured.stop());

  it('inline service-account credentials sign every request; the server verifies the RS256 token against the public key', async () => {
    // Outside googleapis.com the auth library signs its own JWT instead of fetching an OAuth token, so no network is needed.
    const inline = createGcsDestination({ ...secured.settings, universeDomain, credentials: { client_email: clientEmail, private_key: privateKey.replace(/\n/g, '\\n'), universe_domain: universeDomain } });
    await inline.put(input('auth/k', 'signed'));
    expect((await inline.get('auth/k'))?.body).toEqual(new Uint8Array(Buffer.from('signed')));
    const seen = secured.server.requests.filter((request) => request.object === 'auth/k');
    expect(seen.map((request) => [request.method, request.authorization, request.principal, request.status])).toEqual([
      ['POST', 'Bearer', clientEmail, 200],
      ['GET', 'Bearer', clientEmail, 200],
      ['GET', 'Bearer', clientEmail, 200],
    ]);
  });

  it('a key file works the same way', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'sentcopy-gcs-key-'));
    const keyFilename = join(folder, 'key.json');
    writeFileSync(keyFilename, JSON.stringify({ type: 'service_account', client_email: clientEmail, private_key: privateKey, private_key_id: 'k1', project_id: 'sentcopy-test', universe_domain: universeDomain }));
    const fromFile = createGcsDestination({ ...secured.settings, universeDomain, keyFilename });
    await fromFile.put(input('auth/file', 'from a key file'));
    expect(secured.server.requests.filter((request) => request.object === 'auth/file').map((request) => request.principal)).toEqual([clientEmail]);
  });

  it('no credentials, or a key the server does not know, is unauthorized and stores nothing', async () => {
    const anonymous = createGcsDestination(secured.settings);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const impostor = createGcsDestination({ ...secured.settings, universeDomain, credentials: { client_email: clientEmail, private_key: other.privateKey, universe_domain: universeDomain } });
    const errors = [await errorOf(anonymous.put(input('auth/none', 'x'))), await errorOf(impostor.put(input('auth/none', 'x')))];
    expect(errors.map((error) => DestinationError.isInstance(error) && [error.kind, error.status])).toEqual([
      ['unauthorized', 401],
      ['unauthorized', 401],
    ]);
    for (const error of errors) expect(`${(error as Error).message} ${String((error as Error).cause)}`).not.toMatch(/PRIVATE KEY|eyJ|Bearer [^[]/);
    expect(secured.server.getObject(secured.bucket, 'auth/none')).toBe(undefined);
  });
});

describe('probe()', () => {
  it('a healthy private bucket passes every check', async () => {
    const result = await destination.probe();
    expect({ ok: result.ok, public: result.public, checks: result.checks.map((check) => [check.name, check.status]) }).toEqual({
      ok: true,
      public: false,
      checks: [
        ['reachable', 'passed'],
        ['write', 'passed'],
        ['write-once', 'passed'],
        ['read', 'passed'],
        ['delete', 'passed'],
        ['public-access', 'passed'],
      ],
    });
    expect(fixture.server.listObjects(fixture.bucket).filter((name) => name.includes('.sentcopy-probe/') && !name.endsWith('leftover'))).toEqual([]);
  });

  it('refuses a bucket with an allUsers binding unless allowPublicBucket is set', async () => {
    const open = await startGcsFixture({ bucket: { iamBindings: [{ role: 'roles/storage.objectViewer', members: ['allUsers'] }] } });
    try {
      const refused = await createGcsDestination(open.settings).probe();
      const check = refused.checks.find((entry) => entry.name === 'public-access');
      expect([refused.ok, refused.public, check?.status]).toEqual([false, true, 'failed']);
      expect(check?.detail).toMatch(/allUsers.*roles\/storage\.objectViewer.*allowPublicBucket/);
      const allowed = await createGcsDestination({ ...open.settings, allowPublicBucket: true }).probe();
      expect([allowed.ok, allowed.public, allowed.checks.find((entry) => entry.name === 'public-access')?.status]).toEqual([true, true, 'passed']);
    } finally {
      await open.stop();
    }
  });

  it('allAuthenticatedUsers is public too; enforced public access prevention makes any binding harmless', async () => {
    const authenticated = await startGcsFixture({ bucket: { iamBindings: [{ role: 'roles/storage.legacyObjectReader', members: ['allAuthenticatedUsers'] }] } });
    const prevented = await startGcsFixture({ bucket: { publicAccessPrevention: 'enforced', iamBindings: [{ role: 'roles/storage.objectViewer', members: ['allUsers'] }] } });
    try {
      const first = await createGcsDestination(authenticated.settings).probe();
      expect([first.ok, first.public]).toEqual([false, true]);
      const second = await createGcsDestination(prevented.settings).probe();
      expect([second.ok, second.public, second.checks.find((entry) => entry.name === 'public-access')?.detail]).toEqual([true, false, expect.stringMatching(/prevention is enforced/)]);
      prevented.server.configureBucket(prevented.bucket, { publicAccessPrevention: 'inherited', iamBindings: [{ role: 'roles/storage.objectViewer', members: ['allUsers'] }] });
      expect((await createGcsDestination(prevented.settings).probe()).public).toBe(true);
    } finally {
      await authenticated.stop();
      await prevented.stop();
    }
  });

  it('checks the server cannot answer are reported as not supported by this server', async () => {
    const partial = await startGcsFixture({ unsupported: ['iam', 'bucketMetadata'] });
    try {
      const result = await createGcsDestination(partial.settings).probe();
      expect({ ok: result.ok, public: result.public, checks: result.checks.map((check) => [check.name, check.status]) }).toEqual({
        ok: true,
        public: 'unknown',
        checks: [
          ['reachable', 'unsupported'],
          ['write', 'passed'],
          ['write-once', 'passed'],
          ['read', 'passed'],
          ['delete', 'passed'],
          ['public-access', 'unsupported'],
        ],
      });
      expect(result.checks.find((check) => check.name === 'public-access')?.detail).toMatch(/not supported by this server/);
    } finally {
      await partial.stop();
    }
  });

  it('a missing bucket fails reachable and stops', async () => {
    const result = await createGcsDestination({ ...fixture.settings, bucket: 'no-such-bucket-here' }).probe();
    expect([result.ok, result.checks.map((check) => [check.name, check.status])]).toEqual([false, [['reachable', 'failed']]]);
    expect(result.checks[0]?.detail).toMatch(/does not exist/);
  });
});

describe('eraseVersions (Object Versioning: noncurrent generations)', () => {
  it('deletes every generation of exactly that object, noncurrent ones included; a held generation is held with its error', async () => {
    const bucket = fixture.server.createBucket(undefined, { versioning: true });
    const versioned = createGcsDestination({ ...fixture.settings, bucket, keyPrefix: 'v/' });
    const held = createGcsDestination({ ...fixture.settings, bucket, keyPrefix: 'v/', temporaryHold: true });
    expect(versioned.capabilities.versions).toBe('erasable');
    await versioned.put(input('a', 'first copy'));
    await versioned.delete!('a');
    await versioned.put(input('a', 'second copy'));
    await versioned.put(input('a2', 'a neighbour sharing the prefix'));
    await held.put(input('h', 'on hold'));
    const generations = (name: string) => fixture.server.listGenerations(bucket, name).map((entry) => [entry.live, entry.body.toString()]);
    // A plain delete left the first copy's bytes as a noncurrent generation.
    expect(generations('v/a')).toEqual([
      [false, 'first copy'],
      [true, 'second copy'],
    ]);

    const result = await versioned.eraseVersions!('a');
    expect(result.complete).toBe(true);
    expect(result.versions.map(({ type, current, outcome }) => [type, current, outcome])).toEqual([
      ['version', false, 'erased'],
      ['version', true, 'erased'],
    ]);
    expect(generations('v/a')).toEqual([]);
    expect(generations('v/a2')).toEqual([[true, 'a neighbour sharing the prefix']]);

    const locked = await versioned.eraseVersions!('h');
    expect(locked.complete).toBe(false);
    expect(locked.versions.map(({ current, outcome, error }) => ({ current, outcome, message: error?.message }))).toEqual([{ current: true, outcome: 'held', message: expect.stringContaining('hold') }]);
    expect(generations('v/h')).toEqual([[true, 'on hold']]);
    await versioned.close?.();
    await held.close?.();
  });
});
