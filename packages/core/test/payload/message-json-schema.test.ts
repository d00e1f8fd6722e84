// The published JSON Schema must say what validateMessage enforces. No JSON Schema validator may be
// added as a dependency, so the schema is checked structurally against the field rules, its regex
// patterns are compared with the validator's checks, and a small keyword-complete evaluator
// (mini-json-schema.ts) compares verdicts with validateMessage on valid and invalid messages.
import { describe, expect, it } from 'vitest';
import { addressesIn, channels, isChannel, isMailbox, maxMessageDepth, messageJsonSchema, sampleMessages, toE164, validateMessage, type KnownChannel } from '../../src/payload/index.js';
import { attachmentFieldRules, baseFieldRules, baseRequiredFields, channelFieldRules, customChannelFieldRules, maxSentAt, minSentAt } from '../../src/payload/message-fields.js';
import { isBase64 } from '../../src/payload/recipient-formats.js';
import { everyChannel, fullMessage, minimalMessage, pick, randomSource, type MessageInput } from './fixtures.js';
import { isValid, refsIn, resolveRef } from './mini-json-schema.js';

type SchemaObject = Readonly<Record<string, unknown>>;

const schema = messageJsonSchema as SchemaObject;
const defs = schema['$defs'] as Record<string, SchemaObject>;
const schemaAccepts = (value: unknown): boolean => isValid(schema, schema, value);
const validatorAccepts = (value: unknown): boolean => validateMessage(value).ok;

function branchOf(channel: KnownChannel): SchemaObject {
  return resolveRef(schema, `#/$defs/${channel}Message`) as SchemaObject;
}

function patternsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(patternsIn);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) => (key === 'pattern' && typeof item === 'string' ? [item] : patternsIn(item)));
}

const patternOf = (name: string): RegExp => new RegExp((defs[name] as { pattern: string }).pattern, 'u');
const mailboxPattern = patternOf('mailbox');
const addressListPattern = patternOf('addressList');
const phonePattern = patternOf('phoneNumber');
const channelPattern = new RegExp((schema['properties'] as Record<string, { pattern: string }>)['channel']!.pattern, 'u');
const base64Pattern = new RegExp((defs['attachment'] as { properties: Record<string, { anyOf: { pattern?: string }[] }> }).properties['bytes']!.anyOf[1]!.pattern!, 'u');

/** JSON values that probe every rule: right and wrong types, edges of every limit. */
const probes: readonly unknown[] = [
  0,
  1,
  -1,
  1.5,
  2,
  1_722_443_282,
  1_722_443_282_680,
  1_722_443_282_680.5,
  minSentAt - 1,
  minSentAt,
  maxSentAt,
  maxSentAt + 1,
  '',
  ' ',
  'x',
  '1',
  'email',
  'sms',
  'push',
  'whatsapp',
  'fax',
  'customer@example.com',
  ' padded@example.com ',
  'Ana <ana@example.com>',
  '"Doe, Jane" <jane@example.com>',
  'a@example.com, b@example.com',
  'a@example.com,',
  'a@b',
  '+15555555555',
  '15555555555',
  '0044 20 7946 0958',
  '+0123456789',
  '+1555',
  '+1555CALLNOW',
  'YQ==',
  'YQ',
  'x'.repeat(512),
  'x'.repeat(513),
  '😀'.repeat(512),
  '😀'.repeat(513),
  null,
  true,
  false,
  [],
  ['a'],
  ['a', 1],
  [1],
  {},
  { a: 'b' },
  { a: 1 },
  { a: ['b'] },
  [{ file_name: 'a.pdf', bytes: 'YQ==' }],
  [{ file_name: 'a.pdf', bytes: 'YQ==', content_type: 'application/pdf', extra: 1 }],
  [{ filename: 'a.pdf', contentType: 'application/pdf', content: 'YQ==', encoding: 'base64' }],
  [{ file_name: null, bytes: 'YQ\r\nYQ' }],
  [null],
  ['a@example.com', 'b@example.com'],
  ['Ana <ana@example.com>'],
  ['+15555555555', '+15555555556'],
  [''],
  { 'X-Priority': 3, Received: ['a', 'b'], 'X-Null': null },
  { 'X-Bad': { a: 1 } },
  { 'X-Bad': [null] },
  'QUJD\r\nQUJD',
  'QUJD\nQUJ',
  'rcs',
  'in_app',
  'Fax',
  [{ file_name: 'a.pdf' }],
  [{ bytes: 'YQ==' }],
  [{ file_name: '', bytes: 'YQ==' }],
  [{ file_name: 'a.pdf', bytes: 'YQ' }],
  [{ file_name: 'a.pdf', bytes: 'YQ==', content_type: 5 }],
  [{ file_name: 5, bytes: 'YQ==' }],
  ['a.pdf'],
  [[]],
];

