import { describe, expect, it } from 'vitest';
import { maxSerializeDepth, md5Hex, sampleMessages, serializeJson, sha256Hex, validateMessage } from '../../src/payload/index.js';
import { decodeUtf8, nest, nestArray, pick, randomSource } from './fixtures.js';

const text = (value: unknown): string => decodeUtf8(serializeJson(value));

/** The expected output, written independently: JSON.stringify with every object's keys sorted by UTF-16 code units. */
function referenceJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(referenceJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort((left, right) => (left < right ? -1 : left > right ? 1 : 0));
    return `{${keys.map((key) => `${JSON.stringify(key)}:${referenceJson(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A random JSON value with awkward keys and strings; insertion order is random too. */
function randomJson(next: () => number, depth: number): unknown {
  const strings = ['', 'a', 'B', 'é', 'e\u0301', '😀', '\uFB01', '\u2028', '\r\n', ' trailing ', '</script>', '"quoted"', '\\', '\u0000\u001f', '10', '2', '__proto__', 'constructor'];
  const kind = depth > 3 ? Math.floor(next() * 4) : Math.floor(next() * 6);
  switch (kind) {
    case 0:
      return pick(next, strings) + pick(next, strings);
    case 1:
      return pick(next, [0, -0, 1, -1, 0.1, 1e21, 1e-7, 5e-324, Number.MAX_SAFE_INTEGER, 1722443282680, 3.14159]);
    case 2:
      return pick(next, [true, false, null]);
    case 3:
      return pick(next, strings);
    case 4:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomJson(next, depth + 1));
    default: {
      const record: Record<string, unknown> = {};
      for (let count = Math.floor(next() * 6); count > 0; count--) {
        const key = pick(next, strings) + (next() < 0.3 ? pick(next, strings) : '');
        Object.defineProperty(record, key, { value: randomJson(next, depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return record;
    }
  }
}

/** The same value rebuilt with every object's keys inserted in reverse order. */
function reversedInsertion(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedInsertion);
  if (typeof value === 'object' && value !== null) {
    const record: Record<string, unknown> = {};
    for (const key of Object.keys(value).reverse()) {
      Object.defineProperty(record, key, { value: reversedInsertion((value as Record<string, unknown>)[key]), enumerable: true, writable: true, configurable: true });
    }
    return record;
  }
  return value;
}

describe('serializeJson', () => {
  it('writes compact JSON with keys sorted at every depth', () => {
    expect(text({ b: 1, a: { d: [{ f: 1, e: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[{"e":2,"f":1}]},"b":1}');
    expect(text([3, 1, 2])).toBe('[3,1,2]');
    expect(text({})).toBe('{}');
    expect(text([])).toBe('[]');
  });

  it('sorts keys by UTF-16 code units: integer-like keys as strings, upper case first, astral before U+FB01', () => {
    expect(text({ b: 1, 10: 2, 2: 3, 1: 4, B: 5, '': 6 })).toBe('{"":6,"1":4,"10":2,"2":3,"B":5,"b":1}');
    // U+1F600 is D83D DE00 in UTF-16, which sorts before U+FB01 (code point order would say the opposite).
    expect(text({ '\uFB01': 1, '😀': 2 })).toBe('{"😀":2,"\uFB01":1}');
    expect(text({ é: 1, 'e\u0301': 2, z: 3 })).toBe('{"e\u0301":2,"z":3,"é":1}');
  });

  it('writes serialized scalars as JSON.stringify does', () => {
    expect(text('x')).toBe('"x"');
    expect(text(null)).toBe('null');
    expect(text(true)).toBe('true');
    expect(text(false)).toBe('false');
  });

  it.each([
    [0, '0'],
    [-0, '0'],
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [0.1, '0.1'],
    [0.1 + 0.2, '0.30000000000000004'],
    [5e-324, '5e-324'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    [1722443282.68, '1722443282.68'],
    [-1.5, '-1.5'],
  ])('writes the number %d as %s', (value, expected) => {
    expect(text(value)).toBe(expected);
    expect(text({ n: value })).toBe(`{"n":${expected}}`);
  });

  it('keeps strings byte-for-byte: no trimming, no normalization, only the escapes JSON requires', () => {
    const cases: [string, string][] = [
      ['😀', '"😀"'],
      ['\u2028\u2029', '"\u2028\u2029"'],
      ['a\r\nb', '"a\\r\\nb"'],
      ['trailing   ', '"trailing   "'],
      ['   leading', '"   leading"'],
      ['</script><!--', '"</script><!--"'],
      ['e\u0301', '"e\u0301"'],
      ['é', '"é"'],
      ['\u0000\u0007\u001f\u007f', '"\\u0000\\u0007\\u001f\u007f"'],
      ['tab\there', '"tab\\there"'],
      ['"quoted" \\ slash /', '"\\"quoted\\" \\\\ slash /"'],
      ['\uFEFF', '"\uFEFF"'],
    ];
    for (const [value, expected] of cases) {
      expect(text(value)).toBe(expected);
      expect(JSON.parse(text(value))).toBe(value);
    }
    // Raw UTF-8, not \u escapes: the emoji is F0 9F 98 80, U+2028 is E2 80 A8, and NFD stays NFD (65 CC 81).
    expect([...serializeJson('😀')]).toEqual([0x22, 0xf0, 0x9f, 0x98, 0x80, 0x22]);
    expect([...serializeJson('\u2028')]).toEqual([0x22, 0xe2, 0x80, 0xa8, 0x22]);
    expect([...serializeJson('e\u0301')]).toEqual([0x22, 0x65, 0xcc, 0x81, 0x22]);
    expect([...serializeJson('é')]).toEqual([0x22, 0xc3, 0xa9, 0x22]);
  });

  it('escapes lone surrogates, so the bytes are always valid UTF-8', () => {
    expect(text('a\uD800b')).toBe('"a\\ud800b"');
    expect(text({ '\uDC00': 1 })).toBe('{"\\udc00":1}');
    expect(JSON.parse(text('a\uD800b'))).toBe('a\uD800b');
  });

  it('leaves out object properties holding undefined, as JSON.stringify does', () => {
    expect(text({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(text({ a: undefined })).toBe('{}');
  });

  it('writes a __proto__ own key as data, and accepts null-prototype objects', () => {
    expect(text(JSON.parse('{"b":1,"__proto__":{"x":1}}'))).toBe('{"__proto__":{"x":1},"b":1}');
    expect(text(Object.assign(Object.create(null) as object, { b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
  });

  it('matches JSON.stringify of a recursively key-sorted copy, for random values (seeded)', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const value = randomJson(randomSource(seed), 0);
      expect(text(value), `seed ${seed}`).toBe(referenceJson(value));
    }
  });

  it('gives the same bytes whatever the insertion order of keys', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const value = randomJson(randomSource(seed), 0);
      expect(Buffer.from(serializeJson(reversedInsertion(value))).equals(Buffer.from(serializeJson(value))), `seed ${seed}`).toBe(true);
    }
    const message = sampleMessages({ count: 1 })[0]!;
    expect(serializeJson(reversedInsertion(message))).toEqual(serializeJson(message));
  });

  it('round-trips every sample message: decode(serializeJson(m)) parses back deep-equal', () => {
    for (const message of sampleMessages({ count: 24, seed: 3 })) {
      const bytes = serializeJson(message);
      expect(decodeUtf8(bytes)).toBe(referenceJson(message));
      expect(JSON.parse(decodeUtf8(bytes))).toEqual(message);
      // Validating the parsed copy and serializing again gives the very same bytes (and so the same SHA-256).
      const again = validateMessage(JSON.parse(decodeUtf8(bytes)));
      expect(again.ok).toBe(true);
      if (again.ok) expect(sha256Hex(serializeJson(again.message))).toBe(sha256Hex(bytes));
    }
  });

  it('is deterministic: the same value always gives the same bytes', () => {
    const message = sampleMessages({ count: 1 })[0]!;
    expect(serializeJson(message)).toEqual(serializeJson(structuredClone(message)));
    expect(serializeJson(message)).toBeInstanceOf(Uint8Array);
  });

  it(`accepts nesting of ${maxSerializeDepth} levels and refuses deeper`, () => {
    expect(() => serializeJson(nest(maxSerializeDepth))).not.toThrow();
    expect(() => serializeJson(nestArray(maxSerializeDepth))).not.toThrow();
    expect(() => serializeJson(nest(maxSerializeDepth + 1))).toThrow(new RegExp(`nests more than ${maxSerializeDepth} levels deep`));
    expect(() => serializeJson(nestArray(100_000))).toThrow(TypeError);
  });

  describe('throws a TypeError naming the path for what JSON cannot represent', () => {
    const circular: Record<string, unknown> = { a: {} };
    (circular['a'] as Record<string, unknown>)['back'] = circular;
    const circularList: unknown[] = [];
    circularList.push(circularList);

    it.each([
      ['NaN', { extras: { n: Number.NaN } }, /the value at extras\.n as JSON: NaN is not a finite number/],
      ['Infinity', [1, Number.POSITIVE_INFINITY], /the value at \[1\] as JSON: Infinity is not a finite number/],
      ['undefined at the root', undefined, /Cannot serialize the value as JSON: undefined is not a JSON value/],
      ['undefined in an array', { list: ['a', undefined] }, /the value at list\[1\] as JSON: undefined is not a JSON value/],
      ['a function', { f: () => 1 }, /the value at f as JSON: a function is not a JSON value/],
      ['a symbol', { s: Symbol('s') }, /the value at s as JSON: a symbol/],
      ['a bigint', { big: 1n }, /the value at big as JSON: a bigint/],
      ['a hole', { list: [1, , 3] }, /the value at list\[1\] as JSON: the array has a hole there/],
      ['a circular object', circular, /the value at a\.back as JSON: it contains itself/],
      ['a circular array', circularList, /the value at \[0\] as JSON: it contains itself/],
      ['a Date', { when: new Date(0) }, /the value at when as JSON: only plain objects/],
      ['a Map', { extras: { map: new Map() } }, /the value at extras\.map as JSON: only plain objects/],
      ['a Buffer', { bytes: Buffer.from('a') }, /the value at bytes as JSON: only plain objects/],
      ['a class instance', new (class Point {})(), /Cannot serialize the value as JSON: only plain objects/],
      ['an odd key', { extras: { 'a b': Number.NaN } }, /the value at extras\["a b"\] as JSON/],
    ])('%s', (_name, value, message) => {
      expect(() => serializeJson(value)).toThrow(TypeError);
      expect(() => serializeJson(value)).toThrow(message);
    });

    it('without echoing values', () => {
      const secret = 'SECRET-7f3a9c1e';
      for (const value of [{ [secret.toLowerCase()]: 1, x: 12345678901234567890n }, { x: [secret, undefined] }, { x: new Date(), y: secret }]) {
        expect(() => serializeJson(value)).toThrow(TypeError);
        try {
          serializeJson(value);
        } catch (error) {
          expect((error as Error).message).not.toContain(secret);
          expect((error as Error).message).not.toContain('12345678901234567890');
        }
      }
    });

    it('shares a reference without calling it circular', () => {
      const shared = { a: 1 };
      expect(text({ x: shared, y: [shared, shared] })).toBe('{"x":{"a":1},"y":[{"a":1},{"a":1}]}');
    });
  });
});

describe('hashes', () => {
  const utf8 = (value: string): Uint8Array => new TextEncoder().encode(value);

  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    ['😀', 'f0443a342c5ef54783a111b51ba56c938e474c32324d90c3a60c9c8e3a37e2d9'],
  ])('sha256Hex of the UTF-8 of %j', (input, expected) => {
    expect(sha256Hex(utf8(input))).toBe(expected);
    expect(sha256Hex(Buffer.from(input, 'utf8'))).toBe(expected);
  });

  it('sha256Hex hashes only the view, not the whole underlying buffer', () => {
    const bytes = utf8('xxabcxx');
    expect(sha256Hex(bytes.subarray(2, 5))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it.each([
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['The quick brown fox jumps over the lazy dog', '9e107d9d372bb6826bd81d3542a419d6'],
    ['é', '66ddcd97cfdeabb2f6fb8a999b4bc76f'],
    ['customer@example.com', '592fc57ef0b254235cfa5977bccfd34a'],
  ])('md5Hex of the UTF-8 of %j', (input, expected) => {
    expect(md5Hex(input)).toBe(expected);
  });

  it('gives lower-case hex of the documented length', () => {
    expect(sha256Hex(utf8('x'))).toMatch(/^[0-9a-f]{64}$/);
    expect(md5Hex('x')).toMatch(/^[0-9a-f]{32}$/);
  });
});
