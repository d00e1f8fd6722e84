import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileKeyLayout, keyLayoutPresets, normalizeRecipient, readKeyLayout, RecipientKeyError, safeSegment, versionKey, type KeyFilters, type KeyLayoutPresetName, type KeyLayoutReader } from '../../src/key-layout/index.js';
import { namedPlaceholders } from '../../src/key-layout/placeholders.js';
import { JsonNumber, parseJson, parseMessage, sampleMessages, type Message } from '../../src/payload/index.js';
import { hmac, layoutError, md5, sha256, testRecipientKey } from './messages.js';

// readKeyLayout reads keys back with the grammar that renders them. Every test renders real keys
// with compileKeyLayout and checks what the reader says of them against values computed here,
// from the message, with node:crypto and the ISO date.

const presets = Object.keys(keyLayoutPresets) as KeyLayoutPresetName[];

const customTemplates = [
  '{project_id}/{channel}/{yyyy}/{mm}/{dd}/{hh}/{message_id}.json',
  '{Channel}/{yyyymm}/{campaign_id|canvas_step_id|none}/{recipient}/{message_id}',
  'archive/{project_id}-{yyyymmdd}/{md5(recipient)}/{extras.segment|all}/{message_id}.json.lz4',
  '{project_id}/{hmac(recipient)}/{user_id|anonymous}/{channel}/{message_id}.json.gz',
  '{mm}/{yyyy}/{channel}/{message_id}.json.gz',
  '{yyyy}/{dd}/{hh}/{sha256(recipient)}/{message_id}.json',
  'x/{message_id}',
  '{message_id}',
] as const;

const bigNumber = (text: string): JsonNumber => (parseJson(`{"n":${text}}`) as { n: JsonNumber }).n;

/** Values that go through safeSegment in every way it has: unicode, slashes, dot segments, percent signs, numbers beyond 2^53, shortened and version-like endings. */
const oddIds: readonly unknown[] = [
  'Ünïcødé 商店 🙂',
  'a/b/../c',
  '..',
  '.',
  '50%/off',
  42,
  bigNumber('12345678901234567890'),
  'p'.repeat(300),
  'looks-shortened~0123456789abcdef',
  'abc~v-0123456789abcdef',
  'abc~v-0123456789abcdef.json',
  'abc~v-0123456789abcdef.json.gz',
  'm.json.gz',
  'tab\tand\u0000nul',
  '~v-',
];

/** Sample messages of every channel, then the same messages with odd ids, campaigns and recipients. */
function messagesToRead(): Message[] {
  const samples = sampleMessages({ projectId: 'acme', count: 16 });
  const odd = oddIds.map((id, index) => {
    const sample = samples[index % samples.length]!;
    return parseMessage({
      ...sample,
      project_id: oddIds[(index + 3) % oddIds.length],
      message_id: id,
      campaign_id: index % 4 === 0 ? undefined : oddIds[(index + 7) % oddIds.length],
      ...(index % 2 === 0 ? { extras: { segment: oddIds[(index + 5) % oddIds.length] } } : {}),
      user_id: index % 3 === 0 ? undefined : `user ${index}/${index}`,
      ...(sample.channel === 'email' ? { to: ` Name ${index} <Odd.${index}@Example.COM>` } : {}),
    });
  });
  // Channels beyond the four, as a project may declare them.
  const custom = ['in_app', 'voice', 'web-push'].map((channel, index) => parseMessage({ version: 1, channel, message_id: `custom-${index}`, project_id: 'acme', sent_at: Date.UTC(2025, index, 28, 23, 59, 59, 999), to: `device-${index}` }));
  return [...samples, ...odd, ...custom];
}

const text = (value: unknown): string => (JsonNumber.isInstance(value) ? value.text : String(value));
const firstValue = (message: Message, fields: readonly string[]): string | undefined => {
  for (const field of fields) {
    const value = (message as Record<string, unknown>)[field];
    if (value !== undefined && value !== null && value !== '') return text(value);
  }
  return undefined;
};

/** The campaign a template's campaign placeholder holds for `message`, as sent (its first alternative with a value, or the literal). */
function campaignOf(template: string, message: Message): string | undefined {
  const source = /\{(campaign_id[^}]*)\}/.exec(template)?.[1];
  if (source === undefined) return undefined;
  const names = source.split('|');
  return firstValue(message, names) ?? names.at(-1);
}

