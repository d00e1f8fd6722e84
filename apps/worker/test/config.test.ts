import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { sampleMessages, type Message } from '@sentcopy/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  createConfigRuntime,
  createEmbeddedQueue,
  createProcessor,
  defaultConfig,
  parseConfigText,
  validateConfig,
  type ConfigRuntime,
  type WorkerConfig,
} from '../src/index.js';
import { hashApiKey } from '../src/projects/index.js';
import { queued, storedKeys } from './helpers.js';
import { goodCredentials, startS3Setup } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('config');
const s3 = await startS3Setup();
const runtimes: ConfigRuntime[] = [];
afterAll(async () => {
  await Promise.all(runtimes.map((runtime) => runtime.close()));
  await s3.stop();
});

const keyA = 'sc_test_key_project_a_000000000000000000000000';
const keyB = 'sc_test_key_project_b_000000000000000000000000';

function baseConfig(overrides: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    version: 1,
    destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
    projects: { shop: { destination: 'local', channels: ['email', 'sms'], api_keys: [{ sha256: hashApiKey(keyA) }] } },
    ...overrides,
  };
}

function writeConfig(file: string, config: unknown): void {
  writeFileSync(file, JSON.stringify(config, null, 2));
}

async function startRuntime(config: unknown, options: { env?: NodeJS.ProcessEnv; probeRetryMs?: number } = {}) {
  const folder = newFolder();
  const file = path.join(folder, 'sentcopy.config.json');
  writeConfig(file, config);
  const reloads: number[] = [];
  const refused: ConfigError[] = [];
  const runtime = await createConfigRuntime({ file, pollIntervalMs: 100, probeRetryMs: options.probeRetryMs ?? 200, ...(options.env ? { env: options.env } : {}), onReload: (event) => reloads.push(event.version), onReloadError: (error) => refused.push(error) });
  runtimes.push(runtime);
  return { folder, file, runtime, reloads, refused };
}

async function waitFor<T>(read: () => T | undefined | false, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('validateConfig', () => {
  it('accepts the default configuration', () => {
    const { config, apiKey } = defaultConfig();
    expect(validateConfig(config)).toEqual({ ok: true, config });
    expect(apiKey).toMatch(/^sc_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(config)).not.toContain(apiKey);
  });

  it('reports every problem at once, each by path, without quoting values', () => {
    const result = validateConfig({
      version: 2,
      destinations: {
        local: { type: 'fs', root: '' },
        'bad name!': { type: 'fs', root: 'x', acknowledge_personal_data: true },
        cloud: { type: 's3', bucket: 'archive-bucket', acknowledge_personal_data: true, secret_access_key: 'wJalrXUtnFEMI/K7MDENG', colour: 'blue' },
        other: { type: 'ftp', acknowledge_personal_data: true },
      },
      projects: {
        shop: { destination: 'missing', channels: ['email', 'fax', 'email'], api_keys: [{ sha256: 'abc' }], layout: '{channel}/{nope}' },
        blog: { destination: 'local', channels: [], api_keys: [] },
      },
      extra: true,
    });
    expect(result.ok).toBe(false);
    const issues = result.ok ? [] : result.issues;
    const byPath = Object.fromEntries(issues.map((issue) => [issue.path, issue.problem]));
    expect(byPath).toMatchObject({
      version: 'must be 1',
      'destinations.local.acknowledge_personal_data': 'is required',
      'destinations.local.root': 'must not be empty',
      'destinations["bad name!"]': expect.stringContaining('is not a valid name'),
      'destinations.cloud.secret_access_key': expect.stringContaining('{ "env": "VARIABLE_NAME" }'),
      'destinations.cloud.colour': 'is not a known setting',
      'destinations.other.type': 'must be one of "fs", "s3"',
      'projects.shop.channels[1]': 'must be one of "email", "sms", "push", "whatsapp"',
      'projects.shop.channels': 'must not list an item twice',
      'projects.shop.api_keys[0].sha256': 'must match ^[0-9a-f]{64}$',
      'projects.blog.channels': 'must list at least 1 item',
      extra: 'is not a known setting',
    });
    expect(JSON.stringify(issues)).not.toContain('wJalrXUtnFEMI');
  });

  it('checks what the schema cannot: the destination exists and the layout compiles', () => {
    const result = validateConfig(baseConfig({ projects: { shop: { destination: 'missing', channels: ['sms'], api_keys: [], layout: '{channel}/{nope}/{message_id}.json.gz' } } }));
    const issues = result.ok ? [] : result.issues;
    expect(issues.map((issue) => issue.path)).toEqual(['projects.shop.destination', 'projects.shop.layout']);
    expect(issues[0]?.problem).toBe('must name one of the destinations (local)');
    expect(issues[1]?.problem).toMatch(/Invalid key layout/);
  });

  it('names the position of a JSON syntax error, not the text around it', () => {
    const error = (() => {
      try {
        parseConfigText('{"version": 1, "destinations": {"a": "secret-ish-text" oops}}', 'sentcopy.config.json');
      } catch (caught) {
        return caught;
      }
    })();
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/^Invalid configuration in sentcopy\.config\.json: must be JSON \(a syntax error at character \d+\)$/);
  });
});

