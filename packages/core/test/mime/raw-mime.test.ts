import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  completeRawMimeMessage,
  createArchiver,
  createPreparePool,
  decodeRawMime,
  encodeRawMime,
  MessageValidationError,
  messageJsonSchema,
  messageRecipients,
  readRawMimeHeaders,
  validateMessage,
  type DestinationV1,
} from '../../src/index.js';

/** prepare() never writes; a destination that refuses every call proves it. */
const noWrites = {
  specificationVersion: 'v1',
  provider: 'none',
  id: 'none',
  capabilities: { delete: false, immutability: false, publicAccessCheck: false },
} as unknown as DestinationV1;

/** An RFC 5322 message with CRLF line ends, a folded To, an encoded-word name and an 8-bit ISO-8859-1 body (not UTF-8). */
function sampleMime(headers: Record<string, string> = {}): Uint8Array {
  const head = {
    From: '"Example Shop" <shop@example.com>',
    To: '=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <Joerg.Mueller@Example.COM>,\r\n  other@example.org',
    Cc: 'Team: a@example.net, b@example.net;',
    Subject: '=?UTF-8?B?WW91ciBvcmRlciDinJM=?=',
    Date: 'Fri, 04 Dec 2026 21:29:40 +0100',
    'Message-ID': '<order-1042.1764880180@mail.example.com>',
    'MIME-Version': '1.0',
    'Content-Type': 'text/plain; charset=iso-8859-1',
    'Content-Transfer-Encoding': '8bit',
    ...headers,
  };
  const lines = Object.entries(head)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `${name}: ${value}`);
  const text = Buffer.from(`${lines.join('\r\n')}\r\n\r\nCaf`, 'latin1');
  return new Uint8Array(Buffer.concat([text, Buffer.from([0xe9]), Buffer.from(' cr\u00e8me\r\n.\r\n', 'latin1')]));
}

const base = { version: 1, channel: 'email', project_id: 'shop' } as const;

async function storedDocument(message: unknown, pool?: ReturnType<typeof createPreparePool>) {
  const archiver = createArchiver({ destination: noWrites, recipientKey: 'sentcopy-test-recipient-key', ...(pool === undefined ? {} : { preparePool: pool }) });
  const prepared = await archiver.prepare(message);
  return { prepared, document: JSON.parse(gunzipSync(prepared.body).toString('utf8')) as Record<string, unknown> };
}

