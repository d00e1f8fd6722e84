import { createHash } from 'node:crypto';
import { AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, ContainerSASPermissions, generateAccountSASQueryParameters, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import { DestinationError, type DestinationV1, type PutObjectInput } from '@sentcopy/core';
import { faults, startFaultProxy, type FaultProxy, type ProxyRecord } from '@sentcopy/test-servers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAzureDestination, decodeMetadataName, encodeMetadataName, sha256MetadataName, type AzureDestinationSettings } from '../src/index.js';
import { startAzureFixture, uniqueContainer, type AzureFixture } from './azure-fixture.js';
import { createAzureBackdoor } from './backdoor.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const input = (key: string, text: string, extra: Partial<PutObjectInput> = {}): PutObjectInput => {
  const body = new Uint8Array(Buffer.from(text, 'utf8'));
  return { key, body, sha256: sha256(body), contentType: 'text/plain', ...extra };
};
const errorOf = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => 'fulfilled',
    (error: unknown) => error,
  );
const thrown = (create: () => unknown): unknown => {
  try {
    create();
    return 'no error';
  } catch (error) {
    return error;
  }
};
const kindOf = (error: unknown) => (DestinationError.isInstance(error) ? error.kind : `not a DestinationError: ${String(error)}`);
const isPut = (request: { method: string }) => request.method === 'PUT';

let fixture: AzureFixture;
let proxy: FaultProxy;
const destinations: DestinationV1[] = [];
const track = (destination: DestinationV1): DestinationV1 => {
  destinations.push(destination);
  return destination;
};
beforeAll(async () => {
  fixture = await startAzureFixture();
  proxy = await startFaultProxy({ target: `http://127.0.0.1:${fixture.azurite.port}` });
});
beforeEach(() => proxy.reset());
afterAll(async () => {
  for (const destination of destinations) await destination.close?.();
  await proxy.stop();
  await fixture.stop();
});

describe('settings are checked up front, naming the field', () => {
  const connectionString = () => fixture.azurite.connectionString;
  it.each<[string, () => Partial<AzureDestinationSettings>, RegExp]>([
    ['no container', () => ({ connectionString: connectionString() }), /needs a container/],
    ['an invalid container name', () => ({ connectionString: connectionString(), container: 'Not_Valid' }), /Invalid container "Not_Valid"/],
    ['neither connection string nor account URL', () => ({ container: 'abc' }), /needs connectionString, or accountUrl with credential/],
    ['both connection string and account URL', () => ({ container: 'abc', connectionString: connectionString(), accountUrl: 'https://a.blob.core.windows.net' }), /either connectionString, or accountUrl/],
    ['an account URL without a credential', () => ({ container: 'abc', accountUrl: 'https://a.blob.core.windows.net' }), /accountUrl needs a credential/],
    ['two credentials at once', () => ({ container: 'abc', accountUrl: 'https://a.blob.core.windows.net', credential: { accountKey: 'a2V5', sasToken: 'sv=1&sig=x' } as never }), /exactly one of .* it holds accountKey and sasToken/],
    ['a SAS token inside the account URL', () => ({ container: 'abc', accountUrl: 'https://a.blob.core.windows.net/?sv=2024&sig=c2VjcmV0', credential: { accountKey: 'a2V5' } }), /must not carry a query string/],
    ['an account URL that is not a URL', () => ({ container: 'abc', accountUrl: 'a.blob.core.windows.net', credential: { accountKey: 'a2V5' } }), /accountUrl is not a URL/],
    ['a token credential over plain HTTP', () => ({ container: 'abc', accountUrl: 'http://127.0.0.1:1/devstoreaccount1', credential: { defaultAzureCredential: true } }), /need an https accountUrl/],
    ['a SAS token without a signature', () => ({ container: 'abc', accountUrl: 'https://a.blob.core.windows.net', credential: { sasToken: 'sv=2024-01-01' } }), /credential.sasToken must be a SAS token/],
    ['an unknown access tier', () => ({ connectionString: connectionString(), container: 'abc', accessTier: 'Frozen' as never }), /accessTier must be Hot, Cool, Cold or Archive/],
    ['a fractional retention', () => ({ connectionString: connectionString(), container: 'abc', immutability: { retentionDays: 1.5 } }), /immutability.retentionDays must be a positive whole number/],
    ['an unknown immutability mode', () => ({ connectionString: connectionString(), container: 'abc', immutability: { retentionDays: 1, mode: 'Governance' as never } }), /immutability.mode must be Unlocked or Locked/],
    ['zero SDK tries', () => ({ connectionString: connectionString(), container: 'abc', sdkMaxTries: 0 }), /sdkMaxTries must be a whole number, 1 or more/],
    ['a key prefix with ..', () => ({ connectionString: connectionString(), container: 'abc', keyPrefix: 'a/../b' }), /Invalid keyPrefix/],
    ['an unparsable connection string', () => ({ container: 'abc', connectionString: 'AccountName=x;AccountKey=c2VjcmV0LWtleS12YWx1ZQ==' }), /connectionString could not be parsed/],
  ])('refuses %s with invalid', (_name, settings, message) => {
    const error = thrown(() => createAzureDestination(settings() as AzureDestinationSettings));
    expect(DestinationError.isInstance(error) && { kind: error.kind, provider: error.provider }).toEqual({ kind: 'invalid', provider: 'azure' });
    expect((error as Error).message).toMatch(message);
    for (const secret of [fixture.azurite.accountKey, 'c2VjcmV0', 'c2VjcmV0LWtleS12YWx1ZQ==']) expect((error as Error).message).not.toContain(secret);
  });

  it('the id names account, container and prefix, never a credential', () => {
    const destination = track(createAzureDestination({ ...fixture.settings, keyPrefix: 'ids' }));
    expect(destination.id).toBe(`azure://127.0.0.1:${fixture.azurite.port}/devstoreaccount1/${fixture.container}/ids/`);
    expect(destination.id).not.toContain(fixture.azurite.accountKey);
  });
});