describe('messageJsonSchema structure', () => {
  it('is a draft 2020-12 schema of an object, with an id and a title', () => {
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema['$id']).toBe('urn:sentcopy:schema:message-v1');
    expect(schema['type']).toBe('object');
    expect(typeof schema['title']).toBe('string');
    expect(schema['additionalProperties']).toBe(true);
    expect(String(schema['description'])).toContain(`${maxMessageDepth} levels`);
  });

  it('requires exactly the base required fields', () => {
    expect(schema['required']).toEqual([...baseRequiredFields]);
    expect(schema['required']).toEqual(['version', 'channel', 'message_id', 'project_id', 'sent_at', 'to']);
  });

  it('describes every base field at the top level', () => {
    expect(Object.keys(schema['properties'] as object).sort()).toEqual([...Object.keys(baseFieldRules), 'to'].sort());
  });

  it('has one oneOf branch per known channel, told apart by a channel const, and one for every other channel', () => {
    const oneOf = schema['oneOf'] as SchemaObject[];
    expect(oneOf).toEqual([...channels.map((channel) => ({ $ref: `#/$defs/${channel}Message` })), { $ref: '#/$defs/customChannelMessage' }]);
    const custom = defs['customChannelMessage']!;
    expect((custom['properties'] as Record<string, unknown>)['channel']).toEqual({ not: { enum: [...channels] } });
    expect(Object.keys(custom['properties'] as object)).toEqual(['channel', ...Object.keys(customChannelFieldRules.fields)]);
    for (const channel of channels) {
      const branch = branchOf(channel);
      expect(branch['type']).toBe('object');
      expect((branch['properties'] as Record<string, unknown>)['channel']).toEqual({ const: channel });
      expect(branch['additionalProperties']).toBe(true);
    }
  });

  it.each(everyChannel)('gives the %s branch exactly the fields of channelFieldRules, each optional and nullable except to', (channel) => {
    const rules = channelFieldRules[channel];
    const branch = branchOf(channel);
    expect(Object.keys(branch['properties'] as object)).toEqual(['channel', ...Object.keys(rules.fields)]);
    expect(branch['required']).toEqual(['channel']);
    expect(branch['anyOf']).toBeUndefined();
    for (const [field, property] of Object.entries(branch['properties'] as Record<string, SchemaObject>)) {
      if (field === 'channel' || field === 'to') expect(JSON.stringify(property)).not.toContain('"null"');
      else expect((property['anyOf'] as unknown[])[0]).toEqual({ type: 'null' });
    }
  });

  it('describes attachments as attachmentFieldRules says', () => {
    const attachment = defs['attachment']!;
    expect(Object.keys(attachment['properties'] as object)).toEqual(Object.keys(attachmentFieldRules));
    expect(attachment['required']).toBeUndefined();
    expect((attachment['properties'] as Record<string, { anyOf: unknown[] }>)['bytes']!.anyOf[1]).toMatchObject({ type: 'string', contentEncoding: 'base64' });
  });

  it('states the sent_at and message_id limits the validator uses', () => {
    const properties = schema['properties'] as Record<string, SchemaObject>;
    expect(properties['sent_at']).toMatchObject({ type: 'integer', minimum: minSentAt, maximum: maxSentAt });
    expect(properties['message_id']).toMatchObject({ anyOf: [{ type: 'string', minLength: 1, maxLength: 512 }, { type: 'number' }] });
    expect(properties['version']).toMatchObject({ const: 1 });
    expect(properties['channel']).toMatchObject({ type: 'string' });
  });

  it('resolves every $ref to a definition, and every definition is used', () => {
    const refs = refsIn(schema);
    for (const ref of refs) expect(() => resolveRef(schema, ref)).not.toThrow();
    expect(new Set(refs.map((ref) => ref.replace('#/$defs/', '')))).toEqual(new Set(Object.keys(defs)));
  });

  it('is frozen all the way down and survives a JSON round trip unchanged', () => {
    expect(Object.isFrozen(schema)).toBe(true);
    expect(Object.isFrozen(defs)).toBe(true);
    expect(Object.isFrozen(defs['emailMessage']!['properties'])).toBe(true);
    expect(Object.isFrozen(schema['required'])).toBe(true);
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });
});

