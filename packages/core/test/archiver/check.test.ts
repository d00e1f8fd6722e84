import { describe, expect, it } from 'vitest';
import {
  codePointLength,
  createArchiver,
  createPreparePool,
  exceedsCodePoints,
  maxMessageIdLength,
  MessageValidationError,
  messageIdProblem,
  rawMimeDerivedMarker,
  sampleMessages,
  validateMessage,
  type DestinationV1,
  type ProfileName,
} from '../../src/index.js';

/** A destination that only counts calls: check() and prepare() must never reach it. */
function untouchedDestination(): DestinationV1 & { readonly calls: string[] } {
  const calls: string[] = [];
  const refuse = (name: string) => () => {
    calls.push(name);
    throw new Error(`${name} must not be called`);
  };
  return {
    specificationVersion: 'v1',
    provider: 'untouched',
    id: 'untouched',
    capabilities: { delete: false, immutability: false, publicAccessCheck: false },
    calls,
    put: refuse('put'),
    get: refuse('get'),
    head: refuse('head'),
    list: refuse('list'),
    probe: refuse('probe'),
  } as unknown as DestinationV1 & { readonly calls: string[] };
}

// The sentcopy layout keys recipients with this secret; the other settings ignore it.
const recipientKey = 'sentcopy-test-recipient-key';

const samples = sampleMessages({ projectId: 'shop', count: 12, seed: 8 });
const sms = samples.find((message) => message.channel === 'sms')!;
const email = samples.find((message) => message.channel === 'email')!;

const mime = (headers: string) => Buffer.from(`${headers}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello.\r\n`).toString('base64');
/** An email that is only its exact bytes: `to`, `sent_at` and `message_id` come from its headers. */
const rawMimeOnly = (headers: string) => ({ version: 1, channel: 'email', project_id: 'shop', campaign_id: 'c', raw_mime: mime(headers) });
const fullHeaders = 'From: Shop <news@shop.example>\r\nTo: Jane Doe <jane@example.com>\r\nSubject: Hi\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m-raw-1@shop.example>';

/** Messages every profile takes, and messages some profile, layout or validation cannot store. */
const inputs: [string, unknown][] = [
  ...samples.map((message, index): [string, unknown] => [`sample ${index} (${message.channel})`, message]),
  ['sample as JSON bytes', new TextEncoder().encode(JSON.stringify(sms))],
  ['a dispatch_id of its own', { ...sms, dispatch_id: 'theirs' }],
  ['no campaign_id', { ...sms, campaign_id: undefined }],
  ['extras.region as an object', { ...sms, campaign_id: 'c', extras: { region: { a: 1 } } }],
  ['extras.region as a list', { ...sms, campaign_id: 'c', extras: { region: ['eu'] } }],
  ['extras.region as text', { ...sms, campaign_id: 'c', extras: { region: 'eu' } }],
  [`a message_id of ${maxMessageIdLength} emoji`, { ...sms, message_id: '😀'.repeat(maxMessageIdLength) }],
  [`a message_id of ${maxMessageIdLength + 1} emoji`, { ...sms, message_id: '😀'.repeat(maxMessageIdLength + 1) }],
  ['a campaign_id too long for a key', { ...email, campaign_id: 'c'.repeat(2_000) }],
  ['no recipient', { ...email, to: undefined }],
  ['not JSON', new TextEncoder().encode('{"version":1,')],
  ['not an object', [sms]],
  ['raw MIME whose headers give to, sent_at and message_id', rawMimeOnly(fullHeaders)],
  ['raw MIME whose only recipient is in Cc', rawMimeOnly(fullHeaders.replace('To: Jane Doe <jane@example.com>', 'To: undisclosed-recipients:;\r\nCc: jane@example.com'))],
  ['raw MIME with no recipient anywhere', rawMimeOnly(fullHeaders.replace('To: Jane Doe <jane@example.com>', 'To: undisclosed-recipients:;'))],
  ['raw MIME without Date or Message-ID', rawMimeOnly('From: news@shop.example\r\nTo: jane@example.com')],
  ['raw MIME as JSON bytes', new TextEncoder().encode(JSON.stringify(rawMimeOnly(fullHeaders)))],
];

type Outcome = { ok: true; key: string } | { ok: false; issues: unknown };

async function outcome(run: () => Promise<{ key: string }> | { key: string }): Promise<Outcome> {
  try {
    return { ok: true, key: (await run()).key };
  } catch (error) {
    if (!MessageValidationError.isInstance(error)) throw error;
    return { ok: false, issues: error.issues };
  }
}

