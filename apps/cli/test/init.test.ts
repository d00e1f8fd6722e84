import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-init-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sentcopy = (...args: string[]) => runCli(args, { cwd: work });

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('sentcopy init', { timeout: 20_000 }, () => {
  it('writes a working configuration (mode 0600) holding only the hash of the API key it prints once', async () => {
    const run = await sentcopy('init', '--json');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { file: string; project: string; apiKey: string; destination: string; archive: string };
    const file = path.join(work, 'sentcopy.config.json');
    expect(result).toMatchObject({ file, project: 'default', destination: 'local', archive: path.join(work, 'sentcopy-archive') });
    expect(result.apiKey).toMatch(/^sc_[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(result.apiKey);
    const config = JSON.parse(text);
    expect(config).toEqual({
      version: 1,
      recipient_hash_key: { env: 'SENTCOPY_RECIPIENT_KEY' },
      destinations: { local: { type: 'fs', root: 'sentcopy-archive', acknowledge_personal_data: true } },
      projects: {
        default: {
          destination: 'local',
          channels: ['email', 'sms', 'push', 'whatsapp'],
          api_keys: [{ sha256: sha256(result.apiKey), label: 'created by sentcopy init', created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/) }],
        },
      },
    });

    // The recipient key: generated into the env file beside the configuration (0600), never printed, never in the configuration.
    const envFile = path.join(work, 'sentcopy.config.env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const secret = /^SENTCOPY_RECIPIENT_KEY=([A-Za-z0-9_-]{43})$/m.exec(readFileSync(envFile, 'utf8'))?.[1] as string;
    expect(secret).toBeDefined();
    expect(run.stdout + run.stderr).not.toContain(secret);
    expect(text).not.toContain(secret);
    expect(result).toMatchObject({ recipientKeyFile: envFile, recipientKeyCreated: true });

    const check = await sentcopy('config', 'check', '--json');
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, destinations: ['local'], projects: ['default'] });
  });

  it('refuses to overwrite an existing file unless --force, which replaces it with a new key', async () => {
    const file = path.join(work, 'sentcopy.config.json');
    const before = readFileSync(file, 'utf8');
    const refused = await sentcopy('init');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`sentcopy: ${file} already exists; it was left unchanged.`);
    expect(refused.stderr).toContain('--force');
    expect(refused.stdout).toBe('');
    expect(readFileSync(file, 'utf8')).toBe(before);

    const refusedJson = await sentcopy('init', '--json');
    expect(refusedJson.code).toBe(1);
    expect(JSON.parse(refusedJson.stdout).error.code).toBe('config_exists');

    const envFile = path.join(work, 'sentcopy.config.env');
    const secretBefore = readFileSync(envFile, 'utf8');
    // --force alone does not silently wipe the projects and keys the file holds.
    const unconfirmed = await sentcopy('init', '--force', '--json');
    expect(unconfirmed.code).toBe(2);
    expect(JSON.parse(unconfirmed.stdout).error).toMatchObject({ code: 'confirmation_required', message: expect.stringContaining('holds 1 project(s) and 1 API key(s)') });
    expect(readFileSync(file, 'utf8')).toBe(before);

    const forced = await sentcopy('init', '--force', '--yes', '--json');
    expect(forced.code).toBe(0);
    const { apiKey } = JSON.parse(forced.stdout) as { apiKey: string };
    const after = JSON.parse(readFileSync(file, 'utf8'));
    expect(after.projects.default.api_keys).toEqual([{ sha256: sha256(apiKey), label: 'created by sentcopy init', created_at: expect.any(String) }]);
    expect(readFileSync(file, 'utf8')).not.toBe(before);
    // The recipient key is kept: a new one would hide every message stored so far from --recipient.
    expect(readFileSync(envFile, 'utf8')).toBe(secretBefore);
    expect(JSON.parse(forced.stdout)).toMatchObject({ recipientKeyFile: envFile, recipientKeyCreated: false });
  });

  it('takes --project and --archive, and prints the key and the next steps', async () => {
    const run = await sentcopy('init', '-c', 'shop.json', '--project', 'checkout', '--archive', 'copies/shop');
    expect(run.code).toBe(0);
    const key = /export SENTCOPY_KEY=(sc_[A-Za-z0-9_-]+)/.exec(run.stdout)?.[1];
    expect(key).toBeDefined();
    expect(run.stdout).toContain(`project "checkout" archives into ${path.join(work, 'copies/shop')}`);
    expect(run.stdout).toContain('Next steps:');
    expect(run.stdout).toContain('sentcopy worker -c shop.json');
    const config = JSON.parse(readFileSync(path.join(work, 'shop.json'), 'utf8'));
    expect(config.destinations.local.root).toBe('copies/shop');
    expect(Object.keys(config.projects)).toEqual(['checkout']);
    expect(config.projects.checkout.api_keys[0].sha256).toBe(sha256(key as string));
  });

  it('names a bad option (exit 2) and has examples in --help', async () => {
    const bad = await sentcopy('init', '-c', 'bad.json', '--project', 'no spaces allowed', '--json');
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error.message).toContain('--project "no spaces allowed" is not a valid project id');
    const unknown = await sentcopy('init', '--bucket', 'x');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--bucket'");
    const help = await sentcopy('init', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('--archive <dir>');
  });
});
