import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { sampleMessages } from '@sentcopy/core';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, hashApiKey, runWorker, type LogEntry, type WorkerConfig } from '../src/index.js';
import { storedKeys } from './helpers.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('intake-tls');
const apiKey = 'sc_tls_test_key_0000000000000000000000000000000';

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });

/** A private CA, and server certificates for 127.0.0.1 it signs, made with the openssl command. */
function makeCa(folder: string): { ca: Buffer; issue: (name: string) => { cert: string; key: string } } {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=sentcopy test CA'], folder);
  return {
    ca: execFileSync('cat', [path.join(folder, 'ca.pem')]),
    issue(name) {
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], folder);
      writeFileSync(path.join(folder, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], folder);
      return { cert: path.join(folder, `${name}.pem`), key: path.join(folder, `${name}.key`) };
    },
  };
}

/** Replaces a file the way certificate tools do: a new file renamed over the old one. */
function replace(target: string, source: string): void {
  const temporary = `${target}.new`;
  writeFileSync(temporary, execFileSync('cat', [source]));
  renameSync(temporary, target);
}

/** One HTTPS request on a fresh connection: its status, body and the certificate the server presented. */
function get(url: string, ca: Buffer, route: string, init: { method?: string; body?: string } = {}): Promise<{ status: number; body: string; subject: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(`${url}${route}`, { ca, agent: false, method: init.method ?? 'GET', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' } }, (response) => {
      const subject = String((response.socket as TLSSocket).getPeerCertificate().subject.CN);
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, subject }));
    });
    request.once('error', reject);
    request.end(init.body);
  });
}

async function waitFor<T>(read: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function writeConfig(folder: string): string {
  const config: WorkerConfig = {
    version: 1,
    destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
    projects: { default: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
    http: { tls: { cert_file: 'tls/server.pem', key_file: 'tls/server.key' } },
  };
  const file = path.join(folder, 'sentcopy.config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops) await stop();
});

describe('TLS on the intake (http.tls)', { timeout: 90_000 }, () => {
  it('serves HTTPS with the configured pair, refuses plain HTTP, and reloads the files when they are replaced', async () => {
    const folder = newFolder();
    const certs = makeCa(folder);
    const first = certs.issue('first');
    const second = certs.issue('second');
    mkdirSync(path.join(folder, 'tls'));
    replace(path.join(folder, 'tls/server.pem'), first.cert);
    replace(path.join(folder, 'tls/server.key'), first.key);
    const logs: LogEntry[] = [];
    const worker = await runWorker({ configFile: writeConfig(folder), port: 0, prepareThreads: 0, logger: (entry) => logs.push(entry) });
    stops.push(() => worker.stop());
    expect(worker.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    // Accepted over HTTPS, verified against the CA; the copies land.
    const messages = sampleMessages({ projectId: 'default', count: 3 });
    const accepted = await get(worker.url, certs.ca, '/v1/messages', { method: 'POST', body: JSON.stringify(messages) });
    expect(accepted).toMatchObject({ status: 202, subject: 'first' });
    await waitFor(async () => (storedKeys(path.join(folder, 'archive')).length === 3 ? true : undefined), 'the copies');

    // Plain HTTP to the same port gets no answer: the key would have crossed the network in clear.
    const plainUrl = worker.url.replace('https://', 'http://');
    await expect(
      fetch(`${plainUrl}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(sampleMessages({ projectId: 'default', count: 1 })) }),
    ).rejects.toThrow();
    // A client that does not trust the certificate is refused by its own check.
    await expect(get(worker.url, Buffer.from(''), '/healthz').catch((error: Error) => Promise.reject(error))).rejects.toThrow();

    // Replaced files: new connections get the new certificate, with no restart.
    replace(path.join(folder, 'tls/server.pem'), second.cert);
    replace(path.join(folder, 'tls/server.key'), second.key);
    await waitFor(async () => ((await get(worker.url, certs.ca, '/healthz')).subject === 'second' ? true : undefined), 'the new certificate');
    expect(logs.some((entry) => entry.event === 'tls.reloaded')).toBe(true);

    // A broken replacement is refused loudly (log, metric) and the previous pair keeps serving.
    writeFileSync(path.join(folder, 'tls/server.key'), 'not a key\n');
    await waitFor(async () => (logs.some((entry) => entry.event === 'tls.reload_failed') ? true : undefined), 'the refused reload');
    const failed = logs.find((entry) => entry.event === 'tls.reload_failed')!;
    expect(failed.level).toBe('error');
    expect(failed.message).toContain('http.tls.key_file');
    const after = await get(worker.url, certs.ca, '/healthz');
    expect(after).toMatchObject({ status: 200, subject: 'second' });
    const metrics = (await get(worker.url, certs.ca, '/metrics')).body;
    expect(metrics).toMatch(/^sentcopy_tls_reloads_total\{result="applied"\} [1-9]/m);
    expect(metrics).toMatch(/^sentcopy_tls_reloads_total\{result="refused"\} [1-9]/m);
    // The expiry of the certificate served now (the second), for an alert before it runs out.
    const notAfter = Math.floor(Date.parse(new X509Certificate(execFileSync('cat', [second.cert])).validTo) / 1000);
    expect(metrics).toMatch(new RegExp(`^sentcopy_tls_certificate_not_after_seconds ${notAfter}$`, 'm'));
  });

  it('refuses to start with a clear error naming the field: missing file, not PEM, key of another certificate', async () => {
    const folder = newFolder();
    const certs = makeCa(folder);
    const first = certs.issue('first');
    const second = certs.issue('second');
    mkdirSync(path.join(folder, 'tls'));
    const file = writeConfig(folder);
    const start = async () => {
      try {
        const worker = await runWorker({ configFile: file, port: 0, prepareThreads: 0 });
        await worker.stop();
        return undefined;
      } catch (error) {
        return error as Error;
      }
    };

    const missing = await start();
    expect(ConfigError.isInstance(missing)).toBe(true);
    expect(missing?.message).toContain('http.tls.cert_file: cannot read');
    expect(missing?.message).toContain('ENOENT');

    writeFileSync(path.join(folder, 'tls/server.pem'), 'hello\n');
    replace(path.join(folder, 'tls/server.key'), first.key);
    expect((await start())?.message).toContain('http.tls.cert_file: ');
    expect((await start())?.message).toContain('holds no PEM certificate');

    replace(path.join(folder, 'tls/server.pem'), first.cert);
    replace(path.join(folder, 'tls/server.key'), second.key);
    const mismatch = await start();
    expect(mismatch?.message).toContain('http.tls.key_file: the certificate');
    expect(mismatch?.message).toContain('key values mismatch');
    // The error never carries the key itself.
    expect(mismatch?.message).not.toContain('PRIVATE KEY');
  });
});
