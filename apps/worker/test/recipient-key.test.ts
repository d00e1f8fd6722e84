import { createHash, createHmac } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { faults, s3ErrorResponse } from '@sentcopy/test-servers';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, createJsonLineLogger, hashApiKey, readEnvFile, runWorker, validateConfig, type WorkerConfig } from '../src/index.js';
import { storedKeys } from './helpers.js';
import { goodCredentials, startS3Setup } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';

// Keyed recipient hashes in the worker: the first-run configuration generates and references a
// secret, the keys it writes hold HMAC-SHA-256(secret, E.164 number) and never the plain SHA-256,
// a configuration written before keeps its unkeyed layout (with a warning), and debug logs never
// print an unkeyed recipient hash.

const newFolder = tempFolders('recipient-key');
const phone = '+1 (555) 010-0107';
const e164 = '+15550100107';
const plainHash = createHash('sha256').update(e164).digest('hex');
const hmacOf = (secret: string, text: string) => createHmac('sha256', secret).update(text, 'utf8').digest('hex');
const sms = (id: string, project: string) => ({ version: 1, channel: 'sms', message_id: id, project_id: project, sent_at: Date.parse('2026-03-01T10:00:00Z'), to: phone, body: 'Your code is 123456' });

const started: { stop(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(started.map((worker) => worker.stop()));
});

/** Starts a worker whose logs (debug and up) are captured as the JSON lines it would print. */
async function start(configFile: string, options: { createConfig?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const lines: string[] = [];
  const worker = await runWorker({
    configFile,
    port: 0,
    prepareThreads: 1,
    env: options.env ?? {},
    ...(options.createConfig === true ? { createConfig: true } : {}),
    logger: createJsonLineLogger((line) => lines.push(line), { level: 'debug' }),
  });
  started.push(worker);
  return { worker, lines };
}

async function archive(url: string, apiKey: string, message: object): Promise<{ status: number; key: string }> {
  const response = await fetch(`${url}/v1/archive`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(message) });
  const body = (await response.json()) as { key: string };
  return { status: response.status, key: body.key };
}