describe('createConfigRuntime', () => {
  it('authenticates by hashed key and follows edits to the file within a second, without a restart', async () => {
    const { file, runtime, reloads } = await startRuntime(baseConfig());
    expect(runtime.authenticate(keyA)?.id).toBe('shop');
    expect(runtime.authenticate(keyB)).toBeUndefined();
    expect(runtime.project('shop')).toMatchObject({ channels: ['email', 'sms'], ready: true });
    const destinationBefore = runtime.archiverFor('shop', 'queued')?.destination;

    writeConfig(file, baseConfig({ projects: { shop: { destination: 'local', channels: ['sms'], api_keys: [{ sha256: hashApiKey(keyA) }] }, blog: { destination: 'local', channels: ['push'], api_keys: [{ sha256: hashApiKey(keyB) }] } } }));
    const started = Date.now();
    await waitFor(() => runtime.authenticate(keyB), 'the new key');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(runtime.project('shop')?.channels).toEqual(['sms']);
    expect(reloads).toEqual([1, 2]);
    // An unchanged destination keeps its instance (and its open handles) across reloads.
    expect(runtime.archiverFor('blog', 'queued')?.destination).toBe(destinationBefore);
  });

  it('refuses an invalid edit as a whole and keeps running the previous configuration', async () => {
    const { file, runtime, refused } = await startRuntime(baseConfig());
    writeConfig(file, baseConfig({ projects: { shop: { destination: 'local', channels: ['fax' as never], api_keys: [] } } }));
    const error = await waitFor(() => refused[0], 'the refusal');
    expect(error.issues).toEqual([{ path: 'projects.shop.channels[0]', problem: 'must be one of "email", "sms", "push", "whatsapp"' }]);
    expect(runtime.authenticate(keyA)?.channels).toEqual(['email', 'sms']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(refused).toHaveLength(1);
  });

  it('reads secrets from the environment, and names a missing variable without any value', async () => {
    const bucket = s3.server.createBucket();
    const s3Config = (env: string) =>
      baseConfig({
        destinations: {
          cloud: { type: 's3', bucket, region: 'us-east-1', endpoint: s3.server.endpoint, force_path_style: true, access_key_id: { env: `${env}_ID` }, secret_access_key: { env: `${env}_SECRET` }, acknowledge_personal_data: true },
        },
        projects: { shop: { destination: 'cloud', channels: ['sms'], api_keys: [] } },
      });
    const env = { GOOD_ID: goodCredentials.accessKeyId, GOOD_SECRET: goodCredentials.secretAccessKey };
    const { runtime } = await startRuntime(s3Config('GOOD'), { env });
    const archiver = await waitFor(() => runtime.destinations()[0]?.ready && runtime.archiverFor('shop', 'queued'), 'the S3 destination');
    const message = sampleMessages({ projectId: 'shop', count: 1 })[0] as Message;
    const stored = await archiver.archive(message);
    expect(s3.server.getObject(bucket, stored.key)?.body.length).toBe(stored.size);

    const missing = await startRuntime(s3Config('UNSET'), { env });
    const status = missing.runtime.destinations()[0];
    expect(status?.ready).toBe(false);
    expect(status?.problem).toContain('destinations.cloud.access_key_id: reads the environment variable UNSET_ID, which is not set');
    expect(() => missing.runtime.archiverFor('shop', 'queued')).toThrow(/not ready/);
  });

  it('activates a new destination only once its probe passes: a public bucket is refused unless overridden', async () => {
    const bucket = s3.server.createBucket(undefined, { policyStatus: { isPublic: true } });
    const env = { ID: goodCredentials.accessKeyId, SECRET: goodCredentials.secretAccessKey };
    const cloud = (allowPublic: boolean) => ({
      type: 's3' as const,
      bucket,
      region: 'us-east-1',
      endpoint: s3.server.endpoint,
      force_path_style: true,
      access_key_id: { env: 'ID' },
      secret_access_key: { env: 'SECRET' },
      acknowledge_personal_data: true as const,
      ...(allowPublic ? { allow_public_bucket: true } : {}),
    });
    const projects = { shop: { destination: 'cloud', channels: ['sms' as const], api_keys: [{ sha256: hashApiKey(keyA) }] } };
    const { file, runtime } = await startRuntime(baseConfig({ destinations: { cloud: cloud(false) }, projects }), { env });
    expect(runtime.destinations()[0]).toMatchObject({ name: 'cloud', ready: false, problem: expect.stringMatching(/probe failed.*public/i) });
    expect(runtime.project('shop')?.ready).toBe(false);
    expect(s3.server.listKeys(bucket)).toEqual([]);

    writeConfig(file, baseConfig({ destinations: { cloud: cloud(true) }, projects }));
    await waitFor(() => runtime.destinations()[0]?.ready, 'the overridden destination');
    expect(runtime.project('shop')?.ready).toBe(true);
  });

  it('delivers messages queued for a destination that was not ready, once it is; and dead-letters those of a deleted one', async () => {
    const { folder, file, runtime } = await startRuntime(baseConfig({ destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } }, projects: { shop: { channels: ['sms'], api_keys: [] }, blog: { destination: 'local', channels: ['sms'], api_keys: [] } } }));
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    const shop = sampleMessages({ projectId: 'shop', count: 20 });
    const blog = sampleMessages({ projectId: 'blog', count: 5 });
    // `shop` has no destination yet: give it one before anything runs.
    writeConfig(file, baseConfig({ destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true }, second: { type: 'fs', root: 'second', acknowledge_personal_data: true } }, projects: { shop: { destination: 'second', channels: ['sms'], api_keys: [] }, blog: { destination: 'local', channels: ['sms'], api_keys: [] } } }));
    await waitFor(() => runtime.project('shop')?.destinationId !== undefined && runtime.project('shop')?.ready, 'the second destination');
    await queue.enqueue(shop.map((message) => queued(message)));
    const processor = createProcessor({ queue, archiverFor: (project) => runtime.archiverFor(project, 'queued'), idleWaitMs: 50 });
    processor.start();
    await waitFor(() => storedKeys(path.join(folder, 'second')).length === 20, 'shop messages stored');

    // Delete `local` (blog now has no destination), then queue blog's messages: they are dead-lettered with the reason.
    writeConfig(file, baseConfig({ destinations: { second: { type: 'fs', root: 'second', acknowledge_personal_data: true } }, projects: { shop: { destination: 'second', channels: ['sms'], api_keys: [] }, blog: { channels: ['sms'], api_keys: [] } } }));
    await waitFor(() => runtime.project('blog') !== undefined && runtime.project('blog')?.destinationId === undefined, 'the deletion');
    await queue.enqueue(blog.map((message) => queued(message)));
    const stats = await waitForAsync(async () => {
      const current = await queue.stats();
      return current.deadLetters === 5 && current.depth === 0 ? current : undefined;
    });
    expect(stats).toMatchObject({ depth: 0, deadLetters: 5 });
    const page = await queue.listDeadLetters();
    expect(page.items.every((item) => item.kind === 'no_destination' && item.project === 'blog' && item.reason.includes('blog'))).toBe(true);
    // Nothing silently dropped: stored + dead letters = everything submitted.
    expect(storedKeys(path.join(folder, 'second')).length + page.items.length).toBe(shop.length + blog.length);
    await processor.stop();
    await queue.close();
  });
});

async function waitForAsync<T>(read: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('Timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
