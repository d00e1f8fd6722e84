import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, listSecretReferences, loadConfigFile, parseConfigText, retryPolicyFromConfig, validateConfig, type WorkerConfig } from '../src/index.js';
import { hashApiKey } from '../src/projects/index.js';
import { baseConfig } from './config-fixture.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('config-validate');
// Where the worker resolves a package name from its own installation: its package folder.
const workerDir = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

async function issuesOf(value: unknown, env?: NodeJS.ProcessEnv): Promise<Record<string, string>> {
  const result = await validateConfig(value, env === undefined ? {} : { env });
  if (result.ok) return {};
  const byPath: Record<string, string> = {};
  for (const issue of result.issues) byPath[issue.path] = byPath[issue.path] === undefined ? issue.problem : `${byPath[issue.path]} | ${issue.problem}`;
  return byPath;
}

async function caught(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('validateConfig', () => {
  it('accepts the default configuration, which holds only the hash of its new key', async () => {
    const { config, apiKey, projectId } = defaultConfig();
    expect(await validateConfig(config)).toEqual({ ok: true, config });
    expect(apiKey).toMatch(/^sc_[A-Za-z0-9_-]{43}$/);
    expect(projectId).toBe('default');
    expect(config.destinations).toEqual({ local: { type: 'fs', root: 'sentcopy-archive', acknowledge_personal_data: true } });
    expect(config.projects.default).toMatchObject({ destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] });
    expect(JSON.stringify(config)).not.toContain(apiKey);
    expect(defaultConfig().apiKey).not.toBe(apiKey);
  });

  it('accepts every destination type and every optional section', async () => {
    const config = {
      version: 1,
      destinations: {
        local: { type: 'fs', root: 'archive', fsync: false, acknowledge_personal_data: true },
        aws: {
          type: 's3',
          bucket: 'acme-archive',
          region: 'eu-west-1',
          key_prefix: 'sent/',
          role_arn: 'arn:aws:iam::123456789012:role/sentcopy',
          external_id: { env: 'EXTERNAL_ID' },
          kms_key_id: 'alias/sentcopy',
          object_lock: { mode: 'COMPLIANCE', retention_days: 365, legal_hold: true },
          acknowledge_personal_data: true,
        },
        minio: {
          type: 's3',
          bucket: 'archive',
          endpoint: 'http://127.0.0.1:9000',
          force_path_style: true,
          access_key_id: { env: 'MINIO_ID' },
          secret_access_key: { env: 'MINIO_SECRET' },
          request_checksum_calculation: 'WHEN_REQUIRED',
          acknowledge_personal_data: true,
        },
        blob: { type: 'azure', container: 'sent-messages', connection_string: { env: 'AZURE_CONNECTION' }, access_tier: 'Cool', immutability: { retention_days: 30 }, acknowledge_personal_data: true },
        blob_sas: { type: 'azure', container: 'sent-messages', account_url: 'https://acme.blob.core.windows.net', sas_token: { env: 'AZURE_SAS' }, acknowledge_personal_data: true },
        blob_identity: { type: 'azure', container: 'sent-messages', account_url: 'https://acme.blob.core.windows.net', acknowledge_personal_data: true, allow_public_bucket: false },
        google: { type: 'gcs', bucket: 'acme-archive', client_email: 'sentcopy@acme.iam.gserviceaccount.com', private_key: { env: 'GCS_KEY' }, retention: { retention_days: 90, mode: 'Locked' }, acknowledge_personal_data: true },
        google_adc: { type: 'gcs', bucket: 'acme-archive', acknowledge_personal_data: true },
      },
      projects: {
        shop: { destination: 'aws', channels: ['email'], profile: 'braze', codec: 'gzip', layout: '{channel}/{message_id}.json.gz', api_keys: [{ sha256: hashApiKey('a'), label: 'checkout' }] },
        'blog.v2': { channels: ['sms', 'push'], api_keys: [] },
      },
      queue: { path: '/var/lib/sentcopy/queue' },
      http: { host: '0.0.0.0', port: 8080, limits: { max_body_bytes: 1_048_576, max_batch_messages: 100, max_message_bytes: 65_536 } },
      retry: { rate_limited: { max_delay_ms: 60_000 }, outage: { quick_retries: 5, slow_interval_ms: 3_600_000 } },
      alerts: { webhook_url: { env: 'ALERT_URL' } },
    };
    expect(await issuesOf(config)).toEqual({});
    expect(listSecretReferences(config).map((reference) => `${reference.path}=${reference.env}`)).toEqual([
      'destinations.aws.external_id=EXTERNAL_ID',
      'destinations.minio.access_key_id=MINIO_ID',
      'destinations.minio.secret_access_key=MINIO_SECRET',
      'destinations.blob.connection_string=AZURE_CONNECTION',
      'destinations.blob_sas.sas_token=AZURE_SAS',
      'destinations.google.private_key=GCS_KEY',
      'alerts.webhook_url=ALERT_URL',
    ]);
    expect(retryPolicyFromConfig(config.retry as WorkerConfig['retry'])).toMatchObject({ rateLimited: { maxDelayMs: 60_000, initialDelayMs: 1_000 }, outage: { quickRetries: 5, slowIntervalMs: 3_600_000, maxAgeMs: 604_800_000 } });
  });

  it('reports every problem at once, each by path, unknown keys included, without quoting values', async () => {
    const byPath = await issuesOf({
      version: 0,
      destinations: {
        local: { type: 'fs', root: '' },
        'bad name!': { type: 'fs', root: 'x', acknowledge_personal_data: true },
        cloud: { type: 's3', bucket: 'archive-bucket', acknowledge_personal_data: true, secret_access_key: 'wJalrXUtnFEMI/K7MDENG', colour: 'blue' },
        other: { type: 'ftp', acknowledge_personal_data: true },
        nope: { type: 'fs', root: 'x', acknowledge_personal_data: false },
      },
      projects: {
        shop: { destination: 'missing', channels: ['email', 'Fax!', 'email'], api_keys: [{ sha256: 'abc' }], layout: '{channel}/{nope}' },
        blog: { destination: 'local', channels: [], api_keys: [], profile: 'mailchimp' },
      },
      http: { port: 70_000, limits: { max_body_bytes: 0, max_everything: 1 } },
      retry: { outage: { quick_retries: -1, slow_jitter_ratio: 2 } },
      extra: true,
    });
    expect(byPath).toEqual({
      version: 'must be 1',
      'destinations.local.acknowledge_personal_data': 'is required',
      'destinations.local.root': 'must not be empty',
      'destinations["bad name!"]': expect.stringContaining('is not a valid name'),
      'destinations.cloud.secret_access_key': 'must be a reference such as { "env": "VARIABLE_NAME" }: secrets are read from the environment, never written in the configuration file',
      'destinations.cloud.colour': 'is not a known setting',
      'destinations.other.type': `names the package ftp, which is not installed: looked for it from the configuration's folder (${process.cwd()}) and from the worker's installation (${workerDir}); install it in either (npm install ftp in the configuration's folder, or next to @sentcopy/worker)`,
      'destinations.nope.acknowledge_personal_data': 'must be true',
      'projects.shop.channels[1]': 'must match ^[a-z][a-z0-9_-]{0,31}$',
      'projects.shop.channels': 'must not list an item twice',
      'projects.shop.api_keys[0].sha256': 'must match ^[0-9a-f]{64}$',
      'projects.blog.channels': 'must list at least 1 item',
      'projects.blog.profile': 'must be one of "sentcopy", "braze", "clevertap", "iterable"',
      'http.port': 'must be at most 65535',
      'http.limits.max_body_bytes': 'must be at least 1',
      'http.limits.max_everything': 'is not a known setting',
      'retry.outage.quick_retries': 'must be at least 0',
      'retry.outage.slow_jitter_ratio': 'must be at most 1',
      extra: 'is not a known setting',
    });
    expect(JSON.stringify(byPath)).not.toContain('wJalrXUtnFEMI');
  });

  it('refuses every literal secret, naming the field and the way to give it', async () => {
    const literal = 'literal-secret-value-0001';
    const byPath = await issuesOf({
      version: 1,
      destinations: {
        aws: { type: 's3', bucket: 'acme-archive', access_key_id: literal, secret_access_key: literal, acknowledge_personal_data: true },
        blob: { type: 'azure', container: 'sent-messages', connection_string: literal, acknowledge_personal_data: true },
        blob_key: { type: 'azure', container: 'sent-messages', account_url: 'https://acme.blob.core.windows.net', account_key: literal, acknowledge_personal_data: true },
        blob_sas: { type: 'azure', container: 'sent-messages', account_url: 'https://acme.blob.core.windows.net', sas_token: literal, acknowledge_personal_data: true },
        google: { type: 'gcs', bucket: 'acme-archive', client_email: 'a@b.iam.gserviceaccount.com', private_key: literal, acknowledge_personal_data: true },
      },
      projects: {},
      alerts: { webhook_url: 'https://hooks.example.com/T000/secret-token', secret: literal },
    });
    const secretFields = [
      'destinations.aws.access_key_id',
      'destinations.aws.secret_access_key',
      'destinations.blob.connection_string',
      'destinations.blob_key.account_key',
      'destinations.blob_sas.sas_token',
      'destinations.google.private_key',
      'alerts.webhook_url',
      'alerts.secret',
    ];
    expect(Object.keys(byPath).sort()).toEqual([...secretFields].sort());
    for (const field of secretFields) expect(byPath[field]).toContain('{ "env": "VARIABLE_NAME" }');
    expect(JSON.stringify(byPath)).not.toContain(literal);
    expect(JSON.stringify(byPath)).not.toContain('secret-token');
  });

  it('checks what the schema cannot: destinations exist, layouts compile, related fields come together, keys are unique, retry overrides agree', async () => {
    const byPath = await issuesOf({
      version: 1,
      destinations: {
        aws: { type: 's3', bucket: 'acme-archive', access_key_id: { env: 'ID' }, external_id: { env: 'X' }, object_lock: { mode: 'GOVERNANCE' }, acknowledge_personal_data: true },
        blob: { type: 'azure', container: 'sent-messages', acknowledge_personal_data: true },
        blob_both: { type: 'azure', container: 'sent-messages', connection_string: { env: 'C' }, account_url: 'https://acme.blob.core.windows.net', acknowledge_personal_data: true },
        blob_two_keys: { type: 'azure', container: 'sent-messages', account_url: 'https://acme.blob.core.windows.net', account_key: { env: 'K' }, sas_token: { env: 'S' }, acknowledge_personal_data: true },
        google: { type: 'gcs', bucket: 'acme-archive', private_key: { env: 'P' }, key_file: 'key.json', acknowledge_personal_data: true },
      },
      projects: {
        shop: { destination: 'missing', channels: ['sms'], api_keys: [{ sha256: hashApiKey('k1') }], layout: '{channel}/{nope}/{message_id}.json.gz' },
        blog: { channels: ['sms'], api_keys: [{ sha256: hashApiKey('k1') }, { sha256: hashApiKey('k2') }, { sha256: hashApiKey('k2') }] },
      },
      retry: { outage: { quick_initial_delay_ms: 10_000, quick_max_delay_ms: 1_000 } },
    });
    expect(byPath).toEqual({
      'destinations.aws.secret_access_key': 'is required with access_key_id (give both, or neither to use the default credential chain)',
      'destinations.aws.external_id': 'needs role_arn (the external id is sent when assuming that role)',
      'destinations.aws.object_lock.retention_days': 'goes with the other: give mode and retention_days together (or neither, for a legal hold only)',
      'destinations.blob.connection_string': 'is required, or account_url (with account_key, sas_token, or neither for DefaultAzureCredential)',
      'destinations.blob_both.account_url': 'cannot be given with connection_string: use one or the other',
      'destinations.blob_two_keys.sas_token': 'cannot be given with account_key: use one credential',
      'destinations.google.client_email': 'is required with private_key',
      'destinations.google.key_file': 'cannot be given with client_email and private_key: use one or the other',
      'projects.shop.destination': 'must name one of the destinations (aws, blob, blob_both, blob_two_keys, google)',
      'projects.shop.layout': expect.stringMatching(/Invalid key layout/),
      'projects.blog.api_keys[0].sha256': 'is already a key of project "shop": a key selects one project',
      'projects.blog.api_keys[2].sha256': 'is listed twice',
      'retry.outage.quick_max_delay_ms': 'must be finite and >= outage.quick_initial_delay_ms',
    });
  });

  it('with an environment, names each unset variable and its field, never a value', async () => {
    const config = baseConfig({
      destinations: { aws: { type: 's3', bucket: 'acme-archive', access_key_id: { env: 'SC_TEST_ID' }, secret_access_key: { env: 'SC_TEST_SECRET' }, acknowledge_personal_data: true } },
      projects: { shop: { destination: 'aws', channels: ['sms'], api_keys: [] } },
    });
    expect(await issuesOf(config)).toEqual({});
    expect(await issuesOf(config, { SC_TEST_ID: 'AKIAEXAMPLEVALUE0001', SC_TEST_SECRET: 'secret-value-0001' })).toEqual({});
    const byPath = await issuesOf(config, { SC_TEST_ID: 'AKIAEXAMPLEVALUE0001', SC_TEST_SECRET: '' });
    expect(byPath).toEqual({ 'destinations.aws.secret_access_key': 'reads the environment variable SC_TEST_SECRET, which is not set (or empty)' });
    expect(JSON.stringify(byPath)).not.toContain('AKIAEXAMPLEVALUE0001');
  });
});

