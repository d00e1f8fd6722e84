import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createArchiver, createLedgerWriter, sha256RecipientHash, type DestinationV1, type StoredObject } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, describe, expect, it } from 'vitest';
import { LedgerIndexError, openLedgerIndex, type MessageText, type TextSource } from '../src/index.js';

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-ledger-text-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Reads the archived JSON (gzip) and returns its subject and body: a minimal extractor. */
const extract = (_source: TextSource, stored: StoredObject): MessageText => {
  const document = JSON.parse(gunzipSync(stored.body).toString('utf8')) as Record<string, string>;
  return { subject: document.subject ?? '', body: document.body ?? document.plaintext_body ?? '' };
};

async function archive(root: string, count: number): Promise<{ destination: DestinationV1; keys: string[] }> {
  const destination = createFsDestination({ root, fsync: false });
  const ledger = createLedgerWriter({ destination, writerId: 'w-text', recipientHash: sha256RecipientHash, maxEntries: 50 });
  const archiver = createArchiver({ destination, layout: 'sentcopy-unkeyed', ledger, retry: false });
  const keys: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const message =
      index % 2 === 0
        ? { version: 1, channel: 'email', message_id: `m-${index}`, project_id: 'shop', sent_at: Date.UTC(2026, 0, 1) + index, to: 'ana@example.com', subject: `Order ${index}`, plaintext_body: index === 8 ? 'a walrus appears' : 'thanks' }
        : { version: 1, channel: 'sms', message_id: `m-${index}`, project_id: 'shop', sent_at: Date.UTC(2026, 0, 1) + index, to: '+15550100100', body: `code ${index}` };
    keys.push((await archiver.archive(message)).key);
  }
  await ledger.close();
  return { destination, keys };
}

describe('the full-text table', () => {
  it('is off by default: queries and text updates are refused with text_disabled', async () => {
    const { destination } = await archive(path.join(work, 'off'), 4);
    const index = openLedgerIndex({ file: path.join(work, 'off.sqlite') });
    try {
      await index.update('a', destination);
      expect(index.textEnabled()).toBe(false);
      expect(() => index.query({ text: 'thanks' })).toThrow(expect.objectContaining({ kind: 'text_disabled' }));
      await expect(index.updateText('a', destination, { extract })).rejects.toSatisfy((error) => LedgerIndexError.isInstance(error) && error.kind === 'text_disabled');
    } finally {
      index.close();
    }
  });

  it('is resumable: an interrupted update keeps its batches, the next one reads only the rest, each object once', async () => {
    const { destination } = await archive(path.join(work, 'resume'), 120);
    const file = path.join(work, 'resume.sqlite');
    let index = openLedgerIndex({ file });
    await index.update('a', destination);
    index.enableText();
    const controller = new AbortController();
    const seen: string[] = [];
    const counting = (source: TextSource, stored: StoredObject) => {
      seen.push(source.key);
      return extract(source, stored);
    };
    const first = await index.updateText('a', destination, { extract: counting, batchSize: 10, concurrency: 2, signal: controller.signal, onProgress: (progress) => progress.objects >= 30 && controller.abort() });
    expect(first).toMatchObject({ interrupted: true, indexed: 30, pending: 90, problems: [] });
    index.close();
    // The choice is remembered in the file.
    index = openLedgerIndex({ file });
    try {
      expect(index.textEnabled()).toBe(true);
      const second = await index.updateText('a', destination, { extract: counting, batchSize: 10 });
      expect(second).toMatchObject({ interrupted: false, indexed: 90, pending: 0 });
      expect(seen.length).toBe(120);
      expect(new Set(seen).size).toBe(120);
      expect(index.query({ text: 'walrus' }).objects.map((object) => object.messageId)).toEqual(['m-8']);
      expect(index.count({ text: 'thanks', channel: 'email' })).toBe(59);
      expect(index.status()[0]).toMatchObject({ textIndexed: 120, textPending: 0 });
      expect((await index.updateText('a', destination, { extract: counting })).indexed).toBe(0);
      expect(seen.length).toBe(120);
    } finally {
      index.close();
    }
  });

  it('an object altered behind the archive, or missing, is reported and not indexed; it is tried again next time', async () => {
    const root = path.join(work, 'altered');
    const { destination, keys } = await archive(root, 10);
    const index = openLedgerIndex({ file: path.join(work, 'altered.sqlite') });
    try {
      await index.update('a', destination);
      index.enableText();
      const target = path.join(root, keys[8]!);
      const original = readFileSync(target);
      writeFileSync(target, Buffer.concat([original, Buffer.from('x')]));
      rmSync(path.join(root, keys[3]!));
      const result = await index.updateText('a', destination, { extract });
      expect(result.indexed).toBe(8);
      expect(result.pending).toBe(2);
      expect(result.problems.map(({ kind, key }) => ({ kind, key })).sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([
        { kind: 'altered', key: keys[8] },
        { kind: 'missing', key: keys[3] },
      ]);
      expect(index.count({ text: 'walrus' })).toBe(0);
      writeFileSync(target, original);
      const again = await index.updateText('a', destination, { extract });
      expect(again).toMatchObject({ indexed: 1, pending: 1 });
      expect(index.count({ text: 'walrus' })).toBe(1);
    } finally {
      index.close();
    }
  });
});
