import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createArchiver, createLedgerWriter, decodeLedgerSegment, encodeLedgerSegment, ledgerSegmentKey, normalizeRecipient, sha256Hex, sha256RecipientHash, type DestinationV1 } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { entryMatches, openLedgerIndex, type LedgerIndexFilters } from '../src/index.js';

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-ledger-index-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const hash = (channel: 'email' | 'sms', address: string) => sha256RecipientHash(normalizeRecipient(channel, address), channel);
const jan = Date.UTC(2026, 0, 10);
const feb = Date.UTC(2026, 1, 10);

/** 40 messages: emails to ana (cc ben every 4th, bcc cleo every 5th), SMS to a phone; campaigns, users, canvases, journeys. */
function messages(from = 0, count = 40): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, offset) => {
    const index = from + offset;
    const base = {
      version: 1,
      message_id: `m-${index}`,
      project_id: index % 10 === 9 ? 'blog' : 'shop',
      sent_at: (index % 2 === 0 ? jan : feb) + index * 1000,
      campaign_id: index % 3 === 0 ? 'spring' : undefined,
      canvas_step_id: index % 3 === 1 ? 'step-7' : undefined,
      canvas_id: index % 3 === 1 ? 'canvas-1' : undefined,
      journey_id: index % 7 === 0 ? 'journey-a' : undefined,
      user_id: `user-${index % 5}`,
    };
    if (index % 2 === 1) return { ...base, channel: 'sms', to: '+1 (555) 010-0100', body: `code ${index}` };
    return { ...base, channel: 'email', to: 'Ana <Ana@Example.com>', ...(index % 4 === 0 ? { cc: ['ben@example.com'] } : {}), ...(index % 5 === 0 ? { bcc: ['cleo@example.com'] } : {}), subject: `s ${index}`, html_body: `<p>${index}</p>` };
  });
}

async function archive(destination: DestinationV1, batch: Record<string, unknown>[], writerId = 'w-test', maxEntries = 5) {
  const ledger = createLedgerWriter({ destination, writerId, recipientHash: sha256RecipientHash, maxEntries });
  const archiver = createArchiver({ destination, layout: 'sentcopy-unkeyed', ledger, retry: false });
  const keys: string[] = [];
  for (const message of batch) keys.push((await archiver.archive(message)).key);
  await ledger.close();
  return keys;
}

let serial = 0;
function fresh() {
  serial += 1;
  const destination = createFsDestination({ root: path.join(work, `archive-${serial}`), fsync: false });
  const index = openLedgerIndex({ file: path.join(work, `index-${serial}`, 'ledger.sqlite') });
  return { destination, index };
}

