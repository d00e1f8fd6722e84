import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sampleMessages } from '@sentcopy/core';
import { runWorker } from '@sentcopy/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebdavDestination, webdavDestinationType } from '../src/index.js';
import { connectDavArgs, installWebdavPackage, runSentcopy } from './sentcopy-cli.js';
import { startWebdavServer, type WebdavTestServer } from './webdav-fixture.js';

// Issue #20, "done when": a destination package sentcopy's apps were never told about is installed
// next to the configuration, connected with the CLI, and archived into by the worker.
let server: WebdavTestServer;
let work: string;

const sentcopy = (args: string[], env: NodeJS.ProcessEnv = {}) => runSentcopy(work, args, env);

beforeAll(async () => {
  server = await startWebdavServer();
  work = mkdtempSync(path.join(tmpdir(), 'sentcopy-webdav-worker-'));
  // Installed as npm would place it: node_modules/<scope>/<name>, next to the configuration file.
  installWebdavPackage(work);
});
afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("the WebDAV example used by sentcopy's worker and CLI", () => {
  it('is connected by `sentcopy destinations connect --type <package>` and archived into by the worker, byte for byte', async () => {
    const env = { SC_DAV_PASSWORD: server.password };
    const init = await sentcopy(['init', '--json'], env);
    expect(init.code, init.stderr).toBe(0);
    const apiKey = (JSON.parse(init.stdout) as { apiKey: string }).apiKey;
    const help = await sentcopy(['destinations', 'connect', '--type', webdavDestinationType, '--help'], env);
    expect(help.stdout).toMatch(/--password-env <variable>\s+Environment variable holding the password/);
    const connected = await sentcopy(connectDavArgs(server, 'archive'), env);
    expect(connected.code, connected.stderr).toBe(0);
    expect(JSON.parse(connected.stdout)).toMatchObject({ destination: 'dav', type: webdavDestinationType, probe: { status: 'ok' } });
    const configFile = path.join(work, 'sentcopy.config.json');
    expect(readFileSync(configFile, 'utf8')).not.toContain(server.password);

    const messages = sampleMessages({ projectId: 'default', count: 20, seed: 11 });
    const worker = await runWorker({ configFile, port: 0, prepareThreads: 0, queueDirectory: path.join(work, 'queue'), env: { ...process.env, ...env } });
    const archive = createWebdavDestination({ url: server.url, folder: 'archive', username: server.username, password: server.password });
    const stored = async () => {
      const keys: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await archive.list({ prefix: '', ...(cursor === undefined ? {} : { cursor }) });
        keys.push(...page.objects.map((object) => object.key).filter((key) => !key.startsWith('.sentcopy-')));
        cursor = page.cursor;
      } while (cursor !== undefined);
      return keys;
    };
    try {
      const answer = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) });
      expect(answer.status).toBe(202);
      const deadline = Date.now() + 30_000;
      while ((await stored()).length < messages.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      const keys = await stored();
      expect(keys).toHaveLength(messages.length);
      // Each object holds its message exactly as sent.
      const byId = new Map(messages.map((message) => [message.message_id, message]));
      for (const key of keys) {
        const object = (await archive.get(key))!;
        const document = JSON.parse(gunzipSync(object.body).toString('utf8')) as { message_id: string };
        expect(document).toEqual(byId.get(document.message_id));
        expect(object.sha256).toBe(createHash('sha256').update(object.body).digest('hex'));
        byId.delete(document.message_id);
      }
      expect(byId.size).toBe(0);
    } finally {
      await worker.stop();
    }
  }, 120_000);
});
