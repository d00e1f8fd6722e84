import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-demo-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function sentcopy(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface DemoReport {
  root: string;
  created: number;
  alreadyStored: number;
  objects: { key: string; size: number; sha256: string; created: boolean; channel: string; messageId: string }[];
}

describe('sentcopy demo', () => {
  it('archives messages of every channel, byte-verifiable, and stores nothing twice', () => {
    const first = sentcopy('demo', '--dir', 'archive', '--count', '12', '--json');
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const report = JSON.parse(first.stdout) as DemoReport;
    expect(report.root).toBe(path.join(work, 'archive'));
    expect(report.created).toBe(12);
    expect(new Set(report.objects.map((object) => object.channel))).toEqual(new Set(['email', 'sms', 'push', 'whatsapp']));
    for (const object of report.objects) {
      const bytes = readFileSync(path.join(report.root, ...object.key.split('/')));
      expect(bytes.length).toBe(object.size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(object.sha256);
      const stored = JSON.parse(gunzipSync(bytes).toString('utf8')) as Record<string, unknown>;
      expect(stored).toMatchObject({ version: 1, channel: object.channel, message_id: object.messageId, project_id: 'demo' });
    }

    const again = JSON.parse(sentcopy('demo', '--dir', 'archive', '--count', '12', '--json').stdout) as DemoReport;
    expect(again).toMatchObject({ created: 0, alreadyStored: 12 });
    expect(again.objects.map((object) => object.sha256)).toEqual(report.objects.map((object) => object.sha256));
  });

  it('prints a human report that says where the files are', () => {
    const result = sentcopy('demo', '--dir', 'human', '--count', '4');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`Archived 4 messages into ${path.join(work, 'human')}`);
    expect(result.stdout).toMatch(/gzip -dc '.+\.json\.gz'/);
  });

  it('writes vendor layouts with --profile', () => {
    const result = sentcopy('demo', '--dir', 'braze', '--count', '4', '--profile', 'braze', '--json');
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as DemoReport;
    for (const object of report.objects) expect(object.key).toMatch(/^sent_messages\/(email|sms|push|whatsapp)\/[0-9a-f]{32}\/[^/]+\/[^/]+\.json\.gz$/);
  });

  it('rejects bad arguments with a clear error and a non-zero exit', () => {
    const result = sentcopy('demo', '--count', 'lots');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('--count');
    expect(result.stderr).toContain('must be a whole number');
    const profile = sentcopy('demo', '--profile', 'nope');
    expect(profile.status).not.toBe(0);
    expect(profile.stderr).toMatch(/Allowed choices are sentcopy, braze, clevertap, iterable/);
  });
});
