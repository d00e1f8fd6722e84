import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, runCli } from './run-cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-keys-'));
const children: ChildProcess[] = [];
let nats: NatsTestServer;

beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await nats?.stop();
  rmSync(work, { recursive: true, force: true });
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function folder(name: string): string {
  const dir = path.join(work, name);
  rmSync(dir, { recursive: true, force: true });
  return mkdtempSync(`${dir}-`);
}

/** Starts `sentcopy worker` and resolves with its start-up output once it listens. */
function startWorker(cwd: string, args: string[], json: boolean): Promise<{ url: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, 'worker', '--port', '0', ...(json ? ['--json'] : []), ...args], { cwd, env: { ...process.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (json) {
        const line = stderr.split('\n').find((candidate) => candidate.startsWith('{'));
        if (line !== undefined) resolve({ url: (JSON.parse(line) as { url: string }).url, stderr });
      } else if (stderr.includes('Ctrl-C stops the worker')) {
        resolve({ url: /listening on (\S+)/.exec(stderr)![1]!, stderr });
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
}

let sequence = 0;
const message = (project: string) => ({ version: 1, channel: 'sms', message_id: `keys-${++sequence}`, project_id: project, sent_at: 1767225600000, to: '+15550100000', body: 'hi' });

async function send(url: string, key: string, project: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify([message(project)]) });
  return { status: response.status, body: await response.json() };
}

/** Polls until sending with `key` answers `status` (the worker applies changes within seconds), or fails after 15 s. */
async function eventually(url: string, key: string, project: string, status: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last = 0;
  while (Date.now() < deadline) {
    last = (await send(url, key, project)).status;
    if (last === status) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`still answered ${last}, not ${status}, after 15 s`);
}

const json = (run: { stdout: string }) => JSON.parse(run.stdout) as any;

