import { randomBytes } from 'node:crypto';
import { channels } from '@sentcopy/core';
import { hashApiKey } from '../projects/index.js';
import type { WorkerConfig } from './worker-config.js';

/** Creates an API key: `sc_` and 32 random bytes in base64url. Show it once; store only its SHA-256. */
export function generateApiKey(): string {
  return `sc_${randomBytes(32).toString('base64url')}`;
}

/**
 * A configuration that works with no other setup: one local-folder destination and one project
 * (`default`, every channel) with a fresh API key, returned once in plain text next to the config.
 */
export function defaultConfig(options: { readonly root?: string; readonly projectId?: string } = {}): { config: WorkerConfig; apiKey: string } {
  const apiKey = generateApiKey();
  const config: WorkerConfig = {
    version: 1,
    destinations: { local: { type: 'fs', root: options.root ?? 'archive', acknowledge_personal_data: true } },
    projects: { [options.projectId ?? 'default']: { destination: 'local', channels: [...channels], api_keys: [{ sha256: hashApiKey(apiKey), label: 'created by sentcopy worker' }] } },
  };
  return { config, apiKey };
}
