import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sampleMessages } from '@sentcopy/core';
import { describe, expect, it } from 'vitest';
import { hashApiKey, runWorker, type WorkerConfig } from '../src/index.js';
import { storedKeys, waitFor } from './helpers.js';
import { tempFolders } from './temp-folders.js';

// The local-folder destination's volume safety and modes (issue #14 items 2 and 11) reach the worker's configuration.
const newFolder = tempFolders('fs-destination-settings');
const apiKey = 'sc_fs_settings_key_00000000000000000000000000';

describe('a local-folder destination configured for a volume', () => {
  it('with create_root false waits for its folder instead of creating it, then archives with the configured modes', async () => {
    const folder = newFolder();
    const root = path.join(folder, 'volume', 'archive');
    const config: WorkerConfig = {
      version: 1,
      destinations: { local: { type: 'fs', root, create_root: false, file_mode: '0640', directory_mode: '0750', acknowledge_personal_data: true } },
      projects: { shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
    };
    const configFile = path.join(folder, 'sentcopy.config.json');
    writeFileSync(configFile, JSON.stringify(config));
    const worker = await runWorker({ configFile, port: 0, prepareThreads: 0, probeRetryMs: 200 });
    try {
      const messages = sampleMessages({ projectId: 'shop', count: 6 });
      const answer = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) });
      expect(answer.status).toBe(202);
      const ready = (await (await fetch(`${worker.url}/readyz`)).json()) as { checks: Record<string, string> };
      expect(ready.checks['destination local']).not.toBe('ok');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(() => statSync(root)).toThrow();

      mkdirSync(root, { recursive: true });
      await waitFor(() => storedKeys(root).length === 6, 15_000, 'the queued messages once the folder exists');
      for (const key of storedKeys(root)) {
        const file = path.join(root, ...key.split('/'));
        expect((statSync(file).mode & 0o777).toString(8)).toBe('640');
        expect((statSync(path.dirname(file)).mode & 0o777).toString(8)).toBe('750');
      }
    } finally {
      await worker.stop();
    }
  }, 30_000);
});
