import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, type CliRun, runCli } from './run-cli.js';

// Command-line mistakes, the personal-data acknowledgement and delete's confirmation, on the
// local-folder destination (the S3 and live-worker cases are in destinations.test.ts).
const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-destinations-prompts-'));
const configFile = path.join(work, 'sentcopy.config.json');
const env = { ...process.env };

/** Runs the built CLI without a terminal (stdin closed). */
function sentcopy(...args: string[]): Promise<CliRun> {
  return sentcopyIn(work, ...args);
}

const sentcopyIn = (cwd: string, ...args: string[]) => runCli(args, { cwd, env });

/**
 * Runs the built CLI on a pseudo-terminal (util-linux `script`), answering its one yes/no prompt
 * with `answer` once the question appears. The terminal merges stderr into stdout.
 */
function sentcopyOnTerminal(answer: 'y' | 'n', ...args: string[]): Promise<CliRun> {
  const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
  const command = [process.execPath, bin, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: work, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let answered = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // Wait for the question itself: the terminal output also holds escape sequences with '?'.
      if (!answered && (stdout.includes('Continue?') || stdout.includes('stay where they are.'))) {
        answered = true;
        child.stdin.write(`${answer}\r`);
      }
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr: '' }));
  });
}

const json = (run: CliRun) => JSON.parse(run.stdout) as Record<string, any>;
const readConfigFile = () => JSON.parse(readFileSync(configFile, 'utf8')) as { destinations: Record<string, Record<string, unknown>>; projects: Record<string, { destination?: string; channels: string[]; api_keys: unknown[] }> };