describe('raw MIME (raw_mime)', () => {
  it('round-trips bytes that are not UTF-8 through base64', () => {
    const bytes = sampleMime();
    expect(Buffer.from(bytes).toString('utf8')).toContain('\ufffd');
    expect(Buffer.compare(Buffer.from(decodeRawMime(encodeRawMime(bytes))), Buffer.from(bytes))).toBe(0);
  });

  it('reads addresses, subject, date and Message-ID from the headers with postal-mime', async () => {
    const headers = await readRawMimeHeaders(sampleMime());
    expect(headers.to).toEqual(['Joerg.Mueller@Example.COM', 'other@example.org']);
    expect(headers.cc).toEqual(['a@example.net', 'b@example.net']);
    expect(headers.bcc).toEqual([]);
    expect(headers.from).toBe('shop@example.com');
    expect(headers.subject).toBe('Your order ✓');
    expect(headers.date).toBe(Date.UTC(2026, 11, 4, 20, 29, 40));
    expect(headers.messageId).toBe('order-1042.1764880180@mail.example.com');
  });

  it('archives an email given only as raw MIME: the stored JSON holds the identical bytes and the fields read from its headers', async () => {
    const bytes = sampleMime();
    const { prepared, document } = await storedDocument({ ...base, raw_mime: encodeRawMime(bytes) });
    expect(Buffer.compare(Buffer.from(document['raw_mime'] as string, 'base64'), Buffer.from(bytes))).toBe(0);
    expect(document['to']).toEqual(['Joerg.Mueller@Example.COM', 'other@example.org']);
    expect(document['cc']).toEqual(['a@example.net', 'b@example.net']);
    expect(document['sent_at']).toBe(Date.UTC(2026, 11, 4, 20, 29, 40));
    expect(document['message_id']).toBe('order-1042.1764880180@mail.example.com');
    expect(document['derived_from_raw_mime']).toEqual(['to', 'sent_at', 'message_id', 'cc']);
    expect(prepared.messageId).toBe('order-1042.1764880180@mail.example.com');
    // The default layout keys by the normalized recipient, the day and the message id.
    expect(prepared.key).toMatch(/^shop\/[0-9a-f]{64}\/email\/20261204\/order-1042\.1764880180%40mail\.example\.com\.json\.gz$/);
    expect(prepared.message.to).toEqual(['Joerg.Mueller@Example.COM', 'other@example.org']);
  });

  it('keeps the JSON fields when both are present (they win over the headers) and reads only the absent ones', async () => {
    const { document } = await storedDocument({ ...base, raw_mime: encodeRawMime(sampleMime()), message_id: 'm-1', to: 'someone@example.com' });
    expect(document['message_id']).toBe('m-1');
    expect(document['to']).toBe('someone@example.com');
    expect(document['sent_at']).toBe(Date.UTC(2026, 11, 4, 20, 29, 40));
    expect(document['derived_from_raw_mime']).toEqual(['sent_at']);
  });

  it('stores a message with every field given exactly as sent (no derivation marker)', async () => {
    const message = { ...base, raw_mime: encodeRawMime(sampleMime()), message_id: 'm-2', to: 'x@example.com', sent_at: 1_764_880_180_000 };
    expect(await completeRawMimeMessage(message)).toBe(message);
    const { document } = await storedDocument(message);
    expect(document).toEqual(message);
  });

  it('takes the recipient from Cc, then Bcc, when there is no To', async () => {
    const { document } = await storedDocument({ ...base, raw_mime: encodeRawMime(sampleMime({ To: '', Cc: '', Bcc: 'Hidden <hidden@example.com>' })) });
    expect(document['to']).toBe('hidden@example.com');
  });

  it('keeps every recipient the headers give when there is no to: all of To, then Cc and Bcc where absent, each listed in the ledger', async () => {
    const several = sampleMime({ To: 'Jane Doe <Jane@Example.com>, joe@example.com', Cc: 'ann@example.com, Jane@Example.com', Bcc: 'Audit <audit@example.com>' });
    const { prepared, document } = await storedDocument({ ...base, raw_mime: encodeRawMime(several) });
    expect(document['to']).toEqual(['Jane@Example.com', 'joe@example.com']);
    // Jane is already in to: not listed again under cc.
    expect(document['cc']).toBe('ann@example.com');
    expect(document['bcc']).toBe('audit@example.com');
    expect(document['derived_from_raw_mime']).toEqual(['to', 'sent_at', 'message_id', 'cc', 'bcc']);
    // The key still hashes the first address, so it is the key a single-address To gives.
    const single = await storedDocument({ ...base, raw_mime: encodeRawMime(sampleMime({ To: 'Jane Doe <Jane@Example.com>' })) });
    expect(prepared.key).toBe(single.prepared.key);
    expect(messageRecipients(prepared.message)).toEqual(['jane@example.com', 'joe@example.com', 'ann@example.com', 'audit@example.com']);
    // A cc the message has wins; only bcc is read.
    const { document: withCc } = await storedDocument({ ...base, raw_mime: encodeRawMime(several), cc: 'kept@example.com' });
    expect(withCc['cc']).toBe('kept@example.com');
    expect(withCc['derived_from_raw_mime']).toEqual(['to', 'sent_at', 'message_id', 'bcc']);
  });

  it('names each field the headers cannot give', async () => {
    const bare = sampleMime({ To: '', Cc: '', Date: '', 'Message-ID': '' });
    const error = await createArchiver({ destination: noWrites, recipientKey: 'sentcopy-test-recipient-key' })
      .prepare({ ...base, raw_mime: encodeRawMime(bare) })
      .catch((caught: unknown) => caught);
    expect(MessageValidationError.isInstance(error)).toBe(true);
    const issues = (error as MessageValidationError).issues;
    expect(issues.map((issue) => issue.path)).toEqual(['to', 'sent_at', 'message_id']);
    expect(issues[0]!.problem).toMatch(/no To, Cc or Bcc address/);
    expect(issues[1]!.problem).toMatch(/no Date header/);
    expect(issues[2]!.problem).toMatch(/no Message-ID header/);
    // Never the values.
    expect(JSON.stringify(issues)).not.toContain('example');
    const unreadableDate = await completeRawMimeMessage({ ...base, raw_mime: encodeRawMime(sampleMime({ Date: 'sometime last week' })) }).catch((caught: unknown) => caught);
    expect((unreadableDate as MessageValidationError).issues).toEqual([{ path: 'sent_at', problem: expect.stringMatching(/Date header of raw_mime is not a date/) }]);
  });

  it('refuses raw_mime that is not base64, naming the field', async () => {
    const error = await createArchiver({ destination: noWrites, recipientKey: 'sentcopy-test-recipient-key' })
      .prepare({ ...base, to: 'a@example.com', sent_at: 1_764_880_180_000, message_id: 'm', raw_mime: 'not base64!' })
      .catch((caught: unknown) => caught);
    expect((error as MessageValidationError).issues).toEqual([{ path: 'raw_mime', problem: expect.stringMatching(/must be base64/) }]);
    expect(validateMessage({ ...base, to: 'a@example.com', sent_at: 1_764_880_180_000, message_id: 'm', raw_mime: 42 }).ok).toBe(false);
  });

  it('refuses a sender-written derived_from_raw_mime when fields are read', async () => {
    const error = await completeRawMimeMessage({ ...base, raw_mime: encodeRawMime(sampleMime()), derived_from_raw_mime: ['message_id'] }).catch((caught: unknown) => caught);
    expect((error as MessageValidationError).issues[0]).toEqual({ path: 'derived_from_raw_mime', problem: expect.stringMatching(/written by sentcopy/) });
  });

  it('answers hostile raw MIME with field errors, never a crash: random bytes, a header section without end, a huge folded header', async () => {
    const hostile = [
      Buffer.from(Array.from({ length: 4096 }, (_, index) => (index * 7919) % 256)),
      Buffer.alloc(2 * 1024 * 1024, 'X-Long: aaaa\r\n'),
      Buffer.from(`To: ${Array.from({ length: 20_000 }, (_, index) => `user${index}@example.com`).join(',\r\n ')}\r\n\r\nbody`),
      Buffer.alloc(0),
    ];
    for (const bytes of hostile) {
      const outcome = await completeRawMimeMessage({ ...base, raw_mime: encodeRawMime(bytes) }).then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      if (outcome.ok) continue;
      expect(MessageValidationError.isInstance(outcome.error)).toBe(true);
      for (const issue of (outcome.error as MessageValidationError).issues) expect(['to', 'sent_at', 'message_id', 'raw_mime']).toContain(issue.path);
    }
  }, 60_000);

  it('reads only the header section of a large message', async () => {
    const attachment = Buffer.alloc(3 * 1024 * 1024, 0x41);
    const bytes = Buffer.concat([Buffer.from(sampleMime()), attachment]);
    const { document } = await storedDocument({ ...base, raw_mime: encodeRawMime(bytes) });
    expect(document['message_id']).toBe('order-1042.1764880180@mail.example.com');
    expect(Buffer.from(document['raw_mime'] as string, 'base64').equals(bytes)).toBe(true);
  });

  it('gives the same stored bytes on a prepare pool, whose message carries the fields read in the thread', async () => {
    const pool = createPreparePool({ threads: 1 });
    try {
      const message = { ...base, raw_mime: encodeRawMime(sampleMime()) };
      const here = await storedDocument(message);
      const there = await storedDocument(message, pool);
      expect(Buffer.from(there.prepared.body).equals(Buffer.from(here.prepared.body))).toBe(true);
      expect(there.prepared.key).toBe(here.prepared.key);
      expect(there.prepared.message.message_id).toBe('order-1042.1764880180@mail.example.com');
    } finally {
      await pool.close();
    }
  });

  it('is in the JSON Schema as an optional (nullable) base64 email field', () => {
    const email = (messageJsonSchema['$defs'] as Record<string, Record<string, unknown>>)['emailMessage']!;
    expect((email['properties'] as Record<string, unknown>)['raw_mime']).toEqual({ anyOf: [{ type: 'null' }, { type: 'string', contentEncoding: 'base64', pattern: expect.any(String) }] });
    expect(email['required'] ?? []).not.toContain('raw_mime');
  });
});
