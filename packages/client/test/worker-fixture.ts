import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { hashApiKey, runWorker, type IntakeLimits, type RunningWorker, type WorkerConfig } from '@sentcopy/worker';
import { afterAll } from 'vitest';

/** The API key every test worker's project `shop` takes. */
export const apiKey = 'sc_client_test_key_0123456789abcdef0123456789';

const folders: string[] = [];
// A soak run leaves tens of thousands of files to remove.
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
}, 300_000);

/** A fresh temp folder, removed after the test file. */
export function newFolder(): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-client-'));
  folders.push(folder);
  return folder;
}

/** A real worker: embedded queue and a local-folder destination, both under `folder`. */
export interface TestWorker {
  readonly worker: RunningWorker;
  readonly url: string;
  readonly port: number;
  readonly folder: string;
  /** The destination's root. */
  readonly root: string;
}

/**
 * Starts `runWorker` on a configuration file it writes into `folder` (a new temp folder unless
 * given): project `shop` (all four channels, {@link apiKey}) archiving to `<folder>/archive`. The
 * same folder and port start the same worker again, on the same queue.
 */
export async function startWorker(options: { folder?: string; port?: number; limits?: IntakeLimits; root?: string } = {}): Promise<TestWorker> {
  const folder = options.folder ?? newFolder();
  const root = options.root ?? path.join(folder, 'archive');
  const config: WorkerConfig = {
    version: 1,
    destinations: { local: { type: 'fs', root, acknowledge_personal_data: true } },
    projects: { shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
  };
  const configFile = path.join(folder, 'sentcopy.config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const worker = await runWorker({
    configFile,
    queueDirectory: path.join(folder, 'queue'),
    port: options.port ?? 0,
    prepareThreads: 0,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  return { worker, url: worker.url, port: Number(new URL(worker.url).port), folder, root };
}

/** Every object key under a local-folder root (its own `.sentcopy` folder left out), read with node:fs. */
export function storedKeys(root: string): string[] {
  const keys: string[] = [];
  const walk = (folder: string, prefix: string) => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (prefix === '' && (entry.name === '.sentcopy' || entry.name === '.sentcopy-ledger')) continue;
      if (entry.isDirectory()) walk(path.join(folder, entry.name), `${prefix}${entry.name}/`);
      else keys.push(`${prefix}${entry.name}`);
    }
  };
  walk(root, '');
  return keys.sort();
}

/** The stored objects under `root`, decoded (gzip, the default codec) and parsed. */
export function storedMessages(root: string): Record<string, unknown>[] {
  return storedKeys(root).map((key) => JSON.parse(gunzipSync(readFileSync(path.join(root, ...key.split('/')))).toString('utf8')) as Record<string, unknown>);
}

/** Polls `check` until it holds or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