describe('archiver.check()', () => {
  const settings: { profile?: ProfileName; layout?: string }[] = [
    { profile: 'sentcopy' },
    { profile: 'braze' },
    { profile: 'clevertap' },
    { profile: 'iterable' },
    { layout: '{project_id}/{campaign_id}/{extras.region}/{message_id}.json.gz' },
  ];

  it('refuses exactly what prepare() refuses, with the same issues, and otherwise gives the same key, without touching the destination', async () => {
    const pool = createPreparePool({ threads: 1 });
    try {
      let refused = 0;
      for (const setting of settings) {
        const destination = untouchedDestination();
        const archiver = createArchiver({ destination, recipientKey, retry: false, ...setting });
        const pooled = createArchiver({ destination, recipientKey, retry: false, preparePool: pool, ...setting });
        for (const [name, input] of inputs) {
          const checked = await outcome(() => archiver.check(input));
          const prepared = await outcome(() => archiver.prepare(input));
          const preparedOnThread = await outcome(() => pooled.prepare(input));
          expect({ setting, name, checked }).toEqual({ setting, name, checked: prepared });
          expect({ setting, name, checked }).toEqual({ setting, name, checked: preparedOnThread });
          if (!checked.ok) refused++;
        }
        expect(destination.calls).toEqual([]);
      }
      // The inputs exercise refusals by validation, by a profile and by a key layout.
      expect(refused).toBeGreaterThanOrEqual(settings.length * 5);
    } finally {
      await pool.close();
    }
  });

  it('names the field a profile or a layout cannot store', async () => {
    const braze = createArchiver({ destination: untouchedDestination(), profile: 'braze' });
    await expect(braze.check({ ...sms, dispatch_id: 'theirs' })).rejects.toThrowError(expect.objectContaining({ issues: [expect.objectContaining({ path: 'dispatch_id' })] }));
    const laid = createArchiver({ destination: untouchedDestination(), layout: '{project_id}/{campaign_id}/{extras.region}/{message_id}.json.gz' });
    await expect(laid.check({ ...sms, campaign_id: undefined, extras: { region: 'eu' } })).rejects.toThrowError(expect.objectContaining({ issues: [expect.objectContaining({ path: 'campaign_id' })] }));
    await expect(laid.check({ ...sms, campaign_id: 'c', extras: { region: { a: 1 } } })).rejects.toThrowError(expect.objectContaining({ issues: [expect.objectContaining({ path: 'extras.region' })] }));
    await expect(laid.check({ ...sms, campaign_id: 'c', extras: { region: 'eu' } })).resolves.toMatchObject({ key: `shop/c/eu/${sms.message_id}.json.gz`, messageId: sms.message_id, projectId: 'shop', channel: 'sms' });
  });

  it("reads an email's recipient, date and Message-ID from its raw MIME headers, as prepare() does", async () => {
    const archiver = createArchiver({ destination: untouchedDestination(), layout: 'sentcopy-unkeyed' });
    const checked = await archiver.check(rawMimeOnly(fullHeaders));
    expect({ messageId: checked.messageId, to: checked.message['to'], sentAt: checked.message['sent_at'], derived: checked.message[rawMimeDerivedMarker] }).toEqual({
      messageId: 'm-raw-1@shop.example',
      to: 'jane@example.com',
      sentAt: Date.parse('2026-12-04T10:00:00Z'),
      derived: ['to', 'sent_at', 'message_id'],
    });
    expect(checked.key).toBe((await archiver.prepare(rawMimeOnly(fullHeaders))).key);
    // No usable recipient anywhere: refused naming the field, never quoting the headers.
    const refused = await archiver.check(rawMimeOnly(fullHeaders.replace('To: Jane Doe <jane@example.com>', 'To: undisclosed-recipients:;'))).catch((error: unknown) => error);
    expect(MessageValidationError.isInstance(refused) && refused.issues).toEqual([{ path: 'to', problem: 'is required: raw_mime has no To, Cc or Bcc address to read it from (send to with the message)' }]);
  });
});

describe('message limits', () => {
  it('count message_id in code points, the same way in the validator and in messageIdProblem()', () => {
    for (const [id, ok] of [
      ['😀'.repeat(maxMessageIdLength), true],
      ['😀'.repeat(maxMessageIdLength + 1), false],
      ['a'.repeat(maxMessageIdLength), true],
      ['a'.repeat(maxMessageIdLength + 1), false],
      [`${'a'.repeat(maxMessageIdLength - 1)}😀`, true],
      ['', false],
    ] as const) {
      expect({ id: id.length, problem: messageIdProblem(id) === undefined }).toEqual({ id: id.length, problem: ok });
      const result = validateMessage({ ...sms, message_id: id });
      expect({ id: id.length, valid: result.ok }).toEqual({ id: id.length, valid: ok });
    }
    expect(codePointLength('a😀\ud800b')).toBe(4);
    expect(exceedsCodePoints('😀'.repeat(3), 3)).toBe(false);
    expect(exceedsCodePoints('😀'.repeat(4), 3)).toBe(true);
  });
});

describe('the ledger prefix', () => {
  it('is refused as a key, naming the field that forms the first segment (from the layout grammar, fallbacks and hashes included)', async () => {
    const message = { ...sampleMessages({ projectId: 'p', count: 8 }).find((candidate) => candidate.channel === 'sms')!, campaign_id: '.sentcopy-ledger' };
    for (const layout of ['{campaign_id}/{message_id}.json.gz', '{campaign_id|user_id}/{md5(recipient)}/{message_id}.json.gz']) {
      const archiver = createArchiver({ destination: untouchedDestination(), layout });
      await expect(archiver.check(message)).rejects.toThrow(MessageValidationError);
      await expect(archiver.check(message)).rejects.toThrow('campaign_id: must not make a key under .sentcopy-ledger/');
    }
    const hashed = createArchiver({ destination: untouchedDestination(), layout: '{sha256(recipient)}/{message_id}.json.gz' });
    expect((await hashed.check(message)).key).not.toMatch(/^\.sentcopy-ledger\//);
  });
});