/** The filters that describe `message` exactly, with values as sent. */
function filtersOf(template: string, message: Message): KeyFilters {
  const campaign = campaignOf(template, message);
  return {
    channel: message.channel,
    projectId: text(message.project_id),
    ...(campaign === undefined ? {} : { campaign }),
    recipient: normalizeRecipient(message.channel, message.to),
    messageId: text(message.message_id),
    from: message.sent_at,
    to: message.sent_at + 1,
  };
}

function expectedRecipient(template: string, message: Message): string | undefined {
  const normalized = normalizeRecipient(message.channel, message.to);
  if (template.includes('{hmac(recipient)}')) return hmac(normalized);
  if (template.includes('{sha256(recipient)}')) return sha256(normalized);
  if (template.includes('{md5(recipient)}')) return md5(normalized);
  if (template.includes('{recipient}')) return safeSegment(normalized);
  return undefined;
}

/** Renders every message with `template` and checks that the reader gives each field back, and that the filters of the message match its key and make a prefix of it. */
function roundTrip(template: string, reader: KeyLayoutReader): number {
  const layout = compileKeyLayout(template, { recipientKey: testRecipientKey });
  let checked = 0;
  for (const message of messagesToRead()) {
    let key: string;
    try {
      key = layout.render(message);
    } catch {
      // A message without a value the template requires (braze needs none, clevertap always has its fallback).
      continue;
    }
    const parsed = reader.parse(key);
    const where = `${template} ← ${JSON.stringify(message.message_id)}: ${key}`;
    expect(parsed, where).toBeDefined();
    if (reader.has.channel) expect(parsed!.channel, where).toBe(message.channel);
    if (reader.has.projectId) expect(parsed!.projectId, where).toBe(safeSegment(text(message.project_id)));
    expect(parsed!.messageId, where).toBe(safeSegment(text(message.message_id)));
    const campaign = campaignOf(template, message);
    if (reader.has.campaign) expect(parsed!.campaign, where).toBe(safeSegment(campaign!));
    expect(parsed!.recipient, where).toBe(expectedRecipient(template, message));
    if (reader.has.date) {
      expect(parsed!.dateRange!.start, where).toBeLessThanOrEqual(message.sent_at);
      expect(parsed!.dateRange!.end, where).toBeGreaterThan(message.sent_at);
      expect(new Date(message.sent_at).toISOString().replace(/:.*$/, '')).toContain(parsed!.dateText);
    } else {
      expect(parsed!.dateRange, where).toBeUndefined();
    }
    expect(parsed!.versionId, where).toBeUndefined();
    // Every placeholder is read back as the very text the key holds.
    expect(Object.keys(parsed!.values).sort(), where).toEqual([...new Set(reader.placeholders)].sort());

    const filters = filtersOf(template, message);
    expect(reader.matches(parsed!, filters), where).toBe(true);
    const prefix = reader.prefixFor(filters);
    expect(key.startsWith(prefix), `${where}: prefix ${prefix}`).toBe(true);

    // A second, different message under the same id is stored at a version key: read as a version of this key, and under the same prefix.
    const contentSha256 = createHash('sha256').update(key).digest('hex');
    const version = versionKey(key, contentSha256)!;
    expect(reader.parse(version), where).toEqual({ ...parsed, versionId: contentSha256.slice(0, 16), originalKey: key });
    expect(version.startsWith(prefix), `${where}: version ${version}, prefix ${prefix}`).toBe(true);
    checked += 1;
  }
  return checked;
}