async function waitForLine(lines: string[], pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = lines.find((line) => pattern.test(line));
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no log line matches ${pattern}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the worker and the recipient key', () => {
  it('writes a first-run configuration that references a new secret kept in a 0600 env file, and keys recipients with it', async () => {
    const folder = newFolder();
    const configFile = path.join(folder, 'sentcopy.config.json');
    const { worker, lines } = await start(configFile, { createConfig: true });
    const envFile = path.join(folder, 'sentcopy.config.env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const secret = (await readEnvFile(envFile))['SENTCOPY_RECIPIENT_KEY'] as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const configText = readFileSync(configFile, 'utf8');
    expect(JSON.parse(configText).recipient_hash_key).toEqual({ env: 'SENTCOPY_RECIPIENT_KEY' });
    expect(configText).not.toContain(secret);

    const stored = await archive(worker.url, worker.createdApiKey as string, sms('first-run-1', 'default'));
    expect(stored.status).toBe(201);
    expect(stored.key).toBe(`default/${hmacOf(secret, e164)}/sms/20260301/first-run-1.json.gz`);
    expect(storedKeys(path.join(folder, 'sentcopy-archive'))).toEqual([stored.key]);

    // Queued (after-send) too, with the debug line of the stored message.
    const batch = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${worker.createdApiKey}`, 'content-type': 'application/json' }, body: JSON.stringify([sms('first-run-2', 'default')]) });
    expect(batch.status).toBe(202);
    const archived = await waitForLine(lines, /"event":"message.archived"/);
    expect(archived).toContain(hmacOf(secret, e164));
    expect(storedKeys(path.join(folder, 'sentcopy-archive'))).toContain(`default/${hmacOf(secret, e164)}/sms/20260301/first-run-2.json.gz`);

    const logs = lines.join('');
    expect(logs).not.toContain(plainHash);
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain('recipient_key_missing');
  });

  it('keeps an older configuration (no recipient_hash_key) on its unkeyed layout, warns naming the projects, and logs keys without the hash', async () => {
    const folder = newFolder();
    const configFile = path.join(folder, 'sentcopy.config.json');
    const apiKey = 'sc_legacy_test_key_00000000000000000000000000';
    const config: WorkerConfig = {
      version: 1,
      destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
      projects: { legacy: { destination: 'local', channels: ['sms'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
    };
    writeFileSync(configFile, JSON.stringify(config), { mode: 0o600 });
    const { worker, lines } = await start(configFile);
    const warning = JSON.parse(await waitForLine(lines, /"event":"config.recipient_key_missing"/)) as { level: string; projects: string[]; message: string };
    expect(warning).toMatchObject({ level: 'warn', projects: ['legacy'] });
    expect(warning.message).toContain('"recipient_hash_key": { "env": "SENTCOPY_RECIPIENT_KEY" }');

    // Where its messages already are: nothing moves under an upgrade.
    const stored = await archive(worker.url, apiKey, sms('legacy-1', 'legacy'));
    expect(stored.key).toBe(`legacy/${plainHash}/sms/20260301/legacy-1.json.gz`);
    expect(storedKeys(path.join(folder, 'archive'))).toEqual([stored.key]);

    await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify([sms('legacy-2', 'legacy')]) });
    const archived = JSON.parse(await waitForLine(lines, /"event":"message.archived"/)) as { key: string };
    expect(archived.key).toBe('legacy/{sha256(recipient)}/sms/20260301/legacy-2.json.gz');
    expect(lines.join('')).not.toContain(plainHash);
    expect(existsSync(path.join(folder, 'sentcopy.config.env'))).toBe(false);
  });

  it('redacts the unkeyed MD5 of vendor layouts from debug logs too', async () => {
    const folder = newFolder();
    const configFile = path.join(folder, 'sentcopy.config.json');
    const apiKey = 'sc_braze_test_key_000000000000000000000000000';
    writeFileSync(
      configFile,
      JSON.stringify({
        version: 1,
        destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
        projects: { shop: { destination: 'local', channels: ['sms'], profile: 'braze', api_keys: [{ sha256: hashApiKey(apiKey) }] } },
      }),
    );
    const { worker, lines } = await start(configFile);
    const md5 = createHash('md5').update(e164).digest('hex');
    await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify([sms('braze-1', 'shop')]) });
    const archived = JSON.parse(await waitForLine(lines, /"event":"message.archived"/)) as { key: string };
    expect(archived.key).toBe('sent_messages/sms/{md5(recipient)}/unassociated/braze-1.json.gz');
    expect(storedKeys(path.join(folder, 'archive'))).toEqual([`sent_messages/sms/${md5}/unassociated/braze-1.json.gz`]);
    expect(lines.join('')).not.toContain(md5);
  });
});

describe('failure reasons and the recipient hash', () => {
  it('redacts the key an S3 error names from the retry log of an unkeyed layout', async () => {
    const s3 = await startS3Setup();
    try {
      const folder = newFolder();
      const configFile = path.join(folder, 'sentcopy.config.json');
      const apiKey = 'sc_s3_redact_test_key_0000000000000000000000000';
      writeFileSync(
        configFile,
        JSON.stringify({
          version: 1,
          destinations: {
            cloud: {
              type: 's3',
              bucket: s3.bucket,
              region: 'us-east-1',
              endpoint: s3.proxy.url,
              force_path_style: true,
              access_key_id: { env: 'ID' },
              secret_access_key: { env: 'SECRET' },
              request_checksum_calculation: 'WHEN_REQUIRED',
              acknowledge_personal_data: true,
            },
          },
          projects: { shop: { destination: 'cloud', channels: ['sms'], profile: 'braze', api_keys: [{ sha256: hashApiKey(apiKey) }] } },
        }),
      );
      const { worker, lines } = await start(configFile, { env: { ID: goodCredentials.accessKeyId, SECRET: goodCredentials.secretAccessKey } });
      s3.proxy.inject(faults.respond(s3ErrorResponse('AccessDenied')), { match: (request) => request.method === 'PUT' && request.url.includes(s3.bucket) });
      await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify([sms('denied-1', 'shop')]) });
      const retry = JSON.parse(await waitForLine(lines, /"event":"message.retry_scheduled"/)) as { reason: string };
      // The S3 error names the key; the log names its placeholder instead of the recipient's MD5.
      expect(retry.reason).toContain('key "sent_messages/sms/{md5(recipient)}/unassociated/denied-1.json.gz"');
      const md5 = createHash('md5').update(e164).digest('hex');
      expect(lines.join('')).not.toContain(md5);
      await worker.stop();
    } finally {
      await s3.stop();
    }
  });
});

describe('validating recipient_hash_key', () => {
  const base = {
    version: 1,
    destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
    projects: { shop: { destination: 'local', channels: ['sms'], api_keys: [] } },
  };

  it('refuses a layout with {hmac(recipient)} when the configuration has no secret, naming the field and the fix', async () => {
    const result = await validateConfig({ ...base, projects: { shop: { ...base.projects.shop, layout: 'sentcopy' } } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]?.path).toBe('projects.shop.layout');
    expect(result.issues[0]?.problem).toContain('needs the deployment\'s secret: add "recipient_hash_key"');
    expect((await validateConfig({ ...base, recipient_hash_key: { env: 'KEY' }, projects: { shop: { ...base.projects.shop, layout: 'sentcopy' } } })).ok).toBe(true);
  });

  it('refuses a secret shorter than 16 bytes and an unset variable, without echoing a value', async () => {
    const short = 'too-short-key';
    const tooShort = await validateConfig({ ...base, recipient_hash_key: { env: 'KEY' } }, { env: { KEY: short } });
    expect(tooShort.ok).toBe(false);
    if (!tooShort.ok) {
      expect(tooShort.issues).toEqual([{ path: 'recipient_hash_key', problem: 'reads the environment variable KEY, which holds 13 byte(s); the secret must be at least 16 (32 random bytes are recommended)' }]);
      expect(JSON.stringify(tooShort.issues)).not.toContain(short);
    }
    const unset = await validateConfig({ ...base, recipient_hash_key: { env: 'KEY' } }, { env: {} });
    expect(unset.ok ? [] : unset.issues).toEqual([{ path: 'recipient_hash_key', problem: 'reads the environment variable KEY, which is not set (or empty)' }]);
    expect((await validateConfig({ ...base, recipient_hash_key: { env: 'KEY', value: 'inline' } })).ok).toBe(false);
  });

  it('refuses to start on an env file that other users may read, saying how to fix it', async () => {
    const folder = newFolder();
    const configFile = path.join(folder, 'sentcopy.config.json');
    writeFileSync(configFile, JSON.stringify({ ...base, recipient_hash_key: { env: 'SENTCOPY_RECIPIENT_KEY' } }));
    const envFile = path.join(folder, 'sentcopy.config.env');
    writeFileSync(envFile, 'SENTCOPY_RECIPIENT_KEY=0123456789abcdef0123456789abcdef\n');
    chmodSync(envFile, 0o644);
    const error = await runWorker({ configFile, port: 0, prepareThreads: 0, env: {} }).catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(`chmod 600 ${envFile}`);
    expect((error as Error).message).not.toContain('0123456789abcdef');
  });
});
