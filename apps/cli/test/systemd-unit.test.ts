import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, runCli } from './run-cli.js';

const unitFile = fileURLToPath(new URL('../../../deploy/sentcopy-worker.service', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-systemd-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const haveAnalyze = analyze.status === 0;
if (!haveAnalyze) console.log('Skipping `systemd-analyze verify` of deploy/sentcopy-worker.service: systemd-analyze is not installed here (apt-get install systemd).');

/** The unit with its ExecStart pointing at this checkout's CLI (verify checks that the program exists and is executable). */
function localUnit(text: string, name: string): string {
  const wrapper = path.join(work, 'sentcopy');
  writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`);
  chmodSync(wrapper, 0o755);
  const file = path.join(work, name);
  writeFileSync(file, text.replaceAll('/usr/local/bin/sentcopy', wrapper));
  return file;
}

const verify = (file: string) => spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });

describe('deploy/sentcopy-worker.service', () => {
  const text = readFileSync(unitFile, 'utf8');

  it.skipIf(!haveAnalyze)('passes systemd-analyze verify, which does catch a broken unit', () => {
    const good = verify(localUnit(text, 'sentcopy-worker.service'));
    expect(good.stderr).toBe('');
    expect(good.status).toBe(0);
    // The same check on a unit with a misspelt setting fails: the test can fail.
    const broken = verify(localUnit(text.replace('ProtectSystem=strict', 'ProtectSystem=strickt'), 'broken.service'));
    expect(broken.stderr).toContain('Failed to parse protect system value');
  });

  it('hardens the service and keeps what Node.js and the worker need', () => {
    const settings = new Map<string, string[]>();
    for (const line of text.split('\n')) {
      const match = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (match !== null) settings.set(match[1]!, [...(settings.get(match[1]!) ?? []), match[2]!]);
    }
    const one = (name: string) => settings.get(name)?.at(-1);
    for (const [name, value] of Object.entries({
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      RestrictSUIDSGID: 'yes',
      CapabilityBoundingSet: '',
      UMask: '0077',
      User: 'sentcopy',
      StateDirectory: 'sentcopy',
      KillSignal: 'SIGTERM',
    })) {
      expect([name, one(name)]).toEqual([name, value]);
    }
    // V8's JIT needs writable and executable memory.
    expect(one('MemoryDenyWriteExecute')).toBe('no');
    expect(one('RestrictAddressFamilies')).toBe('AF_INET AF_INET6 AF_UNIX');
    expect(one('EnvironmentFile')).toBe('-/etc/sentcopy/sentcopy.env');
  });

  it('starts a command line the CLI accepts', async () => {
    const exec = /^ExecStart=\/usr\/local\/bin\/sentcopy (.*)$/m.exec(text)?.[1];
    expect(exec).toBeDefined();
    const args = exec!.split(' ');
    // Every option of ExecStart exists: --help after them prints the help instead of a usage error.
    const run = await runCli([...args, '--help'], { cwd: work });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: sentcopy worker');
    expect(execFileSync(process.execPath, [bin, 'worker', '--help'], { encoding: 'utf8' })).toContain('--log-level');
  });
});
