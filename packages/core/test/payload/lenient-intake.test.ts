// Issue #15, lenient intake at the validator: what real senders emit is accepted and kept exactly,
// the published JSON Schema agrees, and what cannot be archived is still refused by field.
import { describe, expect, it } from 'vitest';
import { messageRecipient, messageRecipients, normalizeRecipient } from '../../src/key-layout/index.js';
import { identifierText, JsonNumber, messageJsonSchema, parseMessage, parseMessageJson, validateMessage, type Message } from '../../src/payload/index.js';
import { baseFieldRules, baseRequiredFields, channelFieldRules } from '../../src/payload/message-fields.js';
import { everyChannel, fullMessage, minimalMessage } from './fixtures.js';
import { isValid } from './mini-json-schema.js';

const schema = messageJsonSchema as Readonly<Record<string, unknown>>;
const bothAccept = (message: unknown): void => {
  expect(validateMessage(message).ok, JSON.stringify(message).slice(0, 200)).toBe(true);
  expect(isValid(schema, schema, message), JSON.stringify(message).slice(0, 200)).toBe(true);
};
const bothRefuse = (message: unknown, path: string): void => {
  const result = validateMessage(message);
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.issues.map((issue) => issue.path)).toContain(path);
  expect(isValid(schema, schema, message)).toBe(false);
};

describe('null in an optional field counts as absent and is kept as sent', () => {
  it.each(everyChannel)('every optional %s field may be null, alone or all at once', (channel) => {
    const optional = [...Object.keys(baseFieldRules), ...Object.keys(channelFieldRules[channel].fields)].filter((field) => !baseRequiredFields.includes(field));
    const allNull = { ...fullMessage(channel), ...Object.fromEntries(optional.map((field) => [field, null])) };
    bothAccept(allNull);
    expect(parseMessage(allNull)).toEqual(allNull);
    for (const field of optional) bothAccept({ ...fullMessage(channel), [field]: null });
  });

  it('a null required field is refused as missing', () => {
    for (const field of baseRequiredFields) bothRefuse({ ...minimalMessage('email'), [field]: null }, field);
  });

  it('null inside an attachment or a header is absent too', () => {
    bothAccept({ ...minimalMessage('email'), attachments: [{ file_name: null, content_type: null, bytes: null }], headers: { 'X-Null': null } });
  });
});

describe('addresses as real senders write them', () => {
  const email = (fields: Record<string, unknown>) => ({ ...minimalMessage('email'), ...fields });

  it.each([
    'Jane Doe <jane@example.com>',
    '"Doe, Jane" <jane@example.com>',
    'Doe, Jane <jane@example.com>',
    '<jane@example.com>',
    '=?UTF-8?Q?J=C3=A9r=C3=B4me?= <jerome@example.com>',
    'Jérôme <jérôme@exämple.de>',
    'a@example.com, Bob <b@example.com>',
  ])('accepts %j in to, cc and bcc, and as a list', (address) => {
    bothAccept(email({ to: address, cc: address, bcc: [address] }));
    bothAccept(email({ to: [address, 'second@example.com'] }));
  });

  it('accepts a display name in from_address, but only one mailbox there', () => {
    bothAccept(email({ from_address: 'Example Shop <no-reply@example.com>' }));
    bothAccept(email({ from_address: 'Shop, Inc. <no-reply@example.com>' }));
    bothRefuse(email({ from_address: 'a@example.com, b@example.com' }), 'from_address');
  });

  it('keys by the address part, lower-cased, of the first recipient; every recipient is exposed', () => {
    const message = parseMessage(email({ to: ['"Doe, Jane" <Jane.Doe@Example.COM>', 'bob@example.com'], cc: 'Carol <carol@example.com>, jane.doe@example.com', bcc: ['Dan <DAN@example.com>'] }));
    expect(messageRecipient(message)).toBe('jane.doe@example.com');
    expect(messageRecipients(message)).toEqual(['jane.doe@example.com', 'bob@example.com', 'carol@example.com', 'dan@example.com']);
    expect(normalizeRecipient('email', 'a@example.com, b@example.com')).toBe('a@example.com');
    const sms = parseMessage({ ...minimalMessage('sms'), to: ['+1 555 555 5555', '0044 20 7946 0958'] });
    expect(messageRecipients(sms)).toEqual(['+15555555555', '+442079460958']);
  });

  it('refuses what holds no address, naming the list item', () => {
    bothRefuse(email({ to: 'Jane Doe' }), 'to');
    bothRefuse(email({ to: 'Jane <jane@example>' }), 'to');
    bothRefuse(email({ to: ['jane@example.com', 'Bob'] }), 'to[1]');
    bothRefuse(email({ to: [] }), 'to');
    bothRefuse(email({ cc: ['ok@example.com', 'nope'] }), 'cc[1]');
  });

  it('reads a very long address list without exhausting the regular expression engine', () => {
    const many = Array.from({ length: 200_000 }, (_, index) => `Person ${index} <p${index}@example.com>`).join(', ');
    const message = parseMessage(email({ to: many }));
    expect(messageRecipients(message)).toHaveLength(200_000);
    expect(validateMessage(email({ to: `${many}, broken` })).ok).toBe(false);
  });
});