describe('readKeyLayout reads back what compileKeyLayout renders', () => {
  for (const preset of presets) {
    it(`${preset}: every field of sample and odd messages, and a prefix that ends right before the extension`, () => {
      const reader = readKeyLayout(preset, { recipientKey: testRecipientKey });
      expect(reader.preset).toBe(preset);
      expect(reader.template).toBe(keyLayoutPresets[preset]);
      expect(roundTrip(reader.template, reader)).toBeGreaterThan(30);
      // A preset's every placeholder is something a filter names, so the filters of a message fix its whole key.
      const layout = compileKeyLayout(preset, { recipientKey: testRecipientKey });
      for (const message of sampleMessages({ projectId: 'acme', count: 8 })) {
        const key = layout.render(message);
        expect(reader.prefixFor(filtersOf(reader.template, message))).toBe(key.replace(/\.json\.(gz|lz4)$/, ''));
      }
    });
  }

  for (const template of customTemplates) {
    it(`custom ${template}`, () => {
      const reader = readKeyLayout(template, { recipientKey: testRecipientKey });
      expect(reader.preset).toBeUndefined();
      expect(reader.placeholders).toEqual(compileKeyLayout(template, { recipientKey: testRecipientKey }).placeholders);
      expect(roundTrip(template, reader)).toBeGreaterThan(30);
    });
  }

  it('reads a message id that ends like a version (rendered with its "~" encoded) as that id, not as a version', () => {
    const reader = readKeyLayout('sentcopy-unkeyed');
    const message = parseMessage({ ...sampleMessages({ count: 2 })[1], message_id: 'abc~v-0123456789abcdef' });
    const key = compileKeyLayout('sentcopy-unkeyed').render(message);
    expect(key.endsWith('/abc%7Ev-0123456789abcdef.json.gz')).toBe(true);
    expect(reader.parse(key)).toMatchObject({ messageId: 'abc~v-0123456789abcdef' });
    expect(reader.parse(key)!.versionId).toBeUndefined();
    expect(reader.matches(reader.parse(key)!, { messageId: 'abc~v-0123456789abcdef' })).toBe(true);
    expect(reader.prefixFor(filtersOf(reader.template, message))).toBe(key.slice(0, -'.json.gz'.length));
  });

  it('reads channels beyond the four in {channel} and {Channel}', () => {
    for (const template of ['{channel}/{message_id}', '{Channel}/{message_id}']) {
      const reader = readKeyLayout(template);
      const message = parseMessage({ version: 1, channel: 'in_app', message_id: 'm1', project_id: 'p', sent_at: Date.UTC(2026, 0, 1), to: 'device-1' });
      const key = compileKeyLayout(template).render(message);
      expect(reader.parse(key)?.channel).toBe('in_app');
      expect(reader.prefixFor({ channel: 'in_app' })).toBe(key.slice(0, key.indexOf('/') + 1));
    }
    expect(readKeyLayout('clevertap').parse('sent_messages/WhatsApp/202409/1725435360/2f3a4b5c6d7e8f90a1b2c3d4e5f60718/m.json.lz4')?.channel).toBe('whatsapp');
  });
});

describe('readKeyLayout parses only keys the layout can render', () => {
  it('refuses keys of another shape, impossible dates and channels written another way', () => {
    const reader = readKeyLayout('clevertap');
    const hash = md5('ana@example.com');
    expect(reader.parse(`sent_messages/Sms/202409/c/${hash}/m1.json.lz4`)).toMatchObject({ channel: 'sms', campaign: 'c', recipient: hash, messageId: 'm1', dateText: '2024-09' });
    for (const key of [
      `sent_messages/Sms/202413/c/${hash}/m1.json.lz4`,
      `sent_messages/sms/202409/c/${hash}/m1.json.lz4`,
      `sent_messages/SMS/202409/c/${hash}/m1.json.lz4`,
      `sent_messages/Whatsapp/202409/c/${hash}/m1.json.lz4`,
      `sent_messages/Sms/202409/c/${hash.toUpperCase()}/m1.json.lz4`,
      `sent_messages/Sms/202409/c/${hash}/m1.json.gz`,
      `sent_messages/Sms/202409/c/d/${hash}/m1.json.lz4`,
      `sent_messages/Sms/202409/c c/${hash}/m1.json.lz4`,
      '_sentcopy/ledger/0000000001.json',
    ]) {
      expect(reader.parse(key), key).toBeUndefined();
    }
  });

  it('requires a placeholder used twice to hold the same text twice', () => {
    const reader = readKeyLayout('{channel}/{message_id}/{channel}.json');
    expect(reader.parse('sms/m1/sms.json')).toMatchObject({ channel: 'sms', messageId: 'm1' });
    expect(reader.parse('sms/m1/email.json')).toBeUndefined();
  });
});

