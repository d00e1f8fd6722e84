import path from 'node:path';
import type { DestinationContext, DestinationV1 } from '@sentcopy/core';
import { ConfigError } from './config-error.js';
import { markedSettings, resolveDestinationDescriptor, settingAt, settingsOf, type DescriptorSourceOptions } from './destination-descriptors.js';
import { readSecret } from './secret-references.js';
import type { DestinationConfig, SecretReference } from './worker-config.js';

/** Options for {@link buildDestination}. */
export interface BuildDestinationOptions extends DescriptorSourceOptions {
  /** Folder relative paths (`root`, `key_file`, any `x-path` setting) are resolved against, and third-party packages looked up from: the configuration file's. */
  readonly baseDir: string;
  /** Where `{ "env": … }` secrets are read from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** A copy of `settings` with every `x-path` setting resolved against `baseDir`. */
function withAbsolutePaths(settings: Record<string, unknown>, paths: readonly string[], baseDir: string): Record<string, unknown> {
  const copy = structuredClone(settings);
  for (const dotted of paths) {
    const parts = dotted.split('.');
    const parent = parts.length === 1 ? copy : settingAt(copy, parts.slice(0, -1).join('.'));
    const last = parts[parts.length - 1] as string;
    if (typeof parent === 'object' && parent !== null && typeof (parent as Record<string, unknown>)[last] === 'string') {
      (parent as Record<string, unknown>)[last] = path.resolve(baseDir, (parent as Record<string, string>)[last] as string);
    }
  }
  return copy;
}

/**
 * Creates the destination a configuration entry describes, through the descriptor of its type: a
 * first-party package (`fs`, `s3`, `azure`, `gcs`) or the third-party package the type names.
 * Packages are imported only when a destination of their type is configured, so a worker needs only
 * the adapter for its store; a missing or unusable one is a `ConfigError` at
 * `destinations.<name>.type` saying what to do.
 */
export async function buildDestination(name: string, config: DestinationConfig, options: BuildDestinationOptions): Promise<DestinationV1> {
  const env = options.env ?? process.env;
  const at = `destinations.${name}`;
  const resolution = await resolveDestinationDescriptor(config.type, options);
  if (!resolution.ok) throw new ConfigError('', [{ path: `${at}.type`, problem: resolution.problem }]);
  const { descriptor } = resolution;
  const settings = withAbsolutePaths(settingsOf(config), markedSettings(descriptor, 'x-path'), options.baseDir);
  const secrets = markedSettings(descriptor, 'x-secret');
  const context: DestinationContext = {
    baseDir: options.baseDir,
    readSecret(setting) {
      if (!secrets.includes(setting)) throw new Error(`${at}.${setting}: is not a secret setting of ${descriptor.packageName} (its schema does not mark it x-secret)`);
      return readSecret(settingAt(settings, setting) as SecretReference | undefined, `${at}.${setting}`, env);
    },
  };
  const destination = await descriptor.create(settings, context);
  if ((destination as Partial<DestinationV1> | undefined)?.specificationVersion !== 'v1') {
    await (destination as Partial<DestinationV1> | undefined)?.close?.().catch(() => undefined);
    throw new ConfigError('', [{ path: `${at}.type`, problem: `the package ${descriptor.packageName} created something that is not a v1 destination: report it to its authors` }]);
  }
  return destination;
}
