import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createArchiver } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRecipientKey } from './ingest-fixture.js';
import { fsEntry, json, writeConfigFile } from './ls-fixtures.js';
import { runCli } from './run-cli.js';

// Archives written with custom key layouts, browsed with `--layout`: the CLI reads keys with the
// grammar that wrote them (core's readKeyLayout), so nothing a layout can write is left out of a
// listing. Each case here was missed by the CLI's former copy of the grammar.

interface LsJson {
  prefix: string;
  objects: { key: string; channel: string | null; date: string | null; messageId: string | null }[];
}

const layout = '{project_id}/{mm}/{yyyy}/{channel}/{message_id}.json.gz';
const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-layouts-'));
const at = (iso: string) => Date.parse(iso);
const messages = [
  { version: 1, channel: 'sms', message_id: 'march-2025', project_id: 'shop', sent_at: at('2025-03-15T10:00:00Z'), to: '+15550100100', body: 'March' },
  { version: 1, channel: 'email', message_id: 'november-2025', project_id: 'shop', sent_at: at('2025-11-02T08:00:00Z'), to: 'ana@example.com', subject: 'November', html_body: '<p>November</p>' },
  { version: 1, channel: 'sms', message_id: 'january-2026', project_id: 'shop', sent_at: at('2026-01-05T09:30:00Z'), to: '+15550100100', body: 'January' },
  { version: 1, channel: 'sms', message_id: 'february-2026', project_id: 'shop', sent_at: at('2026-02-10T09:30:00Z'), to: '+15550100100', body: 'February' },
  // A channel beyond the four, as a project may declare one.
  { version: 1, channel: 'in_app', message_id: 'in-app-2025', project_id: 'shop', sent_at: at('2025-06-01T12:00:00Z'), to: 'device-7', body: 'In app' },
  // A message id that ends like a version key: written with its "~" encoded.
  { version: 1, channel: 'sms', message_id: 'order-7~v-0123456789abcdef', project_id: 'shop', sent_at: at('2025-07-07T07:07:00Z'), to: '+15550100100', body: 'Order 7' },
];
const keys = new Map<string, string>();

beforeAll(async () => {
  const destination = createFsDestination({ root: path.join(work, 'archive'), fsync: false });
  const archiver = createArchiver({ destination, layout, recipientKey: testRecipientKey, retry: false });
  for (const message of messages) keys.set(message.message_id, (await archiver.archive(message)).key);
  writeConfigFile(work, { destinations: { archive: fsEntry('archive') }, projects: {} });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args, { cwd: work });

describe('browsing an archive with a custom layout', { timeout: 30_000 }, () => {
  it('lists every message of a date range when {mm} comes before {yyyy}', async () => {
    const run = await cli('ls', '--layout', layout, '--project', 'shop', '--from', '2025-01-10', '--to', '2026-01-20', '--all', '--json');
    expect(run.code, run.stderr).toBe(0);
    const listed = json<LsJson>(run);
    // Months of 2025 after January are in the range, so the prefix cannot fix the month before the year.
    expect(listed.prefix).toBe('shop/');
    expect(listed.objects.map((object) => object.key).sort()).toEqual(['march-2025', 'november-2025', 'january-2026', 'in-app-2025', 'order-7~v-0123456789abcdef'].map((id) => keys.get(id)).sort());
  });

  it('reads the channel of a channel beyond the four from the key', async () => {
    const run = await cli('ls', '--layout', layout, '--all', '--json');
    expect(run.code, run.stderr).toBe(0);
    const entry = json<LsJson>(run).objects.find((object) => object.key === keys.get('in-app-2025'));
    expect(entry).toMatchObject({ channel: 'in_app', date: '2025-06', messageId: 'in-app-2025' });
  });

  it('shows a message whose id ends like a version key by that id', async () => {
    expect(keys.get('order-7~v-0123456789abcdef')).toBe('shop/07/2025/sms/order-7%7Ev-0123456789abcdef.json.gz');
    const run = await cli('show', 'order-7~v-0123456789abcdef', '--layout', layout, '--json');
    expect(run.code, run.stderr).toBe(0);
    const shown = json<{ key: string; integrity: string; message: Record<string, unknown> }>(run);
    expect(shown.key).toBe(keys.get('order-7~v-0123456789abcdef'));
    expect(shown.integrity).toBe('ok');
    expect(shown.message).toMatchObject({ message_id: 'order-7~v-0123456789abcdef', body: 'Order 7' });
  });
});
