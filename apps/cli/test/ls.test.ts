import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createFsDestination } from '@sentcopy/destination-fs';
import { createS3Destination } from '@sentcopy/destination-s3';
import { startS3Server, type S3TestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ana, archiveMessages, ben, fsEntry, json, otherPhone, phone, pushToken, s3Entry, s3Env, s3Settings, sampleArchiveMessages, writeConfigFile, type ArchivedMessage } from './ls-fixtures.js';
import { testRecipientKey } from './ingest-fixture.js';
import { runCli } from './run-cli.js';

interface LsJson {
  prefix: string;
  objects: { key: string; channel: string | null; date: string | null; messageId: string | null; size: number }[];
  cursor: string | null;
  contentFilters: string[];
}

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-ls-'));
let server: S3TestServer;
const archives: Record<'local' | 'braze' | 'clevertap' | 'iterable' | 's3', ArchivedMessage[]> = { local: [], braze: [], clevertap: [], iterable: [], s3: [] };
const messages = sampleArchiveMessages();

beforeAll(async () => {
  server = await startS3Server();
  const bucket = server.createBucket();
  for (const [name, profile] of [
    ['local', 'sentcopy'],
    ['braze', 'braze'],
    ['clevertap', 'clevertap'],
    ['iterable', 'iterable'],
  ] as const) {
    const destination = createFsDestination({ root: path.join(work, name), fsync: false });
    archives[name] = await archiveMessages(destination, profile, name === 'clevertap' ? sampleArchiveMessages('shop-ct') : messages);
  }
  const s3 = createS3Destination(s3Settings(server.endpoint, bucket));
  archives.s3 = await archiveMessages(s3, 'sentcopy', messages);
  await s3.close?.();
  writeConfigFile(work, {
    destinations: { local: fsEntry('local'), braze: fsEntry('braze'), clevertap: fsEntry('clevertap'), iterable: fsEntry('iterable'), s3: s3Entry(server.endpoint, bucket) },
    projects: {
      shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [] },
      'shop-ct': { destination: 'clevertap', profile: 'clevertap', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [] },
    },
  });
});
afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

const ls = (...args: string[]) => runCli(['ls', ...args], { cwd: work, env: s3Env });
const keysOf = (archive: readonly ArchivedMessage[], keep: (message: Record<string, unknown>) => boolean) =>
  archive
    .filter((entry) => keep(entry.message))
    .map((entry) => entry.key)
    .sort();
const sorted = (run: LsJson) => run.objects.map((object) => object.key).sort();

async function walkPages(args: string[]): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const run = await ls(...args, ...(cursor === null ? [] : ['--cursor', cursor]), '--json');
    expect(run.code, run.stderr).toBe(0);
    const page = json<LsJson>(run);
    keys.push(...page.objects.map((object) => object.key));
    cursor = page.cursor;
    pages += 1;
    expect(pages).toBeLessThan(50);
  } while (cursor !== null);
  return { keys, pages };
}