describe('ids, headers, bodies and attachments as vendors and nodemailer send them', () => {
  it('takes numeric ids and keys them by their text', () => {
    const message = parseMessageJson(JSON.stringify({ ...minimalMessage('push'), message_id: 57040, project_id: 42, canvas_step_id: 7 }));
    expect(identifierText(message.message_id)).toBe('57040');
    expect(identifierText(message.project_id)).toBe('42');
    const exact = parseMessageJson(JSON.stringify(minimalMessage('push')).replace('"msg-push-1"', '12345678901234567890'));
    expect(JsonNumber.isInstance(exact.message_id)).toBe(true);
    expect(identifierText(exact.message_id)).toBe('12345678901234567890');
  });

  it('takes headers as strings, numbers and lists, and CleverTap’s single string', () => {
    bothAccept({ ...minimalMessage('email'), headers: { Received: ['from a', 'from b'], 'X-Priority': 3, 'X-Mixed': ['a', 1] } });
    bothAccept({ ...minimalMessage('email'), headers: 'X-Priority: 3\r\nX-Campaign: 7\r\n' });
    bothRefuse({ ...minimalMessage('email'), headers: { 'X-Bad': [['nested']] } }, 'headers.X-Bad[0]');
  });

  it('takes CleverTap’s structured WhatsApp body object', () => {
    bothAccept({ ...minimalMessage('whatsapp'), body: { type: 'template', template: { name: 'order_shipped', components: [] } } });
  });

  it('takes nodemailer attachments and base64 in every standard form', () => {
    const bytes = Buffer.from(Array.from({ length: 200 }, (_, index) => index));
    const wrapped = bytes.toString('base64').replace(/.{76}/g, '$&\r\n');
    for (const form of [wrapped, wrapped.replaceAll('\r\n', '\n'), bytes.toString('base64url'), bytes.toString('base64').replace(/=+$/, ''), `${wrapped}\r\n`]) {
      bothAccept({ ...minimalMessage('email'), attachments: [{ file_name: 'a.bin', bytes: form }] });
      expect(Buffer.from(form, 'base64').equals(bytes)).toBe(true);
    }
    bothAccept({ ...minimalMessage('email'), attachments: [{ filename: 'a.bin', contentType: 'application/octet-stream', content: wrapped, encoding: 'base64' }] });
    bothRefuse({ ...minimalMessage('email'), attachments: [{ file_name: 'a.bin', bytes: `${wrapped.slice(0, 10)}\r\n${wrapped.slice(10)}` }] }, 'attachments[0].bytes');
  });

  it('checks a 34 MiB base64 attachment without a regular expression', () => {
    const big = Buffer.alloc(25 * 1024 * 1024, 7)
      .toString('base64')
      .replace(/.{76}/g, '$&\r\n');
    expect(validateMessage({ ...minimalMessage('email'), attachments: [{ file_name: 'big.pdf', bytes: big }] }).ok).toBe(true);
  });
});

describe('channels beyond the known four get the generic rules', () => {
  it('accepts any channel name with a recipient, keeping unknown fields unchecked', () => {
    const rcs = { version: 1, channel: 'rcs', message_id: 'r-1', project_id: 'acme', sent_at: 1_722_443_282_680, to: '+15555555555', body: { rich: true }, html_body: 5 };
    bothAccept(rcs);
    expect((parseMessage(rcs) as Message).channel).toBe('rcs');
    bothAccept({ ...rcs, channel: 'in_app', to: ['user-1', 'user-2'] });
  });

  it('still requires the id, time and a recipient, and a channel name of the safe pattern', () => {
    const rcs = { version: 1, channel: 'rcs', message_id: 'r-1', project_id: 'acme', sent_at: 1_722_443_282_680, to: 'user-1' };
    bothRefuse({ ...rcs, to: '' }, 'to');
    bothRefuse({ ...rcs, to: undefined }, 'to');
    bothRefuse({ ...rcs, sent_at: 1_722_443_282 }, 'sent_at');
    bothRefuse({ ...rcs, message_id: '' }, 'message_id');
    for (const channel of ['RCS', '../x', 'a b', '', 'x'.repeat(33)]) bothRefuse({ ...rcs, channel }, 'channel');
  });
});
