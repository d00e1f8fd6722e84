import { describe, expect, it } from 'vitest';
import { rememberedLedgerFacts } from '../../src/archiver/prepared-ledger-facts.js';
import { createArchiver, createPreparePool, sampleMessages, type CodecName, type DestinationV1, type PreparedObject, type ProfileName } from '../../src/index.js';
import { ledgerMessageFacts } from '../../src/ledger/index.js';

/** prepare() never writes; a destination that throws proves it. */
const noWrites = {
  specificationVersion: 'v1',
  provider: 'none',
  id: 'none',
  capabilities: { delete: false, immutability: false, publicAccessCheck: false },
  put: () => Promise.reject(new Error('put must not be called')),
} as unknown as DestinationV1;

const recipientKey = 'sentcopy-test-recipient-key';
const mime = Buffer.from(
  'From: Shop <news@shop.example>\r\nTo: Jane Doe <jane@example.com>\r\nSubject: Hi\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m-raw-1@shop.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello.\r\n',
).toString('base64');

/** Every field of a prepared object but the (lazily re-read) message, with the body as a Buffer for comparison. */
const fields = ({ message: _message, body, ...rest }: PreparedObject) => ({ ...rest, body: Buffer.from(body) });

describe('prepare pool wire format', () => {
  it('gives, field for field, what preparing on the calling thread gives: key, bytes, hashes, ids, content type and encoding, metadata, raw_mime fields, and what the ledger entry takes from the message', async () => {
    const pool = createPreparePool({ threads: 2 });
    try {
      const messages: unknown[] = [
        ...sampleMessages({ projectId: 'shop', count: 24, seed: 3 }),
        { version: 1, channel: 'email', project_id: 'shop', campaign_id: 'c', raw_mime: mime },
        // Several recipients in every field, numeric ids: each is listed in the ledger.
        {
          ...(sampleMessages({ projectId: 'shop', count: 8, seed: 7 }).find((message) => message.channel === 'email') as object),
          message_id: 'several-1',
          to: ['Jane Doe <Jane@Example.com>', 'joe@example.com'],
          cc: 'Ann <ann@example.com>',
          bcc: ['audit@example.com'],
          user_id: 42,
          canvas_id: 'canvas-9',
        },
        new TextEncoder().encode(JSON.stringify(sampleMessages({ projectId: 'shop', count: 2, seed: 5 })[1])),
      ];
      const settings: { profile: ProfileName; codec: CodecName }[] = [
        { profile: 'sentcopy', codec: 'gzip' },
        { profile: 'braze', codec: 'gzip' },
        { profile: 'clevertap', codec: 'lz4' },
        { profile: 'iterable', codec: 'gzip' },
      ];
      let compared = 0;
      for (const setting of settings) {
        const here = createArchiver({ destination: noWrites, recipientKey, retry: false, ...setting });
        const pooled = createArchiver({ destination: noWrites, recipientKey, retry: false, preparePool: pool, ...setting });
        // All at once, so batches carry many messages (and, across settings, several preparers).
        const onThreads = await Promise.all(messages.map((message) => pooled.prepare(message)));
        for (const [index, message] of messages.entries()) {
          const expected = await here.prepare(message);
          expect(fields(onThreads[index] as PreparedObject)).toEqual(fields(expected));
          expect((onThreads[index] as PreparedObject).message).toEqual(expected.message);
          // Read on the thread, so the ledger never parses the message again on the writing thread.
          expect(rememberedLedgerFacts(onThreads[index] as PreparedObject)).toEqual(ledgerMessageFacts(expected.message));
          compared++;
        }
      }
      expect(compared).toBe(settings.length * messages.length);
    } finally {
      await pool.close();
    }
  });
});
