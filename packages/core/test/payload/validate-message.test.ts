import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { maxMessageDepth, maxValidationIssues, sampleMessages, serializeJson, validateMessage, type KnownChannel, type ValidationIssue } from '../../src/payload/index.js';
import { maxSentAt, minSentAt } from '../../src/payload/message-fields.js';
import { decodeUtf8, documentedSentAt, everyChannel, fullMessage, minimalMessage, nest, nestArray, type MessageInput } from './fixtures.js';

function issuesOf(input: unknown): ValidationIssue[] {
  const result = validateMessage(input);
  if (result.ok) throw new Error('expected the message to be rejected, but it was accepted');
  return result.issues;
}

/** Asserts that `input` is rejected with exactly one issue, at `path`, whose problem matches `problem`. */
function expectOnlyIssue(input: unknown, path: string, problem: RegExp | string): void {
  const issues = issuesOf(input);
  expect(issues).toHaveLength(1);
  expect(issues[0]!.path).toBe(path);
  if (typeof problem === 'string') expect(issues[0]!.problem).toBe(problem);
  else expect(issues[0]!.problem).toMatch(problem);
}

function withField(channel: KnownChannel, field: string, value: unknown): MessageInput {
  return { ...minimalMessage(channel), [field]: value };
}

function without(message: MessageInput, ...fields: string[]): MessageInput {
  const copy = { ...message };
  for (const field of fields) delete copy[field];
  return copy;
}

