import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installMemoPackage, memoPackage, shelfRoot } from '@sentcopy/test-servers';
import { type CliRun, runCli } from './run-cli.js';

// Issue #20: `sentcopy destinations` takes a third-party destination's options, help and checks
// from the package a configuration names, installed next to the configuration file.
const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-destinations-third-party-'));
const elsewhere = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-destinations-elsewhere-'));
const configFile = path.join(work, 'sentcopy.config.json');
// The CLI looks a package up next to the worker it is installed with: here, the workspace's.
const workerDir = fileURLToPath(new URL('../../worker', import.meta.url)).replace(/\/$/, '');
const env = { ...process.env, SC_MEMO_TOKEN: 'open-sesame' };

const sentcopy = (...args: string[]): Promise<CliRun> => runCli(args, { cwd: work, env });
const json = (run: CliRun) => JSON.parse(run.stdout) as Record<string, any>;
const readConfigFile = () => JSON.parse(readFileSync(configFile, 'utf8')) as { destinations: Record<string, Record<string, unknown>>; projects: Record<string, { destination?: string }> };

beforeAll(async () => {
  expect((await sentcopy('init')).code).toBe(0);
  installMemoPackage(work, fileURLToPath(new URL('../../../packages/destination-fs', import.meta.url)));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(elsewhere, { recursive: true, force: true });
});

describe('sentcopy destinations with a third-party package', { timeout: 60_000 }, () => {
  it("lists the package's own options in connect --help, found from the configuration file's folder", async () => {
    // Run from another folder: the package is looked up next to the configuration, not the working directory.
    const help = await runCli(['destinations', 'connect', '--type', memoPackage, '-c', configFile, '--help'], { cwd: elsewhere, env });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(`Options for --type ${memoPackage}: Memo shelves (a test package) (package ${memoPackage}).`);
    expect(help.stdout).toMatch(/--memo-folder <dir>\s+folder the shelves are kept in/);
    expect(help.stdout).toMatch(/--shelf <number>\s+shelf number, 1 or more/);
    expect(help.stdout).toMatch(/--memo-token-env <var>\s+environment variable holding the access token/);
    expect(help.stdout).not.toContain('--bucket');
    expect(help.stdout).not.toContain('--root');
  });

  it('connects it with its options (probed, saved, a secret only as a variable name), and show prints it', async () => {
    const connected = await sentcopy('destinations', 'connect', 'memo', '--type', memoPackage, '--memo-folder', 'memos', '--shelf', '4', '--memo-token-env', 'SC_MEMO_TOKEN', '--project', 'default', '--acknowledge-pii', '--json');
    expect(connected.stderr).toBe('');
    expect(connected.code).toBe(0);
    expect(json(connected)).toMatchObject({ destination: 'memo', type: memoPackage, projects: ['default'], probe: { status: 'ok' } });
    expect(readConfigFile().destinations['memo']).toEqual({ type: memoPackage, folder: 'memos', shelf: 4, token: { env: 'SC_MEMO_TOKEN' }, acknowledge_personal_data: true });
    expect(readConfigFile().projects['default']?.destination).toBe('memo');
    expect(readFileSync(configFile, 'utf8')).not.toContain('open-sesame');
    // The probe ran through the package's own create(): it wrote (and removed its object) under the shelf it names.
    expect(existsSync(shelfRoot(path.join(work, 'memos'), 4))).toBe(true);

    const one = await sentcopy('destinations', 'show', 'memo');
    expect(one.code).toBe(0);
    expect(one.stdout).toContain(`memo (${memoPackage})`);
    expect(one.stdout).toMatch(/folder:\s+memos/);
    expect(one.stdout).toMatch(/shelf:\s+4/);
    expect(one.stdout).toMatch(/token:\s+from the environment variable SC_MEMO_TOKEN/);
    expect(one.stdout).toContain('Used by: default');
    const all = await sentcopy('destinations', 'show', '--json');
    expect(json(all).destinations).toContainEqual(expect.objectContaining({ name: 'memo', type: memoPackage, location: 'memo shelf 4' }));

    const edited = await sentcopy('destinations', 'edit', 'memo', '--shelf', '5', '--json');
    expect(edited.code).toBe(0);
    expect(readConfigFile().destinations['memo']).toMatchObject({ shelf: 5 });
    const probed = await sentcopy('destinations', 'probe', 'memo', '--json');
    expect(probed.code).toBe(0);
    expect(json(probed)).toMatchObject({ ok: true, results: [{ destination: 'memo', type: memoPackage, status: 'ok' }] });
  });

  it("refuses a missing package, a bad value and a broken rule, naming the option and the package's problem", async () => {
    const before = readFileSync(configFile, 'utf8');
    const missing = await sentcopy('destinations', 'connect', 'x', '--type', '@acme/not-there', '--shelf', '1', '--json');
    expect(missing.code).toBe(2);
    expect(json(missing).error.message).toBe(
      `option '--type <type>' argument '@acme/not-there' is invalid. names the package @acme/not-there, which is not installed: looked for it from the configuration's folder (${work}) and from the worker's installation (${workerDir}); install it in either (npm install @acme/not-there in the configuration's folder, or next to @sentcopy/worker).`,
    );
    const notNumber = await sentcopy('destinations', 'connect', 'x', '--type', memoPackage, '--memo-folder', 'm', '--shelf', 'top', '--acknowledge-pii', '--json');
    expect(notNumber.code).toBe(2);
    expect(json(notNumber).error.message).toBe("option '--shelf <number>' argument 'top' is invalid. must be a whole number, 1 or more.");
    const literalSecret = await sentcopy('destinations', 'connect', 'x', '--type', memoPackage, '--memo-folder', 'm', '--shelf', '1', '--memo-token-env', 'open-sesame!', '--acknowledge-pii', '--json');
    expect(literalSecret.code).toBe(2);
    expect(json(literalSecret).error.message).toContain('must be the NAME of an environment variable');
    const noShelf = await sentcopy('destinations', 'connect', 'x', '--type', memoPackage, '--memo-folder', 'm', '--acknowledge-pii', '--json');
    expect(noShelf.code).toBe(2);
    expect(json(noShelf).error.message).toBe(`--shelf is required for a ${memoPackage} destination (Shelf number.).`);
    const unlucky = await sentcopy('destinations', 'connect', 'x', '--type', memoPackage, '--memo-folder', 'm', '--shelf', '13', '--acknowledge-pii', '--json');
    expect(unlucky.code).toBe(2);
    expect(json(unlucky).error.message).toBe('The destination "x" is not valid:\n  --shelf (destinations.x.shelf): is unlucky: pick another shelf');
    expect(readFileSync(configFile, 'utf8')).toBe(before);
  });
});