describe('parseConfigText and loadConfigFile', () => {
  it('names the position of a JSON syntax error, not the text around it', async () => {
    const error = await caught(() => parseConfigText('{"version": 1, "destinations": {"a": "secret-ish-text" oops}}', 'sentcopy.config.json'));
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/^Invalid configuration in sentcopy\.config\.json: must be JSON \(a syntax error at character \d+\)$/);
    expect((error as Error).message).not.toContain('secret-ish-text');
  });

  it('loads a file, and names a missing file, an invalid one and an unset variable as ConfigErrors', async () => {
    const folder = newFolder();
    const file = path.join(folder, 'sentcopy.config.json');
    await expect(loadConfigFile(file)).rejects.toMatchObject({ name: 'ConfigError', issues: [{ path: '', problem: expect.stringContaining('does not exist') }] });
    writeFileSync(file, JSON.stringify(baseConfig()));
    expect(await loadConfigFile(file)).toEqual(baseConfig());
    const withSecret = baseConfig({ alerts: { webhook_url: { env: 'SC_TEST_HOOK' } } });
    writeFileSync(file, JSON.stringify(withSecret));
    expect(await loadConfigFile(file)).toEqual(withSecret);
    await expect(loadConfigFile(file, { env: {} })).rejects.toMatchObject({ issues: [{ path: 'alerts.webhook_url', problem: 'reads the environment variable SC_TEST_HOOK, which is not set (or empty)' }] });
    writeFileSync(file, JSON.stringify({ ...baseConfig(), projects: { shop: { channels: ['FAX'], api_keys: [] } } }));
    await expect(loadConfigFile(file)).rejects.toThrow(`Invalid configuration in ${file}: projects.shop.channels[0]: must match ^[a-z][a-z0-9_-]{0,31}$`);
    // Any other channel name is a channel the project declares (generic rules).
    writeFileSync(file, JSON.stringify({ ...baseConfig(), projects: { shop: { channels: ['rcs', 'in_app'], api_keys: [] } } }));
    expect((await loadConfigFile(file)).projects['shop']!.channels).toEqual(['rcs', 'in_app']);
  });
});
