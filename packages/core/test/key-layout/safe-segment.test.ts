import { describe, expect, it } from 'vitest';
import { objectKeyProblem } from '../../src/destination/index.js';
import { compileKeyLayout, keyLayoutPresets, safeSegment } from '../../src/key-layout/index.js';
import { message, sha256, testRecipientKey } from './messages.js';

const shortenedEnding = /~[0-9a-f]{16}$/;
const segmentCharacters = /^(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+$/;

/** encodeURIComponent, plus the five characters it leaves alone that safeSegment encodes. */
const expectedEncoding = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);

/** mulberry32: the same seed gives the same values on every run. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces that hostile values are built from: path tricks, encodings of them, controls, odd Unicode. */
const pieces = [
  '.',
  '..',
  '/',
  '\\',
  '%',
  '%2e',
  '%2E%2E',
  '%2F',
  '%5C',
  '%7E',
  '%25',
  '~',
  '\u0000',
  '\u0001',
  '\n',
  '\r',
  '\t',
  '\u007f',
  ' ',
  '\u00a0',
  '\u200b',
  '\u202e',
  '\ufeff',
  'é',
  'e\u0301',
  '😀',
  '👩‍👩‍👧',
  '日本',
  '?',
  '#',
  '&',
  '=',
  '+',
  ':',
  '*',
  '!',
  "'",
  '(',
  ')',
  '"',
  '<',
  '>',
  '|',
  '{',
  '}',
  'a',
  'Z',
  '0',
  '9',
  '-',
  '_',
  'CON',
  'etc',
  'passwd',
  '~0123456789abcdef',
];

function hostileValues(count: number, seed: number): string[] {
  const random = randomSource(seed);
  const values = new Set<string>([
    '../../etc',
    '../../etc/passwd',
    '..',
    '.',
    '...',
    'a/b',
    '/',
    '//',
    '/..',
    '\\..\\..\\',
    '%2e%2e',
    '%2E%2E%2F',
    '\u0000',
    '\r\n',
    ' ',
    '~',
    '😀',
    '😀'.repeat(300),
    'x'.repeat(10_000),
    '%'.repeat(400),
    '/'.repeat(1000),
    'é'.repeat(500),
  ]);
  while (values.size < count) {
    const length = 1 + Math.floor(random() * (random() < 0.1 ? 600 : 10));
    values.add(Array.from({ length }, () => pieces[Math.floor(random() * pieces.length)]!).join(''));
  }
  return [...values];
}

