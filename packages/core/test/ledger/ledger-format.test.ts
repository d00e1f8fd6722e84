import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createHmacRecipientHash,
  decodeLedgerSegment,
  encodeLedgerSegment,
  isLedgerKey,
  JsonNumber,
  ledgerEntryFor,
  LedgerError,
  ledgerSegmentKey,
  parseLedgerSegmentKey,
  parseMessage,
  persistentWriterId,
  randomWriterId,
  sha256Hex,
} from '../../src/index.js';

const folders: string[] = [];
afterAll(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })));

const email = parseMessage({
  version: 1,
  channel: 'email',
  message_id: 'm-1',
  project_id: 'shop',
  sent_at: 1767225600000,
  to: '  Ana.Garcia@Example.com ',
  cc: ['Ben Okafor <BEN@example.com>', 'carla@example.com'],
  bcc: ['records@shop.example.com'],
  subject: 'Hi',
  html_body: '<p>Hi</p>',
  campaign_id: new JsonNumber('12345678901234567891'),
  canvas_step_id: 'step-9',
  user_id: 42,
});
const facts = { key: 'shop/abc/email/20260101/m-1.json.gz', sha256: 'a'.repeat(64), size: 321, version: false };

describe('ledger entries', () => {
  it('hash every recipient (to, cc, bcc) with the injected hash, by their normalized address part, and keep ids as text', () => {
    const seen: string[] = [];
    const entry = ledgerEntryFor(email, facts, { recipientHash: (recipient, channel) => (seen.push(`${channel}:${recipient}`), `h(${recipient})`), storedAt: 5 });
    expect(seen).toEqual(['email:ana.garcia@example.com', 'email:ben@example.com', 'email:carla@example.com', 'email:records@shop.example.com']);
    expect(entry).toEqual({
      type: 'entry',
      ...facts,
      message_id: 'm-1',
      channel: 'email',
      project_id: 'shop',
      recipients: ['h(ana.garcia@example.com)', 'h(ben@example.com)', 'h(carla@example.com)', 'h(records@shop.example.com)'],
      campaign_id: '12345678901234567891',
      canvas_step_id: 'step-9',
      user_id: '42',
      sent_at: 1767225600000,
      stored_at: 5,
      version: false,
    });
  });

  it('record a version with its first copy', () => {
    const entry = ledgerEntryFor(email, { ...facts, key: 'k~v-0123456789abcdef', version: true, originalKey: 'k' }, { recipientHash: () => 'x', storedAt: 1 });
    expect({ version: entry.version, original: entry.original_key }).toEqual({ version: true, original: 'k' });
  });

  it('the keyed hash depends on the secret and refuses a short one', () => {
    const one = createHmacRecipientHash('0123456789abcdef-one');
    const two = createHmacRecipientHash('0123456789abcdef-two');
    expect(one('+15550100000', 'sms')).toMatch(/^[0-9a-f]{64}$/);
    expect(one('+15550100000', 'sms')).not.toBe(two('+15550100000', 'sms'));
    expect(() => createHmacRecipientHash('short')).toThrow(/at least 16 bytes/);
  });
});

describe('ledger segments', () => {
  const entry = ledgerEntryFor(email, facts, { recipientHash: () => 'h', storedAt: 7 });
  const header = { writer: 'w-1', seq: 3, previous: 'b'.repeat(64), closed_at: 9 };

  it('encode deterministically (same entries, same bytes, same SHA-256) and decode back', () => {
    const one = encodeLedgerSegment(header, [entry, entry]);
    const two = encodeLedgerSegment(header, [entry, entry]);
    expect(Buffer.from(one.body).equals(Buffer.from(two.body))).toBe(true);
    expect(one.sha256).toBe(sha256Hex(one.body));
    expect(decodeLedgerSegment(one.body, 'k')).toEqual({ header: { type: 'segment', format: 1, ...header, entries: 2 }, entries: [entry, entry], tombstones: [] });
  });

  it('carry tombstones (an erased object: key, SHA-256, time, reason; no recipient) beside entries, and refuse a malformed one', () => {
    const tombstone = { type: 'tombstone' as const, key: entry.key, sha256: entry.sha256, erased_at: 11, reason: 'erasure_request' as const };
    const segment = encodeLedgerSegment(header, [entry, tombstone]);
    expect(decodeLedgerSegment(segment.body, 'k')).toEqual({ header: { type: 'segment', format: 1, ...header, entries: 2 }, entries: [entry], tombstones: [tombstone] });
    const bad = encodeLedgerSegment(header, [{ ...tombstone, erased_at: 'yesterday' } as never]);
    expect(() => decodeLedgerSegment(bad.body, 'k')).toThrow(/malformed tombstone \(line 2\)/);
  });

  it.each([
    ['not gzip', Buffer.from('plain text'), /not gzip-compressed/],
    ['not JSON lines', gzipSync('{"type":"segment"\n'), /not JSON \(line 1\)/],
    ['no header', gzipSync(`${JSON.stringify({ type: 'entry' })}\n`), /valid format-1 header/],
    [
      'a count that lies',
      gzipSync(`${JSON.stringify({ type: 'segment', format: 1, writer: 'w', seq: 0, previous: null, closed_at: 1, entries: 2 })}\n${JSON.stringify({ type: 'entry', key: 'k', sha256: 'a'.repeat(64) })}\n`),
      /holds 1 entries, but its header says 2/,
    ],
    [
      'a malformed entry',
      gzipSync(`${JSON.stringify({ type: 'segment', format: 1, writer: 'w', seq: 0, previous: null, closed_at: 1, entries: 1 })}\n${JSON.stringify({ type: 'entry', key: 'k', sha256: 'nope' })}\n`),
      /malformed entry \(line 2\)/,
    ],
  ])('refuse %s with a LedgerError of kind corrupt that says what is wrong', (_name, body, problem) => {
    let caught: unknown;
    try {
      decodeLedgerSegment(new Uint8Array(body), '.sentcopy-ledger/w/000000000000.jsonl.gz');
    } catch (error) {
      caught = error;
    }
    expect(LedgerError.isInstance(caught) && caught.kind).toBe('corrupt');
    expect((caught as Error).message).toMatch(problem);
  });

  it('live under the reserved prefix with a parseable key; other keys are not segments', () => {
    expect(ledgerSegmentKey('w-1', 42)).toBe('.sentcopy-ledger/w-1/000000000042.jsonl.gz');
    expect(parseLedgerSegmentKey('.sentcopy-ledger/w-1/000000000042.jsonl.gz')).toEqual({ writerId: 'w-1', seq: 42 });
    for (const key of ['.sentcopy-ledger/w-1/42.jsonl.gz', '.sentcopy-ledger/W/000000000001.jsonl.gz', '.sentcopy-ledger/a/b/000000000001.jsonl.gz', 'shop/000000000001.jsonl.gz']) {
      expect(parseLedgerSegmentKey(key)).toBeUndefined();
    }
    expect([isLedgerKey('.sentcopy-ledger/x'), isLedgerKey('shop/.sentcopy-ledger/x')]).toEqual([true, false]);
  });
});

describe('writer ids', () => {
  it('are random per call', () => {
    const ids = new Set(Array.from({ length: 100 }, () => randomWriterId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^w-[0-9a-f]{24}$/);
  });

  it('persist in a file only its owner can read, and come back the same after a restart', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-writer-id-'));
    folders.push(folder);
    const file = path.join(folder, 'state', 'ledger-writer-id');
    const first = await persistentWriterId(file);
    expect(await persistentWriterId(file)).toBe(first);
    expect(readFileSync(file, 'utf8')).toBe(`${first}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
