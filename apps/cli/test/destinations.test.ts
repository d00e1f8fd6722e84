import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startS3Server, type S3TestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, type CliRun, runCli } from './run-cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-destinations-'));
const configFile = path.join(work, 'sentcopy.config.json');
const credentials = { accessKeyId: 'AKIDSENTCOPYCLITEST', secretAccessKey: `cli-secret-${createHash('sha256').update(work).digest('hex').slice(0, 16)}` };
// Secrets reach the CLI and the worker only through the environment; the config names the variables.
const env = { ...process.env, SC_TEST_KEY_ID: credentials.accessKeyId, SC_TEST_SECRET: credentials.secretAccessKey, SC_WRONG_SECRET: 'not-the-secret', AWS_REGION: 'us-east-1' };

let s3: S3TestServer;
let worker: ChildProcessWithoutNullStreams | undefined;
let apiKey: string;

/** Runs the built CLI without a terminal, asynchronously so the S3 server in this process keeps answering. */
const sentcopy = (...args: string[]) => runCli(args, { cwd: work, env });

const json = (run: CliRun) => JSON.parse(run.stdout) as Record<string, any>;
const readConfigFile = () => JSON.parse(readFileSync(configFile, 'utf8')) as { destinations: Record<string, Record<string, unknown>>; projects: Record<string, { destination?: string; channels: string[] }> };
const s3Options = (bucket: string) => ['--type', 's3', '--bucket', bucket, '--endpoint', s3.endpoint, '--force-path-style', '--region', 'us-east-1', '--access-key-id-env', 'SC_TEST_KEY_ID', '--secret-access-key-env', 'SC_TEST_SECRET'];
const archivedKeys = (bucket: string) => s3.listKeys(bucket).filter((key) => !key.startsWith('.sentcopy-probe/'));

function filesUnder(root: string): string[] {
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && !path.join(entry.parentPath, entry.name).includes(`${path.sep}.sentcopy${path.sep}`) && !path.join(entry.parentPath, entry.name).includes(`${path.sep}.sentcopy-ledger${path.sep}`))
      .map((entry) => path.join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  s3 = await startS3Server({ credentials: [credentials] });
  const init = await sentcopy('init', '--json');
  expect(init.code).toBe(0);
  apiKey = json(init).apiKey as string;
});

afterAll(async () => {
  if (worker !== undefined && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker?.once('exit', resolve));
  }
  await s3.stop();
  rmSync(work, { recursive: true, force: true });
});

