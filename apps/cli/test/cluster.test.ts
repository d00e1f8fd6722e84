import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { hashApiKey } from '@sentcopy/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, runCli } from './run-cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-cluster-'));
let nats: NatsTestServer;
const children: ChildProcess[] = [];
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await nats?.stop();
  rmSync(work, { recursive: true, force: true });
});

const run = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) => runCli(args, { cwd, env });

function startWorker(cwd: string, env: NodeJS.ProcessEnv): Promise<{ url: string; configSource: string }> {
  const child = spawn(process.execPath, [bin, 'worker', '--port', '0', '--json'], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const line = stderr.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
}

const config = (projects: Record<string, string>, root = 'archive') => ({
  version: 1,
  destinations: { local: { type: 'fs', root: path.join(work, root), acknowledge_personal_data: true } },
  projects: Object.fromEntries(Object.entries(projects).map(([id, key]) => [id, { destination: 'local', channels: ['sms'], api_keys: [{ sha256: hashApiKey(key) }] }])),
});

const send = (url: string, key: string, project: string, id: string) =>
  fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify([{ version: 1, channel: 'sms', message_id: id, project_id: project, sent_at: 1767225600000, to: '+15550100000', body: 'hi' }]),
  });

describe('sentcopy worker --nats and sentcopy config', () => {
  it('runs two workers on one shared configuration, and `config push` changes it on both within 5 s', async () => {
    const env = { SENTCOPY_NATS_URL: nats.url };
    const name = `cli${randomBytes(4).toString('hex')}`;
    const first = mkdtempSync(path.join(work, 'a-'));
    const second = mkdtempSync(path.join(work, 'b-'));
    const key = 'sc_cli_cluster_key_000000000000000000000000000';
    writeFileSync(path.join(first, 'sentcopy.config.json'), JSON.stringify(config({ shop: key })));
    const workers = [await startWorker(first, { ...env, SENTCOPY_NATS_URL: nats.url }), await startWorker(second, env)].map((worker) => worker);
    // Both started under the default deployment name; a second deployment would pass --nats-name.
    expect(workers.map((worker) => worker.configSource)).toEqual(['jetstream', 'jetstream']);
    expect((await send(workers[1]!.url, key, 'shop', 'm-1')).status).toBe(202);

    const pulled = await run(['config', 'pull'], work, env);
    expect(pulled.code).toBe(0);
    expect(JSON.parse(pulled.stdout)).toEqual(config({ shop: key }));

    const newKey = 'sc_cli_cluster_new_key_0000000000000000000000';
    const edited = path.join(work, 'edited.json');
    writeFileSync(edited, JSON.stringify(config({ shop: key, newcomer: newKey })));
    const pushedAt = Date.now();
    const pushed = await run(['config', 'push', edited, '--json'], work, env);
    expect(pushed.code).toBe(0);
    expect(JSON.parse(pushed.stdout)).toMatchObject({ bucket: 'sentcopy-config', pushed: true, workers: { refused: [], pending: [] } });
    // Each worker reported that it applied it before push returned.
    expect(JSON.parse(pushed.stdout).workers.applied.length).toBeGreaterThanOrEqual(2);
    const reached = await Promise.all(
      workers.map(async (worker, index) => {
        while (Date.now() - pushedAt < 10_000) {
          if ((await send(worker.url, newKey, 'newcomer', `n-${index}`)).status === 202) return Date.now() - pushedAt;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return Infinity;
      }),
    );
    expect(Math.max(...reached)).toBeLessThan(5_000);

    // The destinations commands change the cluster's configuration directly with --nats; the
    // workers apply it live (the probe runs here, against the folder the workers write to).
    const moved = path.join(work, 'moved-archive');
    const connected = await run(['destinations', 'connect', 'moved', '--type', 'fs', '--root', moved, '--project', 'newcomer', '--acknowledge-pii', '--nats', nats.url, '--json'], work);
    expect(connected.code).toBe(0);
    expect(JSON.parse(connected.stdout)).toMatchObject({ destination: 'moved', projects: ['newcomer'], workers: { refused: [], pending: [] } });
    expect(JSON.parse(connected.stdout).workers.applied.length).toBeGreaterThanOrEqual(2);
    const shown = await run(['destinations', 'show', '--json', '--nats', nats.url], work);
    expect((JSON.parse(shown.stdout).destinations as { name: string }[]).map((entry) => entry.name)).toEqual(['local', 'moved']);
    const connectedAt = Date.now();
    let landed = false;
    for (let attempt = 0; !landed && Date.now() - connectedAt < 10_000; attempt++) {
      await send(workers[attempt % 2]!.url, newKey, 'newcomer', `moved-${attempt}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      landed = existsSync(moved) && readdirSync(moved, { recursive: true }).some((entry) => String(entry).endsWith('.json.gz'));
    }
    expect(landed).toBe(true);
    expect(Date.now() - connectedAt).toBeLessThan(5_000);
    // Browsing reads the cluster's configuration too.
    const listed = await run(['ls', '--project', 'newcomer', '--nats', nats.url, '--json'], work);
    expect(listed.code).toBe(0);
    const keys = (JSON.parse(listed.stdout).objects as { key: string }[]).map((object) => object.key);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((key) => key.startsWith('newcomer/') && key.includes('/sms/'))).toBe(true);

    writeFileSync(edited, JSON.stringify({ version: 1, destinations: {}, projects: { x: { destination: 'nowhere' } } }));
    const refused = await run(['config', 'push', edited, '--json', '--nats-name', name], work, env);
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.stdout).error.message).toContain('projects.x.api_keys: is required');
    expect((await run(['config', 'pull'], work, env)).stdout).toContain('newcomer');
  }, 60_000);

  it('explains what is missing instead of failing obscurely', async () => {
    const noUrl = await run(['config', 'pull'], work, { SENTCOPY_NATS_URL: '' });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('--nats');
    const unreachable = await run(['config', 'pull', '--nats', 'nats://user:hunter2@127.0.0.1:1'], work);
    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr).not.toContain('hunter2');
    const empty = await run(['config', 'pull', '--nats-name', 'nothing-here', '--nats', nats.url], work);
    expect(empty.code).toBe(3);
    expect(empty.stderr).toContain('holds no configuration');
    const checked = await run(['config', 'check', path.join(work, 'missing.json')], work);
    expect(checked.code).toBe(3);
    writeFileSync(path.join(work, 'ok.json'), JSON.stringify(config({ shop: 'sc_x_key_0000000000000000000000000000000000000' })));
    const ok = await run(['config', 'check', path.join(work, 'ok.json'), '--json'], work);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, projects: ['shop'] });
    expect(readFileSync(path.join(work, 'ok.json'), 'utf8')).toContain('shop');
    // The worker refuses a file whose secret references name unset variables: so does the check.
    const withSecret = { ...config({ shop: 'sc_x_key_0000000000000000000000000000000000000' }), alerts: { webhook_url: { env: 'SC_CHECK_UNSET_HOOK' } } };
    writeFileSync(path.join(work, 'secret.json'), JSON.stringify(withSecret));
    const unset = await run(['config', 'check', path.join(work, 'secret.json'), '--json'], work);
    expect(unset.code).toBe(2);
    expect(JSON.parse(unset.stdout).error.message).toContain('alerts.webhook_url: reads the environment variable SC_CHECK_UNSET_HOOK, which is not set');
    expect((await run(['config', 'check', path.join(work, 'secret.json')], work, { SC_CHECK_UNSET_HOOK: 'https://hooks.example/x' })).code).toBe(0);
    expect((await run(['config', 'check', path.join(work, 'secret.json'), '--no-env'], work)).code).toBe(0);
  }, 30_000);

  it("refuses a relative local-folder root in a cluster's configuration, naming the option", async () => {
    const env = { SENTCOPY_NATS_URL: nats.url };
    const name = `rel${randomBytes(4).toString('hex')}`;
    const key = 'sc_cli_relative_key_00000000000000000000000000';
    writeFileSync(path.join(work, 'relative.json'), JSON.stringify({ ...config({ shop: key }), destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } } }));
    const pushed = await run(['config', 'push', path.join(work, 'relative.json'), '--nats-name', name, '--json'], work, env);
    expect(pushed.code).toBe(2);
    expect(JSON.parse(pushed.stdout).error.message).toContain('destinations.local.root: must be an absolute path');
    writeFileSync(path.join(work, 'absolute.json'), JSON.stringify(config({ shop: key })));
    expect((await run(['config', 'push', path.join(work, 'absolute.json'), '--nats-name', name], work, env)).code).toBe(0);
    const connected = await run(['destinations', 'connect', 'here', '--type', 'fs', '--root', 'relative-archive', '--acknowledge-pii', '--skip-probe', '--nats', nats.url, '--nats-name', name, '--json'], work);
    expect(connected.code).toBe(2);
    expect(JSON.parse(connected.stdout).error.message).toMatch(/--root \(destinations\.here\.root\): must be an absolute path/);
    expect((await run(['config', 'pull', '--nats-name', name], work, env)).stdout).not.toContain('relative-archive');
  }, 30_000);
});