describe('sentcopy ls (local folder, sentcopy layout)', { timeout: 30_000 }, () => {
  it('lists every archived key with its channel, date and message id', async () => {
    const run = await ls('--project', 'shop', '--all', '--json');
    expect(run.code, run.stderr).toBe(0);
    const listed = json<LsJson>(run);
    expect(sorted(listed)).toEqual(keysOf(archives.local, () => true));
    const first = archives.local[0]!;
    const entry = listed.objects.find((object) => object.key === first.key)!;
    expect(entry).toMatchObject({ channel: 'email', date: '2026-01-05', messageId: 'm-000' });
  });

  it("finds exactly one recipient's messages from their address, sending only its hash as the prefix", async () => {
    const run = await ls('--project', 'shop', '--recipient', '  ANA.garcia@example.COM ', '--json');
    expect(run.code, run.stderr).toBe(0);
    const listed = json<LsJson>(run);
    expect(sorted(listed)).toEqual(keysOf(archives.local, (message) => message.to === ana));
    expect(listed.objects.length).toBe(4);
    // The sentcopy layout keys recipients: HMAC-SHA-256 under the deployment's secret, not their plain SHA-256.
    const hash = createHmac('sha256', testRecipientKey).update('ana.garcia@example.com').digest('hex');
    expect(listed.prefix).toBe(`shop/${hash}/`);
    expect(run.stdout.toLowerCase()).not.toContain('ana.garcia');
    expect(run.stderr.toLowerCase()).not.toContain('ana.garcia');

    const phoneRun = await ls('--project', 'shop', '--recipient', '+15550100100', '--json');
    expect(sorted(json<LsJson>(phoneRun))).toEqual(keysOf(archives.local, (message) => message.to === phone));
    const pushRun = await ls('--project', 'shop', '--recipient', pushToken, '--channel', 'push', '--json');
    expect(sorted(json<LsJson>(pushRun))).toEqual(keysOf(archives.local, (message) => message.to === pushToken));
  });

  it('filters by channel, campaign (read from the objects: not in this layout) and date range', async () => {
    const sms = await ls('--project', 'shop', '--channel', 'sms', '--all', '--json');
    expect(sorted(json<LsJson>(sms))).toEqual(keysOf(archives.local, (message) => message.channel === 'sms'));

    const spring = await ls('--project', 'shop', '--campaign', 'spring', '--all', '--json');
    const springListed = json<LsJson>(spring);
    expect(springListed.contentFilters).toEqual(['--campaign']);
    expect(sorted(springListed)).toEqual(keysOf(archives.local, (message) => message.campaign_id === 'spring'));
    const unassociated = await ls('--project', 'shop', '--campaign', 'unassociated', '--all', '--json');
    expect(sorted(json<LsJson>(unassociated))).toEqual(keysOf(archives.local, (message) => message.campaign_id === undefined));

    const january = await ls('--project', 'shop', '--from', '2026-01-10', '--to', '2026-01-31', '--all', '--json');
    expect(sorted(json<LsJson>(january))).toEqual(keysOf(archives.local, (message) => (message.sent_at as number) >= Date.parse('2026-01-10') && (message.sent_at as number) < Date.parse('2026-02-01')));
    expect(json<LsJson>(january).objects.length).toBe(8);

    const combined = await ls('--project', 'shop', '--recipient', phone, '--channel', 'whatsapp', '--from', '2026-02', '--to', '2026-02', '--json');
    expect(sorted(json<LsJson>(combined))).toEqual(keysOf(archives.local, (message) => message.to === phone && message.channel === 'whatsapp' && (message.sent_at as number) >= Date.parse('2026-02-01')));
  });

  it('paginates: the cursor walks every page with no repeats, across store pages', { timeout: 90_000 }, async () => {
    const all = keysOf(archives.local, () => true);
    const walk = await walkPages(['--project', 'shop', '--limit', '5', '--page-size', '7']);
    expect(walk.keys).toHaveLength(all.length);
    expect(new Set(walk.keys).size).toBe(all.length);
    expect([...walk.keys].sort()).toEqual(all);
    expect(walk.pages).toBe(5);

    const filtered = await walkPages(['--project', 'shop', '--channel', 'email', '--limit', '3', '--page-size', '4']);
    expect([...filtered.keys].sort()).toEqual(keysOf(archives.local, (message) => message.channel === 'email'));
    expect(new Set(filtered.keys).size).toBe(filtered.keys.length);

    const contentFiltered = await walkPages(['--project', 'shop', '--campaign', 'summer', '--limit', '2', '--page-size', '5']);
    expect([...contentFiltered.keys].sort()).toEqual(keysOf(archives.local, (message) => message.campaign_id === 'summer'));
    expect(new Set(contentFiltered.keys).size).toBe(contentFiltered.keys.length);
  });

  it('prints an aligned table with a next-page cursor by default', async () => {
    const run = await ls('--project', 'shop', '--limit', '3');
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^KEY\s+CHANNEL\s+DATE\s+MESSAGE ID\s+SIZE$/);
    expect(lines.slice(1, 4).every((line) => line.startsWith('shop/'))).toBe(true);
    expect(run.stdout).toMatch(/3 message\(s\) on this page\. Next page: --cursor \S+/);
  });

  it('refuses bad input with exit 2 and names the option, never the address', { timeout: 90_000 }, async () => {
    const badRecipient = await ls('--project', 'shop', '--recipient', 'not-an-address@', '--channel', 'email');
    expect(badRecipient.code).toBe(2);
    expect(badRecipient.stderr).toContain('--recipient');
    expect(badRecipient.stderr).not.toContain('not-an-address');
    const badCursor = await ls('--project', 'shop', '--cursor', 'bm9wZQ');
    expect(badCursor.code).toBe(2);
    expect(badCursor.stderr).toContain('--cursor');
    const first = json<LsJson>(await ls('--project', 'shop', '--limit', '2', '--json'));
    const otherFilters = await ls('--project', 'shop', '--channel', 'sms', '--cursor', first.cursor!, '--json');
    expect(otherFilters.code).toBe(2);
    expect(json<{ error: { code: string } }>(otherFilters).error.code).toBe('cursor_mismatch');
    const badDate = await ls('--project', 'shop', '--from', '2026-13-01');
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--from');
    const unknown = await ls('--destination', 'nowhere');
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('local, braze, clevertap, iterable, s3');
    const several = await ls();
    expect(several.code).toBe(2);
    expect(several.stderr).toContain('--destination');
  });
});

