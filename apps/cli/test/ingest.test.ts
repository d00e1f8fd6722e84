import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createArchiver, sampleMessages, versionKey, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { faults, startFaultProxy, startS3Server, type TestCredentials } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliWorker, storedKeys, tempFolders, waitFor, writeWorkerConfig, type CliWorker } from './ingest-fixture.js';
import { runCli } from './run-cli.js';

const newFolder = tempFolders('ingest');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const allChannels = ['email', 'sms', 'push', 'whatsapp'] as const;

/** Sample messages of every channel as JSON lines, with bad lines put in at known line numbers. */
function jsonLines(projectId: string, count: number, seed: number) {
  const messages = sampleMessages({ projectId, count, seed });
  const lines = messages.map((message) => JSON.stringify(message));
  const invalid = { ...(messages[0] as Message), message_id: 'no-recipient' } as Record<string, unknown>;
  delete invalid.to;
  // Line numbers after insertion: 3 bad JSON, 6 blank (skipped), 8 invalid (no recipient, bad channel), 12 another project.
  lines.splice(2, 0, '{"version":1,"channel":"sms","to":"+15550109999" "body":"oops"}');
  lines.splice(5, 0, '');
  lines.splice(7, 0, JSON.stringify({ ...invalid, channel: 'Fax' }));
  lines.splice(11, 0, JSON.stringify({ ...(messages[1] as Message), message_id: 'elsewhere', project_id: 'other-project' }));
  return { messages, text: `${lines.join('\n')}\n` };
}

interface Rejected {
  line: number;
  reason: string;
  error: string;
  issues: { path: string; problem: string }[];
  message_id?: string;
  message?: string;
}

const readRejects = (file: string): Rejected[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Rejected)
    .sort((left, right) => left.line - right.line);

/** Checks through node:fs that each message is stored once, with the bytes archive() writes for it. */
async function expectStored(root: string, messages: readonly Message[]): Promise<void> {
  const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root: newFolder() }) });
  const expected = await Promise.all(messages.map((message) => archiver.prepare(message)));
  expect(storedKeys(root)).toEqual(expected.map((prepared) => prepared.key).sort());
  for (const [index, prepared] of expected.entries()) {
    const bytes = readFileSync(path.join(root, ...prepared.key.split('/')));
    expect(sha256(bytes)).toBe(prepared.sha256);
    const stored = JSON.parse(gunzipSync(bytes).toString('utf8')) as Record<string, unknown>;
    const message = messages[index] as unknown as Record<string, unknown>;
    expect(stored).toMatchObject({ message_id: message.message_id, channel: message.channel, project_id: message.project_id });
  }
}

