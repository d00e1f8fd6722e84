// The access log when the disk under it fills up, and when it holds garbage: an action that cannot be logged is not answered
// (loudly, and the viewer keeps running); a torn line is cut off, never glued to the next event. The built CLI as a real
// process; the full disk is a small tmpfs the test mounts (we are root here), skipped with a reason where mounting is refused.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempFolders } from './ingest-fixture.js';
import { fsEntry, writeConfigFile } from './ls-fixtures.js';
import { archiveWithLedger, startView } from './viewer-fixture.js';

const folders = tempFolders('viewer-access-log');
const project = { destination: 'archive', channels: ['email'], api_keys: [] };
const messages = Array.from({ length: 3 }, (_, index) => ({
  version: 1,
  message_id: `m-${index}`,
  project_id: 'shop',
  channel: 'email',
  to: 'dana@example.com',
  subject: `Hello ${index}`,
  html_body: '<p>hi</p>',
  campaign_id: 'june',
  sent_at: Date.parse('2026-06-01T08:00:00Z') + index,
}));
const mounted: string[] = [];
afterAll(() => {
  for (const mount of mounted) execFileSync('umount', ['-l', mount]);
});

interface LogAnswer {
  total: number;
  unreadable: number;
  lines: { action: string; what: Record<string, unknown> }[];
}

describe('the viewer access log on a full disk and with garbage in it', { timeout: 120_000 }, () => {
  it('refuses to answer a search it cannot log (500, said on its output), keeps running, and logs again once there is room', async (context) => {
    const folder = folders();
    const root = path.join(folder, 'archive');
    mkdirSync(root);
    await archiveWithLedger(root, messages);
    const small = path.join(folder, 'config');
    mkdirSync(small);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small], { stdio: 'pipe' });
      mounted.push(small);
    } catch (error) {
      console.log(`skipped: this machine refuses to mount a tmpfs (${(error as Error).message.split('\n')[0]})`);
      context.skip();
    }
    writeConfigFile(small, { destinations: { archive: fsEntry(root) }, projects: { shop: project } });
    const viewer = await startView(small);
    try {
      const search = () => fetch(`${viewer.origin}/api/search?campaign=june`, { headers: { Authorization: `Bearer ${viewer.token}` } });
      expect((await search()).status).toBe(200);
      // tmpfs counts whole pages: a valid padding line ends the log 20 bytes short of a page boundary, so the next line
      // fits only in part (a torn write) once the disk is full.
      const logFile = path.join(small, '.sentcopy', 'viewer-access.log');
      const pad = (length: number) => `${JSON.stringify({ at: '2026-06-01T08:00:00.000Z', who: 'pad', action: 'access-log', what: { pad: 'x'.repeat(length) } })}\n`;
      const size = readFileSync(logFile).length;
      let missing = 4096 - 20 - (size % 4096);
      if (missing < pad(0).length) missing += 4096;
      appendFileSync(logFile, pad(missing - pad(0).length));
      expect(readFileSync(logFile).length % 4096).toBe(4096 - 20);
      // Fill what is left of the tmpfs.
      const filler = path.join(small, 'filler');
      const chunk = Buffer.alloc(64 * 1024, 1);
      try {
        for (;;) appendFileSync(filler, chunk);
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
      }
      try {
        for (;;) appendFileSync(filler, 'x');
      } catch {
        // Full to the byte.
      }
      const refused = await search();
      expect(refused.status).toBe(500);
      const answer = (await refused.json()) as { error: { code: string }; total?: number };
      expect(answer.error.code).toBe('failed');
      expect(answer.total).toBeUndefined();
      expect(viewer.output()).toMatch(/viewer: GET \/api\/search failed: Error: ENOSPC/);
      rmSync(filler);
      const again = await search();
      expect(again.status).toBe(200);
      expect(((await again.json()) as { total: number }).total).toBe(3);
      const log = (await (await fetch(`${viewer.origin}/api/access-log?action=search`, { headers: { Authorization: `Bearer ${viewer.token}` } })).json()) as LogAnswer;
      // The refused search left no line, not even the torn start of one glued to the next.
      expect([log.total, log.unreadable]).toEqual([2, 0]);
      // Search, the padding, the search after the disk had room, and the look at the log just made.
      const lines = readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { who: string; action: string });
      expect(lines.map((line) => `${line.who} ${line.action}`)).toEqual(['token search', 'pad access-log', 'token search', 'token access-log']);
    } finally {
      expect(await viewer.stop()).toBe(0);
    }
  });

  it('shows the lines it can read and counts the ones it cannot (a torn line, garbage)', async () => {
    const folder = folders();
    writeConfigFile(folder, { destinations: { archive: fsEntry(path.join(folder, 'archive')) }, projects: { shop: project } });
    mkdirSync(path.join(folder, '.sentcopy'));
    const logFile = path.join(folder, '.sentcopy', 'viewer-access.log');
    writeFileSync(logFile, `${JSON.stringify({ at: '2026-06-01T08:00:00.000Z', who: 'ana', action: 'search', what: { campaign: 'june' } })}\nnot json at all\n{"at":"2026-06-01T08:0`, { mode: 0o600 });
    const viewer = await startView(folder);
    try {
      const log = (await (await fetch(`${viewer.origin}/api/access-log`, { headers: { Authorization: `Bearer ${viewer.token}` } })).json()) as LogAnswer;
      expect([log.total, log.unreadable]).toEqual([1, 2]);
      expect(log.lines[0]).toMatchObject({ action: 'search', what: { campaign: 'june' } });
    } finally {
      await viewer.stop();
    }
  });
});
