import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
// Inside the package's node_modules, so the bundle resolves @sentcopy/core as the package does.
const outputFolder = path.join(packageRoot, 'node_modules', '.cache', 'sentcopy-fs-fixtures');

/** Compiles test/fixtures/fs-child.ts (with this package's src bundled in) into a file `node` runs. Remove it with {@link removeChildFixture}. */
export async function buildChildFixture(): Promise<string> {
  mkdirSync(outputFolder, { recursive: true });
  const outfile = path.join(outputFolder, `fs-child-${process.pid}-${randomBytes(4).toString('hex')}.mjs`);
  await build({ entryPoints: [path.join(packageRoot, 'test', 'fixtures', 'fs-child.ts')], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'silent' });
  return outfile;
}

export function removeChildFixture(file: string | undefined): void {
  if (file !== undefined) rmSync(file, { force: true });
}

/** Runs a shell command line to completion; resolves with its exit code and output. */
export function runShell(line: string, options: { timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', line], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Single-quotes a word for sh. */
export const quote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

/** Mounts with mount(8); resolves with the reason when the machine forbids it. */
export async function tryMount(args: string): Promise<string | undefined> {
  const result = await runShell(`mount ${args}`);
  return result.code === 0 ? undefined : `mount ${args} failed (${result.code}): ${result.stderr.trim()}`;
}

export async function unmount(target: string): Promise<void> {
  const result = await runShell(`umount ${quote(target)}`);
  if (result.code !== 0) throw new Error(`umount failed: ${result.stderr.trim()}`);
}