describe('safeSegment', () => {
  it('leaves unreserved characters alone and percent-encodes the rest as UTF-8 with upper-case hex', () => {
    expect(safeSegment('Order-42_v1.2~b')).toBe('Order-42_v1.2~b');
    expect(safeSegment('a/b')).toBe('a%2Fb');
    expect(safeSegment('a\\b')).toBe('a%5Cb');
    expect(safeSegment('100%')).toBe('100%25');
    expect(safeSegment('eu west')).toBe('eu%20west');
    expect(safeSegment('\u0000\u001f\u007f')).toBe('%00%1F%7F');
    expect(safeSegment('é😀')).toBe('%C3%A9%F0%9F%98%80');
    expect(safeSegment("!'()*")).toBe('%21%27%28%29%2A');
  });

  it('encodes "." and ".." so they cannot be path segments', () => {
    expect(safeSegment('.')).toBe('%2E');
    expect(safeSegment('..')).toBe('%2E%2E');
    expect(safeSegment('...')).toBe('...');
    expect(safeSegment('../..')).toBe('..%2F..');
  });

  it('shortens long values to 180 bytes, "~" and 16 hex digits of the SHA-256 of the value', () => {
    expect(safeSegment('a'.repeat(200))).toBe('a'.repeat(200));
    expect(safeSegment('a'.repeat(201))).toBe(`${'a'.repeat(180)}~${sha256('a'.repeat(201)).slice(0, 16)}`);
    expect(safeSegment('x'.repeat(10_000))).toBe(`${'x'.repeat(180)}~${sha256('x'.repeat(10_000)).slice(0, 16)}`);
    expect(safeSegment('é'.repeat(500))).toBe(`${'%C3%A9'.repeat(30)}~${sha256('é'.repeat(500)).slice(0, 16)}`);
  });

  it('cuts between characters, never inside an escape or inside the escapes of one character', () => {
    for (const [value, kept] of [
      [`a${'é'.repeat(100)}`, `a${'%C3%A9'.repeat(29)}`],
      [`ab${'😀'.repeat(100)}`, `ab${'%F0%9F%98%80'.repeat(14)}`],
      [`${'a'.repeat(179)}${'/'.repeat(50)}`, 'a'.repeat(179)],
      [`${'a'.repeat(177)}${'/'.repeat(50)}`, `${'a'.repeat(177)}%2F`],
    ] as const) {
      const segment = safeSegment(value);
      expect(segment).toBe(`${kept}~${sha256(value).slice(0, 16)}`);
      expect(value.startsWith(decodeURIComponent(kept))).toBe(true);
    }
  });

  it('never lets a short value pose as a shortened one', () => {
    const long = `${'a'.repeat(180)}b`.repeat(2);
    const shortened = safeSegment(long);
    const impostor = `${'a'.repeat(180)}~${sha256(long).slice(0, 16)}`;
    expect(impostor).toBe(shortened);
    expect(safeSegment(impostor)).not.toBe(shortened);
    expect(safeSegment(impostor)).toBe(`${'a'.repeat(180)}%7E${sha256(long).slice(0, 16)}`);
    expect(safeSegment('v~0123456789abcdef')).toBe('v%7E0123456789abcdef');
    expect(safeSegment('v~0123456789ABCDEF')).toBe('v~0123456789ABCDEF');
  });

  it('keeps lone surrogates apart instead of replacing them', () => {
    const values = ['\uD800', '\uD801', '\uDC00', 'a\uD800', '\uFFFD', 'a\uD800'.repeat(100), 'a\uD801'.repeat(100)];
    const segments = values.map((value) => safeSegment(value));
    expect(new Set(segments).size).toBe(values.length);
    expect(segments[0]).toBe('%ED%A0%80');
    for (const segment of segments) expect(segment).toMatch(/^[A-Za-z0-9._~%-]+$/);
  });

  it('refuses the empty string, which no placeholder passes it', () => {
    expect(() => safeSegment('')).toThrow(RangeError);
  });

  describe('over 4,000 generated hostile values', () => {
    const values = hostileValues(4000, 20240904);

    it('gives a 1 to 200 byte segment that is a valid key on its own and not "." or ".."', () => {
      for (const value of values) {
        const segment = safeSegment(value);
        expect(segment, JSON.stringify(value)).toMatch(segmentCharacters);
        expect(segment.length).toBeGreaterThan(0);
        expect(segment.length).toBeLessThanOrEqual(200);
        expect(objectKeyProblem(segment), JSON.stringify(value)).toBeUndefined();
      }
    });

    it('is deterministic and decodes back to the value, or to a prefix of it plus its hash', () => {
      for (const value of values) {
        const segment = safeSegment(value);
        expect(safeSegment(value)).toBe(segment);
        if (shortenedEnding.test(segment)) {
          const kept = segment.slice(0, -17);
          expect(kept.length).toBeLessThanOrEqual(180);
          expect(value.startsWith(decodeURIComponent(kept)), JSON.stringify(value)).toBe(true);
          expect(segment.slice(-16)).toBe(sha256(value).slice(0, 16));
        } else {
          expect(decodeURIComponent(segment), JSON.stringify(value)).toBe(value);
        }
      }
    });

    it('matches encodeURIComponent for short values that need no special case', () => {
      for (const value of values) {
        const encoded = expectedEncoding(value);
        if (encoded.length <= 200 && encoded !== '.' && encoded !== '..' && !shortenedEnding.test(encoded)) expect(safeSegment(value)).toBe(encoded);
      }
    });

    it('gives distinct values distinct segments', () => {
      expect(new Set(values.map((value) => safeSegment(value))).size).toBe(values.length);
    });

    it('stays inside its own segment of a rendered key, whatever field it comes from', () => {
      const layout = compileKeyLayout('tenant/{campaign_id}/{extras.tag}/{journey_id|unassociated}/{message_id}.json.gz');
      const seen = new Map<string, string>();
      for (const value of values) {
        const rendered = message('push', { campaign_id: value, extras: { tag: value }, journey_id: value, message_id: 'm' });
        const key = layout.render(rendered);
        const segments = key.split('/');
        expect(segments, JSON.stringify(value)).toHaveLength(5);
        expect(segments[0]).toBe('tenant');
        expect(segments[4]).toBe('m.json.gz');
        expect(segments[1]).toBe(safeSegment(value));
        expect(segments[2]).toBe(segments[1]);
        expect(segments[3]).toBe(segments[1]);
        expect(objectKeyProblem(key), JSON.stringify(value)).toBeUndefined();
        for (const segment of segments) expect(objectKeyProblem(segment)).toBeUndefined();
        expect(layout.render(rendered)).toBe(key);
        expect(seen.get(segments[1]!) ?? value).toBe(value);
        seen.set(segments[1]!, value);
      }
      // Thousands of renders: on a loaded machine this takes longer than vitest's default 5 s, which is not what is tested.
    }, 60_000);
  });
});

describe('hostile message ids', () => {
  it('give every preset a valid key for a message_id of 512 emoji', () => {
    for (const [name, template] of Object.entries(keyLayoutPresets)) {
      const key = compileKeyLayout(template, { recipientKey: testRecipientKey }).render(message('whatsapp', { message_id: '😀'.repeat(512) }));
      expect(objectKeyProblem(key), name).toBeUndefined();
      expect(key.split('/'), name).toHaveLength(template.split('/').length);
      expect(key).toContain(`${'%F0%9F%98%80'.repeat(15)}~${sha256('😀'.repeat(512)).slice(0, 16)}.json.`);
    }
  });

  it('keep the segment count of every preset', () => {
    for (const id of ['../../etc/passwd', 'a/b/c', '..', '.', '%2e%2e', '\\x', 'x'.repeat(512)]) {
      for (const template of Object.values(keyLayoutPresets)) {
        const key = compileKeyLayout(template, { recipientKey: testRecipientKey }).render(message('email', { message_id: id }));
        expect(key.split('/'), id).toHaveLength(template.split('/').length);
        expect(objectKeyProblem(key)).toBeUndefined();
      }
    }
  });
});
