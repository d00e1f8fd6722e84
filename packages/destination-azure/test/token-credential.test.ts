import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { DestinationError, type PutObjectInput } from '@sentcopy/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AzureLeanWriter } from '../src/azure-lean-writer.js';
import { createContainerClient } from '../src/create-azure-client.js';
import { createAzureDestination } from '../src/index.js';
import { putBlobHeaders } from '../src/put-blob-headers.js';
import { startAzureFixture, type AzureFixture } from './azure-fixture.js';

// Azurite accepts OAuth bearer tokens only over HTTPS (`--oauth basic`): it checks issuer, audience
// and lifetime, not the signature. It runs here with a self-signed certificate made for this file.
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const input = (key: string, text: string): PutObjectInput => {
  const body = new Uint8Array(Buffer.from(text, 'utf8'));
  return { key, body, sha256: sha256(body), contentType: 'text/plain' };
};
const base64url = (value: object | string) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWT shaped like one Microsoft Entra ID issues for Azure Storage (unsigned: Azurite does not check signatures). */
function entraToken(lifetimeSeconds: number, audience = 'https://storage.azure.com'): string {
  const now = Math.floor(Date.now() / 1000);
  const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const claims = { aud: audience, iss: `https://sts.windows.net/${tenant}/`, iat: now - 60, nbf: now - 60, exp: now + lifetimeSeconds, oid: 'a1b2c3d4-0000-0000-0000-000000000001', tid: tenant };
  return `${base64url({ typ: 'JWT', alg: 'RS256', kid: 'test' })}.${base64url(claims)}.${base64url('not-a-real-signature-but-long-enough-to-look-like-one')}`;
}