describe('messageJsonSchema patterns', () => {
  it('has exactly the channel, mailbox, address list, phone and base64 patterns, each compiling with the u flag', () => {
    const patterns = [...new Set(patternsIn(schema))];
    expect(patterns).toHaveLength(5);
    for (const pattern of patterns) expect(() => new RegExp(pattern, 'u')).not.toThrow();
  });

  const emails = [
    'customer@example.com',
    'Ana.Garcia@Example.com',
    ' padded@example.com ',
    'ünïcode@exämple.de',
    "o'brien@example.ie",
    '',
    'plain',
    'a@b',
    'a@@example.com',
    'Ana <ana@example.com>',
    'a b@example.com',
    'a@example..com',
    'a@example.com.',
    'a\u0000@example.com',
    'a@[127.0.0.1]',
  ];
  it.each(emails)('the mailbox and address list patterns agree with isMailbox and addressesIn on %j', (address) => {
    expect(mailboxPattern.test(address)).toBe(isMailbox(address));
    expect(addressListPattern.test(address)).toBe(addressesIn(address) !== undefined);
  });

  it.each(['email', 'rcs', 'in_app', 'web-hook', 'a', 'a'.repeat(32), 'a'.repeat(33), 'Email', '1sms', '', 'in app', 'sms\n', 'ünï'])('the channel pattern and isChannel agree on %j', (channel) => {
    expect(channelPattern.test(channel)).toBe(isChannel(channel));
  });

  const phones = [
    '+15555555555',
    '15555555555',
    '+1 (555) 010-0100',
    '0044 20 7946 0958',
    '00 44 20 7946 0958',
    '+44.20.7946.0958',
    ' +49 30 901820 ',
    '+12345678',
    '+123456789012345',
    '',
    '+',
    '+1234567',
    '+1234567890123456',
    '+0123456789',
    '0123456789',
    '000123456789',
    '+001555555555',
    '00+15555555555',
    '+1555CALLNOW',
    '1+5555555555',
    '++15555555555',
    '+1/555/555/5555',
    '+١٥٥٥٥٥٥٥٥٥٥',
  ];
  it.each(phones)('the phone pattern and toE164 agree on %j', (phone) => {
    expect(phonePattern.test(phone)).toBe(toE164(phone).ok);
  });

  const base64 = [
    '',
    'YQ==',
    'YWI=',
    'YWJj',
    '+/+/',
    'JVBERi0xLjQK',
    'YQ',
    'YWJ',
    'Y===',
    '====',
    'YQ=A',
    '=YQA',
    'YQ==YQ==',
    'YW\nJj',
    'YW Jj',
    'YW-_',
    'YWJj\n',
    'YWJj\r\nYWJj',
    'YWJj\rYWJj',
    'YWJj\n\nYWJj',
    'YWJj\r\n',
    '\n',
    'YQ==\n',
    'YQ\nYQ==',
  ];
  it.each(base64)('the base64 pattern and the validator agree on %j', (bytes) => {
    expect(base64Pattern.test(bytes)).toBe(isBase64(bytes));
  });

  it('agree with the validator on random strings (seeded)', () => {
    const next = randomSource(2024);
    const randomString = (alphabet: readonly string[], longest: number): string => Array.from({ length: Math.floor(next() * (longest + 1)) }, () => pick(next, alphabet)).join('');
    let phonesAccepted = 0;
    let emailsAccepted = 0;
    let base64Accepted = 0;
    for (let round = 0; round < 5_000; round++) {
      const phone = pick(next, ['', '+', '00', '0', '0 0', '++', ' +', '+0']) + randomString(['0', '1', '2', '4', '5', '7', '9', ' ', '-', '(', ')', '.', '\u00a0'], 20) + pick(next, ['', '', '', '', '', 'a', '/', '+', '\t']);
      expect(phonePattern.test(phone), JSON.stringify(phone)).toBe(toE164(phone).ok);
      if (toE164(phone).ok) phonesAccepted++;
      const email =
        pick(next, ['', '', ' ', '\t']) +
        randomString(['a', 'B', 'é', '.', '-', '+'], 5) +
        pick(next, ['', '', '', ' ', '<', '"']) +
        pick(next, ['@', '@', '@', '', '@@']) +
        randomString(['a', 'b', 'ü', '-'], 4) +
        pick(next, ['.', '.', '..', '', '.a.']) +
        randomString(['a', 'b', 'ü', '-'], 4) +
        pick(next, ['', '', '', '.', ' ', '\n', '[', '@', ',']);
      expect(addressListPattern.test(email), JSON.stringify(email)).toBe(addressesIn(email) !== undefined);
      expect(mailboxPattern.test(email), JSON.stringify(email)).toBe(isMailbox(email));
      if (isMailbox(email)) emailsAccepted++;
      const bytes = randomString(['A', 'z', '0', '+', '/', '=', '=', '-', '_', '\n', '\r\n', '\r'], 12);
      expect(base64Pattern.test(bytes), JSON.stringify(bytes)).toBe(isBase64(bytes));
      if (isBase64(bytes)) base64Accepted++;
    }
    // Both outcomes must really occur, or the comparison proves little.
    for (const [name, accepted] of Object.entries({ phonesAccepted, emailsAccepted, base64Accepted })) {
      expect(accepted, name).toBeGreaterThan(250);
      expect(accepted, name).toBeLessThan(4_750);
    }
  });
});

