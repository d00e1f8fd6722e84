// --channel (ls, show, open) and --channels (destinations) take any channel name a project may declare, not only the four.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArchiver } from '@sentcopy/core';
import { fsEntry, json, writeConfigFile, type ArchivedMessage } from './ls-fixtures.js';
import { runCli } from './run-cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-channel-'));
const base = { version: 1, project_id: 'shop', sent_at: Date.UTC(2026, 0, 5, 9), body: 'Your code is 4821' };
const messages = [
  { ...base, channel: 'rcs', message_id: 'rcs-1', to: '+15550100100' },
  { ...base, channel: 'rcs', message_id: 'rcs-2', to: '+15550100101' },
  { ...base, channel: 'in_app', message_id: 'in-app-1', to: 'user-42' },
  { ...base, channel: 'sms', message_id: 'sms-1', to: '+15550100100' },
];
const archived: ArchivedMessage[] = [];

// A layout without the channel in the key, so --channel is matched on each object's content (the reader of
// key layouts in apps/cli/src/archive/layout-reader.ts, being replaced by core's, knows only the four in keys).
const layout = '{project_id}/{yyyymmdd}/{message_id}.json.gz';

beforeAll(async () => {
  const archiver = createArchiver({ destination: createFsDestination({ root: path.join(work, 'local'), fsync: false }), layout, retry: false });
  for (const message of messages) archived.push({ key: (await archiver.archive(message)).key, sha256: '', message });
  writeConfigFile(work, { destinations: { local: fsEntry('local') }, projects: { shop: { destination: 'local', layout, channels: ['sms', 'rcs', 'in_app'], api_keys: [] } } });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args, { cwd: work });
const keysOf = (channel: string) =>
  archived
    .filter((entry) => entry.message['channel'] === channel)
    .map((entry) => entry.key)
    .sort();

describe('channels beyond the four in the CLI', { timeout: 60_000 }, () => {
  it('ls --channel lists exactly the messages of a declared channel such as rcs or in_app', async () => {
    for (const channel of ['rcs', 'in_app', 'sms']) {
      const run = await cli('ls', '--project', 'shop', '--channel', channel, '--all', '--json');
      expect(run.code, run.stderr).toBe(0);
      const listed = json<{ objects: { key: string; channel: string }[] }>(run);
      expect(listed.objects.map((object) => object.key).sort()).toEqual(keysOf(channel));
      expect(listed.objects.every((object) => object.channel === channel)).toBe(true);
    }
    // With --recipient too: an rcs recipient is keyed as sent (no phone normalization), so it is found as given.
    const byRecipient = await cli('ls', '--project', 'shop', '--channel', 'rcs', '--recipient', '+15550100101', '--json');
    expect(byRecipient.code, byRecipient.stderr).toBe(0);
    expect(json<{ objects: { messageId: string }[] }>(byRecipient).objects.map((object) => object.messageId)).toEqual(['rcs-2']);
  });

  it('show --channel finds a message of another channel by its id', async () => {
    const run = await cli('show', 'in-app-1', '--project', 'shop', '--channel', 'in_app', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(json<{ key: string; message: Record<string, unknown> }>(run)).toMatchObject({ key: keysOf('in_app')[0], message: { channel: 'in_app', message_id: 'in-app-1', body: 'Your code is 4821' } });
  });

  it('refuses a name that cannot be a channel, saying what a channel name is, and the help says so', async () => {
    const bad = await cli('ls', '--project', 'shop', '--channel', 'RCS!');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--channel <channel>' argument 'RCS!' is invalid\. must be email, sms, push, whatsapp, or a channel a project declares \(lower-case letters, digits, _ and -/);
    const help = await cli('ls', '--help');
    expect(help.stdout.replace(/\s+/g, ' ')).toMatch(/--channel <channel> only this channel: email, sms, push, whatsapp, or a channel a project declares/);
    const showHelp = await cli('show', '--help');
    expect(showHelp.stdout.replace(/\s+/g, ' ')).toMatch(/a channel a project declares/);
  });

  it('destinations connect --channels takes declared channels and writes them to the project', async () => {
    const run = await cli('destinations', 'connect', 'second', '--type', 'fs', '--root', 'second', '--project', 'shop', '--channels', 'email,RCS,voice', '--acknowledge-pii', '--json');
    expect(run.code, run.stderr).toBe(0);
    const config = JSON.parse(readFileSync(path.join(work, 'sentcopy.config.json'), 'utf8')) as { projects: { shop: { destination: string; channels: string[] } } };
    expect(config.projects.shop).toMatchObject({ destination: 'second', channels: ['email', 'rcs', 'voice'] });
    const bad = await cli('destinations', 'connect', 'third', '--type', 'fs', '--root', 'third', '--project', 'shop', '--channels', 'email,no way', '--acknowledge-pii');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a channel name: no way/);
  });
});
