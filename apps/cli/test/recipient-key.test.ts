import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { storedKeys, tempFolders, waitFor } from './ingest-fixture.js';
import { bin, runCli } from './run-cli.js';

// The keyed recipient hash end to end: the worker's first-run configuration generates the secret,
// the worker stores under HMAC(secret, E.164), and `sentcopy ls --recipient` finds the message with
// the secret (hashing locally) and refuses clearly without it.

const newFolder = tempFolders('recipient-key');
const e164 = '+15550100107';
const plainHash = createHash('sha256').update(e164).digest('hex');
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
});

// The variable the configuration names is cleared, so only the env file can provide the secret.
const withoutKey = { SENTCOPY_RECIPIENT_KEY: '' };

interface LsJson {
  prefix: string;
  objects: { key: string }[];
}

async function firstRunWorker(folder: string): Promise<{ url: string; apiKey: string; config: string; child: ChildProcess; logs: () => string }> {
  const child = spawn(process.execPath, [bin, 'worker', '--port', '0', '--json', '--log-level', 'debug'], { cwd: folder, env: { ...process.env, ...withoutKey }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const started = await new Promise<{ url: string; apiKey: string; config: string }>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const line = stderr.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`the worker exited with ${code}: ${stderr}`)));
  });
  return { ...started, child, logs: () => stdout + stderr };
}

