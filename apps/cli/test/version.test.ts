import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, runCli } from './run-cli.js';

const execFileAsync = promisify(execFile);
const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { name: string; version: string };
// Inside the package's node_modules, so a copy of the built CLI still resolves its dependencies.
const copy = path.join(packageRoot, 'node_modules', '.cache', `sentcopy-version-${process.pid}`);
afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe('sentcopy --version', () => {
  it('prints the version in package.json for --version and -V, and nothing else', async () => {
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-V']) {
      const run = await runCli([flag], { cwd: packageRoot });
      expect({ flag, code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({ flag, code: 0, stdout: `${manifest.version}\n`, stderr: '' });
    }
  });

  it('reads the version from package.json when it runs, not from the build', async () => {
    mkdirSync(copy, { recursive: true });
    // The whole build: bin.js loads its chunks (the commands that load parts of it on first use) from beside it.
    cpSync(path.dirname(bin), path.join(copy, 'dist'), { recursive: true });
    writeFileSync(path.join(copy, 'package.json'), JSON.stringify({ ...manifest, version: '97.3.1-check.2' }));
    const { stdout } = await execFileAsync(process.execPath, [path.join(copy, 'dist', 'bin.js'), '--version'], { cwd: copy });
    expect(stdout).toBe('97.3.1-check.2\n');
  });

  it('lists --version in the help', async () => {
    const run = await runCli(['--help'], { cwd: packageRoot });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/-V, --version\s+print the version of sentcopy/);
  });
});