describe('the ledger index', () => {
  it('indexes every entry once and answers each filter exactly as a scan of the messages does, with keyset paging and counts', async () => {
    const { destination, index } = fresh();
    const batch = messages();
    await archive(destination, batch);
    const result = await index.update('archive', destination);
    expect(result).toMatchObject({ segments: 8, added: 40, duplicates: 0, tombstones: 0, writers: 1, problems: [], interrupted: false });
    const expected = (filter: (message: Record<string, unknown>) => boolean) =>
      batch
        .filter(filter)
        .map((message) => message.message_id)
        .sort();
    const found = (filters: LedgerIndexFilters) => {
      const ids: string[] = [];
      let after: string | undefined;
      do {
        const page = index.query(filters, { limit: 3, ...(after === undefined ? {} : { after }) });
        ids.push(...page.objects.map((object) => object.messageId));
        after = page.next;
      } while (after !== undefined);
      expect(index.count(filters)).toBe(ids.length);
      return ids.sort();
    };
    expect(found({ recipients: [hash('email', 'ana@example.com')] })).toEqual(expected((m) => m.channel === 'email'));
    expect(found({ recipients: [hash('email', 'ben@example.com')] })).toEqual(expected((m) => Array.isArray(m.cc)));
    expect(found({ recipients: [hash('email', 'CLEO@example.com')] })).toEqual(expected((m) => Array.isArray(m.bcc)));
    expect(found({ recipients: [hash('sms', '+15550100100')] })).toEqual(expected((m) => m.channel === 'sms'));
    expect(found({ userId: 'user-3' })).toEqual(expected((m) => m.user_id === 'user-3'));
    expect(found({ campaign: 'spring' })).toEqual(expected((m) => m.campaign_id === 'spring'));
    expect(found({ campaign: 'step-7' })).toEqual(expected((m) => m.canvas_step_id === 'step-7'));
    expect(found({ campaign: 'unassociated' })).toEqual(expected((m) => m.campaign_id === undefined && m.canvas_step_id === undefined));
    expect(found({ canvasId: 'canvas-1' })).toEqual(expected((m) => m.canvas_id === 'canvas-1'));
    expect(found({ journeyId: 'journey-a' })).toEqual(expected((m) => m.journey_id === 'journey-a'));
    expect(found({ channel: 'sms', projectId: 'blog' })).toEqual(expected((m) => m.channel === 'sms' && m.project_id === 'blog'));
    expect(found({ sentFrom: feb, sentUntil: Date.UTC(2026, 2, 1), campaign: 'spring' })).toEqual(expected((m) => (m.sent_at as number) >= feb && m.campaign_id === 'spring'));
    expect(found({ destinations: ['elsewhere'] })).toEqual([]);
    // Pages come oldest first and never repeat.
    const all = index.query({}, { limit: 100 }).objects;
    expect(all.map((object) => object.sentAt)).toEqual([...all.map((object) => object.sentAt)].sort((a, b) => a - b));
    expect(new Set(all.map((object) => object.key)).size).toBe(40);
    // Newest first, by cursor or by offset, is the same order reversed.
    const newest: string[] = [];
    let before: string | undefined;
    do {
      const page = index.query({}, { limit: 7, order: 'newest', ...(before === undefined ? {} : { after: before }) });
      newest.push(...page.objects.map((object) => object.key));
      before = page.next;
    } while (before !== undefined);
    expect(newest).toEqual(all.map((object) => object.key).reverse());
    expect(index.query({}, { limit: 7, order: 'newest', offset: 35 }).objects.map((object) => object.key)).toEqual(newest.slice(35));
    expect(() => index.query({}, { offset: -1 })).toThrow(expect.objectContaining({ kind: 'invalid' }));
    // The direct filter (for callers reading segments) agrees with the index.
    const hashes = [hash('email', 'ben@example.com')];
    const entries = (await import('@sentcopy/core')).readLedger(destination);
    const direct = [...(await entries).entries.values()]
      .filter((entry) => entryMatches(entry, { recipients: hashes, sentFrom: jan }))
      .map((entry) => entry.message_id)
      .sort();
    expect(direct).toEqual(found({ recipients: hashes, sentFrom: jan }));
    index.close();
  });

  it('is incremental: nothing new reads no segment; new segments only are read; re-appended entries count once', async () => {
    const { destination, index } = fresh();
    await archive(destination, messages(0, 20));
    expect((await index.update('archive', destination)).segments).toBe(4);
    expect(await index.update('archive', destination)).toMatchObject({ segments: 0, added: 0, problems: [] });
    // The same writer continues its chain; a second writer re-appends two entries already listed.
    await archive(destination, messages(20, 10));
    await archive(destination, messages(0, 2), 'w-second');
    const second = await index.update('archive', destination);
    expect(second).toMatchObject({ segments: 3, added: 10, duplicates: 2, writers: 2, problems: [] });
    expect(index.count({})).toBe(30);
    expect(index.status()).toEqual([
      {
        destination: 'archive',
        objects: 30,
        erased: 0,
        textIndexed: 0,
        textPending: 0,
        writers: [expect.objectContaining({ writer: 'w-second', segments: 1, lastSeq: 0 }), expect.objectContaining({ writer: 'w-test', segments: 6, lastSeq: 5 })],
      },
    ]);
    index.close();
  });

  it('resumes after an interruption: what was indexed stays, the rest is indexed next time, nothing twice', async () => {
    const { destination, index } = fresh();
    await archive(destination, messages(0, 40), 'w-test', 2);
    const controller = new AbortController();
    const first = await index.update('archive', destination, { concurrency: 1, signal: controller.signal, onProgress: (progress) => progress.segments === 5 && controller.abort() });
    expect(first).toMatchObject({ interrupted: true, segments: 5, added: 10 });
    expect(index.count({})).toBe(10);
    const second = await index.update('archive', destination);
    expect(second).toMatchObject({ interrupted: false, segments: 15, added: 30, duplicates: 0, problems: [] });
    expect(index.count({})).toBe(40);
    index.close();
  });

  it('reports an indexed segment that was rewritten, and indexes nothing after it from that chain', async () => {
    const { destination, index } = fresh();
    await archive(destination, messages(0, 10));
    await index.update('archive', destination);
    // Rewrite segment 1 (one entry dropped), keeping the store's recorded hash consistent, then continue the chain after the rewrite.
    const key = ledgerSegmentKey('w-test', 1);
    const decoded = decodeLedgerSegment((await destination.get(key))!.body, key);
    const { body } = encodeLedgerSegment(decoded.header, decoded.entries.slice(1));
    await destination.delete!(key);
    await destination.put({ key, body, sha256: sha256Hex(body), contentType: 'application/x-ndjson', contentEncoding: 'gzip' });
    await archive(destination, messages(10, 5));
    const result = await index.update('archive', destination);
    expect(result.problems.map(({ kind, key: problemKey }) => ({ kind, key: problemKey }))).toEqual([{ kind: 'changed', key }]);
    expect(result.segments).toBe(0);
    expect(index.count({})).toBe(10);
    index.close();
  });

  it('honours tombstones: erased objects are left out unless asked for, whichever chain is indexed first', async () => {
    const { destination, index } = fresh();
    const keys = await archive(destination, messages(0, 10));
    const listed = (await (await import('@sentcopy/core')).readLedger(destination)).entries;
    const erase = createLedgerWriter({ destination, writerId: 'a-eraser', recipientHash: sha256RecipientHash });
    for (const key of keys.slice(0, 3)) erase.append({ type: 'tombstone', key, sha256: listed.get(key)!.sha256, erased_at: 1_800_000_000_000, reason: 'erasure_request' });
    await erase.close();
    const result = await index.update('archive', destination);
    expect(result).toMatchObject({ added: 10, tombstones: 3, problems: [] });
    expect(index.count({})).toBe(7);
    expect(index.count({ includeErased: true })).toBe(10);
    const erased = index.query({ includeErased: true, messageId: 'm-0' }).objects[0]!;
    expect(erased).toMatchObject({ key: keys[0], erasedAt: 1_800_000_000_000, eraseReason: 'erasure_request' });
    expect(index.status()[0]).toMatchObject({ objects: 10, erased: 3 });
    index.close();
  });

  it('finds a message by its id through an index of its own, also in an index file made before that index existed', async () => {
    const { destination, index } = fresh();
    await archive(destination, messages(0, 12));
    await index.update('archive', destination);
    index.close();
    // As a file of the previous release has it: every index but the message id's.
    const older = new Database(index.file);
    older.exec('DROP INDEX objects_message');
    older.close();
    const reopened = openLedgerIndex({ file: index.file });
    try {
      expect(reopened.query({ messageId: 'm-7' }).objects.map((object) => object.messageId)).toEqual(['m-7']);
      const database = new Database(index.file, { readonly: true });
      try {
        // The shape of the query `query({ messageId })` runs: the planner searches by the message id, never scans.
        const plan = database.prepare('EXPLAIN QUERY PLAN SELECT * FROM objects WHERE message_id = ? AND erased_at IS NULL ORDER BY sent_at DESC, id DESC LIMIT ? OFFSET ?').all('m-7', 50, 0) as { detail: string }[];
        expect(plan.map((step) => step.detail).join('\n')).toMatch(/USING INDEX objects_message \(message_id=\?\)/);
      } finally {
        database.close();
      }
    } finally {
      reopened.close();
    }
  });

  it('keeps its file (and its journal) readable by the owner only: mode 0600', async () => {
    const { destination, index } = fresh();
    await archive(destination, messages(0, 5));
    await index.update('archive', destination);
    expect(statSync(index.file).mode & 0o777).toBe(0o600);
    for (const suffix of ['-wal', '-shm']) {
      try {
        expect(statSync(`${index.file}${suffix}`).mode & 0o777).toBe(0o600);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    index.close();
  });
});