beforeAll(async () => {
  expect((await sentcopy('init')).code).toBe(0);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('sentcopy destinations: usage, acknowledgement, confirmation', { timeout: 30_000 }, () => {
  it('names unknown destinations (exit 3, with the known ones) and invalid options (exit 2)', async () => {
    for (const args of [
      ['show', 'nope'],
      ['probe', 'nope'],
      ['edit', 'nope', '--root', 'x'],
      ['delete', 'nope', '--yes'],
    ]) {
      const run = await sentcopy('destinations', ...args, '--json');
      expect(run.code, args.join(' ')).toBe(3);
      expect(json(run).error).toEqual({ code: 'destination_not_found', message: `No destination named "nope" in ${configFile}.`, hint: 'Configured destinations: local.' });
    }
    const badNumber = await sentcopy('destinations', 'connect', 'x', '--type', 's3', '--bucket', 'b', '--object-lock-days', 'soon', '--acknowledge-pii');
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr).toContain("option '--object-lock-days <days>' argument 'soon' is invalid");
    const badType = await sentcopy('destinations', 'connect', 'x', '--type', 'ftp', '--json');
    expect(badType.code).toBe(2);
    expect(json(badType).error.message).toContain("option '--type <type>' argument 'ftp' is invalid");
    const unknown = await sentcopy('destinations', 'connect', 'x', '--type', 'fs', '--root', 'r', '--colour', 'red');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--colour'");
    const literalSecret = await sentcopy('destinations', 'connect', 'x', '--type', 's3', '--bucket', 'bucket', '--secret-access-key-env', 'wJalr/XUtnFEMI+K7MDENG');
    expect(literalSecret.code).toBe(2);
    expect(literalSecret.stderr).toContain('must be the NAME of an environment variable');
    const unknownProject = await sentcopy('destinations', 'connect', 'x', '--type', 'fs', '--root', 'r', '--project', 'nobody', '--acknowledge-pii');
    expect(unknownProject.code).toBe(3);
    expect(unknownProject.stderr).toContain('Configured projects: default.');
  });

  it('requires the personal-data acknowledgement when no terminal can ask', async () => {
    const run = await sentcopy('destinations', 'connect', 'folder', '--type', 'fs', '--root', 'second-archive', '--json');
    expect(run.code).toBe(2);
    expect(json(run).error.code).toBe('acknowledgement_required');
    expect(json(run).error.hint).toContain('--acknowledge-pii');
    expect(readConfigFile().destinations['folder']).toBeUndefined();

    const acknowledged = await sentcopy('destinations', 'connect', 'folder', '--type', 'fs', '--root', 'second-archive', '--acknowledge-pii');
    expect(acknowledged.code).toBe(0);
    expect(acknowledged.stdout).toContain('Connected destination "folder" (fs)');
    expect(readConfigFile().destinations['folder']).toEqual({ type: 'fs', root: 'second-archive', acknowledge_personal_data: true });

    // A relative --root is taken from the current folder and stored relative to the config file's.
    const nested = path.join(work, 'ops');
    mkdirSync(nested);
    const elsewhere = await sentcopyIn(nested, 'destinations', 'connect', 'nested', '--type', 'fs', '--root', 'nested-archive', '-c', '../sentcopy.config.json', '--acknowledge-pii', '--json');
    expect(elsewhere.code).toBe(0);
    expect(readConfigFile().destinations['nested']).toMatchObject({ root: 'ops/nested-archive' });
    expect(json(elsewhere).probe.id).toBe(`file://${path.join(nested, 'nested-archive')}`);
    expect(statSync(path.join(nested, 'nested-archive')).isDirectory()).toBe(true);
  });

  it('asks on a terminal: the acknowledgement before connecting, the confirmation before deleting', async () => {
    const connected = await sentcopyOnTerminal('y', 'destinations', 'connect', 'asked', '--type', 'fs', '--root', 'asked-archive');
    expect(connected.stdout).toContain('hold personal data');
    expect(connected.stdout).toContain('Connected destination "asked" (fs)');
    expect(connected.code).toBe(0);
    expect(readConfigFile().destinations['asked']).toEqual({ type: 'fs', root: 'asked-archive', acknowledge_personal_data: true });

    const declined = await sentcopyOnTerminal('n', 'destinations', 'connect', 'declined', '--type', 'fs', '--root', 'declined-archive');
    expect(declined.code).toBe(1);
    expect(declined.stdout).toContain('the personal-data acknowledgement was declined');
    expect(readConfigFile().destinations['declined']).toBeUndefined();

    const kept = await sentcopyOnTerminal('n', 'destinations', 'delete', 'asked');
    expect(kept.stdout).toContain('Delete destination "asked"');
    expect(kept.code).toBe(1);
    expect(readConfigFile().destinations['asked']).toBeDefined();

    const deleted = await sentcopyOnTerminal('y', 'destinations', 'delete', 'asked');
    expect(deleted.code).toBe(0);
    expect(readConfigFile().destinations['asked']).toBeUndefined();
  });

  it('deletes only with --yes, refuses one in use unless --force, and detaches its projects', async () => {
    const unconfirmed = await sentcopy('destinations', 'delete', 'folder');
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('Pass --yes to confirm.');
    expect(readConfigFile().destinations['folder']).toBeDefined();

    const deleted = await sentcopy('destinations', 'delete', 'folder', '--yes', '--json');
    expect(deleted.code).toBe(0);
    expect(json(deleted)).toMatchObject({ deleted: 'folder', detachedProjects: [] });
    expect(readConfigFile().destinations['folder']).toBeUndefined();

    const inUse = await sentcopy('destinations', 'delete', 'local', '--yes', '--json');
    expect(inUse.code).toBe(1);
    expect(json(inUse).error).toMatchObject({ code: 'destination_in_use', message: 'Destination "local" is used by project(s) default; it was not deleted.' });
    expect(json(inUse).error.hint).toContain('--force');
    expect(readConfigFile().destinations['local']).toBeDefined();

    const forced = await sentcopy('destinations', 'delete', 'local', '--yes', '--force');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('Project(s) default now have no destination');
    const config = readConfigFile();
    expect(Object.keys(config.destinations)).toEqual(['nested']);
    expect(config.projects['default']).not.toHaveProperty('destination');
    expect(config.projects['default']?.channels).toEqual(['email', 'sms', 'push', 'whatsapp']);
    expect(config.projects['default']?.api_keys).toHaveLength(1);

    const listed = await sentcopy('destinations', 'show', '--json');
    expect(json(listed)).toMatchObject({ destinations: [{ name: 'nested', projects: [] }], projectsWithoutDestination: ['default'] });

    const check = await sentcopy('config', 'check', '--json');
    expect(check.code).toBe(0);
  });
});
