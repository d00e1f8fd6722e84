import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const installHints: Record<string, string> = {
  gzip: 'apt-get install -y gzip',
  lz4: 'apt-get install -y lz4',
};

/** Fails (never skips) when a command line tool the interop tests need is missing. */
export function requireTool(name: 'gzip' | 'lz4'): void {
  const probe = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`the '${name}' command line tool is required for the codec interop tests but was not found on PATH; install it with: ${installHints[name]}`);
  }
}

/** Runs `tool args` and returns its stdout; throws with its stderr when it fails. */
export function runTool(name: 'gzip' | 'lz4', args: readonly string[], input?: Uint8Array): Uint8Array {
  requireTool(name);
  const result = spawnSync(name, args, { input, maxBuffer: 512 * 1024 * 1024 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${name} ${args.join(' ')} exited with ${result.status}: ${result.stderr.toString()}`);
  return new Uint8Array(result.stdout.buffer, result.stdout.byteOffset, result.stdout.byteLength);
}

/** Runs a shell pipeline (for inputs too large to hold in memory, e.g. from /dev/zero). */
export function runShell(command: string): Uint8Array {
  const result = spawnSync('sh', ['-c', `set -e; ${command}`], { maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} exited with ${result.status}: ${result.stderr.toString()}`);
  return new Uint8Array(result.stdout.buffer, result.stdout.byteOffset, result.stdout.byteLength);
}

/** Writes `bytes` to a file in a fresh temp dir, passes its path to `use`, then removes the dir. */
export function withTempFile<T>(bytes: Uint8Array, use: (file: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'sentcopy-codec-'));
  try {
    const file = path.join(dir, 'object');
    writeFileSync(file, bytes);
    return use(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