describe('sentcopy and the recipient key', { timeout: 60_000 }, () => {
  it('finds a message the first-run worker stored under HMAC(secret, number) by --recipient, and refuses clearly without the secret', async () => {
    const folder = newFolder();
    const worker = await firstRunWorker(folder);
    const envFile = path.join(folder, 'sentcopy.config.env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const secret = /^SENTCOPY_RECIPIENT_KEY=(.+)$/m.exec(readFileSync(envFile, 'utf8'))?.[1] as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.parse(readFileSync(worker.config, 'utf8')).recipient_hash_key).toEqual({ env: 'SENTCOPY_RECIPIENT_KEY' });

    const message = { version: 1, channel: 'sms', message_id: 'keyed-1', project_id: 'default', sent_at: Date.parse('2026-03-01T10:00:00Z'), to: '+1 (555) 010-0107', body: 'Your code is 123456' };
    const other = { ...message, message_id: 'keyed-2', to: '+1 555 010 0999' };
    const response = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${worker.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify([message, other]) });
    expect(response.status).toBe(202);
    const root = path.join(folder, 'sentcopy-archive');
    await waitFor(() => storedKeys(root).length === 2, 15_000, 'two stored copies');
    const hmac = createHmac('sha256', secret).update(e164, 'utf8').digest('hex');
    expect(storedKeys(root)).toContain(`default/${hmac}/sms/20260301/keyed-1.json.gz`);
    expect(storedKeys(root).join('\n')).not.toContain(plainHash);

    // With the secret (read from the env file beside the configuration): exactly that person's message, by its key
    // (--listing: the worker's ledger, once its segment is written, would answer without a key prefix).
    const found = await runCli(['ls', '--listing', '--project', 'default', '--channel', 'sms', '--recipient', '+1 555-010-0107', '--json'], { cwd: folder, env: withoutKey });
    expect(found.code, found.stderr).toBe(0);
    const listed = JSON.parse(found.stdout) as LsJson;
    expect(listed.objects.map((object) => object.key)).toEqual([`default/${hmac}/sms/20260301/keyed-1.json.gz`]);
    expect(listed.prefix).toBe(`default/${hmac}/sms/`);
    expect(found.stdout + found.stderr).not.toContain(plainHash);
    expect(found.stdout + found.stderr).not.toContain(secret);

    // The same configuration without its env file (another machine, a lost secret): a clear refusal, but listing still works.
    const elsewhere = path.join(newFolder(), 'copy');
    mkdirSync(elsewhere);
    copyFileSync(worker.config, path.join(elsewhere, 'sentcopy.config.json'));
    writeFileSync(path.join(elsewhere, 'sentcopy.config.json'), readFileSync(worker.config, 'utf8').replace('"sentcopy-archive"', JSON.stringify(root)));
    const refused = await runCli(['ls', '--recipient', '+1 555-010-0107', '--json'], { cwd: elsewhere, env: withoutKey });
    expect(refused.code).toBe(2);
    const error = (JSON.parse(refused.stdout) as { error: { code: string; message: string; hint: string } }).error;
    expect(error.code).toBe('recipient_key_required');
    expect(error.message).toContain('--recipient needs the recipient key');
    expect(error.hint).toContain('SENTCOPY_RECIPIENT_KEY');
    const all = await runCli(['ls', '--json'], { cwd: elsewhere, env: withoutKey });
    expect(all.code, all.stderr).toBe(0);
    expect((JSON.parse(all.stdout) as LsJson).objects).toHaveLength(2);

    // verify cannot check where a message belongs without the secret: it says so instead of skipping the check.
    const unverifiable = await runCli(['verify', '--json'], { cwd: elsewhere, env: withoutKey });
    expect(unverifiable.code).toBe(2);
    expect((JSON.parse(unverifiable.stdout) as { error: { code: string } }).error.code).toBe('recipient_key_required');
    const verified = await runCli(['verify', '--json'], { cwd: elsewhere, env: { SENTCOPY_RECIPIENT_KEY: secret } });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, checked: 2, intact: 2, conflicting: 0 });

    // The secret from the environment works as well as the env file.
    const viaEnv = await runCli(['ls', '--recipient', '+15550100107', '--json'], { cwd: elsewhere, env: { SENTCOPY_RECIPIENT_KEY: secret } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect((JSON.parse(viaEnv.stdout) as LsJson).objects.map((object) => object.key)).toEqual([`default/${hmac}/sms/20260301/keyed-1.json.gz`]);
    // A wrong secret finds nothing (and says nothing about the right one).
    const wrong = await runCli(['ls', '--recipient', '+15550100107', '--json'], { cwd: elsewhere, env: { SENTCOPY_RECIPIENT_KEY: 'a-wrong-secret-of-enough-bytes' } });
    expect((JSON.parse(wrong.stdout) as LsJson).objects).toEqual([]);

    worker.child.kill('SIGTERM');
    await new Promise((resolve) => worker.child.once('exit', resolve));
    const logs = worker.logs();
    expect(logs).toContain('"event":"message.archived"');
    expect(logs).not.toContain(plainHash);
    expect(logs).not.toContain(secret);
  });

  it('still finds the messages of a configuration written before the keyed hash (no recipient_hash_key)', async () => {
    const folder = newFolder();
    const root = path.join(folder, 'archive');
    writeFileSync(
      path.join(folder, 'sentcopy.config.json'),
      JSON.stringify({ version: 1, destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } }, projects: { shop: { destination: 'local', channels: ['sms'], api_keys: [] } } }),
    );
    writeFileSync(path.join(folder, 'old.jsonl'), `${JSON.stringify({ version: 1, channel: 'sms', message_id: 'old-1', project_id: 'shop', sent_at: Date.parse('2026-03-01T10:00:00Z'), to: e164, body: 'hi' })}\n`);
    const ingested = await runCli(['ingest', 'old.jsonl', '--direct', '--json'], { cwd: folder, env: withoutKey });
    expect(ingested.code, ingested.stderr).toBe(0);
    expect(storedKeys(root)).toEqual([`shop/${plainHash}/sms/20260301/old-1.json.gz`]);
    const found = await runCli(['ls', '--recipient', '+1 555 010 0107', '--json'], { cwd: folder, env: withoutKey });
    expect(found.code, found.stderr).toBe(0);
    expect((JSON.parse(found.stdout) as LsJson).objects.map((object) => object.key)).toEqual([`shop/${plainHash}/sms/20260301/old-1.json.gz`]);
  });
});
