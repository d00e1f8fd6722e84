import { describe, expect, it } from 'vitest';
import {
  codePointLength,
  createArchiver,
  createPreparePool,
  exceedsCodePoints,
  maxMessageIdLength,
  MessageValidationError,
  messageIdProblem,
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

  it('names the field a profile or a layout cannot store', () => {
    const braze = createArchiver({ destination: untouchedDestination(), profile: 'braze' });
    expect(() => braze.check({ ...sms, dispatch_id: 'theirs' })).toThrowError(expect.objectContaining({ issues: [expect.objectContaining({ path: 'dispatch_id' })] }));
    const laid = createArchiver({ destination: untouchedDestination(), layout: '{project_id}/{campaign_id}/{extras.region}/{message_id}.json.gz' });
    expect(() => laid.check({ ...sms, campaign_id: undefined, extras: { region: 'eu' } })).toThrowError(expect.objectContaining({ issues: [expect.objectContaining({ path: 'campaign_id' })] }));
    expect(() => laid.check({ ...sms, campaign_id: 'c', extras: { region: { a: 1 } } })).toThrowError(expect.objectContaining({ issues: [expect.objectContaining({ path: 'extras.region' })] }));
    expect(laid.check({ ...sms, campaign_id: 'c', extras: { region: 'eu' } })).toMatchObject({ key: `shop/c/eu/${sms.message_id}.json.gz`, messageId: sms.message_id, projectId: 'shop', channel: 'sms' });
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
  it('is refused as a key, naming the field that forms the first segment (from the layout grammar, fallbacks and hashes included)', () => {
    const message = { ...sampleMessages({ projectId: 'p', count: 8 }).find((candidate) => candidate.channel === 'sms')!, campaign_id: '.sentcopy-ledger' };
    for (const layout of ['{campaign_id}/{message_id}.json.gz', '{campaign_id|user_id}/{md5(recipient)}/{message_id}.json.gz']) {
      const archiver = createArchiver({ destination: untouchedDestination(), layout });
      expect(() => archiver.check(message)).toThrow(MessageValidationError);
      expect(() => archiver.check(message)).toThrow('campaign_id: must not make a key under .sentcopy-ledger/');
    }
    const hashed = createArchiver({ destination: untouchedDestination(), layout: '{sha256(recipient)}/{message_id}.json.gz' });
    expect(hashed.check(message).key).not.toMatch(/^\.sentcopy-ledger\//);
  });
});
