import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashApiKey, runWorker, validateConfig, type WorkerConfig } from '../src/index.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('api-key-expiry');
const expired = 'sc_expired_key_000000000000000000000000000000000';
const expiring = 'sc_expiring_key_00000000000000000000000000000000';
const lasting = 'sc_lasting_key_000000000000000000000000000000000';

const config = (keys: WorkerConfig['projects'][string]['api_keys']): WorkerConfig => ({
  version: 1,
  destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
  projects: { shop: { destination: 'local', channels: ['sms'], api_keys: keys } },
});

describe('API key expiry (api_keys[].expires_at)', { timeout: 60_000 }, () => {
  it('refuses a key from its expires_at on, with no reload, and keeps the others', async () => {
    const folder = newFolder();
    const file = path.join(folder, 'sentcopy.config.json');
    const soon = new Date(Date.now() + 1_500).toISOString();
    writeFileSync(
      file,
      JSON.stringify(
        config([{ sha256: hashApiKey(expired), label: 'old', created_at: '2026-01-01T00:00:00.000Z', expires_at: '2026-01-02T00:00:00.000Z' }, { sha256: hashApiKey(expiring), expires_at: soon }, { sha256: hashApiKey(lasting) }]),
      ),
    );
    const worker = await runWorker({ configFile: file, port: 0, prepareThreads: 0 });
    try {
      let sequence = 0;
      const send = async (key: string) =>
        (
          await fetch(`${worker.url}/v1/messages`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify([{ version: 1, channel: 'sms', message_id: `expiry-${++sequence}`, project_id: 'shop', sent_at: 1767225600000, to: '+15550100000', body: 'hi' }]),
          })
        ).status;
      expect(await send(expired)).toBe(401);
      expect(await send(expiring)).toBe(202);
      expect(await send(lasting)).toBe(202);
      await new Promise((resolve) => setTimeout(resolve, Date.parse(soon) - Date.now() + 50));
      expect(await send(expiring)).toBe(401);
      expect(await send(lasting)).toBe(202);
    } finally {
      await worker.stop();
    }
  });

  it('refuses a date that is not real, naming the field', async () => {
    const result = await validateConfig(config([{ sha256: hashApiKey(lasting), expires_at: '2026-02-30T25:00:00Z' }]));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues).toEqual([{ path: 'projects.shop.api_keys[0].expires_at', problem: 'is not a real date and time (UTC, ISO 8601, e.g. 2026-12-05T00:00:00Z)' }]);
    const shape = await validateConfig(config([{ sha256: hashApiKey(lasting), created_at: 'yesterday' }]));
    expect(!shape.ok && shape.issues[0]?.path).toBe('projects.shop.api_keys[0].created_at');
  });
});