describe('sentcopy ingest --worker', () => {
  let work: string;
  let root: string;
  let key: string;
  let worker: CliWorker;
  beforeAll(async () => {
    work = newFolder();
    root = path.join(work, 'archive');
    ({ shop: key } = writeWorkerConfig(path.join(work, 'sentcopy.config.json'), {
      destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
      projects: { shop: { destination: 'local', channels: [...allChannels] } },
      // Below the CLI's defaults, so runs learn the limits from the worker's 413 answers and split their batches.
      http: { limits: { max_batch_messages: 15, max_body_bytes: 100_000 } },
    }) as { shop: string });
    worker = await startCliWorker(path.join(work, 'sentcopy.config.json'));
  });
  afterAll(async () => worker?.stop());

  it('sends the good lines, writes the bad ones to the rejects file with their line numbers, and exits 4', async () => {
    const { messages, text } = jsonLines('shop', 40, 7);
    writeFileSync(path.join(work, 'sent.jsonl'), text);
    // Small batches and two in flight, so results come back from several requests.
    const run = await runCli(['ingest', 'sent.jsonl', '--worker', worker.url, '--batch-size', '7', '--concurrency', '2'], { cwd: work, env: { SENTCOPY_KEY: key } });
    expect(run.code).toBe(4);
    expect(run.stdout).toMatch(/Ingested 43 lines from sent\.jsonl/);
    expect(run.stdout).toMatch(/\s40 accepted by the worker/);
    expect(run.stdout).toMatch(/\s3 rejected -> .*sent\.jsonl\.rejects\.jsonl/);

    const rejects = readRejects(path.join(work, 'sent.jsonl.rejects.jsonl'));
    expect(rejects.map((record) => [record.line, record.reason])).toEqual([
      [3, 'invalid_json'],
      [8, 'invalid'],
      [12, 'wrong_project'],
    ]);
    expect(rejects[0]?.error).toMatch(/Line 3 is not valid JSON: .* at column \d+/);
    expect(rejects[1]?.issues.map((issue) => issue.path).sort()).toEqual(['channel', 'to']);
    expect(rejects[1]?.message_id).toBe('no-recipient');
    expect(rejects[2]).toMatchObject({ message_id: 'elsewhere', issues: [{ path: 'project_id', problem: 'must be the project of the API key used: this key belongs to project "shop"' }] });
    // Personal data stays out of the rejects file unless asked for.
    const rejectsText = readFileSync(path.join(work, 'sent.jsonl.rejects.jsonl'), 'utf8');
    expect(rejectsText).not.toContain('+15550109999');
    expect(rejectsText).not.toContain('"message"');

    await waitFor(() => storedKeys(root).length >= messages.length, 15_000, 'the worker to store every accepted message');
    await expectStored(root, messages);

    // Again, as JSON, in default-size batches the worker refuses (413) until they are split to its limit: every good
    // line is a duplicate now; the rejects file is replaced, not appended to.
    const again = await runCli(['ingest', 'sent.jsonl', '--worker', worker.url, '--json', '--rejects', 'bad.jsonl', '--rejects-include-message'], { cwd: work, env: { SENTCOPY_KEY: key } });
    expect(again.code).toBe(4);
    expect(JSON.parse(again.stdout)).toMatchObject({ mode: 'worker', lines: 43, accepted: 0, duplicates: 40, rejected: 3, rejectsFile: path.join(work, 'bad.jsonl') });
    const withMessages = readRejects(path.join(work, 'bad.jsonl'));
    expect(withMessages.map((record) => record.line)).toEqual([3, 8, 12]);
    expect(withMessages[0]?.message).toBe(text.split('\n')[2]);
    expect(again.stderr).toBe('');
    expect(storedKeys(root)).toHaveLength(messages.length);
  }, 30_000);

  it("splits batches over the worker's body limit, and rejects a single message over it as too_large", async () => {
    const emails = sampleMessages({ projectId: 'shop', count: 24, seed: 55 }).filter((message) => message.channel === 'email');
    const huge = { ...(emails[0] as Message), message_id: 'huge', html: `<p>${'x'.repeat(150_000)}</p>` } as Message;
    writeFileSync(path.join(work, 'emails.jsonl'), `${[...emails, huge].map((message) => JSON.stringify(message)).join('\n')}\n`);
    expect(emails.length * JSON.stringify(emails[0]).length).toBeGreaterThan(100_000);
    const run = await runCli(['ingest', 'emails.jsonl', '--worker', worker.url, '--json'], { cwd: work, env: { SENTCOPY_KEY: key } });
    expect(run.code).toBe(4);
    expect(JSON.parse(run.stdout)).toMatchObject({ lines: emails.length + 1, accepted: emails.length, rejected: 1 });
    expect(readRejects(path.join(work, 'emails.jsonl.rejects.jsonl'))).toEqual([
      { line: emails.length + 1, reason: 'too_large', error: "The message is larger than the worker's request limit of 100000 bytes.", issues: [], message_id: 'huge' },
    ]);
  }, 20_000);

  it('reads standard input, exits 0 when every line is taken, and retries while the worker answers 503', async () => {
    const proxy = await startFaultProxy({ target: worker.url });
    try {
      const overloaded = proxy.inject(faults.respond({ status: 503, headers: { 'content-type': 'application/json', 'retry-after': '0' }, body: JSON.stringify({ error: { code: 'queue_unavailable', message: 'busy' } }) }), { times: 3 });
      const messages = sampleMessages({ projectId: 'shop', count: 12, seed: 99 });
      const run = await runCli(['ingest', '-', '--worker', proxy.url, '--json'], { cwd: work, env: { SENTCOPY_KEY: key }, input: messages.map((message) => JSON.stringify(message)).join('\r\n') });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ mode: 'worker', input: '-', lines: 12, accepted: 12, duplicates: 0, rejected: 0 });
      expect(JSON.parse(run.stdout).rejectsFile).toBeUndefined();
      expect(existsSync(path.join(work, 'stdin.rejects.jsonl'))).toBe(false);
      expect(overloaded.hits).toBe(3);
      expect(proxy.requests.filter((request) => request.url === '/v1/messages').map((request) => request.status)).toEqual([503, 503, 503, 202]);
    } finally {
      await proxy.stop();
    }
  }, 20_000);

  it('says what to do when the key, the worker or the mode is missing or wrong', async () => {
    writeFileSync(path.join(work, 'one.jsonl'), `${JSON.stringify(sampleMessages({ projectId: 'shop', count: 1 })[0])}\n`);
    const noKey = await runCli(['ingest', 'one.jsonl', '--worker', worker.url, '--api-key-env', 'SENTCOPY_TEST_UNSET_KEY'], { cwd: work });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('SENTCOPY_TEST_UNSET_KEY');
    const badKey = await runCli(['ingest', 'one.jsonl', '--worker', worker.url, '--json'], { cwd: work, env: { SENTCOPY_KEY: 'sc_not_a_key' } });
    expect(badKey.code).toBe(1);
    expect(JSON.parse(badKey.stdout)).toMatchObject({ error: { code: 'unauthorized' } });
    expect(badKey.stdout).not.toContain('sc_not_a_key');
    const noMode = await runCli(['ingest', 'one.jsonl'], { cwd: work, env: { SENTCOPY_WORKER_URL: '' } });
    expect(noMode.code).toBe(2);
    expect(noMode.stderr).toContain('--worker URL or --direct');
    const missing = await runCli(['ingest', 'nowhere.jsonl', '--direct'], { cwd: work });
    expect(missing.code).toBe(3);
    const down = await runCli(['ingest', 'one.jsonl', '--worker', 'http://127.0.0.1:9', '--max-retries', '1'], { cwd: work, env: { SENTCOPY_KEY: key } });
    expect(down.code).toBe(5);
    expect(down.stderr).toMatch(/Cannot reach the worker at http:\/\/127\.0\.0\.1:9/);
  }, 20_000);
});