describe('validateMessage accepts valid messages', () => {
  it.each(everyChannel)('a minimal %s message comes back deep-equal, as a copy', (channel) => {
    const input = minimalMessage(channel);
    const result = validateMessage(input);
    expect(result).toEqual({ ok: true, message: input });
    if (!result.ok) return;
    expect(result.message).not.toBe(input);
  });

  it.each(everyChannel)('a %s message with every documented field (and unknown ones) comes back deep-equal', (channel) => {
    const input = fullMessage(channel);
    const result = validateMessage(input);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.message).toEqual(input);
    expect(result.message['dispatch_id']).toBe('unknown-top-level-field');
  });

  it.each(everyChannel)('the %s copy is deep: mutating the input afterwards changes nothing', (channel) => {
    const input = fullMessage(channel);
    const snapshot = structuredClone(input);
    const result = validateMessage(input);
    if (!result.ok) throw new Error('expected a valid message');
    const extras = input['extras'] as { nested: { list: unknown[] }; locale: string };
    extras.locale = 'changed';
    extras.nested.list.push('added');
    (input as { sent_at: number }).sent_at = 0;
    input['added'] = true;
    if (channel === 'email') {
      (input['attachments'] as { bytes: string }[])[0]!.bytes = 'changed';
      (input['headers'] as Record<string, string>)['X-Campaign'] = 'changed';
      (input['cc'] as string[]).length = 0;
    }
    if (channel === 'push') (input['payload'] as { aps: { badge: number } }).aps.badge = 99;
    expect(result.message).toEqual(snapshot);
    expect(result.message['extras']).not.toBe(input['extras']);
  });

  it('mutating the result does not change the input either', () => {
    const input = fullMessage('push');
    const result = validateMessage(input);
    if (!result.ok) throw new Error('expected a valid message');
    (result.message['extras'] as { locale: string }).locale = 'changed';
    expect((input['extras'] as { locale: string }).locale).toBe('en-US');
  });

  it('every sample message passes and comes back deep-equal', () => {
    for (const message of sampleMessages({ count: 16, seed: 7 })) {
      const result = validateMessage(message);
      expect(result).toEqual({ ok: true, message });
    }
  });

  it('keeps unknown fields at the top level and nested, with their values untouched', () => {
    const input = {
      ...fullMessage('email'),
      vendor_specific: { a: [1, { b: null }], 'odd key': '  spaced  ' },
      attachments: [{ file_name: 'a.txt', bytes: 'YQ==', disposition: 'inline', cid: 'logo' }],
      extras: { deep: { deeper: { deepest: ['x'] } } },
    };
    const result = validateMessage(input);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.message['vendor_specific']).toEqual({ a: [1, { b: null }], 'odd key': '  spaced  ' });
    expect(result.message).toEqual(input);
  });

  it('treats properties holding undefined as absent, as JSON.stringify does', () => {
    const result = validateMessage({ ...minimalMessage('sms'), campaign_id: undefined, extra: undefined });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.hasOwn(result.message, 'campaign_id')).toBe(false);
    expect(Object.hasOwn(result.message, 'extra')).toBe(false);
    expectOnlyIssue({ ...minimalMessage('sms'), to: undefined }, 'to', 'is required');
  });

  it('keeps a __proto__ key from JSON.parse as an own data field, without touching prototypes', () => {
    const json =
      '{"version":1,"channel":"sms","message_id":"m","project_id":"p","sent_at":1722443282680,"to":"+15555555555","body":"b",' +
      '"__proto__":{"polluted":"top"},"extras":{"__proto__":{"polluted":"nested"},"list":[{"__proto__":{"polluted":"item"}}]}}';
    const input: unknown = JSON.parse(json);
    const result = validateMessage(input);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const message = result.message as Record<string, unknown>;
    expect(Object.hasOwn(message, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(message)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(message, '__proto__')).toMatchObject({ value: { polluted: 'top' }, enumerable: true });
    const extras = message['extras'] as Record<string, unknown>;
    expect(Object.getPrototypeOf(extras)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(extras, '__proto__')?.value).toEqual({ polluted: 'nested' });
    expect((message as { polluted?: unknown }).polluted).toBeUndefined();
    expect((extras as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    // The copy serializes back to the same data, __proto__ keys included.
    expect(JSON.parse(decodeUtf8(serializeJson(message)))).toEqual(input);
    expect(decodeUtf8(serializeJson(message))).toContain('"__proto__":{"polluted":"top"}');
  });

  it('accepts null-prototype objects and objects from another realm', () => {
    const nullPrototype = Object.assign(Object.create(null) as Record<string, unknown>, minimalMessage('sms'));
    nullPrototype['extras'] = Object.assign(Object.create(null) as object, { a: 1 });
    const fromNull = validateMessage(nullPrototype);
    expect(fromNull.ok).toBe(true);
    if (fromNull.ok) expect(JSON.parse(JSON.stringify(fromNull.message))).toEqual(JSON.parse(JSON.stringify(nullPrototype)));

    const otherRealm: unknown = vm.runInNewContext(`(${JSON.stringify(fullMessage('push'))})`);
    const fromRealm = validateMessage(otherRealm);
    expect(fromRealm.ok).toBe(true);
    if (fromRealm.ok) expect(Object.getPrototypeOf(fromRealm.message)).toBe(Object.prototype);
  });

  it('accepts the same object referenced twice (shared, not circular)', () => {
    const shared = { a: [1, 2] };
    const result = validateMessage({ ...minimalMessage('sms'), extras: { first: shared, second: shared, list: [shared, shared] } });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.message['extras']).toEqual({ first: shared, second: shared, list: [shared, shared] });
  });

  it('accepts an email with any one of its three bodies, even an empty one', () => {
    const bare = without(minimalMessage('email'), 'html_body');
    for (const body of ['html_body', 'plaintext_body', 'amp_body']) {
      expect(validateMessage({ ...bare, [body]: 'x' }).ok).toBe(true);
      expect(validateMessage({ ...bare, [body]: '' }).ok).toBe(true);
    }
  });

  it('accepts a WhatsApp message with only a body or only a template name', () => {
    const bare = without(minimalMessage('whatsapp'), 'body');
    expect(validateMessage({ ...bare, body: 'Hi' }).ok).toBe(true);
    expect(validateMessage({ ...bare, template_name: 'order_shipped', template_params: { name: 'Ana' } }).ok).toBe(true);
  });

  it('accepts ids as strings or numbers (CleverTap sends numbers), kept exactly', () => {
    const input = { ...minimalMessage('email'), campaign_id: 1722529032, user_id: '45142169', journey_id: 2450, journey_node_id: 0 };
    expect(validateMessage(input)).toEqual({ ok: true, message: input });
  });

  it.each(['+15555555555', '15555555555', '+1 (555) 010-0100', '0044 20 7946 0958', '+44.20.7946.0958', '+12345678', '+123456789012345'])('accepts the phone number %j, kept as received', (to) => {
    expect(validateMessage(withField('sms', 'to', to))).toEqual({ ok: true, message: withField('sms', 'to', to) });
    expect(validateMessage(withField('whatsapp', 'to', to)).ok).toBe(true);
  });

  it.each(['customer@example.com', 'Ana.Garcia@Example.com', ' padded@example.com ', 'a+tag@sub.example.co.uk', 'ünïcode@exämple.de'])('accepts the email address %j, kept as received (no trimming)', (to) => {
    expect(validateMessage(withField('email', 'to', to))).toEqual({ ok: true, message: withField('email', 'to', to) });
  });

  it('accepts sent_at from its smallest to its largest value', () => {
    expect(validateMessage(withField('sms', 'sent_at', minSentAt)).ok).toBe(true);
    expect(validateMessage(withField('sms', 'sent_at', maxSentAt)).ok).toBe(true);
    expect(validateMessage(withField('sms', 'sent_at', Date.now())).ok).toBe(true);
  });

  it('accepts a message_id of 512 code points, even when that is 1024 UTF-16 code units', () => {
    expect(validateMessage(withField('sms', 'message_id', 'x'.repeat(512))).ok).toBe(true);
    expect(validateMessage(withField('sms', 'message_id', '😀'.repeat(512))).ok).toBe(true);
  });

  it(`accepts nesting of exactly ${maxMessageDepth} levels, counting the message as level 1`, () => {
    expect(validateMessage(withField('sms', 'extras', nest(maxMessageDepth - 1))).ok).toBe(true);
    expect(validateMessage(withField('push', 'payload', { list: nestArray(maxMessageDepth - 2) })).ok).toBe(true);
  });

  it('keeps strings byte-for-byte: no trimming, no Unicode normalization', () => {
    const text = '  e\u0301 (not NFC) \r\n\u2028 </script> 😀\t ';
    const result = validateMessage({ ...minimalMessage('sms'), body: text, extras: { [text]: text } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.message['body']).toBe(text);
    expect(Object.keys(result.message['extras'] as object)).toEqual([text]);
  });
});

describe('validateMessage rejects invalid messages, naming the field and the problem', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['an array', [minimalMessage('sms')]],
    ['a string', JSON.stringify(minimalMessage('sms'))],
    ['a number', 1],
    ['a Date', new Date()],
    ['a Map', new Map(Object.entries(minimalMessage('sms')))],
    ['a class instance', new (class Message {})()],
    ['a function', () => minimalMessage('sms')],
  ])('rejects %s as the message itself', (_name, input) => {
    expectOnlyIssue(input, '', 'the message must be a JSON object');
  });

  it('reports every missing base field of an empty object', () => {
    expect(issuesOf({})).toEqual(['version', 'channel', 'message_id', 'project_id', 'sent_at', 'to'].map((path) => ({ path, problem: 'is required' })));
  });

  it.each(everyChannel)('requires each base field of a %s message', (channel) => {
    for (const field of ['version', 'channel', 'message_id', 'project_id', 'sent_at', 'to']) {
      const issues = issuesOf(without(minimalMessage(channel), field));
      expect(issues).toContainEqual({ path: field, problem: 'is required' });
    }
  });

  it('requires nothing beyond the base fields: content fields are optional on every channel', () => {
    expect(validateMessage(without(minimalMessage('sms'), 'body')).ok).toBe(true);
    expect(validateMessage(without(minimalMessage('push'), 'platform', 'payload')).ok).toBe(true);
    expect(validateMessage(without(minimalMessage('email'), 'html_body')).ok).toBe(true);
    expect(validateMessage(without(minimalMessage('whatsapp'), 'body')).ok).toBe(true);
  });

  it.each([2, 0, '1', true, 1.5])('rejects version %j', (version) => {
    expectOnlyIssue(withField('sms', 'version', version), 'version', 'must be 1 (the only payload format version)');
  });

  it('rejects a null required field as missing, saying it is null', () => {
    for (const field of ['version', 'channel', 'message_id', 'project_id', 'sent_at', 'to']) {
      expectOnlyIssue(withField('sms', field, null), field, 'is required (it is null)');
    }
  });

  it.each(['Email', 'SMS', '', 'in app', '1rcs', 'x'.repeat(33), 5, ['sms']])('rejects the channel %j, which is not a channel name, and then checks to generically', (channel) => {
    expectOnlyIssue(withField('sms', 'channel', channel), 'channel', typeof channel === 'string' ? /^must be email, sms, push, whatsapp, or a channel name/ : /^must be a string/);
    expect(issuesOf({ ...withField('sms', 'channel', channel), to: 5 }).map((issue) => issue.path)).toEqual(['channel', 'to']);
  });

  it('spots sent_at in epoch seconds and says so', () => {
    expectOnlyIssue(withField('sms', 'sent_at', 1_722_443_282), 'sent_at', 'must be epoch milliseconds; this looks like epoch seconds (multiply by 1000)');
    expectOnlyIssue(withField('sms', 'sent_at', minSentAt - 1), 'sent_at', /looks like epoch seconds/);
    expectOnlyIssue(withField('sms', 'sent_at', 0), 'sent_at', /looks like epoch seconds/);
  });

  it.each([
    [1_722_443_282.68, /whole number/],
    [documentedSentAt + 0.5, /whole number/],
    [-1, /must not be negative/],
    [-documentedSentAt, /must not be negative/],
    [maxSentAt + 1, /before the year 10000/],
    [Number.MAX_SAFE_INTEGER, /before the year 10000/],
    ['1722443282680', 'must be a number of epoch milliseconds'],
    [true, 'must be a number of epoch milliseconds'],
  ])('rejects sent_at %j', (sentAt, problem) => {
    expectOnlyIssue(withField('sms', 'sent_at', sentAt), 'sent_at', problem);
  });

  it.each([
    ['message_id', true, 'must be a string or a number'],
    ['message_id', '', 'must not be empty'],
    ['message_id', 'x'.repeat(513), 'must be at most 512 characters'],
    ['message_id', '😀'.repeat(513), 'must be at most 512 characters'],
    ['project_id', '', 'must not be empty'],
    ['project_id', ['acme'], 'must be a string or a number'],
    ['campaign_id', true, 'must be a string or a number'],
    ['user_id', { id: 1 }, 'must be a string or a number'],
    ['journey_id', [2450], 'must be a string or a number'],
    ['journey_node_id', false, 'must be a string or a number'],
    ['campaign_name', 5, 'must be a string'],
    ['journey_name', 5, 'must be a string'],
    ['canvas_id', false, 'must be a string or a number'],
    ['canvas_step_id', [5], 'must be a string or a number'],
    ['canvas_variation_id', {}, 'must be a string or a number'],
    ['message_variation_id', {}, 'must be a string or a number'],
    ['extras', [], 'must be a JSON object'],
    ['extras', 'x', 'must be a JSON object'],
  ])('rejects %s = %j', (field, value, problem) => {
    for (const channel of everyChannel) expectOnlyIssue(withField(channel, field, value), field, problem);
  });

  it.each([
    ['from_name', 5, 'must be a string'],
    ['reply_to', 5, 'must be a string or an array of strings'],
    ['subject', ['s'], 'must be a string'],
    ['html_body', 5, 'must be a string'],
    ['plaintext_body', {}, 'must be a string'],
    ['amp_body', true, 'must be a string'],
    ['cc', 5, 'must be a string or an array of strings'],
    ['bcc', { 0: 'a@example.com' }, 'must be a string or an array of strings'],
    ['headers', [], 'must be an object mapping header names to values, or the headers as one string'],
    ['headers', 5, 'must be an object mapping header names to values, or the headers as one string'],
    ['attachments', {}, 'must be an array of attachments'],
    ['attachments', 'x', 'must be an array of attachments'],
  ])('rejects the email field %s = %j', (field, value, problem) => {
    expectOnlyIssue(withField('email', field, value), field, problem);
  });

  it.each([
    ['sms', 'body', 5, 'must be a string'],
    ['sms', 'provider', 5, 'must be a string'],
    ['sms', 'media_urls', 5, 'must be a string or an array of strings'],
    ['sms', 'subscription_group', 5, 'must be a string'],
    ['push', 'to', '', 'must not be empty'],
    ['push', 'to', 5, 'must be a string or an array of strings'],
    ['push', 'to', [], 'must not be an empty array (give at least one recipient)'],
    ['push', 'platform', 5, 'must be a string'],
    ['push', 'app_id', 5, 'must be a string'],
    ['push', 'payload', '{"aps":{}}', 'must be a JSON object'],
    ['push', 'payload', [], 'must be a JSON object'],
    ['whatsapp', 'template_name', 5, 'must be a string'],
    ['whatsapp', 'template_params', 'Ana', 'must be an array or an object'],
    ['whatsapp', 'body', ['Hi'], 'must be a string or a JSON object'],
    ['whatsapp', 'media_urls', {}, 'must be a string or an array of strings'],
  ] as const)('rejects the %s field %s = %j', (channel, field, value, problem) => {
    expectOnlyIssue(withField(channel, field, value), field, problem);
  });

  it('names the item of a string list that is not a string', () => {
    expectOnlyIssue(withField('email', 'cc', ['a@example.com', 5]), 'cc[1]', 'must be a string');
    expect(issuesOf(withField('sms', 'media_urls', [null, 'x', {}]))).toEqual([
      { path: 'media_urls[0]', problem: 'must be a string' },
      { path: 'media_urls[2]', problem: 'must be a string' },
    ]);
  });

  it.each(['not-an-email', 'a@b', 'a@@example.com', 'Ana <ana@example>', 'a b@example.com', '', '@example.com', 'a@example..com', 'a@.example.com', 'a@example.com.', 'a@example.com,', 'j@x.com (Jane)'])(
    'rejects the email address %j in to and from_address',
    (address) => {
      expectOnlyIssue(withField('email', 'to', address), 'to', /^must be an email address, optionally with a display name/);
      expectOnlyIssue(withField('email', 'from_address', address), 'from_address', /^must be one email address, optionally with a display name/);
    },
  );

  it('rejects an email recipient that is not a string, naming the list item', () => {
    expectOnlyIssue(withField('email', 'to', 5), 'to', 'must be a string or an array of strings');
    expectOnlyIssue(withField('email', 'to', ['a@example.com', 5]), 'to[1]', 'must be a string');
    expectOnlyIssue(withField('email', 'to', ['a@example.com', 'nope']), 'to[1]', /^must be an email address/);
  });

  it.each([
    ['too short', '+1555010', /8 to 15 digits/],
    ['empty', '', /8 to 15 digits/],
    ['too long', '+1234567890123456', /8 to 15 digits/],
    ['starting with 0 after +', '+0123456789', /must start with a country code/],
    ['starting with 0 (a national number)', '0123456789', /must start with a country code/],
    ['starting with 000', '000123456789', /must start with a country code/],
    ['with letters', '+1555CALLNOW', /digits with an optional leading \+ or 00/],
    ['with an extension', '+15555555555 ext 12', /digits with an optional leading \+ or 00/],
    ['with a + in the middle', '1+5555555555', /digits with an optional leading \+ or 00/],
    ['with two +', '++15555555555', /digits with an optional leading \+ or 00/],
    ['an email address', 'customer@example.com', /digits with an optional leading \+ or 00/],
  ])('rejects a phone number %s', (_name, to, problem) => {
    expectOnlyIssue(withField('sms', 'to', to), 'to', problem);
    expectOnlyIssue(withField('whatsapp', 'to', to), 'to', problem);
  });

  it('rejects a phone number that is not a string', () => {
    expectOnlyIssue(withField('sms', 'to', 15555555555), 'to', 'must be a string or an array of strings');
    expectOnlyIssue(withField('sms', 'to', ['+15555555555', '+0123456789']), 'to[1]', /must start with a country code/);
  });

  describe('attachments', () => {
    const good = { file_name: 'a.pdf', content_type: 'application/pdf', bytes: 'JVBERi0xLjQK' };
    const email = (attachments: unknown): MessageInput => withField('email', 'attachments', attachments);

    it('requires no field of an attachment: one without a name or bytes is stored as received', () => {
      expect(validateMessage(email([{}])).ok).toBe(true);
      expect(validateMessage(email([good, { file_name: 'b.txt' }])).ok).toBe(true);
    });

    it.each(['not base64!', 'AAAAA', 'AA=A', 'A===', 'AAA\nAAAAA', 'AAAA AAAA', 'AAAA\rAAAA', 'AAAA\n\nAAAA', '\nAAAA', '=AAA', 'YQ==YQ=='])('rejects non-base64 bytes %j with the path attachments[1].bytes', (bytes) => {
      expectOnlyIssue(email([good, { ...good, bytes }]), 'attachments[1].bytes', /^must be base64/);
    });

    it.each(['', 'YQ==', 'YWI=', 'YWJj', 'JVBERi0xLjQK', '+/+/', 'AAA', 'YQ', 'AA-_', 'QUJD\r\n', 'AAAA\nAAAA', 'QUJD\r\nQUJD\r\nQQ=='])('accepts the base64 bytes %j', (bytes) => {
      expect(validateMessage(email([{ ...good, bytes }])).ok).toBe(true);
    });

    it('checks the types of an attachment’s fields, documented and nodemailer names alike', () => {
      expect(issuesOf(email([{ file_name: 5, bytes: 5, content_type: 5, filename: [], contentType: {}, content: 1 }]))).toEqual([
        { path: 'attachments[0].file_name', problem: 'must be a string' },
        { path: 'attachments[0].content_type', problem: 'must be a string' },
        { path: 'attachments[0].bytes', problem: 'must be a string' },
        { path: 'attachments[0].filename', problem: 'must be a string' },
        { path: 'attachments[0].contentType', problem: 'must be a string' },
        { path: 'attachments[0].content', problem: 'must be a string' },
      ]);
    });

    it('rejects an attachment that is not an object', () => {
      expectOnlyIssue(email([good, 'file.pdf']), 'attachments[1]', /^must be an object/);
      expectOnlyIssue(email([[good]]), 'attachments[0]', /^must be an object/);
      expectOnlyIssue(email([null]), 'attachments[0]', /^must be an object/);
    });
  });

  describe('headers', () => {
    it('names the header whose value is not a string, a number or a list of them, quoting names that are not identifiers', () => {
      const problem = 'must be a string, a number or an array of them';
      expectOnlyIssue(withField('email', 'headers', { 'X-Foo': true }), 'headers.X-Foo', problem);
      expectOnlyIssue(withField('email', 'headers', { 'X Foo': [{}] }), 'headers["X Foo"][0]', 'must be a string or a number');
      expectOnlyIssue(withField('email', 'headers', { '1st': {} }), 'headers["1st"]', problem);
      expectOnlyIssue(withField('email', 'headers', { 'a"b': {} }), 'headers["a\\"b"]', problem);
      expectOnlyIssue(withField('email', 'headers', { '': false }), 'headers[""]', problem);
    });

    it('cuts very long key names in paths', () => {
      const key = 'k'.repeat(100);
      expectOnlyIssue(withField('email', 'headers', { [key]: true }), `headers["${'k'.repeat(64)}…"]`, 'must be a string, a number or an array of them');
    });
  });

  describe('values that are not JSON', () => {
    it.each([
      ['a lone high surrogate in a string', { subject: 'a\uD800b' }, 'subject', /well-formed Unicode/],
      ['a lone low surrogate in a nested string', { extras: { list: ['ok', '\uDC00'] } }, 'extras.list[1]', /well-formed Unicode/],
      ['NaN', { extras: { n: Number.NaN } }, 'extras.n', /finite number/],
      ['Infinity', { extras: { n: [Number.POSITIVE_INFINITY] } }, 'extras.n[0]', /finite number/],
      ['-Infinity as sent_at', { sent_at: Number.NEGATIVE_INFINITY }, 'sent_at', /finite number/],
      ['NaN as sent_at', { sent_at: Number.NaN }, 'sent_at', /finite number/],
      ['undefined in an array', { cc: ['a@example.com', undefined] }, 'cc[1]', 'must be a JSON value, not undefined'],
      ['a hole in an array', { cc: ['a@example.com', , 'b@example.com'] }, 'cc[1]', 'must not be a hole in the array'],
      ['a bigint', { extras: { big: 12345678901234567890n } }, 'extras.big', /a bigint is not one/],
      ['a bigint as sent_at', { sent_at: 1722443282680n }, 'sent_at', /a bigint is not one/],
      ['a function', { extras: { f: () => 1 } }, 'extras.f', 'must be a JSON value; a function is not one'],
      ['a symbol', { extras: { s: Symbol('s') } }, 'extras.s', 'must be a JSON value; a symbol is not one'],
      ['a Date', { extras: { when: new Date(0) } }, 'extras.when', /plain object, not an instance such as a Date/],
      ['a Map', { extras: { map: new Map([['a', 1]]) } }, 'extras.map', /plain object/],
      ['a Set', { extras: { set: new Set([1]) } }, 'extras.set', /plain object/],
      ['a Buffer', { attachments: [{ file_name: 'a', bytes: Buffer.from('a') }] }, 'attachments[0].bytes', /plain object/],
      ['a boxed string', { subject: new String('s') }, 'subject', /plain object/],
      ['a class instance', { extras: { x: new (class Point {})() } }, 'extras.x', /plain object/],
    ])('rejects %s', (_name, fields, path, problem) => {
      expectOnlyIssue({ ...minimalMessage('email'), ...fields }, path, problem);
    });

    it('rejects keys that are not well-formed Unicode, at the top level and nested', () => {
      expectOnlyIssue({ ...minimalMessage('sms'), ['bad\uD800']: 1 }, '["bad\\ud800"]', /key that is not well-formed Unicode/);
      expectOnlyIssue({ ...minimalMessage('sms'), extras: { ['\uDC00']: 1 } }, 'extras["\\udc00"]', /key that is not well-formed Unicode/);
      // The issue itself stays well-formed text.
      const issues = issuesOf({ ...minimalMessage('sms'), extras: { ['\uDC00x']: 1 }, body: '\uD800' });
      for (const issue of issues) {
        expect(issue.path.isWellFormed()).toBe(true);
        expect(issue.problem.isWellFormed()).toBe(true);
      }
    });

    it('rejects circular references without looping', () => {
      const message: MessageInput = { ...minimalMessage('sms') };
      message['self'] = message;
      expectOnlyIssue(message, 'self', 'must not contain itself (a circular reference)');

      const extras: Record<string, unknown> = { a: { b: {} } };
      (extras['a'] as { b: Record<string, unknown> }).b['back'] = extras;
      expectOnlyIssue(withField('sms', 'extras', extras), 'extras.a.b.back', /circular reference/);

      const list: unknown[] = [1];
      list.push(list);
      expectOnlyIssue(withField('sms', 'media_urls', list), 'media_urls[1]', /circular reference/);
    });

    it(`rejects nesting deeper than ${maxMessageDepth} levels, once, at the level that is too deep`, () => {
      const issues = issuesOf(withField('sms', 'extras', nest(maxMessageDepth)));
      expect(issues).toEqual([{ path: `extras${'.a'.repeat(maxMessageDepth - 1)}`, problem: `nests too deeply (more than ${maxMessageDepth} levels)` }]);
      expectOnlyIssue(withField('push', 'payload', { list: nestArray(maxMessageDepth - 1) }), `payload.list${'[0]'.repeat(maxMessageDepth - 2)}`, /nests too deeply/);
    });

    it('answers very deep nesting without overflowing the stack', () => {
      const issues = issuesOf(withField('sms', 'extras', nest(200_000)));
      expect(issues).toHaveLength(1);
      expect(issues[0]!.problem).toMatch(/nests too deeply/);
      expect(issuesOf(withField('sms', 'extras', { list: nestArray(200_000) }))).toHaveLength(1);
    });

    it('reports a value that is both not JSON and of the wrong type only once', () => {
      expectOnlyIssue(withField('sms', 'body', 'a\uD800'), 'body', /well-formed Unicode/);
      expectOnlyIssue(withField('email', 'headers', new Map()), 'headers', /plain object/);
    });
  });

  describe('getters and proxies that throw', () => {
    const secret = 'SECRET-getter-7f3a9c';
    const throwing = (): never => {
      throw new Error(secret);
    };

    it('reports a throwing getter on a top-level field at its path, without throwing', () => {
      const input = without(minimalMessage('email'), 'html_body');
      Object.defineProperty(input, 'html_body', { get: throwing, enumerable: true });
      const issues = issuesOf(input);
      // The unreadable body still counts as present: no "must have at least one body" on top.
      expect(issues).toEqual([{ path: 'html_body', problem: 'could not be read (a property getter or proxy trap threw an error)' }]);
    });

    it('reports a proxy whose get trap throws at the path of the property', () => {
      const extras = new Proxy({ a: 1, b: 2 }, { get: throwing });
      expect(issuesOf(withField('sms', 'extras', extras))).toEqual([
        { path: 'extras.a', problem: 'could not be read (a property getter or proxy trap threw an error)' },
        { path: 'extras.b', problem: 'could not be read (a property getter or proxy trap threw an error)' },
      ]);
      const list = new Proxy(['a'], { get: (target, key) => (key === '0' ? throwing() : Reflect.get(target, key)) });
      expectOnlyIssue(withField('sms', 'media_urls', list), 'media_urls[0]', /could not be read/);
    });

    it('reports proxies whose other traps throw at the path of the proxy', () => {
      for (const trap of ['ownKeys', 'getPrototypeOf', 'has'] as const) {
        const target = trap === 'has' ? ['a'] : { a: 1 };
        const proxy = new Proxy(target, { [trap]: throwing });
        expectOnlyIssue(withField('sms', 'extras', { inner: proxy }), 'extras.inner', /could not be read/);
      }
      const revocable = Proxy.revocable({}, {});
      revocable.revoke();
      expectOnlyIssue(withField('sms', 'extras', revocable.proxy), 'extras', /could not be read/);
    });

    it('answers a message that is itself a hostile proxy', () => {
      for (const trap of ['ownKeys', 'getPrototypeOf', 'get', 'getOwnPropertyDescriptor'] as const) {
        const proxy = new Proxy(minimalMessage('sms'), { [trap]: throwing });
        const result = validateMessage(proxy);
        expect(result.ok).toBe(false);
        if (!result.ok) {
          expect(result.issues.length).toBeGreaterThan(0);
          expect(JSON.stringify(result.issues)).not.toContain(secret);
        }
      }
      const revocable = Proxy.revocable(minimalMessage('sms'), {});
      revocable.revoke();
      expect(() => validateMessage(revocable.proxy)).not.toThrow();
      expect(validateMessage(revocable.proxy).ok).toBe(false);
    });

    it('reads each property once, so a getter cannot pass the check and then change', () => {
      let reads = 0;
      const input = without(minimalMessage('sms'), 'body');
      Object.defineProperty(input, 'body', {
        get: () => (++reads === 1 ? 'valid text' : 5),
        enumerable: true,
      });
      const result = validateMessage(input);
      expect(reads).toBe(1);
      expect(result.ok && result.message['body']).toBe('valid text');
    });
  });

  describe('the issue limit', () => {
    const nanExtras = (count: number): MessageInput => withField('sms', 'extras', Object.fromEntries(Array.from({ length: count }, (_, index) => [`n${index}`, Number.NaN])));

    it(`lists exactly ${maxValidationIssues} problems without a note`, () => {
      const issues = issuesOf(nanExtras(maxValidationIssues));
      expect(issues).toHaveLength(maxValidationIssues);
      expect(issues.every((issue) => issue.path.startsWith('extras.n'))).toBe(true);
    });

    it(`caps more than ${maxValidationIssues} problems with a final "more problems" issue`, () => {
      for (const count of [maxValidationIssues + 1, 150, 10_000]) {
        const issues = issuesOf(nanExtras(count));
        expect(issues).toHaveLength(maxValidationIssues + 1);
        expect(issues.slice(0, maxValidationIssues).map((issue) => issue.path)).toEqual(Array.from({ length: maxValidationIssues }, (_, index) => `extras.n${index}`));
        expect(issues.at(-1)).toEqual({ path: '', problem: `more problems were found; only the first ${maxValidationIssues} are listed` });
      }
    });

    it('stops early on a huge invalid array', () => {
      const started = performance.now();
      const issues = issuesOf(
        withField(
          'sms',
          'media_urls',
          Array.from({ length: 1_000_000 }, () => undefined),
        ),
      );
      expect(issues).toHaveLength(maxValidationIssues + 1);
      expect(performance.now() - started).toBeLessThan(2_000);
    });
  });

  it('reports problems of several fields together, in a stable order', () => {
    const issues = issuesOf({ version: 2, channel: 'sms', message_id: '', sent_at: 1_722_443_282, to: '+0', body: 5 });
    expect(issues.map((issue) => issue.path)).toEqual(['version', 'message_id', 'project_id', 'sent_at', 'to', 'body']);
  });
});
