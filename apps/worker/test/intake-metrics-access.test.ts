import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, createEmbeddedQueue, createIntakeServer, hashApiKey, runWorker, type Readiness, type WorkerConfig } from '../src/index.js';
import { plainDirectory } from './fixtures/intake-directory.js';
import { tempFolders } from './temp-folders.js';

// Issue #14 item 11: /metrics and the checks of /readyz name projects, destinations and buckets;
// http.metrics.token keeps them to the holder of a token.
const newFolder = tempFolders('metrics-access');
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

const token = 'metrics-token-4f1c9a2e7d';
const apiKey = 'sc_metrics_access_key_00000000000000000000000000';

function writeConfig(metrics: boolean): string {
  const folder = newFolder();
  const configFile = path.join(folder, 'sentcopy.config.json');
  const config: WorkerConfig = {
    version: 1,
    destinations: { 'secret-bucket': { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
    projects: { 'acme-payroll': { destination: 'secret-bucket', channels: ['sms'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
    ...(metrics ? { http: { metrics: { token: { env: 'SENTCOPY_TEST_METRICS_TOKEN' } } } } : {}),
  };
  writeFileSync(configFile, JSON.stringify(config));
  return configFile;
}

const get = (url: string, bearer?: string) => fetch(url, bearer === undefined ? {} : { headers: { authorization: `Bearer ${bearer}` } });

describe('http.metrics.token', () => {
  it('requires the token for /metrics and the checks of /readyz; without it /readyz says only ready or not, and names nothing', async () => {
    const worker = await runWorker({ configFile: writeConfig(true), port: 0, prepareThreads: 0, env: { SENTCOPY_TEST_METRICS_TOKEN: token } });
    closers.push(() => worker.stop());
    for (const bearer of [undefined, 'wrong-token', apiKey]) {
      const metrics = await get(`${worker.url}/metrics`, bearer);
      expect(metrics.status).toBe(401);
      expect(metrics.headers.get('www-authenticate')).toBe('Bearer realm="sentcopy-metrics"');
      const text = await metrics.text();
      expect(text).not.toContain('acme-payroll');
      expect(text).not.toContain('secret-bucket');
      const ready = await get(`${worker.url}/readyz`, bearer);
      expect(ready.status).toBe(200);
      expect(await ready.text()).toBe('{"ready":true}\n');
    }
    const metrics = await get(`${worker.url}/metrics`, token);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^sentcopy_destination_healthy\{destination="secret-bucket"\} 1$/m);
    const ready = await get(`${worker.url}/readyz`, token);
    expect(await ready.json()).toEqual({ ready: true, checks: { queue: 'ok', 'destination secret-bucket': 'ok' } });
    expect((await get(`${worker.url}/healthz`)).status).toBe(200);
  });

  it('refuses to start when the token variable is not set, naming the field and the variable', async () => {
    const failure = await runWorker({ configFile: writeConfig(true), port: 0, prepareThreads: 0, env: {} }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(ConfigError.isInstance(failure)).toBe(true);
    expect((failure as ConfigError).issues).toContainEqual({ path: 'http.metrics.token', problem: expect.stringContaining('SENTCOPY_TEST_METRICS_TOKEN') });
  });

  it('without a token, keeps answering both routes in full (the documented default)', async () => {
    const worker = await runWorker({ configFile: writeConfig(false), port: 0, prepareThreads: 0, env: {} });
    closers.push(() => worker.stop());
    expect((await get(`${worker.url}/metrics`)).status).toBe(200);
    expect(await (await get(`${worker.url}/readyz`)).json()).toEqual({ ready: true, checks: { queue: 'ok', 'destination secret-bucket': 'ok' } });
  });

  it('answers 503 to a not-ready /readyz without the token, still naming nothing', async () => {
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    closers.push(() => queue.close());
    const directory = plainDirectory({ 'acme-payroll': { channels: ['sms'], apiKeys: [apiKey], destination: createFsDestination({ root: newFolder() }) } });
    const readiness: Readiness = { ready: false, checks: { queue: 'ok', 'destination secret-bucket': 'probe failed: bucket acme-payroll-archive is public' } };
    const intake = createIntakeServer({ queue, directory, metricsToken: token, readiness: () => readiness, metrics: { contentType: 'text/plain', render: () => 'x 1\n' } });
    const url = await intake.listen(0);
    closers.push(() => intake.close({ graceMs: 100 }));
    const anonymous = await get(`${url}/readyz`);
    expect(anonymous.status).toBe(503);
    expect(await anonymous.text()).toBe('{"ready":false}\n');
    const holder = await get(`${url}/readyz`, token);
    expect(holder.status).toBe(503);
    expect(await holder.json()).toEqual({ ready: false, checks: readiness.checks });
  });
});