describe('sentcopy ingest --direct', () => {
  const credentials: TestCredentials = { accessKeyId: 'AKIASENTCOPYCLIINGEST', secretAccessKey: 'sentcopy-cli-ingest-test-secret-000000001' };
  it('archives into an S3 destination with the prepare pool: objects and bytes match, rejects written, exit 4', async () => {
    const s3 = await startS3Server({ credentials: [credentials] });
    try {
      const bucket = s3.createBucket();
      const work = newFolder();
      writeWorkerConfig(path.join(work, 'sentcopy.config.json'), {
        destinations: {
          bucket: {
            type: 's3',
            bucket,
            region: 'us-east-1',
            endpoint: s3.endpoint,
            force_path_style: true,
            request_checksum_calculation: 'WHEN_REQUIRED',
            access_key_id: { env: 'TEST_S3_KEY_ID' },
            secret_access_key: { env: 'TEST_S3_SECRET' },
            acknowledge_personal_data: true,
          },
        },
        projects: { shop: { destination: 'bucket', channels: ['email', 'sms', 'push'] } },
      });
      const { messages, text } = jsonLines('shop', 60, 3);
      writeFileSync(path.join(work, 'sent.jsonl'), text);
      const env = { TEST_S3_KEY_ID: credentials.accessKeyId, TEST_S3_SECRET: credentials.secretAccessKey };
      const run = await runCli(['ingest', 'sent.jsonl', '--direct', '--threads', '1', '--json'], { cwd: work, env });
      expect(run.code).toBe(4);
      const taken = messages.filter((message) => message.channel !== 'whatsapp');
      const summary = JSON.parse(run.stdout);
      expect(summary).toMatchObject({ mode: 'direct', lines: 63, stored: taken.length, duplicates: 0, rejected: 3 + (messages.length - taken.length) });
      expect(run.stdout).not.toContain(credentials.secretAccessKey);

      const rejects = readRejects(path.join(work, 'sent.jsonl.rejects.jsonl'));
      expect(rejects.filter((record) => record.reason !== 'channel_disabled').map((record) => [record.line, record.reason])).toEqual([
        [3, 'invalid_json'],
        [8, 'invalid'],
        [12, 'unknown_project'],
      ]);
      expect(
        rejects
          .filter((record) => record.reason === 'channel_disabled')
          .map((record) => record.message_id)
          .sort(),
      ).toEqual(
        messages
          .filter((message) => message.channel === 'whatsapp')
          .map((message) => message.message_id)
          .sort(),
      );

      const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root: newFolder() }) });
      const expected = await Promise.all(taken.map((message) => archiver.prepare(message)));
      expect(s3.listKeys(bucket).sort()).toEqual(expected.map((prepared) => prepared.key).sort());
      for (const prepared of expected) {
        const object = s3.getObject(bucket, prepared.key);
        expect(sha256(object?.body as Uint8Array)).toBe(prepared.sha256);
      }
      const decoded = JSON.parse(gunzipSync(s3.getObject(bucket, expected[0]?.key as string)?.body as Uint8Array).toString('utf8')) as Record<string, unknown>;
      expect(decoded).toMatchObject({ message_id: taken[0]?.message_id, project_id: 'shop' });

      // Again, on the main thread: every stored line is now an identical copy already there.
      const again = await runCli(['ingest', 'sent.jsonl', '--direct', '--threads', '0', '--json'], { cwd: work, env });
      expect(JSON.parse(again.stdout)).toMatchObject({ stored: 0, duplicates: taken.length });
      expect(s3.listKeys(bucket)).toHaveLength(taken.length);

      // A message whose key already holds a different copy is never an overwrite: both were sent, so it is stored as a version next to the first.
      const changed = { ...(taken[0] as Message), sent_at: (taken[0] as Message).sent_at + 1 } as Message;
      writeFileSync(path.join(work, 'changed.jsonl'), `${JSON.stringify(changed)}\n`);
      const version = await runCli(['ingest', 'changed.jsonl', '--direct', '--json'], { cwd: work, env });
      expect(version.code).toBe(0);
      expect(JSON.parse(version.stdout)).toMatchObject({ stored: 1, rejected: 0 });
      const changedPrepared = await archiver.prepare(changed);
      expect(changedPrepared.key).toBe(expected[0]?.key);
      expect(s3.listKeys(bucket)).toContain(versionKey(changedPrepared.key, changedPrepared.contentSha256));
      expect(s3.listKeys(bucket)).toHaveLength(taken.length + 1);
      expect(sha256(s3.getObject(bucket, expected[0]?.key as string)?.body as Uint8Array)).toBe(expected[0]?.sha256);
    } finally {
      await s3.stop();
    }
  }, 30_000);
});