describe('sentcopy ls (vendor presets)', { timeout: 30_000 }, () => {
  it('reads a braze archive: md5 recipient folders, campaign or unassociated', async () => {
    const all = json<LsJson>(await ls('--destination', 'braze', '--layout', 'braze', '--all', '--json'));
    expect(sorted(all)).toEqual(keysOf(archives.braze, () => true));
    expect(all.objects.every((object) => object.key.startsWith('sent_messages/'))).toBe(true);

    const benRun = await ls('--destination', 'braze', '--layout', 'braze', '--channel', 'email', '--recipient', 'Ben.Okafor@example.com', '--json');
    const benListed = json<LsJson>(benRun);
    const md5 = createHash('md5').update('ben.okafor@example.com').digest('hex');
    expect(benListed.prefix).toBe(`sent_messages/email/${md5}/`);
    expect(sorted(benListed)).toEqual(keysOf(archives.braze, (message) => message.to === ben));

    const unassociated = await ls('--destination', 'braze', '--layout', 'braze', '--campaign', 'unassociated', '--all', '--json');
    expect(json<LsJson>(unassociated).contentFilters).toEqual([]);
    expect(sorted(json<LsJson>(unassociated))).toEqual(keysOf(archives.braze, (message) => message.campaign_id === undefined));

    // Braze keys carry no date: the range is matched on each object's sent_at (seconds in Braze's JSON).
    const february = json<LsJson>(await ls('--destination', 'braze', '--layout', 'braze', '--from', '2026-02-01', '--all', '--json'));
    expect(february.contentFilters).toEqual(['--from/--to']);
    expect(sorted(february)).toEqual(keysOf(archives.braze, (message) => (message.sent_at as number) >= Date.parse('2026-02-01')));
  });

  it('reads a clevertap archive with the layout of the project in the config (Channel, yyyymm, lz4)', async () => {
    const all = json<LsJson>(await ls('--project', 'shop-ct', '--all', '--json'));
    // CleverTap keys have no project: --project picks the destination and layout, and is matched on each object.
    expect(all.contentFilters).toEqual(['--project']);
    expect(sorted(all)).toEqual(keysOf(archives.clevertap, () => true));
    expect(all.objects.every((object) => object.key.startsWith('sent_messages/') && object.key.endsWith('.json.lz4'))).toBe(true);

    const listed = json<LsJson>(await ls('--destination', 'clevertap', '--layout', 'clevertap', '--channel', 'sms', '--from', '2026-01', '--to', '2026-01', '--all', '--json'));
    expect(listed.prefix).toBe('sent_messages/Sms/202601/');
    expect(sorted(listed)).toEqual(keysOf(archives.clevertap, (message) => message.channel === 'sms' && (message.sent_at as number) < Date.parse('2026-02-01')));
    expect(listed.objects.every((object) => object.key.endsWith('.json.lz4') && object.date === '2026-01')).toBe(true);

    const otherNumber = json<LsJson>(await ls('--destination', 'clevertap', '--layout', 'clevertap', '--recipient', otherPhone, '--all', '--json'));
    expect(sorted(otherNumber)).toEqual(keysOf(archives.clevertap, (message) => message.to === otherPhone));
    expect(otherNumber.objects.length).toBe(4);
  });

  it('reads an iterable archive: channel/project/sha256/campaign', async () => {
    const listed = json<LsJson>(await ls('--destination', 'iterable', '--layout', 'iterable', '--project', 'shop', '--channel', 'email', '--recipient', ana, '--campaign', 'spring', '--json'));
    const hash = createHash('sha256').update('ana.garcia@example.com').digest('hex');
    expect(listed.prefix).toBe(`email/shop/${hash}/spring/`);
    expect(sorted(listed)).toEqual(keysOf(archives.iterable, (message) => message.to === ana && message.campaign_id === 'spring'));
    expect(listed.objects.length).toBeGreaterThan(0);
  });
});

describe('sentcopy ls (S3 test server)', { timeout: 60_000 }, () => {
  it('lists, filters by recipient and paginates through S3 continuation tokens', async () => {
    const all = await walkPages(['--destination', 's3', '--project', 'shop', '--limit', '4', '--page-size', '3']);
    expect([...all.keys].sort()).toEqual(keysOf(archives.s3, () => true));
    expect(new Set(all.keys).size).toBe(all.keys.length);

    const run = await ls('--destination', 's3', '--project', 'shop', '--recipient', ana, '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(sorted(json<LsJson>(run))).toEqual(keysOf(archives.s3, (message) => message.to === ana));
    const listRequests = server.requests.filter((request) => request.method === 'GET' && request.query.includes('list-type'));
    expect(listRequests.length).toBeGreaterThan(0);
  });
});
