// `sentcopy verify --complete` on an archive the worker wrote (the ledger is on by default): exit 0.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sampleMessages } from '@sentcopy/core';
import { hashApiKey, runWorker, type WorkerConfig } from '@sentcopy/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { json } from './ls-fixtures.js';
import { runCli } from './run-cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-worker-ledger-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const apiKey = 'sc_cli_worker_ledger_key_000000000000000000000';

function countFiles(folder: string): number {
  let count = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.name === '.sentcopy' || entry.name === '.sentcopy-ledger') continue;
    count += entry.isDirectory() ? countFiles(path.join(folder, entry.name)) : 1;
  }
  return count;
}

describe('sentcopy verify --complete on an archive written by the worker', () => {
  it("proves it complete: every object listed once in the worker's chain, exit 0", { timeout: 90_000 }, async () => {
    const folder = path.join(work, 'keyed');
    const configFile = path.join(folder, 'sentcopy.config.json');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'sentcopy.config.env'), 'SENTCOPY_RECIPIENT_KEY=cli-worker-ledger-recipient-key-0123\n', { mode: 0o600 });
    const config: WorkerConfig = {
      version: 1,
      recipient_hash_key: { env: 'SENTCOPY_RECIPIENT_KEY' },
      destinations: { archive: { type: 'fs', root: 'archive', fsync: false, acknowledge_personal_data: true } },
      projects: { shop: { destination: 'archive', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
    };
    writeFileSync(configFile, JSON.stringify(config));
    const messages = sampleMessages({ projectId: 'shop', count: 40, seed: 17 });
    const worker = await runWorker({ configFile, port: 0, prepareThreads: 0 });
    try {
      const response = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) });
      expect(response.status).toBe(202);
      const deadline = Date.now() + 30_000;
      while (countFiles(path.join(folder, 'archive')) < 40) {
        if (Date.now() > deadline) throw new Error('Timed out waiting for the copies.');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      // The stop writes the ledger's open segment.
      await worker.stop();
    }
    const run = await runCli(['verify', '--complete', '--json'], { cwd: folder });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = json<{ ok: boolean; problems: unknown[]; ledger: { chains: { entries: number }[]; entries: number; duplicates: number; problems: unknown[] } }>(run);
    expect(report).toMatchObject({ ok: true, problems: [], ledger: { entries: 40, duplicates: 0, problems: [] } });
    expect(report.ledger.chains).toHaveLength(1);
    const human = await runCli(['verify', '--complete'], { cwd: folder });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Complete: every chain is whole');
  });
});
