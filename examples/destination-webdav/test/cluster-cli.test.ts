import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webdavDestinationType } from '../src/index.js';
import { connectDavArgs, installWebdavPackage, runSentcopy } from './sentcopy-cli.js';
import { startWebdavServer, type WebdavTestServer } from './webdav-fixture.js';

// Issue #20: a cluster's shared configuration (`--nats`) names a third-party destination; the CLI
// finds its descriptor as a worker started in the same folder would (that folder, then the CLI's
// own installation), so `destinations edit --nats` offers and applies the package's own options.
let server: WebdavTestServer;
let nats: NatsTestServer;
let work: string;

const sentcopy = (args: string[], env: NodeJS.ProcessEnv = {}) => runSentcopy(work, args, env);

beforeAll(async () => {
  server = await startWebdavServer();
  nats = await startNatsServer();
  work = mkdtempSync(path.join(tmpdir(), 'sentcopy-webdav-cluster-'));
  installWebdavPackage(work);
});
afterAll(async () => {
  await nats?.stop();
  await server?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe("the WebDAV example in a cluster's shared configuration", () => {
  it('is connected with `connect --nats`, and `edit --nats` lists and applies its own options (no configuration file in the folder)', { timeout: 120_000 }, async () => {
    const cluster = ['--nats', nats.url, '--nats-name', `w${randomBytes(4).toString('hex')}`];
    const env = { SC_DAV_PASSWORD: server.password };
    const seed = {
      version: 1,
      destinations: { local: { type: 'fs', root: path.join(work, 'archive'), acknowledge_personal_data: true } },
      projects: { default: { destination: 'local', channels: ['email', 'sms'], api_keys: [{ sha256: 'a'.repeat(64) }] } },
    };
    writeFileSync(path.join(work, 'sentcopy.config.json'), JSON.stringify(seed));
    const pushed = await sentcopy(['config', 'push', '--wait', '0', '--json', ...cluster]);
    expect(pushed.code, pushed.stderr + pushed.stdout).toBe(0);
    // From here on only the cluster holds the configuration: nothing can be read from a file.
    rmSync(path.join(work, 'sentcopy.config.json'));

    const connectHelp = await sentcopy(['destinations', 'connect', '--type', webdavDestinationType, ...cluster, '--help']);
    expect(connectHelp.stdout).toMatch(/--password-env <variable>\s+Environment variable holding the password/);
    const connected = await sentcopy([...connectDavArgs(server, 'first'), ...cluster], env);
    expect(connected.code, connected.stderr).toBe(0);
    expect(JSON.parse(connected.stdout)).toMatchObject({ destination: 'dav', type: webdavDestinationType, probe: { status: 'ok' } });

    const editHelp = await sentcopy(['destinations', 'edit', 'dav', ...cluster, '--help']);
    expect(editHelp.code).toBe(0);
    expect(editHelp.stdout).toMatch(/--folder <path>/);
    expect(editHelp.stdout).toMatch(/--password-env <variable>/);
    const edited = await sentcopy(['destinations', 'edit', 'dav', '--folder', 'second', '--json', ...cluster], env);
    expect(edited.code, edited.stderr).toBe(0);
    expect(JSON.parse(edited.stdout)).toMatchObject({ destination: 'dav', type: webdavDestinationType, probe: { status: 'ok' }, settings: { folder: 'second', url: server.url } });

    const pulled = await sentcopy(['config', 'pull', ...cluster]);
    expect(pulled.code, pulled.stderr).toBe(0);
    const stored = JSON.parse(pulled.stdout) as { destinations: Record<string, Record<string, unknown>>; projects: Record<string, { destination: string }> };
    expect(stored.destinations['dav']).toEqual({ type: webdavDestinationType, url: server.url, folder: 'second', username: server.username, password: { env: 'SC_DAV_PASSWORD' }, acknowledge_personal_data: true });
    expect(stored.projects['default']?.destination).toBe('dav');
    expect(pulled.stdout).not.toContain(server.password);
  });
});
