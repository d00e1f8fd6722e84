import { randomBytes } from 'node:crypto';
import { channels } from '@sentcopy/core';
import { hashApiKey } from '../projects/index.js';
import { defaultRecipientKeyVariable } from './recipient-key.js';
import type { WorkerConfig } from './worker-config.js';

/** Creates an API key: `sc_` and 32 random bytes in base64url. Show it once; store only its SHA-256. */
export function generateApiKey(): string {
  return `sc_${randomBytes(32).toString('base64url')}`;
}

/** Options for {@link defaultConfig}. */
export interface DefaultConfigOptions {
  /** Archive folder of the local destination, relative to the configuration file. @default 'sentcopy-archive' */
  readonly root?: string;
  /** Id of the project. @default 'default' */
  readonly projectId?: string;
  /** Label stored next to the key's hash. @default 'created by sentcopy worker' */
  readonly keyLabel?: string;
}

/** A zero-setup configuration and the one chance to see its API key. */
export interface DefaultConfig {
  /**
   * The configuration: one local-folder destination `local`, one project with every channel. It
   * holds only the API key's hash, and references the recipient key as
   * `{ "env": "SENTCOPY_RECIPIENT_KEY" }`: write that secret to the env file beside it with
   * `ensureRecipientKeyInEnvFile()` before the configuration.
   */
  readonly config: WorkerConfig;
  /** The project's API key in plain text: show it once, it is not stored anywhere. */
  readonly apiKey: string;
  /** The project's id. */
  readonly projectId: string;
}

/**
 * A configuration that works with no other setup: one local-folder destination and one project
 * (`default`, every channel) with a fresh API key, returned once in plain text next to the config,
 * and keyed recipient hashes (`recipient_hash_key`, see {@link DefaultConfig.config}).
 */
export function defaultConfig(options: DefaultConfigOptions = {}): DefaultConfig {
  const apiKey = generateApiKey();
  const projectId = options.projectId ?? 'default';
  const config: WorkerConfig = {
    version: 1,
    recipient_hash_key: { env: defaultRecipientKeyVariable },
    destinations: { local: { type: 'fs', root: options.root ?? 'sentcopy-archive', acknowledge_personal_data: true } },
    projects: { [projectId]: { destination: 'local', channels: [...channels], api_keys: [{ sha256: hashApiKey(apiKey), label: options.keyLabel ?? 'created by sentcopy worker', created_at: new Date().toISOString() }] } },
  };
  return { config, apiKey, projectId };
}
