import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAzurite, startGcsServer, type AzuriteServer, type GcsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, runCli } from './run-cli.js';

// `destinations connect` for Azure (Azurite) and GCS (the JSON-API test server): the per-type
// options land in the right fields, the probe runs against the real store, public ones are refused.
const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-destinations-clouds-'));
const configFile = path.join(work, 'sentcopy.config.json');

// The Azure SDK is a dependency of the Azure adapter, not of the CLI; the test only uses it to create containers.
interface AzureBlobSdk {
  readonly BlobServiceClient: { fromConnectionString(connectionString: string): { getContainerClient(name: string): { create(options: { access?: 'container' | 'blob' }): Promise<unknown> } } };
}
const { BlobServiceClient } = createRequire(fileURLToPath(new URL('../../../packages/destination-azure/package.json', import.meta.url)))('@azure/storage-blob') as AzureBlobSdk;

let azurite: AzuriteServer;
let gcs: GcsTestServer;
let env: NodeJS.ProcessEnv;

const sentcopy = (...args: string[]) => runCli(args, { cwd: work, env });

const json = (run: CliRun) => JSON.parse(run.stdout) as Record<string, any>;
const destinationsInFile = () => (JSON.parse(readFileSync(configFile, 'utf8')) as { destinations: Record<string, unknown> }).destinations;

async function createContainer(access?: 'container' | 'blob'): Promise<string> {
  const name = `sentcopy-cli-${Math.random().toString(16).slice(2, 10)}`;
  await BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient(name)
    .create(access === undefined ? {} : { access });
  return name;
}

beforeAll(async () => {
  [azurite, gcs] = await Promise.all([startAzurite(), startGcsServer()]);
  env = { ...process.env, SC_AZURE_CONNECTION: azurite.connectionString, SC_AZURE_KEY: azurite.accountKey };
  expect((await sentcopy('init')).code).toBe(0);
}, 60_000);

afterAll(async () => {
  await Promise.all([azurite?.stop(), gcs?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

describe('sentcopy destinations connect: Azure and GCS', { timeout: 30_000 }, () => {
  it('connects an Azure container by connection string and by account URL and key, refusing a public one', async () => {
    const container = await createContainer();
    const byConnection = await sentcopy(
      'destinations',
      'connect',
      'azure-a',
      '--type',
      'azure',
      '--connection-string-env',
      'SC_AZURE_CONNECTION',
      '--container',
      container,
      '--key-prefix',
      'copies/',
      '--access-tier',
      'cool',
      '--acknowledge-pii',
      '--json',
    );
    expect(byConnection.code).toBe(0);
    expect(json(byConnection).probe).toMatchObject({ status: 'ok', public: false });
    expect(destinationsInFile()['azure-a']).toEqual({ type: 'azure', connection_string: { env: 'SC_AZURE_CONNECTION' }, container, key_prefix: 'copies/', access_tier: 'Cool', acknowledge_personal_data: true });

    const byKey = await sentcopy(
      'destinations',
      'connect',
      'azure-b',
      '--type',
      'azure',
      '--account-url',
      azurite.blobEndpoint,
      '--account-name',
      azurite.accountName,
      '--account-key-env',
      'SC_AZURE_KEY',
      '--container',
      container,
      '--acknowledge-pii',
      '--json',
    );
    expect(byKey.code).toBe(0);
    expect(json(byKey).probe.status).toBe('ok');
    expect(destinationsInFile()['azure-b']).toMatchObject({ account_url: azurite.blobEndpoint, account_name: azurite.accountName, account_key: { env: 'SC_AZURE_KEY' } });
    expect(readFileSync(configFile, 'utf8')).not.toContain(azurite.accountKey);

    const open = await createContainer('container');
    const exposed = await sentcopy('destinations', 'connect', 'azure-public', '--type', 'azure', '--connection-string-env', 'SC_AZURE_CONNECTION', '--container', open, '--acknowledge-pii', '--json');
    expect(exposed.code).toBe(1);
    expect(json(exposed).error.code).toBe('destination_public');
    expect(destinationsInFile()['azure-public']).toBeUndefined();

    const both = await sentcopy('destinations', 'connect', 'azure-c', '--type', 'azure', '--connection-string-env', 'SC_AZURE_CONNECTION', '--account-url', azurite.blobEndpoint, '--container', container, '--acknowledge-pii', '--json');
    expect(both.code).toBe(2);
    expect(json(both).error.message).toContain('--account-url (destinations["azure-c"].account_url): cannot be given with connection_string');
  });

  it('connects a GCS bucket and refuses one that allUsers can read', async () => {
    const bucket = gcs.createBucket();
    const connected = await sentcopy(
      'destinations',
      'connect',
      'gcs',
      '--type',
      'gcs',
      '--bucket',
      bucket,
      '--api-endpoint',
      gcs.endpoint,
      '--project-id',
      'sentcopy-test',
      '--storage-class',
      'NEARLINE',
      '--project',
      'default',
      '--acknowledge-pii',
      '--json',
    );
    expect(connected.code).toBe(0);
    expect(json(connected)).toMatchObject({ projects: ['default'], probe: { status: 'ok', public: false } });
    expect(destinationsInFile()['gcs']).toEqual({ type: 'gcs', bucket, api_endpoint: gcs.endpoint, project_id: 'sentcopy-test', storage_class: 'NEARLINE', acknowledge_personal_data: true });

    const probed = await sentcopy('destinations', 'probe', '--json');
    expect(probed.code).toBe(0);
    expect(json(probed).results.map((result: { destination: string; status: string }) => `${result.destination}:${result.status}`)).toEqual(['local:ok', 'azure-a:ok', 'azure-b:ok', 'gcs:ok']);

    const open = gcs.createBucket(undefined, { iamBindings: [{ role: 'roles/storage.objectViewer', members: ['allUsers'] }] });
    const exposed = await sentcopy('destinations', 'connect', 'gcs-public', '--type', 'gcs', '--bucket', open, '--api-endpoint', gcs.endpoint, '--acknowledge-pii', '--json');
    expect(exposed.code).toBe(1);
    expect(json(exposed).error).toMatchObject({ code: 'destination_public' });
    expect(json(exposed).error.message).toContain('publicly readable');
    expect(destinationsInFile()['gcs-public']).toBeUndefined();
  });
});
