// Shared by the config*.test.ts files: a configuration file in a temp folder and a runtime following it.
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll } from 'vitest';
import { createConfigRuntime, type ConfigError, type ConfigRuntime, type ConfigRuntimeOptions, type ProbeEvent, type ReloadEvent, type WorkerConfig } from '../src/index.js';
import { hashApiKey } from '../src/projects/index.js';
import { tempFolders } from './temp-folders.js';

export const keyA = 'sc_test_key_project_a_000000000000000000000000';
export const keyB = 'sc_test_key_project_b_000000000000000000000000';
export const keyC = 'sc_test_key_project_c_000000000000000000000000';

export function baseConfig(overrides: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    version: 1,
    destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
    projects: { shop: { destination: 'local', channels: ['email', 'sms'], api_keys: [{ sha256: hashApiKey(keyA) }] } },
    ...overrides,
  };
}

/** Writes the file as an editor that saves through a temp file and a rename would. */
export function writeConfig(file: string, config: unknown): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(config, null, 2));
  renameSync(temp, file);
}

export interface StartedRuntime {
  readonly folder: string;
  readonly file: string;
  readonly runtime: ConfigRuntime;
  readonly reloads: ReloadEvent[];
  readonly refused: ConfigError[];
  readonly probes: ProbeEvent[];
}

/** Makes temp folders and closes every runtime after the test file. */
export function configRuntimes(prefix: string) {
  const newFolder = tempFolders(prefix);
  const runtimes: ConfigRuntime[] = [];
  afterAll(async () => {
    await Promise.all(runtimes.map((runtime) => runtime.close()));
  });
  async function start(config: unknown, options: Partial<Omit<ConfigRuntimeOptions, 'file'>> = {}): Promise<StartedRuntime> {
    const folder = newFolder();
    const file = path.join(folder, 'sentcopy.config.json');
    writeConfig(file, config);
    const reloads: ReloadEvent[] = [];
    const refused: ConfigError[] = [];
    const probes: ProbeEvent[] = [];
    const runtime = await createConfigRuntime({
      file,
      pollIntervalMs: 200,
      debounceMs: 20,
      probeRetryMs: 60_000,
      ...options,
      onReload: (event) => reloads.push(event),
      onReloadError: (error) => refused.push(error),
      onProbe: (event) => probes.push(event),
    });
    runtimes.push(runtime);
    return { folder, file, runtime, reloads, refused, probes };
  }
  return { newFolder, start };
}

/** Polls `read` until it returns something other than `undefined`/`false`. */
export async function eventually<T>(read: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
