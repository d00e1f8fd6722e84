import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { webdavDestinationType } from '../src/index.js';
import type { WebdavTestServer } from './webdav-fixture.js';

const cliBin = fileURLToPath(new URL('../../../apps/cli/dist/bin.js', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** What a run of the CLI printed, and its exit code. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built `sentcopy` CLI in `cwd` with `env` added to this process's environment. */
export function runSentcopy(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Installs this package in `folder/node_modules` as npm would place it (node_modules/<scope>/<name>). */
export function installWebdavPackage(folder: string): void {
  mkdirSync(path.join(folder, 'node_modules', '@sentcopy-examples'), { recursive: true });
  symlinkSync(packageDir, path.join(folder, 'node_modules', webdavDestinationType), 'dir');
}

/** The command line that connects a destination `dav` to `folder` on `server` for project `default`, its password read from SC_DAV_PASSWORD. */
export const connectDavArgs = (server: WebdavTestServer, folder: string): string[] => [
  'destinations',
  'connect',
  'dav',
  '--type',
  webdavDestinationType,
  '--url',
  server.url,
  '--folder',
  folder,
  '--username',
  server.username,
  '--password-env',
  'SC_DAV_PASSWORD',
  '--project',
  'default',
  '--acknowledge-pii',
  '--json',
];