describe('readKeyLayout filters', () => {
  const message = parseMessage({ ...sampleMessages({ projectId: 'acme', count: 2 })[1], sent_at: Date.UTC(2026, 0, 31, 22, 15) });
  const reader = readKeyLayout('sentcopy', { recipientKey: testRecipientKey });
  const key = compileKeyLayout('sentcopy', { recipientKey: testRecipientKey }).render(message);
  const parsed = reader.parse(key)!;
  const normalized = normalizeRecipient(message.channel, message.to);

  it('narrow the prefix only through the first placeholder no filter fixes', () => {
    expect(reader.prefixFor({})).toBe('');
    expect(reader.prefixFor({ projectId: 'acme' })).toBe('acme/');
    expect(reader.prefixFor({ projectId: 'acme', channel: 'sms' })).toBe('acme/');
    expect(reader.prefixFor({ projectId: 'acme', recipient: normalized })).toBe(`acme/${hmac(normalized)}/`);
    expect(reader.prefixFor({ projectId: 'acme', recipient: [normalized, '+15550100199'] })).toBe('acme/');
    expect(reader.prefixFor({ projectId: 'acme', recipient: normalized, channel: 'sms', from: Date.UTC(2026, 0, 31), to: Date.UTC(2026, 1, 1) })).toBe(`acme/${hmac(normalized)}/sms/20260131/`);
    // A range across a month boundary shares only the digits both ends share (20260120 … 20260209).
    expect(reader.prefixFor({ projectId: 'acme', recipient: normalized, channel: 'sms', from: Date.UTC(2026, 0, 20), to: Date.UTC(2026, 1, 10) })).toBe(`acme/${hmac(normalized)}/sms/20260`);
    expect(reader.prefixFor({ projectId: 'acme', recipient: normalized, channel: 'sms', from: Date.UTC(2025, 11, 20), to: Date.UTC(2026, 0, 10) })).toBe(`acme/${hmac(normalized)}/sms/202`);
    expect(reader.prefixFor({ projectId: 'a/b', channel: 'sms' })).toBe('a%2Fb/');
  });

  it('match a key unless a filter the key holds says otherwise', () => {
    expect(reader.matches(parsed, { projectId: 'acme', channel: 'sms', recipient: normalized, from: Date.UTC(2026, 0, 31), to: Date.UTC(2026, 1, 1) })).toBe(true);
    expect(reader.matches(parsed, { recipient: ['+15550100199', normalized] })).toBe(true);
    expect(reader.matches(parsed, { channel: 'email' })).toBe(false);
    expect(reader.matches(parsed, { projectId: 'acme2' })).toBe(false);
    expect(reader.matches(parsed, { recipient: '+15550100199' })).toBe(false);
    expect(reader.matches(parsed, { messageId: 'other' })).toBe(false);
    expect(reader.matches(parsed, { from: Date.UTC(2026, 1, 1) })).toBe(false);
    expect(reader.matches(parsed, { to: Date.UTC(2026, 0, 31) })).toBe(false);
    // The key holds no campaign: that filter is for the content to answer.
    expect(reader.has.campaign).toBe(false);
    expect(reader.matches(parsed, { campaign: 'anything' })).toBe(true);
  });

  it('narrow by a finer date unit only below the coarser ones, so no message of the range is left out', () => {
    // From 2025-01-10 to 2026-01-20: every month of 2025 is in the range, whatever {mm} comes first.
    const range = { from: Date.UTC(2025, 0, 10), to: Date.UTC(2026, 0, 20) };
    const march = parseMessage({ version: 1, channel: 'sms', message_id: 'm-march', project_id: 'p', sent_at: Date.UTC(2025, 2, 15), to: '+15550100100' });
    for (const template of ['{mm}/{yyyy}/{message_id}.json', '{dd}/{yyyy}/{message_id}.json', '{yyyy}/{dd}/{message_id}.json', '{hh}/{yyyymmdd}/{message_id}.json']) {
      const key = compileKeyLayout(template).render(march);
      const prefix = readKeyLayout(template).prefixFor(range);
      expect(key.startsWith(prefix), `${template}: ${key} under ${prefix}`).toBe(true);
      expect(readKeyLayout(template).matches(readKeyLayout(template).parse(key)!, range)).toBe(true);
    }
    expect(readKeyLayout('{yyyy}/{mm}/{dd}/{message_id}.json').prefixFor({ from: Date.UTC(2025, 2, 1), to: Date.UTC(2025, 2, 20) })).toBe('2025/03/');
    expect(readKeyLayout('{yyyy}/{dd}/{message_id}.json').prefixFor({ from: Date.UTC(2025, 2, 5), to: Date.UTC(2025, 2, 6) })).toBe('2025/');
  });

  it('make a prefix of every key in a random date range, for layouts with dates in any order', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const templates = ['{yyyy}/{mm}/{dd}/{hh}/{message_id}', '{yyyymmdd}/{hh}/{message_id}', '{mm}/{yyyy}/{message_id}', '{yyyymm}/{dd}/{message_id}', '{yyyy}/{hh}/{message_id}', '{dd}/{mm}/{yyyy}/{message_id}'];
    for (let round = 0; round < 400; round += 1) {
      const template = templates[round % templates.length]!;
      const from = Date.UTC(2024, 0, 1) + Math.floor(random() * 3 * 365 * 86_400_000);
      const to = from + 1 + Math.floor(random() ** 3 * 400 * 86_400_000);
      const sentAt = from + Math.floor(random() * (to - from));
      const message = parseMessage({ version: 1, channel: 'push', message_id: `m${round}`, project_id: 'p', sent_at: sentAt, to: 'token' });
      const key = compileKeyLayout(template).render(message);
      const reader = readKeyLayout(template);
      expect(key.startsWith(reader.prefixFor({ from, to })), `${template} ${new Date(from).toISOString()}..${new Date(to).toISOString()}: ${key}`).toBe(true);
      expect(reader.matches(reader.parse(key)!, { from, to })).toBe(true);
    }
  });
});

