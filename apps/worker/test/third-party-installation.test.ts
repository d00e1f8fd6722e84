import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createArchiver, sampleMessages } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { installMemoPackage, memoPackage, shelfRoot } from '@sentcopy/test-servers';
import { describe, expect, it } from 'vitest';
import { hashApiKey, type WorkerConfig } from '../src/index.js';
import { expectFolderHoldsExactly, storedKeys, waitFor } from './helpers.js';
import { tempFolders } from './temp-folders.js';

// Issue #20: a destination package not found next to the configuration file is looked up next to
// the worker, as Node resolves a bare name from the worker's own files (its package folder, then
// each node_modules above it). The worker is installed here as npm would place it, a built copy in
// <install>/node_modules/@sentcopy/worker, and runs in a process of its own, so nothing of this
// workspace's layout (or NODE_PATH) can stand in for that lookup.
const newFolder = tempFolders('third-party-installation');
const workerDir = fileURLToPath(new URL('..', import.meta.url));
const fsPackageDir = fileURLToPath(new URL('../../../packages/destination-fs', import.meta.url));
const apiKey = 'sc_installation_key_000000000000000000000000000';

/** A copy of the built worker in `<install>/node_modules/@sentcopy/worker`, its dependencies linked as a package manager would. */
function installWorker(): { install: string; packageDir: string } {
  if (!existsSync(path.join(workerDir, 'dist', 'index.js'))) throw new Error('apps/worker/dist is missing: build the worker first (npx --yes pnpm@10.34.8 build)');
  const install = newFolder();
  const packageDir = path.join(install, 'node_modules', '@sentcopy', 'worker');
  mkdirSync(packageDir, { recursive: true });
  cpSync(path.join(workerDir, 'package.json'), path.join(packageDir, 'package.json'));
  cpSync(path.join(workerDir, 'dist'), path.join(packageDir, 'dist'), { recursive: true });
  // Its own dependencies (the workspace's, real paths): none of them holds the memo package.
  symlinkSync(realpathSync(path.join(workerDir, 'node_modules')), path.join(packageDir, 'node_modules'), 'dir');
  return { install, packageDir };
}

function memoConfig(folder: string): WorkerConfig {
  return {
    version: 1,
    destinations: { memo: { type: memoPackage, folder: path.join(folder, 'memos'), shelf: 3, acknowledge_personal_data: true } },
    projects: { shop: { destination: 'memo', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
  };
}

/** Runs `body` (ES module code that sees `worker`, the installed copy's exports) in a Node process of its own; resolves with the first line it prints, parsed. */
function inInstalledWorker<T>(packageDir: string, body: string): Promise<{ result: T; stop: () => Promise<void> }> {
  const entry = pathToFileURL(path.join(packageDir, 'dist', 'index.js')).href;
  const child = spawn(process.execPath, ['--input-type=module', '-e', `const worker = await import(${JSON.stringify(entry)});\n${body}`], { cwd: newFolder(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_PATH: '' } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) resolve({ result: JSON.parse(line) as T, stop });
    });
    child.once('close', (code) => reject(new Error(`the installed worker's process ended (code ${code}) before answering: ${stderr}`)));
  });
}

describe('a third-party destination installed only next to the worker', () => {
  it("is found from the worker's installation when the configuration's folder lacks it, and the worker archives into it byte for byte", async () => {
    const { install, packageDir } = installWorker();
    installMemoPackage(install, fsPackageDir);
    const folder = newFolder();
    expect(existsSync(path.join(folder, 'node_modules'))).toBe(false);
    const configFile = path.join(folder, 'sentcopy.config.json');
    writeFileSync(configFile, JSON.stringify(memoConfig(folder)));
    const started = await inInstalledWorker<{ url: string }>(
      packageDir,
      `const running = await worker.runWorker({ configFile: ${JSON.stringify(configFile)}, port: 0, prepareThreads: 0, queueDirectory: ${JSON.stringify(path.join(folder, 'queue'))} });
process.stdout.write(JSON.stringify({ url: running.url }) + '\\n');
process.once('SIGTERM', () => running.stop().then(() => process.exit(0)));`,
    );
    const root = shelfRoot(path.join(folder, 'memos'), 3);
    try {
      const messages = sampleMessages({ projectId: 'shop', count: 10, seed: 31 });
      const answer = await fetch(`${started.result.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) });
      expect(answer.status).toBe(202);
      await waitFor(() => existsSync(root) && storedKeys(root).length === messages.length, 30_000, 'the messages in the memo shelf');
      await expectFolderHoldsExactly(root, createArchiver({ destination: createFsDestination({ root }), layout: 'sentcopy-unkeyed' }), messages);
    } finally {
      await started.stop();
    }
  }, 60_000);

  it('is refused, when installed in neither place, with a problem naming both places looked', async () => {
    const { install, packageDir } = installWorker();
    const folder = newFolder();
    const { result } = await inInstalledWorker<{ issues: { path: string; problem: string }[] }>(
      packageDir,
      `const checked = await worker.validateConfig(${JSON.stringify(memoConfig(folder))}, { baseDir: ${JSON.stringify(folder)} });
process.stdout.write(JSON.stringify({ issues: checked.ok ? [] : checked.issues }) + '\\n');`,
    );
    expect(result.issues).toEqual([
      {
        path: 'destinations.memo.type',
        problem: `names the package ${memoPackage}, which is not installed: looked for it from the configuration's folder (${folder}) and from the worker's installation (${packageDir}); install it in either (npm install ${memoPackage} in the configuration's folder, or next to @sentcopy/worker)`,
      },
    ]);
    // Installed next to the worker, the same check passes: the problem above was the lookup's, not the configuration's.
    installMemoPackage(install, fsPackageDir);
    const again = await inInstalledWorker<{ issues: unknown[] }>(
      packageDir,
      `const checked = await worker.validateConfig(${JSON.stringify(memoConfig(folder))}, { baseDir: ${JSON.stringify(folder)} });
process.stdout.write(JSON.stringify({ issues: checked.ok ? [] : checked.issues }) + '\\n');`,
    );
    expect(again.result.issues).toEqual([]);
  }, 60_000);
});
