import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ConfigError, createEmbeddedQueue, hashApiKey, parseConfigText, QueueError, runWorker, type WorkerConfig } from '../src/index.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('start-versions');

function writeConfig(folder: string, version: number): string {
  const config: WorkerConfig = {
    version: 1,
    destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
    projects: { default: { destination: 'local', channels: ['sms'], api_keys: [{ sha256: hashApiKey('sc_versions_key') }] } },
  };
  const file = path.join(folder, 'sentcopy.config.json');
  writeFileSync(file, JSON.stringify({ ...config, version, ...(version > 1 ? { a_field_from_the_future: true } : {}) }));
  return file;
}

async function startError(configFile: string): Promise<Error | undefined> {
  try {
    const worker = await runWorker({ configFile, port: 0, prepareThreads: 0 });
    await worker.stop();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

describe('versions checked when the worker starts', { timeout: 60_000 }, () => {
  it('refuses a configuration format newer than it understands, with one issue that says what to do', async () => {
    const folder = newFolder();
    const file = writeConfig(folder, 2);
    const before = readFileSync(file, 'utf8');
    const refused = await startError(file);
    expect(ConfigError.isInstance(refused)).toBe(true);
    expect((refused as ConfigError).issues).toEqual([
      {
        path: 'version',
        problem: 'is 2, a configuration format newer than this sentcopy understands (it reads format 1): upgrade the worker and the CLI to the release that wrote it, or restore the previous configuration file (see docs/upgrading.md)',
      },
    ]);
    expect(readFileSync(file, 'utf8')).toBe(before);
    // An older or nonsensical version is still a schema problem, reported with the others.
    await expect(parseConfigText(JSON.stringify({ version: 0, destinations: {}, projects: {} }))).rejects.toThrow(/version: must be 1/);
  });

  it('refuses a queue written by a newer sentcopy, says what to do, and leaves the file untouched', async () => {
    const folder = newFolder();
    const file = writeConfig(folder, 1);
    const queueFolder = path.join(folder, '.sentcopy', 'queue');
    await (await createEmbeddedQueue({ directory: queueFolder })).close();
    const db = new Database(path.join(queueFolder, 'queue.db'));
    db.pragma('user_version = 7');
    db.close();
    const bytes = readFileSync(path.join(queueFolder, 'queue.db'));
    const refused = await startError(file);
    expect(QueueError.isInstance(refused) && refused.kind).toBe('incompatible');
    expect(refused?.message).toBe(
      `The queue in ${queueFolder} was written by a newer sentcopy (queue format 7; this one reads formats 1 to 2) and was left untouched. Run the newer release again (a queue is never converted back), let it drain, or point this worker at another queue folder; see docs/upgrading.md.`,
    );
    expect(readFileSync(path.join(queueFolder, 'queue.db')).equals(bytes)).toBe(true);
    const after = new Database(path.join(queueFolder, 'queue.db'), { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(7);
    after.close();
  });
});
