// Guarantee 4: no secret and no raw recipient leaks into error messages. Issues name fields, never values.
import { describe, expect, it } from 'vitest';
import { MessageValidationError, parseMessage, validateMessage, type KnownChannel } from '../../src/payload/index.js';
import { attachmentFieldRules, baseFieldRules, channelFieldRules } from '../../src/payload/message-fields.js';
import { everyChannel, minimalMessage, pick, randomSource, type MessageInput } from './fixtures.js';

/** Values that must never be echoed. Each is distinctive enough that it cannot occur in a problem sentence by chance. */
const markers = ['SECRET-7f3a9c1e', 'secret.person.7f3a@example.org', '+1 555 0109 7319', '15550107319', 'tok_live_7f3a9c1e5b'] as const;

/** Fragments of the markers that must not appear either (a value cut short or reformatted still leaks). */
const fragments = ['7f3a9c', 'secret.person', '7319', 'tok_live'];

/** Invalid shapes a value can take, each carrying the marker somewhere inside. */
const shapes: readonly ((marker: string) => unknown)[] = [
  (marker) => marker,
  (marker) => `${marker}\uD800`,
  (marker) => `\uDC00${marker}`,
  (marker) => [marker],
  (marker) => [marker, 5, { value: marker }],
  (marker) => ({ value: marker }),
  (marker) => ({ value: marker, bad: Number.NaN }),
  (marker) => [marker, undefined],
  (marker) => ({ value: [marker, `${marker}\uDFFF`] }),
  (marker) => marker.repeat(60),
  (marker) => `${marker}@`,
  (marker) => `${marker} <${marker}@example.com>`,
  (marker) => `+1${marker}`,
  (marker) => `00${marker.replace(/\D/g, '')}999999999`,
  (marker) => `0${marker.replace(/\D/g, '')}`,
  (marker) => marker.replace(/\D/g, '').slice(0, 5),
  (marker) => Number(marker.replace(/\D/g, '').slice(0, 10) || '7319'),
  (marker) => Number(`${marker.replace(/\D/g, '').slice(0, 9) || '7319'}.5`),
  (marker) => -Number(marker.replace(/\D/g, '').slice(0, 12) || '7319'),
  (marker) => BigInt(marker.replace(/\D/g, '') || '7319'),
  (marker) => new Date(Number(marker.replace(/\D/g, '').slice(0, 12) || '0')),
  (marker) => new Map([[marker, marker]]),
  (marker) => Buffer.from(marker),
  (marker) => ({ toJSON: () => marker }),
  (marker) => [{ file_name: marker, bytes: `${marker}!` }],
  (marker) => [{ file_name: 5, content_type: [marker], bytes: marker }],
  (marker) => [{ file_name: '', bytes: `${marker}==` }],
  (marker) => [marker, { file_name: { name: marker } }],
  (marker) => ({ 'X-Secret': [marker], 'X-Other': { value: marker } }),
];

function expectNoMarker(input: unknown, marker: string): void {
  const result = validateMessage(input);
  if (result.ok) return;
  const texts = [JSON.stringify(result.issues), new MessageValidationError(result.issues).message];
  try {
    parseMessage(input);
  } catch (error) {
    texts.push(String(error), (error as Error).message);
  }
  for (const text of texts) {
    expect(text).not.toContain(marker);
    for (const fragment of fragments) if (marker.includes(fragment)) expect(text).not.toContain(fragment);
  }
}

/** Every field a rule applies to in `channel`, nested ones included (as paths to set). */
function fieldsOf(channel: KnownChannel): string[][] {
  const fields = [...Object.keys(baseFieldRules), ...Object.keys(channelFieldRules[channel].fields)].map((field) => [field]);
  if (channel === 'email') {
    for (const field of Object.keys(attachmentFieldRules)) fields.push(['attachments', '0', field]);
    fields.push(['headers', 'X-Secret'], ['cc', '0']);
  }
  if (channel === 'push') fields.push(['payload', 'aps', 'alert']);
  fields.push(['extras', 'value'], ['unknown_field']);
  return fields;
}

function messageWith(channel: KnownChannel, path: readonly string[], value: unknown): MessageInput {
  const message = structuredClone(minimalMessage(channel));
  if (channel === 'email') {
    message['attachments'] = [{ file_name: 'a.pdf', content_type: 'application/pdf', bytes: 'YQ==' }];
    message['headers'] = { 'X-Secret': 'header value' };
    message['cc'] = ['a@example.com'];
  }
  message['extras'] = { value: 1 };
  let target: Record<string, unknown> = message;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
  target[path.at(-1)!] = value;
  return message;
}

describe('no issue or error message contains the offending value', () => {
  it.each(everyChannel)('for every field of a %s message, in every invalid shape', (channel) => {
    let rejected = 0;
    for (const path of fieldsOf(channel)) {
      for (const marker of markers) {
        for (const shape of shapes) {
          const input = messageWith(channel, path, shape(marker));
          if (!validateMessage(input).ok) rejected++;
          expectNoMarker(input, marker);
        }
      }
    }
    // The shapes are meant to be invalid: make sure the test really exercised the rejection paths.
    expect(rejected).toBeGreaterThan(fieldsOf(channel).length * markers.length * shapes.length * 0.6);
  });

  it('for random combinations of several invalid fields (seeded, reproducible)', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const next = randomSource(seed);
      const channel = pick(next, everyChannel);
      const marker = pick(next, markers);
      let input = minimalMessage(channel);
      for (let count = 1 + Math.floor(next() * 5); count > 0; count--) {
        const path = pick(next, fieldsOf(channel));
        const merged = messageWith(channel, path, pick(next, shapes)(marker));
        input = { ...input, [path[0]!]: merged[path[0]!] };
      }
      expectNoMarker(input, marker);
    }
  });

  it('when the marker fills the message itself or a whole message of wrong types', () => {
    for (const marker of markers) {
      expectNoMarker(marker, marker);
      expectNoMarker([marker], marker);
      expectNoMarker(Object.fromEntries(Object.keys(baseFieldRules).map((field) => [field, [marker]])), marker);
      expectNoMarker({ version: marker, channel: marker, message_id: [marker], project_id: { marker }, sent_at: marker, to: marker }, marker);
    }
  });

  it('when a getter or proxy throws an error that carries the value', () => {
    for (const marker of markers) {
      const fail = (): never => {
        throw new Error(`bad value ${marker}`);
      };
      const input = { ...minimalMessage('sms') };
      Object.defineProperty(input, 'body', { get: fail, enumerable: true });
      expectNoMarker(input, marker);
      expectNoMarker({ ...minimalMessage('sms'), extras: new Proxy({ a: 1 }, { get: fail }) }, marker);
      expectNoMarker(new Proxy(minimalMessage('sms'), { ownKeys: fail }), marker);
    }
  });

  it('even when more than 100 problems are cut short', () => {
    const marker = markers[0];
    const extras = Object.fromEntries(Array.from({ length: 300 }, (_, index) => [`v${index}`, `${marker}\uD800`]));
    const input = { ...minimalMessage('sms'), extras };
    expect(validateMessage(input).ok).toBe(false);
    expectNoMarker(input, marker);
  });
});