describe('sentcopy projects and keys on a configuration file', { timeout: 90_000 }, () => {
  it('adds, rotates and revokes keys and projects, stored hashed, applied live by a running worker', async () => {
    const cwd = folder('file');
    const sentcopy = (...args: string[]) => runCli(args, { cwd });
    const init = json(await sentcopy('init', '--json'));
    const worker = await startWorker(cwd, [], true);
    expect((await send(worker.url, init.apiKey, 'default')).status).toBe(202);

    // keys add: shown once, only its hash (with label and creation time) in the file, accepted within seconds.
    const added = await sentcopy('keys', 'add', '--project', 'default', '--label', 'checkout service', '--json');
    expect(added.code).toBe(0);
    const newKey = json(added);
    expect(newKey).toMatchObject({ project: 'default', label: 'checkout service', active: true, apiKey: expect.stringMatching(/^sc_/) });
    const fileText = readFileSync(path.join(cwd, 'sentcopy.config.json'), 'utf8');
    expect(fileText).not.toContain(newKey.apiKey);
    const stored = JSON.parse(fileText).projects.default.api_keys[1];
    expect(stored).toEqual({ sha256: sha256(newKey.apiKey), label: 'checkout service', created_at: newKey.created_at });
    await eventually(worker.url, newKey.apiKey, 'default', 202);

    // keys ls: labels and creation times, never a key.
    const listed = await sentcopy('keys', 'ls');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`default\\s+${newKey.id}\\s+checkout service\\s+${newKey.created_at.replace(/\./g, '\\.')}\\s+active`));
    expect(listed.stdout).not.toContain(newKey.apiKey);
    expect(listed.stdout).not.toContain(init.apiKey);

    // keys rotate: a new key at once; the old one keeps working for the grace period, then is refused.
    const rotated = await sentcopy('keys', 'rotate', newKey.id, '--grace', '4s', '--json');
    expect(rotated.code).toBe(0);
    const replacement = json(rotated);
    expect(replacement).toMatchObject({ project: 'default', label: 'checkout service', replaced: { id: newKey.id } });
    await eventually(worker.url, replacement.apiKey, 'default', 202);
    expect((await send(worker.url, newKey.apiKey, 'default')).status).toBe(202);
    await eventually(worker.url, newKey.apiKey, 'default', 401);
    expect((await send(worker.url, replacement.apiKey, 'default')).status).toBe(202);
    expect((await sentcopy('keys', 'ls', '--project', 'default')).stdout).toMatch(new RegExp(`${newKey.id}\\s+checkout service\\s+\\S+\\s+expired `));

    // keys revoke: refused at once (within the worker's reload), the others unaffected.
    const revoked = await sentcopy('keys', 'revoke', replacement.id, '--json');
    expect(revoked.code).toBe(0);
    expect(json(revoked)).toMatchObject({ project: 'default', revoked: replacement.id, activeKeysLeft: 1 });
    await eventually(worker.url, replacement.apiKey, 'default', 401);
    expect((await send(worker.url, init.apiKey, 'default')).status).toBe(202);
    expect(JSON.parse(readFileSync(path.join(cwd, 'sentcopy.config.json'), 'utf8')).projects.default.api_keys.map((key: { sha256: string }) => key.sha256)).not.toContain(sha256(replacement.apiKey));

    // projects add: a new project and key, live; the wrong_project error names the key's project.
    const project = json(await sentcopy('projects', 'add', 'checkout', '--channels', 'sms,email', '--json'));
    expect(project).toMatchObject({ project: 'checkout', destination: 'local', channels: ['sms', 'email'] });
    await eventually(worker.url, project.apiKey, 'checkout', 202);
    const wrong = await send(worker.url, project.apiKey, 'default');
    expect(wrong.body.results[0]).toMatchObject({ status: 'rejected', reason: 'wrong_project', errors: [{ field: 'project_id', problem: 'must be the project of the API key used: this key belongs to project "checkout"' }] });
    const projects = json(await sentcopy('projects', 'ls', '--json')).projects;
    expect(projects.map((entry: { id: string; activeKeys: number }) => [entry.id, entry.activeKeys])).toEqual([
      ['default', 1],
      ['checkout', 1],
    ]);

    // projects rm: needs a confirmation; then its key is refused.
    const unconfirmed = await sentcopy('projects', 'rm', 'checkout');
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('needs a confirmation');
    expect((await sentcopy('projects', 'rm', 'checkout', '--yes')).code).toBe(0);
    await eventually(worker.url, project.apiKey, 'checkout', 401);
    expect((await sentcopy('projects', 'rm', 'checkout', '--yes')).code).toBe(3);
  });

  it('refuses bad input naming the option, and changes nothing', async () => {
    const cwd = folder('bad');
    const sentcopy = (...args: string[]) => runCli(args, { cwd });
    await sentcopy('init');
    const before = readFileSync(path.join(cwd, 'sentcopy.config.json'), 'utf8');
    const badGrace = await sentcopy('keys', 'rotate', '--project', 'default', '--grace', 'soon');
    expect(badGrace.code).toBe(2);
    expect(badGrace.stderr).toContain("option '--grace <duration>' argument 'soon' is invalid");
    const noProject = await sentcopy('keys', 'add', '--project', 'nope');
    expect(noProject.code).toBe(3);
    expect(noProject.stderr).toContain('No project "nope"');
    expect(noProject.stderr).toContain('Configured projects: default.');
    const badId = await sentcopy('projects', 'add', 'a/b');
    expect(badId.code).toBe(2);
    const badChannels = await sentcopy('projects', 'add', 'x', '--channels', 'SMS');
    expect(badChannels.code).toBe(2);
    expect(badChannels.stderr).toContain('--channels has "SMS"');
    const exists = await sentcopy('projects', 'add', 'default');
    expect(exists.code).toBe(1);
    expect(readFileSync(path.join(cwd, 'sentcopy.config.json'), 'utf8')).toBe(before);
  });

  it("prints a sample curl after init that carries the configuration's real project id and is accepted as printed", async () => {
    const cwd = folder('sample');
    const init = await runCli(['init', '--project', 'checkout', '--json'], { cwd });
    const { apiKey } = json(init);
    const worker = await startWorker(cwd, [], false);
    expect(worker.stderr).not.toContain('<your project>');
    const body = /-d '(\[.*\])'/.exec(worker.stderr)?.[1];
    expect(JSON.parse(body!)[0].project_id).toBe('checkout');
    const response = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: body! });
    expect(response.status).toBe(202);
    expect(((await response.json()) as any).results[0].status).toBe('accepted');
  });
});

describe("sentcopy keys on a cluster's configuration (--nats)", { timeout: 90_000 }, () => {
  it('adds and revokes keys in the shared configuration; a running worker of the cluster applies both', async () => {
    const cwd = folder('cluster');
    const name = `keys${Date.now().toString(36)}`;
    const init = json(await runCli(['init', '--archive', path.join(cwd, 'archive'), '--json'], { cwd }));
    const worker = await startWorker(cwd, ['--nats', nats.url, '--nats-name', name], true);
    expect((await send(worker.url, init.apiKey, 'default')).status).toBe(202);
    const sentcopy = (...args: string[]) => runCli([...args, '--nats', nats.url, '--nats-name', name, '--json'], { cwd });

    const added = await sentcopy('keys', 'add', '--project', 'default', '--label', 'cluster key');
    expect(added.code).toBe(0);
    const key = json(added);
    expect(key.workers.applied).toHaveLength(1);
    await eventually(worker.url, key.apiKey, 'default', 202);
    // The file was not touched: the cluster's bucket is the configuration.
    expect(readFileSync(path.join(cwd, 'sentcopy.config.json'), 'utf8')).not.toContain(sha256(key.apiKey));
    expect(json(await sentcopy('keys', 'ls')).keys.map((entry: { id: string }) => entry.id)).toContain(key.id);

    const revoked = await sentcopy('keys', 'revoke', key.id);
    expect(revoked.code).toBe(0);
    await eventually(worker.url, key.apiKey, 'default', 401);
    expect((await send(worker.url, init.apiKey, 'default')).status).toBe(202);
  });
});
