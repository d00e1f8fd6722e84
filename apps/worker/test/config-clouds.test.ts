import { generateKeyPairSync } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { sampleMessages, type Message } from '@sentcopy/core';
import { startAzurite, startGcsServer } from '@sentcopy/test-servers';
import { afterAll, describe, expect, it } from 'vitest';
import { baseConfig, configRuntimes, eventually, writeConfig } from './config-fixture.js';

// Azure and GCS destinations from the configuration file, against Azurite and the GCS JSON-API test server.
const { start } = configRuntimes('config-clouds');
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const clientEmail = 'sentcopy-worker@sentcopy-test.iam.gserviceaccount.com';
const [azurite, gcs] = await Promise.all([startAzurite(), startGcsServer({ authentication: { serviceAccounts: [{ clientEmail, publicKey }] } })]);
afterAll(async () => {
  await Promise.all([azurite.stop(), gcs.stop()]);
});
const blobService = BlobServiceClient.fromConnectionString(azurite.connectionString, { retryOptions: { maxTries: 1 } });
let containers = 0;
async function createContainer(access?: 'container'): Promise<string> {
  const name = `sentcopy-config-${process.pid}-${++containers}`;
  await blobService.getContainerClient(name).create(access === undefined ? {} : { access });
  return name;
}

const message = (projectId: string): Message => sampleMessages({ projectId, count: 1 })[0] as Message;

describe('azure destinations', () => {
  it('connect with a connection string read from the environment, and store the bytes', async () => {
    const container = await createContainer();
    const { runtime, probes } = await start(
      baseConfig({
        destinations: { blob: { type: 'azure', container, connection_string: { env: 'SC_AZURE_CONNECTION' }, key_prefix: 'archive/', acknowledge_personal_data: true } },
        projects: { shop: { destination: 'blob', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [] } },
      }),
      { env: { SC_AZURE_CONNECTION: azurite.connectionString } },
    );
    expect(probes).toEqual([expect.objectContaining({ destination: 'blob', ok: true })]);
    expect(runtime.destinations()).toEqual([expect.objectContaining({ name: 'blob', type: 'azure', ready: true })]);
    const archiver = runtime.archiverFor('shop', 'gate')!;
    const stored = await archiver.archive(message('shop'));
    const bytes = await blobService.getContainerClient(container).getBlobClient(`archive/${stored.key}`).downloadToBuffer();
    expect(bytes.length).toBe(stored.size);
    expect((await archiver.prepare(message('shop'))).sha256).toBe(stored.sha256);
    expect(JSON.stringify(runtime.destinations())).not.toContain(azurite.accountKey);
  });

  it('connect with an account URL and a key; a public container is refused until allow_public_bucket', async () => {
    const container = await createContainer('container');
    const destination = (allowPublic: boolean) => ({
      type: 'azure' as const,
      container,
      account_url: azurite.blobEndpoint,
      account_name: azurite.accountName,
      account_key: { env: 'SC_AZURE_KEY' },
      acknowledge_personal_data: true as const,
      ...(allowPublic ? { allow_public_bucket: true } : {}),
    });
    const projects = { shop: { destination: 'blob', channels: ['sms' as const], api_keys: [] } };
    const { file, runtime, probes } = await start(baseConfig({ destinations: { blob: destination(false) }, projects }), { env: { SC_AZURE_KEY: azurite.accountKey } });
    expect(probes[0]).toMatchObject({ destination: 'blob', ok: false, reason: expect.stringMatching(/public/i) });
    expect(runtime.project('shop')?.ready).toBe(false);
    expect(JSON.stringify(probes)).not.toContain(azurite.accountKey);
    writeConfig(file, baseConfig({ destinations: { blob: destination(true) }, projects }));
    await eventually(() => runtime.project('shop')?.ready, 'the overridden container');
    const stored = await runtime.archiverFor('shop', 'gate')!.archive(message('shop'));
    expect((await blobService.getContainerClient(container).getBlobClient(stored.key).getProperties()).contentLength).toBe(stored.size);
  });
});

describe('gcs destinations', () => {
  it('sign with a service account whose private key is read from the environment, and store the bytes', async () => {
    const bucket = gcs.createBucket();
    const { runtime, probes } = await start(
      baseConfig({
        destinations: {
          cloud: {
            type: 'gcs',
            bucket,
            api_endpoint: gcs.endpoint,
            project_id: 'sentcopy-test',
            universe_domain: 'sentcopy.test',
            client_email: clientEmail,
            private_key: { env: 'SC_GCS_KEY' },
            acknowledge_personal_data: true,
          },
        },
        projects: { shop: { destination: 'cloud', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [] } },
      }),
      { env: { SC_GCS_KEY: privateKey } },
    );
    expect(probes).toEqual([expect.objectContaining({ destination: 'cloud', ok: true })]);
    const stored = await runtime.archiverFor('shop', 'gate')!.archive(message('shop'));
    expect(gcs.getObject(bucket, stored.key)?.body.length).toBe(stored.size);
    const writes = gcs.requests.filter((request) => request.object === stored.key && request.method === 'POST');
    expect(writes.map((request) => [request.principal, request.status])).toEqual([[clientEmail, 200]]);
    expect(JSON.stringify(runtime.destinations())).not.toContain('PRIVATE KEY');
  });
});