describe('readKeyLayout without the recipient key', () => {
  it('parses and lists a keyed layout, and refuses only what needs the secret', () => {
    const reader = readKeyLayout('sentcopy');
    const message = sampleMessages({ projectId: 'acme', count: 1 })[0]!;
    const key = compileKeyLayout('sentcopy', { recipientKey: testRecipientKey }).render(message);
    expect(reader.usesRecipientKey).toBe(true);
    expect(reader.layout).toBeUndefined();
    expect(reader.recipientEncoding).toBe('hmac');
    expect(reader.parse(key)).toMatchObject({ projectId: 'acme', channel: 'email', recipient: hmac(normalizeRecipient('email', message.to)) });
    expect(reader.prefixFor({ projectId: 'acme' })).toBe('acme/');
    for (const run of [() => reader.prefixFor({ recipient: 'a@example.com' }), () => reader.recipientKeyForm('a@example.com'), () => reader.matches(reader.parse(key)!, { recipient: 'a@example.com' })]) {
      let error: unknown;
      try {
        run();
      } catch (caught) {
        error = caught;
      }
      expect(RecipientKeyError.isInstance(error) && error.reason).toBe('missing');
    }
    expect(() => readKeyLayout('sentcopy', { recipientKey: 'short' })).toThrow(/at least 16/);
    expect(readKeyLayout('sentcopy', { recipientKey: testRecipientKey }).layout?.render(message)).toBe(key);
  });

  it('refuses a bad template with the error compileKeyLayout gives', () => {
    for (const template of ['{nope}/{message_id}', '{project_id}', 'a//{message_id}', '{to}/{message_id}']) {
      expect(() => readKeyLayout(template)).toThrow(layoutError(template).message);
    }
  });
});

describe('the grammar', () => {
  it('lists every placeholder name compileKeyLayout accepts, and nothing else', () => {
    const help = /extras\.NAME, (.*)\s\(at character/.exec(layoutError('{sha1(recipient)}/{message_id}').message)![1]!;
    expect(help.replace(' or ', ', ').split(', ')).toEqual([...namedPlaceholders.keys()]);
    for (const name of namedPlaceholders.keys()) expect(() => compileKeyLayout(`{${name}}/{message_id}`, { recipientKey: testRecipientKey })).not.toThrow();
  });

  // Rendering and parsing both come from each entry; this proves each entry's parse inverts its render.
  for (const [name, placeholder] of namedPlaceholders) {
    it(`reads {${name}} back from every key it renders`, () => {
      const template = `{project_id}/{${name}}/{message_id}.json`;
      const layout = compileKeyLayout(template, { recipientKey: testRecipientKey });
      const reader = readKeyLayout(template, { recipientKey: testRecipientKey });
      for (const message of messagesToRead()) {
        const segment = layout.render(message).split('/')[1]!;
        expect(segment).toMatch(new RegExp(`^(?:${placeholder.pattern})$`));
        const parsed = reader.parse(layout.render(message))!;
        expect(parsed.values[name]).toBe(segment);
        const decoded = placeholder.decode(segment)!;
        expect(decoded).toBeDefined();
        const iso = new Date(message.sent_at).toISOString();
        switch (placeholder.slot) {
          case 'channel':
            expect(parsed.channel).toBe(message.channel);
            expect(decoded.channel).toBe(message.channel);
            break;
          case 'recipient':
            expect(parsed.recipient).toBe(segment);
            expect(reader.recipientKeyForm(normalizeRecipient(message.channel, message.to))).toBe(segment);
            break;
          case 'date':
            expect(Object.values(decoded.date!).join('')).toBe(segment);
            expect(decoded.date).toEqual(Object.fromEntries(placeholder.dateUnits!.map((unit) => [unit, { year: iso.slice(0, 4), month: iso.slice(5, 7), day: iso.slice(8, 10), hour: iso.slice(11, 13) }[unit]])));
            break;
          default:
            throw new Error(`{${name}} holds no field a filter names; give it a slot or a test`);
        }
      }
    });
  }
});
