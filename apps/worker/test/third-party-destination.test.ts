import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createArchiver, sampleMessages } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { installMemoPackage, memoPackage, shelfRoot, type MemoVariant } from '@sentcopy/test-servers';
import { describe, expect, it } from 'vitest';
import { ConfigError, hashApiKey, loadConfigFile, runWorker, validateConfig, type WorkerConfig } from '../src/index.js';
import { baseConfig, configRuntimes, eventually, writeConfig } from './config-fixture.js';
import { expectFolderHoldsExactly, storedKeys, waitFor } from './helpers.js';

// Issue #20: a destination package sentcopy's authors never saw, installed next to the configuration
// file and named there by its package name, works in the worker like a first-party one.
const { newFolder, start } = configRuntimes('third-party-destination');
const apiKey = 'sc_third_party_key_000000000000000000000000000';
const fsPackageDir = fileURLToPath(new URL('../../../packages/destination-fs', import.meta.url));
const workerDir = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

function memoConfig(settings: Record<string, unknown> = {}): WorkerConfig {
  return {
    version: 1,
    destinations: { memo: { type: memoPackage, folder: 'memos', shelf: 2, token: { env: 'SC_MEMO_TOKEN' }, acknowledge_personal_data: true, ...settings } },
    projects: { shop: { destination: 'memo', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
  };
}

/** A folder holding the memo package (as `variant` publishes it), or none at all. */
function folderWith(variant: MemoVariant | 'not-installed'): string {
  const folder = newFolder();
  if (variant !== 'not-installed') installMemoPackage(folder, fsPackageDir, variant);
  return folder;
}

/** The problem of a package installed neither next to the configuration (in `folder`) nor next to the worker (this package's folder). */
const notInstalled = (folder: string) =>
  `names the package ${memoPackage}, which is not installed: looked for it from the configuration's folder (${folder}) and from the worker's installation (${workerDir}); install it in either (npm install ${memoPackage} in the configuration's folder, or next to @sentcopy/worker)`;

async function typeProblem(variant: MemoVariant): Promise<unknown> {
  const result = await validateConfig(memoConfig(), { baseDir: folderWith(variant) });
  return result.ok ? [] : result.issues;
}

describe('a third-party destination package named in the configuration', () => {
  it('is found next to the configuration file, and the worker archives into it byte for byte', async () => {
    const folder = folderWith('good');
    const configFile = path.join(folder, 'sentcopy.config.json');
    writeFileSync(configFile, JSON.stringify(memoConfig()));
    const worker = await runWorker({ configFile, port: 0, prepareThreads: 0, env: { ...process.env, SC_MEMO_TOKEN: 'open-sesame' } });
    const root = shelfRoot(path.join(folder, 'memos'), 2);
    try {
      const messages = sampleMessages({ projectId: 'shop', count: 8 });
      const answer = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) });
      expect(answer.status).toBe(202);
      await waitFor(() => existsSync(root) && storedKeys(root).length === messages.length, 20_000, 'the messages in the memo shelf');
      // `folder` is an x-path setting: resolved against the configuration file's folder, not the working directory.
      await expectFolderHoldsExactly(root, createArchiver({ destination: createFsDestination({ root }), layout: 'sentcopy-unkeyed' }), messages);
    } finally {
      await worker.stop();
    }
  }, 40_000);

  it('names destinations.<name>.type and what to do when the package is missing, exports no descriptor, implements another version, or uses a keyword the checker cannot enforce', async () => {
    const nowhere = folderWith('not-installed');
    const missing = await validateConfig(memoConfig(), { baseDir: nowhere });
    expect(missing.ok ? [] : missing.issues).toEqual([{ path: 'destinations.memo.type', problem: notInstalled(nowhere) }]);
    expect(await typeProblem('no-descriptor')).toEqual([
      {
        path: 'destinations.memo.type',
        problem: `the package ${memoPackage} exports no destinationDescriptor, so it is not a sentcopy destination package (or one made for another version): use a package that exports one (see docs/destination-authors.md)`,
      },
    ]);
    expect(await typeProblem('version-v2')).toEqual([
      {
        path: 'destinations.memo.type',
        problem: `the package ${memoPackage} implements destination descriptor specification "v2", and this worker knows "v1": install a version of ${memoPackage} made for this sentcopy, or upgrade sentcopy`,
      },
    ]);
    expect(await typeProblem('unknown-keyword')).toEqual([
      {
        path: 'destinations.memo.type',
        problem: expect.stringMatching(new RegExp(`^the package ${memoPackage}'s settings schema uses the JSON Schema keyword "format" \\(at settingsSchema\\.properties\\.label\\), which sentcopy cannot check`)),
      },
    ]);
    expect(await typeProblem('good')).toEqual([]);

    const notAName = await validateConfig({ ...memoConfig(), destinations: { memo: { type: 'FTP server!', acknowledge_personal_data: true } } }, { baseDir: folderWith('good') });
    expect(notAName.ok ? [] : notAName.issues).toEqual([{ path: 'destinations.memo.type', problem: 'must be one of "fs", "s3", "azure", "gcs", or the package name of a third-party destination (e.g. "@acme/sentcopy-destination-webdav")' }]);

    // loadConfigFile looks the package up from the file's own folder, and throws a ConfigError naming the file.
    const folder = folderWith('version-v2');
    const file = path.join(folder, 'sentcopy.config.json');
    writeFileSync(file, JSON.stringify(memoConfig()));
    const error = await loadConfigFile(file).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).issues.map((issue) => issue.path)).toEqual(['destinations.memo.type']);
    expect((error as Error).message).toContain(`Invalid configuration in ${file}`);
  });

  it("checks the settings against the package's own schema and rules, naming each field, never quoting a secret", async () => {
    const baseDir = folderWith('good');
    const issuesOf = async (settings: Record<string, unknown>) => {
      const result = await validateConfig(memoConfig(settings), { baseDir });
      return result.ok ? {} : Object.fromEntries(result.issues.map((issue) => [issue.path, issue.problem]));
    };
    expect(await issuesOf({ shelf: 0, token: 'open-sesame', colour: 'blue', folder: '' })).toEqual({
      'destinations.memo.shelf': 'must be at least 1',
      'destinations.memo.token': 'must be a reference such as { "env": "VARIABLE_NAME" }: secrets are read from the environment, never written in the configuration file',
      'destinations.memo.colour': 'is not a known setting',
      'destinations.memo.folder': 'must not be empty',
    });
    expect(JSON.stringify(await issuesOf({ token: 'open-sesame' }))).not.toContain('open-sesame');
    expect(await issuesOf({ shelf: 13 })).toEqual({ 'destinations.memo.shelf': 'is unlucky: pick another shelf' });
    expect(await issuesOf({ shelf: 'two' })).toEqual({ 'destinations.memo.shelf': 'must be an integer, not a string' });
    const { folder: _folder, ...withoutFolder } = memoConfig().destinations['memo']!;
    const missing = await validateConfig({ ...memoConfig(), destinations: { memo: withoutFolder } }, { baseDir });
    expect(missing.ok ? [] : missing.issues).toEqual([{ path: 'destinations.memo.folder', problem: 'is required' }]);
    // A cluster's shared configuration refuses a relative x-path setting, as it does the fs root.
    const shared = await validateConfig(memoConfig(), { baseDir, shared: true });
    expect(shared.ok ? [] : shared.issues).toEqual([{ path: 'destinations.memo.folder', problem: "must be an absolute path in a cluster's shared configuration (each worker would resolve a relative one against its own folder)" }]);
    // With an environment, its secret's variable must be set, like any other reference.
    const unset = await validateConfig(memoConfig(), { baseDir, env: {} });
    expect(unset.ok ? [] : unset.issues).toEqual([{ path: 'destinations.memo.token', problem: 'reads the environment variable SC_MEMO_TOKEN, which is not set (or empty)' }]);
    // Only the settings its descriptor marks x-secret are secrets: an object of its own that looks like a reference is not read.
    const lookalike = await validateConfig(memoConfig({ labels: { env: 'production' } }), { baseDir, env: { SC_MEMO_TOKEN: 'open-sesame' } });
    expect(lookalike.ok ? [] : lookalike.issues).toEqual([]);
  });

  it('refuses a reload that names a package not installed on this worker and keeps the previous configuration; once installed, the same change applies', async () => {
    const { folder, file, runtime, refused, reloads } = await start(baseConfig());
    const next = { ...memoConfig({ token: undefined }), projects: { shop: { ...baseConfig().projects['shop']!, destination: 'memo' } } };
    writeConfig(file, next);
    const error = await eventually(() => refused[0], 'the refusal');
    expect(error.issues).toEqual([{ path: 'destinations.memo.type', problem: notInstalled(folder) }]);
    expect(runtime.configProblem()?.problem).toContain('destinations.memo.type');
    expect(runtime.project('shop')).toMatchObject({ channels: ['email', 'sms'], ready: true, destinationId: expect.stringContaining('archive') });

    installMemoPackage(folder, fsPackageDir);
    writeConfig(file, { ...next, destinations: { memo: { ...next.destinations['memo']!, shelf: 3 } } });
    await eventually(() => reloads.find((event) => event.changes.destinationsAdded.includes('memo')), 'the change applied once the package is installed');
    expect(runtime.configProblem()).toBeUndefined();
    expect(runtime.destinations().map((destination) => ({ name: destination.name, type: destination.type }))).toEqual([{ name: 'memo', type: memoPackage }]);
  });
});