describe('write-once', () => {
  it('same bytes again → created: false; different bytes → conflict, and the first bytes stay', async () => {
    const destination = track(createAzureDestination({ ...fixture.settings, keyPrefix: 'once/' }));
    const backdoor = createAzureBackdoor(fixture.containerClient, 'once/');
    expect((await destination.put(input('k', 'first'))).created).toBe(true);
    expect((await destination.put(input('k', 'first'))).created).toBe(false);
    const error = await errorOf(destination.put(input('k', 'second')));
    expect(DestinationError.isInstance(error) && [error.kind, error.code, error.status]).toEqual(['conflict', 'BlobAlreadyExists', 409]);
    expect(Buffer.from((await backdoor.readObject('k'))!.body).toString()).toBe('first');
  });

  it('a blob written by someone else without a recorded SHA-256 is compared by its bytes', async () => {
    const destination = track(createAzureDestination({ ...fixture.settings, keyPrefix: 'foreign/' }));
    const body = Buffer.from('written by another tool');
    await fixture.containerClient.getBlockBlobClient('foreign/same').upload(body, body.length);
    await fixture.containerClient.getBlockBlobClient('foreign/other').upload(body, body.length);
    expect((await destination.put(input('same', 'written by another tool'))).created).toBe(false);
    expect(kindOf(await errorOf(destination.put(input('other', 'something else'))))).toBe('conflict');
    expect((await fixture.containerClient.getBlockBlobClient('foreign/other').downloadToBuffer()).toString()).toBe('written by another tool');
  });

  it('sends one Put Blob with If-None-Match: *, Content-MD5, content type and encoding, and the SHA-256 as metadata', async () => {
    const destination = track(createAzureDestination({ ...fixture.settings, connectionString: fixture.connectionStringVia(proxy.url), keyPrefix: 'headers/' }));
    const object = input('k.json.gz', 'pretend gzip', { contentType: 'application/json', contentEncoding: 'gzip', metadata: { 'message-id': 'm-1', '1st': 'a', '-dash': 'b' } });
    await destination.put(object);
    const puts = proxy.requests.filter(isPut);
    expect(puts.length).toBe(1);
    const headers = (puts[0] as ProxyRecord).headers;
    expect({
      ifNoneMatch: headers['if-none-match'],
      md5: headers['content-md5'],
      type: headers['x-ms-blob-content-type'],
      encoding: headers['x-ms-blob-content-encoding'],
      sha: headers[`x-ms-meta-${sha256MetadataName}`],
      names: Object.keys(headers)
        .filter((name) => name.startsWith('x-ms-meta-'))
        .sort(),
      blobType: headers['x-ms-blob-type'],
    }).toEqual({
      ifNoneMatch: '*',
      md5: createHash('md5').update(object.body).digest('base64'),
      type: 'application/json',
      encoding: 'gzip',
      sha: object.sha256,
      names: ['x-ms-meta-__dash', 'x-ms-meta-_1st', 'x-ms-meta-message_id', `x-ms-meta-${sha256MetadataName}`].sort(),
      blobType: 'BlockBlob',
    });
    const properties = await fixture.containerClient.getBlockBlobClient('headers/k.json.gz').getProperties();
    expect(Buffer.from(properties.contentMD5 ?? []).toString('base64')).toBe(headers['content-md5']);
    expect((await destination.head('k.json.gz'))?.metadata).toEqual({ 'message-id': 'm-1', '1st': 'a', '-dash': 'b' });
  });

  it('metadata names map to C# identifiers and back exactly', () => {
    const names = ['a', 'message-id', '1st', '-x', '--', 'a--b', '9', 'sentcopy-format', 'x-1-'];
    const encoded = names.map(encodeMetadataName);
    for (const name of encoded) expect(name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
    expect(new Set(encoded).size).toBe(names.length);
    expect(encoded.map(decodeMetadataName)).toEqual(names);
  });

  it('refuses the reserved SHA-256 name, bad names and values with invalid, storing nothing', async () => {
    const destination = track(createAzureDestination({ ...fixture.settings, keyPrefix: 'bad-meta/' }));
    const cases: Record<string, string>[] = [{ 'sentcopy-sha256': 'x' }, { Upper: 'x' }, { under_score: 'x' }, { ok: 'tab\tvalue' }, { ok: ' padded' }, { big: 'x'.repeat(8200) }];
    for (const [index, metadata] of cases.entries()) expect(kindOf(await errorOf(destination.put(input(`m${index}`, 'x', { metadata }))))).toBe('invalid');
    expect(await createAzureBackdoor(fixture.containerClient, 'bad-meta/').listKeys('')).toEqual([]);
  });
});

describe('credentials', () => {
  const sharedKey = () => new StorageSharedKeyCredential(fixture.azurite.accountName, fixture.azurite.accountKey);
  const roundTrip = async (destination: DestinationV1, key: string) => {
    const result = await destination.put(input(key, `via ${key}`));
    const got = await destination.get(key);
    const listed = (await destination.list({ prefix: key })).objects.map((object) => object.key);
    return { created: result.created, body: got && Buffer.from(got.body).toString(), listed };
  };

  it('connection string', async () => {
    const destination = track(createAzureDestination({ ...fixture.settings, keyPrefix: 'cred-cs/' }));
    expect(await roundTrip(destination, 'k')).toEqual({ created: true, body: 'via k', listed: ['k'] });
  });

  it('account key with the account name read from a path-style URL, and given explicitly', async () => {
    const derived = track(createAzureDestination({ container: fixture.container, accountUrl: fixture.azurite.blobEndpoint, credential: { accountKey: fixture.azurite.accountKey }, keyPrefix: 'cred-key/' }));
    expect(await roundTrip(derived, 'derived')).toEqual({ created: true, body: 'via derived', listed: ['derived'] });
    const explicit = track(
      createAzureDestination({ container: fixture.container, accountUrl: fixture.azurite.blobEndpoint, credential: { accountKey: fixture.azurite.accountKey, accountName: fixture.azurite.accountName }, keyPrefix: 'cred-key/' }),
    );
    expect(await roundTrip(explicit, 'explicit')).toEqual({ created: true, body: 'via explicit', listed: ['explicit'] });
  });

  it('a container SAS (with and without the leading "?") and an account SAS, generated with the dev key', async () => {
    const expiresOn = new Date(Date.now() + 3_600_000);
    const containerSas = generateBlobSASQueryParameters({ containerName: fixture.container, permissions: ContainerSASPermissions.parse('racwdl'), expiresOn }, sharedKey()).toString();
    const accountSas = generateAccountSASQueryParameters(
      { permissions: AccountSASPermissions.parse('rwdlac'), resourceTypes: AccountSASResourceTypes.parse('sco').toString(), services: AccountSASServices.parse('b').toString(), expiresOn },
      sharedKey(),
    ).toString();
    const results: Record<string, unknown> = {};
    for (const [name, sasToken] of [
      ['container', containerSas],
      ['question-mark', `?${containerSas}`],
      ['account', accountSas],
    ] as const) {
      const destination = track(createAzureDestination({ container: fixture.container, accountUrl: fixture.azurite.blobEndpoint, credential: { sasToken }, keyPrefix: 'cred-sas/' }));
      results[name] = await roundTrip(destination, name);
      expect(destination.id).not.toContain('sig=');
    }
    expect(results).toEqual({
      container: { created: true, body: 'via container', listed: ['container'] },
      'question-mark': { created: true, body: 'via question-mark', listed: ['question-mark'] },
      account: { created: true, body: 'via account', listed: ['account'] },
    });
  });

  it('a read-only SAS is refused with unauthorized on put, nothing stored, and the signature stays out of the error', async () => {
    const sasToken = generateBlobSASQueryParameters({ containerName: fixture.container, permissions: ContainerSASPermissions.parse('rl'), expiresOn: new Date(Date.now() + 3_600_000) }, sharedKey()).toString();
    const destination = track(createAzureDestination({ container: fixture.container, accountUrl: fixture.azurite.blobEndpoint, credential: { sasToken }, keyPrefix: 'cred-ro/' }));
    const error = await errorOf(destination.put(input('k', 'x')));
    expect(DestinationError.isInstance(error) && [error.kind, error.status]).toEqual(['unauthorized', 403]);
    const signature = decodeURIComponent(new URLSearchParams(sasToken).get('sig') ?? 'missing');
    const everything = `${(error as Error).message} ${String((error as Error).cause)} ${JSON.stringify(error)}`;
    for (const needle of [sasToken, signature, encodeURIComponent(signature)]) expect(everything).not.toContain(needle);
    expect(await createAzureBackdoor(fixture.containerClient, 'cred-ro/').listKeys('')).toEqual([]);
  });

  it('a wrong account key is unauthorized on every operation, and neither key appears in the errors', async () => {
    const wrongKey = Buffer.from('definitely-not-the-azurite-account-key-0123456789').toString('base64');
    const destination = track(createAzureDestination({ container: fixture.container, accountUrl: fixture.azurite.blobEndpoint, credential: { accountKey: wrongKey }, keyPrefix: 'cred-wrong/' }));
    const errors = [await errorOf(destination.put(input('k', 'x'))), await errorOf(destination.get('k')), await errorOf(destination.list())];
    expect(errors.map(kindOf)).toEqual(['unauthorized', 'unauthorized', 'unauthorized']);
    for (const error of errors) {
      const everything = `${(error as Error).message} ${String((error as Error).cause)} ${JSON.stringify(error)}`;
      for (const needle of [wrongKey, fixture.azurite.accountKey, fixture.azurite.connectionString]) expect(everything).not.toContain(needle);
    }
    const probe = await destination.probe();
    expect({ ok: probe.ok, reachable: probe.checks[0]?.status }).toEqual({ ok: false, reachable: 'failed' });
    expect(JSON.stringify(probe)).not.toContain(wrongKey);
  });

  it('an injected service or container client is used as is', async () => {
    const viaService = track(createAzureDestination({ container: fixture.container, serviceClient: fixture.service, keyPrefix: 'injected/' }));
    const viaContainer = track(createAzureDestination({ container: fixture.container, containerClient: fixture.containerClient, keyPrefix: 'injected/' }));
    expect((await viaService.put(input('k', 'injected'))).created).toBe(true);
    expect((await viaContainer.put(input('k', 'injected'))).created).toBe(false);
    expect(kindOf(thrown(() => createAzureDestination({ container: 'other-container', containerClient: fixture.containerClient })))).toBe('invalid');
  });
});

describe('probe', () => {
  it('a private container passes every check and is not public', async () => {
    const destination = track(createAzureDestination({ ...fixture.settings, keyPrefix: 'probe/' }));
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
    expect(await createAzureBackdoor(fixture.containerClient, 'probe/').listKeys('')).toEqual([]);
  });

  it.each(['blob', 'container'] as const)('a container with public access "%s" is refused, unless allowPublicContainer is set', async (access) => {
    const container = await fixture.createContainer(access);
    const refused = track(createAzureDestination({ ...fixture.settings, container }));
    const result = await refused.probe();
    const check = result.checks.find((entry) => entry.name === 'public-access');
    expect({ ok: result.ok, public: result.public, status: check?.status }).toEqual({ ok: false, public: true, status: 'failed' });
    expect(check?.detail).toContain(`access level is "${access}"`);
    expect(check?.detail).toContain('allowPublicContainer');

    const allowed = track(createAzureDestination({ ...fixture.settings, container, allowPublicContainer: true }));
    const overridden = await allowed.probe();
    expect({ ok: overridden.ok, public: overridden.public, status: overridden.checks.find((entry) => entry.name === 'public-access')?.status }).toEqual({ ok: true, public: true, status: 'passed' });
  });

  it('a missing container fails the reachable check with a clear sentence and stops there', async () => {
    const container = uniqueContainer('missing');
    const destination = track(createAzureDestination({ ...fixture.settings, container }));
    const result = await destination.probe();
    expect({ ok: result.ok, checks: result.checks.map((check) => [check.name, check.status]) }).toEqual({ ok: false, checks: [['reachable', 'failed']] });
    expect(result.checks[0]?.detail).toBe(`Container "${container}" does not exist (HTTP 404); create it first, or check the name and the account.`);
    const error = await errorOf(destination.put(input('k', 'x')));
    expect(DestinationError.isInstance(error) && [error.kind, error.code]).toEqual(['invalid', 'ContainerNotFound']);
    expect((error as Error).message).toMatch(/the container does not exist \(create it first/);
  });

  it('credentials that may not read the access level report the public check as unsupported, not failed', async () => {
    const sasToken = generateBlobSASQueryParameters(
      { containerName: fixture.container, permissions: ContainerSASPermissions.parse('racwdl'), expiresOn: new Date(Date.now() + 3_600_000) },
      new StorageSharedKeyCredential(fixture.azurite.accountName, fixture.azurite.accountKey),
    ).toString();
    const destination = track(createAzureDestination({ container: fixture.container, accountUrl: fixture.azurite.blobEndpoint, credential: { sasToken }, keyPrefix: 'probe-sas/' }));
    const result = await destination.probe();
    const publicCheck = result.checks.find((check) => check.name === 'public-access');
    expect({ ok: result.ok, public: result.public, status: publicCheck?.status }).toEqual({ ok: true, public: 'unknown', status: 'unsupported' });
    expect(publicCheck?.detail).toMatch(/Get Container ACL was denied/);
  });
});

describe('options: access tier, immutability, legal hold, encryption scope', () => {
  it.each(['Hot', 'Cool', 'Cold', 'Archive'] as const)('accessTier %s is stored on every blob (Azurite keeps the tier)', async (accessTier) => {
    const destination = track(createAzureDestination({ ...fixture.settings, keyPrefix: `tier-${accessTier}/`, accessTier }));
    await destination.put(input('k', 'tiered'));
    expect((await fixture.containerClient.getBlockBlobClient(`tier-${accessTier}/k`).getProperties()).accessTier).toBe(accessTier);
  });

  it('the Archive tier skips the probe read as unsupported (an archived blob cannot be read)', async () => {
    const destination = track(createAzureDestination({ ...fixture.settings, keyPrefix: 'tier-probe/', accessTier: 'Archive' }));
    const result = await destination.probe();
    expect({ ok: result.ok, read: result.checks.find((check) => check.name === 'read')?.status }).toEqual({ ok: true, read: 'unsupported' });
  });

  // Azurite accepts these headers but neither enforces nor reports them, so the request the SDK sends is what is checked.
  it('immutability (Unlocked by default, Locked), legal hold and encryption scope are sent on every object write, never on the probe blob', async () => {
    const connectionString = fixture.connectionStringVia(proxy.url);
    const days = 30;
    const unlocked = track(createAzureDestination({ ...fixture.settings, connectionString, keyPrefix: 'worm/', immutability: { retentionDays: days }, legalHold: true, encryptionScope: 'archivescope', accessTier: 'Cool' }));
    const locked = track(createAzureDestination({ ...fixture.settings, connectionString, keyPrefix: 'worm/', immutability: { retentionDays: 1, mode: 'Locked' } }));
    const before = Date.now();
    await unlocked.put(input('a', 'worm a'));
    await locked.put(input('b', 'worm b'));
    const after = Date.now();
    const [first, second] = proxy.requests.filter(isPut).map((request) => request.headers);
    const until = Date.parse(String(first?.['x-ms-immutability-policy-until-date']));
    expect({
      mode: first?.['x-ms-immutability-policy-mode'],
      legalHold: first?.['x-ms-legal-hold'],
      scope: first?.['x-ms-encryption-scope'],
      tier: first?.['x-ms-access-tier'],
      untilInRange: until >= Math.floor((before + days * 86_400_000) / 1000) * 1000 && until <= after + days * 86_400_000,
    }).toEqual({ mode: 'Unlocked', legalHold: 'true', scope: 'archivescope', tier: 'Cool', untilInRange: true });
    expect({ mode: second?.['x-ms-immutability-policy-mode'], legalHold: second?.['x-ms-legal-hold'], scope: second?.['x-ms-encryption-scope'] }).toEqual({ mode: 'Locked', legalHold: undefined, scope: undefined });
    expect((await fixture.containerClient.getBlockBlobClient('worm/a').downloadToBuffer()).toString()).toBe('worm a');

    proxy.reset();
    const result = await unlocked.probe();
    expect(result.ok).toBe(true);
    const probePuts = proxy.requests.filter(isPut).map((request) => request.headers);
    expect(probePuts.length).toBe(2);
    for (const headers of probePuts) {
      expect({ mode: headers['x-ms-immutability-policy-mode'], legalHold: headers['x-ms-legal-hold'], scope: headers['x-ms-encryption-scope'], tier: headers['x-ms-access-tier'] }).toEqual({
        mode: undefined,
        legalHold: undefined,
        scope: 'archivescope',
        tier: 'Cool',
      });
    }
  });
});

describe('listing (Azure orders names by UTF-16 code units)', () => {
  it('pages through 1050 keys exactly once with cursors, with the default limit and limit 100', async () => {
    const destination = track(createAzureDestination({ ...fixture.settings, keyPrefix: 'pages/' }));
    const keys = Array.from({ length: 1050 }, (_, index) => (index % 3 === 0 ? `many/${index}` : `many/g${index % 8}/${index}`));
    for (let start = 0; start < keys.length; start += 50) await Promise.all(keys.slice(start, start + 50).map((key) => destination.put(input(key, `object ${key}`))));
    const listAll = async (limit?: number, prefix = '') => {
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await destination.list({ prefix, cursor, ...(limit === undefined ? {} : { limit }) });
        seen.push(...page.objects.map((object) => object.key));
        sizes.push(page.objects.length);
        cursor = page.cursor;
      } while (cursor !== undefined);
      return { seen, pages: sizes.length, largest: Math.max(...sizes) };
    };
    const expected = [...keys].sort();
    const byDefault = await listAll();
    expect({ keys: byDefault.seen, pages: byDefault.pages, largest: byDefault.largest }).toEqual({ keys: expected, pages: 2, largest: 1000 });
    const byHundred = await listAll(100);
    expect({ keys: byHundred.seen, pages: byHundred.pages }).toEqual({ keys: expected, pages: 11 });
    expect((await listAll(7, 'many/g3/')).seen).toEqual(expected.filter((key) => key.startsWith('many/g3/')));
    expect(kindOf(await errorOf(destination.list({ cursor: '' })))).toBe('invalid');
  }, 60_000);

  it('orders as Azure does: by UTF-16 code units, so U+FF5E sorts after an emoji (UTF-8 byte order would put it before)', async () => {
    const destination = track(createAzureDestination({ ...fixture.settings, keyPrefix: 'order/' }));
    const ordered = ['d/Z', 'd/a-b', 'd/a.b', 'd/a/b', 'd/a0', 'd/~', 'd/é', 'd/😀', 'd/\uff5e'];
    for (const key of [...ordered].reverse()) await destination.put(input(key, key));
    expect((await destination.list({ prefix: 'd/' })).objects.map((object) => object.key)).toEqual(ordered);
    const onePerPage: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await destination.list({ prefix: 'd/', limit: 1, cursor });
      onePerPage.push(...page.objects.map((object) => object.key));
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect(onePerPage).toEqual(ordered);
  }, 60_000);
});

describe('eraseVersions (blob snapshots and versions)', () => {
  it('deletes every snapshot of exactly that blob and then the blob, under the key prefix; a neighbour sharing the prefix keeps its own', async () => {
    const destination = track(createAzureDestination({ ...fixture.settings, keyPrefix: 'erase/' }));
    expect(destination.capabilities.versions).toBe('erasable');
    await destination.put(input('a', 'the person'));
    await destination.put(input('a2', 'someone else'));
    const raw = fixture.containerClient;
    await raw.getBlobClient('erase/a').createSnapshot();
    await raw.getBlobClient('erase/a').createSnapshot();
    await raw.getBlobClient('erase/a2').createSnapshot();
    const namesWithSnapshots = async (prefix: string) => {
      const found: string[] = [];
      for await (const item of raw.listBlobsFlat({ prefix, includeSnapshots: true })) found.push(`${item.name}${item.snapshot ? '@snapshot' : ''}`);
      return found.sort();
    };
    expect(await namesWithSnapshots('erase/')).toEqual(['erase/a', 'erase/a2', 'erase/a2@snapshot', 'erase/a@snapshot', 'erase/a@snapshot']);
    // A plain delete cannot remove a blob with snapshots: the bytes would stay.
    const plainDelete = await destination.delete!('a').then(
      () => 'deleted',
      (error: unknown) => (DestinationError.isInstance(error) ? error.code : String(error)),
    );
    expect(plainDelete).toBe('SnapshotsPresent');

    const result = await destination.eraseVersions!('a');
    expect(result.complete).toBe(true);
    expect(result.versions.map(({ type, current, outcome }) => [type, current, outcome])).toEqual([
      ['snapshot', false, 'erased'],
      ['snapshot', false, 'erased'],
      ['version', true, 'erased'],
    ]);
    expect(await namesWithSnapshots('erase/')).toEqual(['erase/a2', 'erase/a2@snapshot']);
    expect(await destination.eraseVersions!('never-written')).toEqual({ key: 'never-written', versions: [], complete: true });
  });
});

describe('eraseVersions with blob versioning (not in Azurite: the listing and version deletes are answered as Azure documents them)', () => {
  const listing = (container: string, name: string, blobs: readonly { versionId: string; current: boolean }[]) => ({
    status: 200,
    headers: { 'content-type': 'application/xml', 'x-ms-version': '2025-11-05', 'x-ms-request-id': 'canned' },
    body:
      `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://127.0.0.1/devstoreaccount1/" ContainerName="${container}"><Prefix>${name}</Prefix><Blobs>` +
      blobs
        .map(
          (blob) =>
            `<Blob><Name>${name}</Name><VersionId>${blob.versionId}</VersionId>${blob.current ? '<IsCurrentVersion>true</IsCurrentVersion>' : ''}<Properties><Creation-Time>Sat, 05 Dec 2026 03:00:00 GMT</Creation-Time><Last-Modified>Sat, 05 Dec 2026 03:00:00 GMT</Last-Modified><Etag>0x8DD000000000000</Etag><Content-Length>10</Content-Length><Content-Type>application/json</Content-Type><BlobType>BlockBlob</BlobType><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted></Properties><OrMetadata /></Blob>`,
        )
        .join('') +
      '</Blobs><NextMarker /></EnumerationResults>',
  });
  const deleted = { status: 202, headers: { 'x-ms-version': '2025-11-05', 'x-ms-request-id': 'canned', 'x-ms-delete-type-permanent': 'true' } };

  it('deletes the previous versions by versionid, the blob, then the previous version its delete leaves; a version under a legal hold is held', async () => {
    const container = fixture.container;
    const destination = track(createAzureDestination({ ...fixture.settings, connectionString: fixture.connectionStringVia(proxy.url), keyPrefix: 'erase-v/' }));
    await destination.put(input('b', 'the person'));
    const older = '2026-12-05T02:00:00.0000000Z';
    const current = '2026-12-05T03:00:00.0000000Z';
    const isList = (request: { method: string; url: string }) => request.method === 'GET' && request.url.includes('comp=list') && request.url.includes('versions');
    const isVersionDelete = (version: string) => (request: { method: string; url: string }) => request.method === 'DELETE' && decodeURIComponent(request.url).includes(`versionid=${version}`);
    // Listing 1: a previous version and the current one. The blob's own delete goes to Azurite; then Azure lists the deleted current version as a previous one (listing 2); listing 3 is Azurite's (empty).
    proxy.inject(
      faults.respond(
        listing(container, 'erase-v/b', [
          { versionId: older, current: false },
          { versionId: current, current: true },
        ]),
      ),
      { match: isList, times: 1 },
    );
    proxy.inject(faults.respond(listing(container, 'erase-v/b', [{ versionId: current, current: false }])), { match: isList, times: 1 });
    proxy.inject(faults.respond(deleted), { match: isVersionDelete(older), times: 1 });
    proxy.inject(faults.respond(deleted), { match: isVersionDelete(current), times: 1 });

    const result = await destination.eraseVersions!('b');
    expect(result.versions.map(({ version, current: isCurrent, outcome }) => [version, isCurrent, outcome])).toEqual([
      [older, false, 'erased'],
      [current, true, 'erased'],
      [current, false, 'erased'],
    ]);
    expect(result.complete).toBe(true);
    const deletes = proxy.requests.filter((request) => request.method === 'DELETE').map((request) => decodeURIComponent(request.url).replace(/^.*erase-v\/b/, 'b'));
    expect(deletes).toEqual([`b?versionid=${older}`, 'b', `b?versionid=${current}`]);
    expect(await fixture.containerClient.getBlobClient('erase-v/b').exists()).toBe(false);

    proxy.reset();
    await destination.put(input('h', 'on hold'));
    proxy.inject(
      faults.respond(
        listing(container, 'erase-v/h', [
          { versionId: older, current: false },
          { versionId: current, current: true },
        ]),
      ),
      { match: isList },
    );
    proxy.inject(
      faults.respond({
        status: 409,
        headers: { 'content-type': 'application/xml', 'x-ms-error-code': 'BlobImmutableDueToLegalHold', 'x-ms-request-id': 'canned' },
        body: '<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobImmutableDueToLegalHold</Code><Message>This operation is not permitted as the blob is immutable due to one or more legal holds.</Message></Error>',
      }),
      { match: isVersionDelete(older) },
    );
    const held = await destination.eraseVersions!('h');
    expect(held.complete).toBe(false);
    expect(held.versions.map(({ version, outcome, error }) => [version, outcome, error?.code])).toEqual([
      [older, 'held', 'BlobImmutableDueToLegalHold'],
      [current, 'erased', undefined],
    ]);
  });
});