class StaticTokenCredential implements TokenCredential {
  scopes: string[] = [];
  constructor(private readonly token: string) {}
  async getToken(scopes: string | string[]): Promise<AccessToken> {
    this.scopes.push(...(Array.isArray(scopes) ? scopes : [scopes]));
    return { token: this.token, expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

let fixture: AzureFixture;
let certificates: string;
beforeAll(async () => {
  certificates = mkdtempSync(join(tmpdir(), 'sentcopy-azurite-tls-'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(certificates, 'key.pem'), '-out', join(certificates, 'cert.pem')],
    { stdio: 'ignore' },
  );
  // The SDK's HTTPS agent takes no CA option; the self-signed certificate is accepted for this file's process only.
  vi.stubEnv('NODE_TLS_REJECT_UNAUTHORIZED', '0');
  fixture = await startAzureFixture({ https: { certPath: join(certificates, 'cert.pem'), keyPath: join(certificates, 'key.pem') }, oauth: 'basic' });
}, 60_000);
afterAll(async () => {
  await fixture?.stop();
  vi.unstubAllEnvs();
  rmSync(certificates, { recursive: true, force: true });
});

describe('TokenCredential against Azurite in OAuth mode (HTTPS)', () => {
  it('writes, reads, lists and probes with a bearer token for the storage audience', async () => {
    const credential = new StaticTokenCredential(entraToken(3600));
    const destination = createAzureDestination({ container: fixture.container, accountUrl: fixture.azurite.blobEndpoint, credential: { tokenCredential: credential }, keyPrefix: 'oauth/' });
    const put = await destination.put(input('k', 'via a token'));
    const got = await destination.get('k');
    const listed = (await destination.list()).objects.map((object) => object.key);
    const probe = await destination.probe();
    expect({ created: put.created, body: got && Buffer.from(got.body).toString(), listed, probeOk: probe.ok }).toEqual({ created: true, body: 'via a token', listed: ['k'], probeOk: true });
    expect(new Set(credential.scopes)).toEqual(new Set(['https://storage.azure.com/.default']));
    expect((await fixture.containerClient.getBlockBlobClient('oauth/k').downloadToBuffer()).toString()).toBe('via a token');
  });

  it('the lean Put Blob is authorized by the SDK’s bearer token policy: the destination hands it the credential, Azurite accepts the token', async () => {
    const credential = new StaticTokenCredential(entraToken(3600));
    const created = createContainerClient({ container: fixture.container, accountUrl: fixture.azurite.blobEndpoint, credential: { tokenCredential: credential } });
    expect(created.auth).toEqual({ kind: 'token', credential });
    const writer = new AzureLeanWriter(created.client.url, created.auth!);
    const body = new Uint8Array(Buffer.from('lean via a token', 'utf8'));
    await writer.put({ name: 'oauth-lean/k', headers: putBlobHeaders({ contentType: 'text/plain', metadata: { sentcopy_sha256: sha256(body) }, contentMd5: createHash('md5').update(body).digest() }), body }, new AbortController().signal);
    await writer.close();
    expect(new Set(credential.scopes)).toEqual(new Set(['https://storage.azure.com/.default']));
    expect((await fixture.containerClient.getBlockBlobClient('oauth-lean/k').downloadToBuffer()).toString()).toBe('lean via a token');
  });

  it('an expired token and a token for another audience are unauthorized, and the token stays out of the error', async () => {
    for (const token of [entraToken(-600), entraToken(3600, 'https://management.azure.com')]) {
      const destination = createAzureDestination({ container: fixture.container, accountUrl: fixture.azurite.blobEndpoint, credential: { tokenCredential: new StaticTokenCredential(token) }, keyPrefix: 'oauth-bad/' });
      const error = await destination.put(input('k', 'x')).then(
        () => 'fulfilled',
        (caught: unknown) => caught,
      );
      expect(DestinationError.isInstance(error) && [error.kind, error.status, error.code]).toEqual(['unauthorized', 403, 'AuthenticationFailed']);
      const everything = `${(error as Error).message} ${String((error as Error).cause)} ${JSON.stringify(error)}`;
      for (const needle of [token, token.split('.')[1]!, token.split('.')[2]!]) expect(everything).not.toContain(needle);
    }
    expect(await fixture.containerClient.getBlockBlobClient('oauth-bad/k').exists()).toBe(false);
  });

  it('a credential that fails to produce a token is unauthorized', async () => {
    const failing: TokenCredential = {
      async getToken() {
        throw Object.assign(new Error('ManagedIdentityCredential: no managed identity endpoint found.'), { name: 'CredentialUnavailableError' });
      },
    };
    const destination = createAzureDestination({ container: fixture.container, accountUrl: fixture.azurite.blobEndpoint, credential: { tokenCredential: failing } });
    const error = await destination.head('k').then(
      () => 'fulfilled',
      (caught: unknown) => caught,
    );
    expect(DestinationError.isInstance(error) && [error.kind, error.code]).toEqual(['unauthorized', 'CredentialUnavailableError']);
  });

  it('defaultAzureCredential loads @azure/identity lazily and gets its token from a managed identity endpoint', async () => {
    // An App Service-style managed identity endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER), as DefaultAzureCredential finds it in the environment.
    const token = entraToken(3600);
    const requests: { url: string; header: string | undefined }[] = [];
    const identity: Server = createServer((request, response) => {
      requests.push({ url: request.url ?? '', header: request.headers['x-identity-header'] as string | undefined });
      const body = JSON.stringify({ access_token: token, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource: 'https://storage.azure.com', token_type: 'Bearer', client_id: 'sentcopy-test' });
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      response.end(body);
    });
    await new Promise<void>((resolve) => identity.listen(0, '127.0.0.1', resolve));
    try {
      for (const name of [
        'AZURE_CLIENT_ID',
        'AZURE_TENANT_ID',
        'AZURE_CLIENT_SECRET',
        'AZURE_CLIENT_CERTIFICATE_PATH',
        'AZURE_FEDERATED_TOKEN_FILE',
        'AZURE_USERNAME',
        'MSI_ENDPOINT',
        'MSI_SECRET',
        'IDENTITY_SERVER_THUMBPRINT',
        'IMDS_ENDPOINT',
        'AZURE_TOKEN_CREDENTIALS',
      ])
        vi.stubEnv(name, undefined);
      vi.stubEnv('IDENTITY_ENDPOINT', `http://127.0.0.1:${(identity.address() as AddressInfo).port}/msi/token`);
      vi.stubEnv('IDENTITY_HEADER', 'sentcopy-test-identity-header');
      const destination = createAzureDestination({ container: fixture.container, accountUrl: fixture.azurite.blobEndpoint, credential: { defaultAzureCredential: true }, keyPrefix: 'oauth-default/' });
      expect(requests).toEqual([]);
      expect((await destination.put(input('k', 'via DefaultAzureCredential'))).created).toBe(true);
      expect((await fixture.containerClient.getBlockBlobClient('oauth-default/k').downloadToBuffer()).toString()).toBe('via DefaultAzureCredential');
      expect(requests.length >= 1 && requests.every((request) => request.header === 'sentcopy-test-identity-header' && request.url.includes('resource=https'))).toBe(true);
    } finally {
      await new Promise((resolve) => identity.close(resolve));
    }
  });
});
