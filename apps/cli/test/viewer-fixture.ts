// Shared by the viewer's tests: an archive written by the real archiver with its ledger, and `sentcopy view` started as a real process.
import { spawn, type ChildProcess } from 'node:child_process';
import { createArchiver, createHmacRecipientHash, createLedgerWriter, type DestinationV1 } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { testRecipientKey } from './ingest-fixture.js';
import { bin } from './run-cli.js';

/** Archives `messages` into the folder `root` (or a destination) with the real archiver and a ledger (the worker's own parts). */
export async function archiveWithLedger(target: string | DestinationV1, messages: readonly Record<string, unknown>[], writerId = 'w-test'): Promise<void> {
  const destination = typeof target === 'string' ? createFsDestination({ root: target, fsync: false }) : target;
  const ledger = createLedgerWriter({ destination, writerId, recipientHash: createHmacRecipientHash(testRecipientKey), maxEntries: 64 });
  const archiver = createArchiver({ destination, recipientKey: testRecipientKey, ledger, retry: false });
  for (const message of messages) await archiver.archive(message);
  await ledger.close();
  if (typeof target === 'string') await destination.close?.();
}

/** A running `sentcopy view` process. */
export interface ViewerProcess {
  /** Base URL without the trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly origin: string;
  /** The start-up token, or `null` when the viewer uses accounts. */
  readonly token: string | null;
  /** Everything it printed on stdout and stderr so far. */
  output(): string;
  /** Sends SIGTERM (or `signal`) and resolves with its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  readonly child: ChildProcess;
}

/** Starts the built CLI's `sentcopy view --port 0 --json …` in `cwd` and waits for its `{"url","token"}` line. */
export function startView(cwd: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ViewerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'view', '--port', '0', '--json', ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let started = false;
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n')[0];
      if (started || !stdout.includes('\n') || line === undefined) return;
      started = true;
      try {
        const { url, token } = JSON.parse(line) as { url: string; token: string | null };
        resolve({
          origin: url.replace(/\/$/, ''),
          token,
          output: () => `${stdout}\n${stderr}`,
          stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
          child,
        });
      } catch (error) {
        reject(new Error(`sentcopy view printed no URL line: ${stdout}\n${stderr}`, { cause: error }));
      }
    });
    void exited.then((code) => {
      if (!started) reject(new Error(`sentcopy view exited ${code} before listening:\n${stdout}\n${stderr}`));
    });
  });
}