describe('messageJsonSchema agrees with validateMessage', () => {
  it('accepts every sample message and every fixture message', () => {
    for (const message of sampleMessages({ count: 32, seed: 4 })) expect(schemaAccepts(message)).toBe(true);
    for (const channel of everyChannel) {
      expect(schemaAccepts(minimalMessage(channel))).toBe(true);
      expect(schemaAccepts(fullMessage(channel))).toBe(true);
    }
  });

  const invalidMessages: [string, MessageInput | unknown][] = [
    ['not an object', []],
    ['null', null],
    ['a string', 'message'],
    ['empty', {}],
    ['version 2', { ...minimalMessage('sms'), version: 2 }],
    ['a channel that is not a channel name', { ...minimalMessage('sms'), channel: 'Fax' }],
    ['a custom channel without to', { ...minimalMessage('sms'), channel: 'rcs', to: undefined }],
    ['a custom channel with an empty to', { ...minimalMessage('sms'), channel: 'rcs', to: '' }],
    ['a null message_id', { ...minimalMessage('sms'), message_id: null }],
    ['a null to', { ...minimalMessage('email'), to: null }],
    ['an empty to list', { ...minimalMessage('email'), to: [] }],
    ['a to list with a bad address', { ...minimalMessage('email'), to: ['a@example.com', 'nope'] }],
    ['a from_address with two addresses', { ...minimalMessage('email'), from_address: 'a@example.com, b@example.com' }],
    ['a header holding an object', { ...minimalMessage('email'), headers: { 'X-Foo': { a: 1 } } }],
    ['a whatsapp body that is a list', { ...minimalMessage('whatsapp'), body: ['Hi'] }],
    ['sent_at in seconds', { ...minimalMessage('sms'), sent_at: 1_722_443_282 }],
    ['fractional sent_at', { ...minimalMessage('sms'), sent_at: 1_722_443_282_680.5 }],
    ['sms with a bad phone', { ...minimalMessage('sms'), to: '+0123' }],
    ['email with a bad address', { ...minimalMessage('email'), to: 'not-an-email' }],
    ['email with bad attachment bytes', { ...minimalMessage('email'), attachments: [{ file_name: 'a', bytes: 'Y' }] }],
    ['email with a header that is a boolean', { ...minimalMessage('email'), headers: { 'X-Foo': true } }],
    ['push with an array payload', { ...minimalMessage('push'), payload: [] }],
    ['a campaign_id that is a boolean', { ...minimalMessage('push'), campaign_id: true }],
    ['a message_id too long', { ...minimalMessage('push'), message_id: '😀'.repeat(513) }],
  ];
  it.each(invalidMessages)('rejects %s, as the validator does', (_name, input) => {
    const json: unknown = input === undefined ? undefined : JSON.parse(JSON.stringify(input));
    expect(validatorAccepts(json)).toBe(false);
    expect(schemaAccepts(json)).toBe(false);
  });

  it.each(everyChannel)('gives the same verdict as the validator for every %s field set to every probe value', (channel) => {
    const fields = [...Object.keys(baseFieldRules), ...Object.keys(channelFieldRules[channel].fields)];
    let rejected = 0;
    for (const field of fields) {
      for (const probe of probes) {
        for (const base of [minimalMessage(channel), fullMessage(channel)]) {
          const message = { ...base, [field]: probe };
          const verdict = validatorAccepts(message);
          expect(schemaAccepts(message), `${channel}.${field} = ${JSON.stringify(probe)}`).toBe(verdict);
          if (!verdict) rejected++;
        }
      }
    }
    expect(rejected).toBeGreaterThan(fields.length * probes.length * 0.5);
  });

  it('gives the same verdict for every attachment field set to every probe value', () => {
    for (const field of [...Object.keys(attachmentFieldRules), 'other']) {
      for (const probe of probes) {
        const message = { ...minimalMessage('email'), attachments: [{ file_name: 'a.pdf', bytes: 'YQ==', [field]: probe }] };
        expect(schemaAccepts(message), `attachments[0].${field} = ${JSON.stringify(probe)}`).toBe(validatorAccepts(message));
      }
    }
  });

  it('gives the same verdict when fields are removed or several are changed at random (seeded)', () => {
    const samples = sampleMessages({ count: 16, seed: 8 });
    let rejected = 0;
    for (let seed = 1; seed <= 3_000; seed++) {
      const next = randomSource(seed);
      const message: Record<string, unknown> = structuredClone(pick(next, samples));
      const fields = [...Object.keys(baseFieldRules), 'to', ...channels.flatMap((channel) => Object.keys(channelFieldRules[channel].fields))];
      for (let changes = 1 + Math.floor(next() * 3); changes > 0; changes--) {
        const field = pick(next, fields);
        if (next() < 0.25) delete message[field];
        else message[field] = pick(next, probes);
      }
      const verdict = validatorAccepts(message);
      if (!verdict) rejected++;
      expect(schemaAccepts(message), `seed ${seed}`).toBe(verdict);
    }
    expect(rejected).toBeGreaterThan(300);
    expect(rejected).toBeLessThan(2_700);
  });
});