// Each CLI run is a Node process start; on two busy cores a dozen of them take longer than vitest's 5 s default.
describe('sentcopy destinations', { timeout: 30_000 }, () => {
  it('connects an S3 bucket to a running worker, which archives the next message into it without a restart', async () => {
    const child = spawn(process.execPath, [bin, 'worker', '--port', '0', '--json'], { cwd: work, env, stdio: ['pipe', 'pipe', 'pipe'] });
    worker = child;
    let logs = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const started = await until('the worker to start', () => {
      const line = stderr.split('\n').find((candidate) => candidate.startsWith('{'));
      return line === undefined ? undefined : (JSON.parse(line) as { url: string });
    });

    const bucket = s3.createBucket();
    const connect = await sentcopy('destinations', 'connect', 'archive-s3', ...s3Options(bucket), '--project', 'default', '--channels', 'email,sms', '--acknowledge-pii', '--json');
    // stderr may hold the AWS SDK's Node 20 deprecation warning, but no error.
    expect(connect.stderr).not.toContain('sentcopy:');
    expect(connect.code).toBe(0);
    const result = json(connect);
    expect(result).toMatchObject({ destination: 'archive-s3', type: 's3', projects: ['default'], probe: { status: 'ok', public: false } });
    expect(result.probe.checks.map((check: { name: string }) => check.name)).toEqual(['reachable', 'write', 'write-once', 'read', 'delete', 'public-access']);
    const written = readFileSync(configFile, 'utf8');
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(written).not.toContain(credentials.secretAccessKey);
    expect(readConfigFile().destinations['archive-s3']).toMatchObject({ type: 's3', bucket, access_key_id: { env: 'SC_TEST_KEY_ID' }, secret_access_key: { env: 'SC_TEST_SECRET' }, acknowledge_personal_data: true });
    expect(readConfigFile().projects['default']).toMatchObject({ destination: 'archive-s3', channels: ['email', 'sms'] });

    // The worker probes the new destination itself before it takes writes.
    await until('the worker to take the new destination', () => (logs.split('\n').some((line) => line.includes('"destination.ready"') && line.includes('"archive-s3"')) ? true : undefined));
    const message = { version: 1, channel: 'sms', message_id: 'cli-destinations-1', project_id: 'default', sent_at: 1767225600000, to: '+15550100000', body: 'Your code is 424242' };
    const response = await fetch(`${started.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify([message]) });
    expect(response.status).toBe(202);
    const [key] = await until('the message in the bucket', () => (archivedKeys(bucket).length > 0 ? archivedKeys(bucket) : undefined));
    const stored = s3.getObject(bucket, key as string);
    expect(JSON.parse(gunzipSync(stored?.body as Buffer).toString('utf8'))).toMatchObject({ message_id: 'cli-destinations-1', body: 'Your code is 424242' });
    expect(stored?.metadata['sentcopy-sha256']).toBe(
      createHash('sha256')
        .update(stored?.body as Buffer)
        .digest('hex'),
    );
    expect(archivedKeys(bucket)).toHaveLength(1);
    expect(filesUnder(path.join(work, 'sentcopy-archive'))).toEqual([]);

    // --channels email,sms took push off the project's channels.
    const refused = await fetch(`${started.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify([{ version: 1, channel: 'push', message_id: 'cli-destinations-2', project_id: 'default', sent_at: 1767225600000, to: 'device-token-1', platform: 'ios', payload: { aps: { alert: 'Hi' } } }]),
    });
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { results: { reason: string }[] }).results[0]?.reason).toBe('channel_disabled');

    child.kill('SIGTERM');
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
    expect(logs).not.toContain(credentials.secretAccessKey);
  });

  it('shows settings with secrets as variable names, and the projects using each destination', async () => {
    const all = await sentcopy('destinations', 'show', '--json');
    expect(all.code).toBe(0);
    const listed = json(all);
    expect(listed.destinations.map((entry: { name: string }) => entry.name)).toEqual(['local', 'archive-s3']);
    expect(listed.destinations[1]).toMatchObject({ type: 's3', projects: [{ id: 'default', channels: ['email', 'sms'] }], settings: { secret_access_key: { env: 'SC_TEST_SECRET' } } });
    expect(listed.destinations[0].projects).toEqual([]);

    const human = await sentcopy('destinations', 'show', 'archive-s3');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('secret_access_key:');
    expect(human.stdout).toContain('from the environment variable SC_TEST_SECRET');
    expect(human.stdout).toContain('Used by: default (email, sms)');
    expect(human.stdout).not.toContain(credentials.secretAccessKey);

    const table = await sentcopy('destinations', 'show');
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+TYPE\s+LOCATION\s+PROJECTS$/);
    expect(table.stdout).toMatch(/archive-s3\s+s3\s+s3:\/\/sentcopy-test-/);
  });

  it('refuses a public bucket, and one that refuses the credentials, leaving the configuration unchanged', async () => {
    const before = readFileSync(configFile, 'utf8');
    const publicBucket = s3.createBucket(undefined, { policyStatus: { isPublic: true } });
    const exposed = await sentcopy('destinations', 'connect', 'exposed', ...s3Options(publicBucket), '--acknowledge-pii', '--json');
    expect(exposed.code).toBe(1);
    expect(json(exposed).error).toMatchObject({ code: 'destination_public' });
    expect(json(exposed).error.message).toContain('publicly readable');
    expect(json(exposed).error.message).toContain('bucket policy grants public access');

    const bucket = s3.createBucket();
    const wrong = await sentcopy('destinations', 'connect', 'wrong-key', ...s3Options(bucket), '--secret-access-key-env', 'SC_WRONG_SECRET', '--acknowledge-pii');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('Destination "wrong-key" was not saved: it refused the probe');
    expect(wrong.stderr).not.toContain('not-the-secret');
    const missing = await sentcopy('destinations', 'connect', 'missing', ...s3Options('no-such-bucket-here'), '--acknowledge-pii', '--json');
    expect(missing.code).toBe(1);
    expect(json(missing).error.message).toContain('Bucket "no-such-bucket-here" does not exist');
    expect(readFileSync(configFile, 'utf8')).toBe(before);
  });

  it('refuses an unreachable store with exit 5; --skip-probe saves it, and probe reports it', async () => {
    const closed = 'http://127.0.0.1:9';
    const options = ['--type', 's3', '--bucket', 'gone-bucket', '--endpoint', closed, '--force-path-style', '--access-key-id-env', 'SC_TEST_KEY_ID', '--secret-access-key-env', 'SC_TEST_SECRET', '--acknowledge-pii'];
    const refused = await sentcopy('destinations', 'connect', 'offline', ...options, '--json');
    expect(refused.code).toBe(5);
    expect(json(refused).error.code).toBe('destination_unreachable');
    expect(readConfigFile().destinations['offline']).toBeUndefined();

    const skipped = await sentcopy('destinations', 'connect', 'offline', ...options, '--skip-probe', '--json');
    expect(skipped.code).toBe(0);
    expect(json(skipped).probe).toEqual({ skipped: true });
    expect(readConfigFile().destinations['offline']).toMatchObject({ endpoint: closed });

    const one = await sentcopy('destinations', 'probe', 'offline', '--json');
    expect(one.code).toBe(5);
    expect(json(one).results).toMatchObject([{ destination: 'offline', status: 'unreachable' }]);

    const all = await sentcopy('destinations', 'probe');
    expect(all.code).toBe(5);
    expect(all.stdout).toMatch(/local\s+fs\s+ok/);
    expect(all.stdout).toMatch(/archive-s3\s+s3\s+ok/);
    expect(all.stdout).toMatch(/offline\s+s3\s+UNREACHABLE/);

    // Saved unprobed with a variable this shell does not set: the worker would refuse the file, and the command says so.
    const unset = await sentcopy('destinations', 'connect', 'unsetsecret', ...options.map((option) => (option === 'SC_TEST_SECRET' ? 'SC_NOT_SET_ANYWHERE' : option)), '--skip-probe', '--json');
    expect(unset.code).toBe(0);
    expect(json(unset).unsetVariables).toEqual(['destinations.unsetsecret.secret_access_key: reads the environment variable SC_NOT_SET_ANYWHERE, which is not set (or empty)']);
    const human = await sentcopy('destinations', 'edit', 'unsetsecret', '--bucket', 'other-bucket', '--skip-probe');
    expect(human.stdout).toContain('a worker started from this shell would refuse this configuration');
    await sentcopy('destinations', 'delete', 'unsetsecret', '--yes');
  });

  it('probe exits 1 when a destination turned public, which wins over unreachable ones', async () => {
    const bucket = readConfigFile().destinations['archive-s3']?.['bucket'] as string;
    s3.configureBucket(bucket, { publicGrants: [{ group: 'AllUsers', permission: 'READ' }] });
    try {
      const run = await sentcopy('destinations', 'probe', '--json');
      expect(run.code).toBe(1);
      const statuses = Object.fromEntries(json(run).results.map((result: { destination: string; status: string }) => [result.destination, result.status]));
      expect(statuses).toEqual({ local: 'ok', 'archive-s3': 'public', offline: 'unreachable' });
      expect(json(run).ok).toBe(false);
    } finally {
      s3.configureBucket(bucket, {});
    }
    const fixed = await sentcopy('destinations', 'probe', 'archive-s3', '--json');
    expect(fixed.code).toBe(0);
    expect(json(fixed)).toMatchObject({ ok: true, results: [{ status: 'ok', public: false }] });
  });

  it('edits settings with the same checks, and clears them', async () => {
    const edited = await sentcopy('destinations', 'edit', 'archive-s3', '--key-prefix', 'archive/', '--storage-class', 'STANDARD_IA', '--json');
    expect(edited.code).toBe(0);
    expect(json(edited)).toMatchObject({ settings: { key_prefix: 'archive/', storage_class: 'STANDARD_IA' }, projects: ['default'], probe: { status: 'ok' } });
    expect(readConfigFile().destinations['archive-s3']).toMatchObject({ key_prefix: 'archive/', storage_class: 'STANDARD_IA' });

    const cleared = await sentcopy('destinations', 'edit', 'archive-s3', '--clear', 'key-prefix,storage-class', '--skip-probe', '--json');
    expect(cleared.code).toBe(0);
    expect(readConfigFile().destinations['archive-s3']).not.toHaveProperty('key_prefix');
    expect(readConfigFile().destinations['archive-s3']).not.toHaveProperty('storage_class');

    const half = await sentcopy('destinations', 'edit', 'archive-s3', '--object-lock-days', '30', '--json');
    expect(half.code).toBe(2);
    expect(json(half).error.message).toContain('--object-lock-mode (destinations["archive-s3"].object_lock.mode): goes with the other');

    const nothing = await sentcopy('destinations', 'edit', 'archive-s3');
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('Nothing to change');

    const wrongType = await sentcopy('destinations', 'edit', 'local', '--bucket', 'x');
    expect(wrongType.code).toBe(2);
    expect(wrongType.stderr).toContain('--bucket does not apply to fs destinations');
  });
});
