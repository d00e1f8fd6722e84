import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { envFileFor, generateApiKey, hashApiKey, type WorkerConfig } from '@sentcopy/worker';
import { afterAll } from 'vitest';
import { bin } from './run-cli.js';

/** Fresh temp folders, removed after the test file. */
export function tempFolders(prefix: string): () => string {
  const folders: string[] = [];
  afterAll(() => {
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });
  return () => {
    const folder = mkdtempSync(path.join(tmpdir(), `sentcopy-cli-${prefix}-`));
    folders.push(folder);
    return folder;
  };
}

/** The recipient key test configurations reference (through the env file beside them) and test archivers use. */
export const testRecipientKey = 'sentcopy-test-recipient-key';

/** Writes the env file beside `configFile` (mode 0600) with `SENTCOPY_RECIPIENT_KEY`, as `sentcopy init` does. */
export function writeRecipientKeyEnvFile(configFile: string): void {
  writeFileSync(envFileFor(configFile), `SENTCOPY_RECIPIENT_KEY=${testRecipientKey}\n`, { mode: 0o600 });
}

/** Writes a worker configuration with one project per entry, each with a fresh API key and the test recipient key; returns the keys. */
export function writeWorkerConfig(file: string, config: Omit<WorkerConfig, 'version' | 'projects'> & { projects: Record<string, Omit<WorkerConfig['projects'][string], 'api_keys'>> }): Record<string, string> {
  const keys: Record<string, string> = {};
  const projects: Record<string, WorkerConfig['projects'][string]> = {};
  for (const [id, project] of Object.entries(config.projects)) {
    keys[id] = generateApiKey();
    projects[id] = { ...project, api_keys: [{ sha256: hashApiKey(keys[id] as string), label: 'test' }] };
  }
  writeFileSync(file, `${JSON.stringify({ version: 1, recipient_hash_key: { env: 'SENTCOPY_RECIPIENT_KEY' }, ...config, projects }, null, 2)}\n`, { mode: 0o600 });
  writeRecipientKeyEnvFile(file);
  return keys;
}

/** A worker started with the built CLI (`sentcopy worker --port 0`). */
export interface CliWorker {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `sentcopy worker -c FILE --port 0` and waits for its start-up line. */
export async function startCliWorker(configFile: string, env: NodeJS.ProcessEnv = {}): Promise<CliWorker> {
  const child = spawn(process.execPath, [bin, 'worker', '-c', configFile, '--port', '0', '--json', '--log-level', 'warn'], { cwd: path.dirname(configFile), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.resume();
  let stderr = '';
  const started = await new Promise<{ url: string }>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const line = stderr.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line) as { url: string });
    });
    child.once('exit', (code) => reject(new Error(`the worker exited with ${code}: ${stderr}`)));
  });
  return {
    url: started.url,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Every object file under a local-folder destination's root (its `.sentcopy` folder left out), as keys. */
export function storedKeys(root: string): string[] {
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
      .filter((key) => !key.startsWith('.sentcopy/') && !key.startsWith('.sentcopy-ledger/'))
      .sort();
  } catch {
    return [];
  }
}

/** Polls `check` until it holds or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
