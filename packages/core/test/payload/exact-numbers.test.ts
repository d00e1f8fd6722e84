import { afterAll, describe, expect, it } from 'vitest';
import { createArchiver, createPreparePool, type PreparedObject } from '../../src/archiver/index.js';
import { getCodec } from '../../src/codecs/index.js';
import type { DestinationV1 } from '../../src/destination/index.js';
import { compileKeyLayout } from '../../src/key-layout/index.js';
import { JsonNumber, keepsValueAsDouble, MessageValidationError, parseJson, parseMessageJson, sampleMessages, serializeJson, sha256Hex, stringifyJson, validateMessage } from '../../src/payload/index.js';
import { getProfile, profileNames, type ProfileName } from '../../src/profiles/index.js';
import { decodeUtf8, documentedSentAt, pick, randomSource } from './fixtures.js';

// Issue #14, item 9: numbers keep their exact text. A double holds about 15.9 significant digits and
// magnitudes up to 1.8e308; JSON.parse silently rounds everything else, and the copy was not exact.

/** The four numbers of the issue, as they must appear in the stored JSON, byte for byte. */
const exactTexts = ['12345678901234567891', '-9223372036854775809', '0.1000000000000000055511151231257827', '1e400'] as const;
const [bigInteger, belowLongMin, longDecimal, beyondDouble] = exactTexts;

/** A push message with the four numbers in `extras`, in the push `payload` and as `user_id`, written by hand as a sender would. */
function pushText(messageId = 'msg-exact-1'): string {
  return (
    `{"version":1,"channel":"push","message_id":"${messageId}","project_id":"acme","sent_at":${documentedSentAt},` +
    `"to":"frfsgvrwe:APfdsafsgdfsgghfgfgjkhfsfgdhjhbvcvnetry767456fxsasdf","platform":"ios","campaign_id":${bigInteger},` +
    `"user_id":${bigInteger},` +
    `"payload":{"aps":{"alert":"Hi","badge":1},"order":${bigInteger},"account":${belowLongMin},"ratio":${longDecimal},"limit":${beyondDouble}},` +
    `"extras":{"big":${bigInteger},"long_min":${belowLongMin},"ratio":${longDecimal},"huge":${beyondDouble},"tiny":1e-400,"list":[${exactTexts.join(',')}],"price":1.50,"hundred":1e2,"zero":-0}}`
  );
}

/** What the sentcopy profile stores for {@link pushText}: keys sorted, doubles in shortest form, the rest verbatim. */
const storedPush =
  `{"campaign_id":${bigInteger},"channel":"push",` +
  `"extras":{"big":${bigInteger},"huge":${beyondDouble},"hundred":100,"list":[${exactTexts.join(',')}],"long_min":${belowLongMin},"price":1.5,"ratio":${longDecimal},"tiny":1e-400,"zero":0},` +
  `"message_id":"msg-exact-1",` +
  `"payload":{"account":${belowLongMin},"aps":{"alert":"Hi","badge":1},"limit":${beyondDouble},"order":${bigInteger},"ratio":${longDecimal}},` +
  `"platform":"ios","project_id":"acme","sent_at":${documentedSentAt},"to":"frfsgvrwe:APfdsafsgdfsgghfgfgjkhfsfgdhjhbvcvnetry767456fxsasdf",` +
  `"user_id":${bigInteger},"version":1}`;

const encode = (text: string) => new TextEncoder().encode(text);

/** {@link pushText} parsed, with the -0 of `extras.zero` as the 0 every JSON writer makes of it. */
function withPositiveZero<T>(value: T): T {
  const record = value as { extras: Record<string, unknown> };
  return { ...record, extras: { ...record.extras, zero: 0 } } as T;
}

// prepare() never writes: this destination only satisfies createArchiver.
const unusedDestination = { specificationVersion: 'v1', provider: 'prepare-only' } as unknown as DestinationV1;
// The sentcopy layout keys recipients with this secret; the vendor presets ignore it.
const recipientKey = 'sentcopy-test-recipient-key';
const pool = createPreparePool({ threads: 2 });
afterAll(() => pool.close());

async function storedJson(prepared: PreparedObject, profile: ProfileName): Promise<string> {
  return decodeUtf8(await getCodec(getProfile(profile).codec).decode(prepared.body));
}

describe('parseJson', () => {
  it("keeps the issue's numbers as JsonNumbers holding their exact text", () => {
    const value = parseJson(`{"a":${bigInteger},"b":[${belowLongMin},${longDecimal}],"c":{"d":${beyondDouble}}}`) as Record<string, unknown>;
    expect(value['a']).toBeInstanceOf(JsonNumber);
    expect((value['a'] as JsonNumber).text).toBe(bigInteger);
    expect((value['b'] as JsonNumber[]).map((item) => item.text)).toEqual([belowLongMin, longDecimal]);
    expect(((value['c'] as Record<string, JsonNumber>)['d'] as JsonNumber).text).toBe(beyondDouble);
    // What JSON.parse made of them, the bug this fixes:
    expect(String(JSON.parse(bigInteger))).toBe('12345678901234567000');
  });

  it('reads numbers a double holds exactly as JS numbers, wherever the text also holds a long one', () => {
    const alone = parseJson('{"price":1.50,"hundred":1e2,"zero":-0,"big":1e300,"small":1e-300,"id":9007199254740991}');
    const besideLong = parseJson(`{"price":1.50,"hundred":1e2,"zero":-0,"big":1e300,"small":1e-300,"id":9007199254740991,"long":${bigInteger}}`) as Record<string, unknown>;
    const expected = { price: 1.5, hundred: 100, zero: -0, big: 1e300, small: 1e-300, id: 9007199254740991 };
    expect(alone).toEqual(expected);
    const { long, ...rest } = besideLong;
    expect(rest).toEqual(expected);
    expect((long as JsonNumber).text).toBe(bigInteger);
  });

  it('gives the same values as JSON.parse for texts without such numbers, hex tokens and long digit runs in strings included', () => {
    const texts = [
      ...sampleMessages({ projectId: 'acme', count: 24 }).map((message) => JSON.stringify(message)),
      '{"to":"6408c6616a92e905fed0ac21b645baaeb4020e123e456","n":1e+99,"m":-2.5E-99,"s":"12345678901234567891"}',
      '[{"__proto__":{"x":1}},{"k":1,"k":2}]',
    ];
    for (const text of texts) expect(parseJson(text)).toEqual(JSON.parse(text));
    const proto = (parseJson(`[{"__proto__":{"x":${bigInteger}}}]`) as Record<string, unknown>[])[0] as object;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(['__proto__']);
  });

  it('reads nesting as deep as JSON.parse does when it only has to look for a number beyond the double range', () => {
    const depth = 100_000;
    // "9e100" in a string sends the text to the check for Infinity, which must not recurse.
    const value = parseJson(`{"token":"a9e100","deep":${'['.repeat(depth)}1${']'.repeat(depth)}}`) as Record<string, unknown>;
    let level = 0;
    for (let item = value['deep']; Array.isArray(item); item = item[0]) level++;
    expect(level).toBe(depth);
  });

  it('keeps the last of repeated keys, as JSON.parse does, on the exact path too', () => {
    const value = parseJson(`{"k":1,"k":${bigInteger},"j":${bigInteger},"j":2}`) as Record<string, unknown>;
    expect((value['k'] as JsonNumber).text).toBe(bigInteger);
    expect(value['j']).toBe(2);
  });

  it("throws JSON.parse's own SyntaxError for text that is not JSON, on both paths", () => {
    for (const text of ['{"a":1,}', `{"a":${bigInteger},}`, `{"a":${bigInteger}`, '']) {
      let native: unknown;
      try {
        JSON.parse(text);
      } catch (error) {
        native = error;
      }
      expect(() => parseJson(text)).toThrow(SyntaxError);
      expect(() => parseJson(text)).toThrow((native as Error).message);
    }
  });

  it('says so, without quoting the text, when a text with a long number nests deeper than it can read exactly', () => {
    const text = `{"secret":${bigInteger},"deep":${'['.repeat(20000)}${']'.repeat(20000)}}`;
    expect(() => parseJson(text)).toThrow('The JSON text nests too deeply to be read with exact numbers.');
  });
});

/** A random JSON number literal: 1 to 24 digits, maybe a fraction, maybe an exponent up to ±420, sometimes zeros. */
function randomNumberText(next: () => number): string {
  const digits = (count: number) => Array.from({ length: count }, () => String(Math.floor(next() * 10))).join('');
  const integer = next() < 0.2 ? '0' : String(1 + Math.floor(next() * 9)) + digits(Math.floor(next() * 23));
  const fraction = next() < 0.5 ? `.${digits(1 + Math.floor(next() * 20))}` : '';
  const exponent = next() < 0.4 ? `${pick(next, ['e', 'E'])}${pick(next, ['', '+', '-'])}${Math.floor(next() * (next() < 0.5 ? 30 : 420))}` : '';
  return `${next() < 0.3 ? '-' : ''}${integer}${fraction}${exponent}`;
}

describe('one stored form per number, whichever way the text is read', () => {
  it('writes each of 5,000 random numbers the same alone, beside a long number, and as JSON.parse would when a double holds it (seeded)', () => {
    const next = randomSource(9);
    for (let round = 0; round < 5000; round++) {
      const text = randomNumberText(next);
      const alone = decodeUtf8(serializeJson(parseJson(`[${text}]`)));
      const beside = decodeUtf8(serializeJson(parseJson(`[${text},${bigInteger}]`)));
      expect(beside).toBe(`${alone.slice(0, -1)},${bigInteger}]`);
      // Either the double's shortest form (what JSON.parse then serializeJson wrote before), or the text itself.
      expect(alone).toBe(keepsValueAsDouble(text) ? `[${JSON.stringify(JSON.parse(text))}]` : `[${text}]`);
    }
  });
});

describe('keepsValueAsDouble', () => {
  it.each([
    ['0', true],
    ['-0', true],
    ['1.50', true],
    ['1e2', true],
    ['1E+2', true],
    ['0.1', true],
    ['123456789012345', true],
    ['9007199254740991', true],
    ['9007199254740992', true],
    ['9007199254740993', false],
    ['1e21', true],
    ['5e-324', true],
    [bigInteger, false],
    [belowLongMin, false],
    [longDecimal, false],
    [beyondDouble, false],
    ['1e-400', false],
    ['0.10000000000000000555111512312578270211815834045410156250', false],
  ])('%s → %s', (text, expected) => {
    expect(keepsValueAsDouble(text)).toBe(expected);
  });
});

describe('JsonNumber', () => {
  it('accepts only JSON number literals', () => {
    expect(new JsonNumber(bigInteger).text).toBe(bigInteger);
    for (const text of ['', '01', '+1', '1.', '.5', 'NaN', 'Infinity', '1e', '1}', '1,"x":2', ' 1']) expect(() => new JsonNumber(text)).toThrow(SyntaxError);
  });

  it('is refused by structured clone instead of turning into a plain object', () => {
    expect(() => structuredClone({ user_id: new JsonNumber(bigInteger) })).toThrow(/could not be cloned/);
  });
});

describe('serializeJson and stringifyJson with JsonNumbers', () => {
  it("writes a JsonNumber's text verbatim, in place of a number", () => {
    const value = { b: new JsonNumber(bigInteger), a: [new JsonNumber(longDecimal), 1.5] };
    expect(decodeUtf8(serializeJson(value))).toBe(`{"a":[${longDecimal},1.5],"b":${bigInteger}}`);
    expect(stringifyJson(value)).toBe(`{"b":${bigInteger},"a":[${longDecimal},1.5]}`);
  });

  it("refuses a forged JsonNumber (another copy's marker, text that is not a number) rather than inject its text", () => {
    // An instance (not a plain object) carrying the marker, as another copy's JsonNumber does.
    const forged: unknown = Object.assign(Object.create({ kind: 'forged' }) as object, { [Symbol.for('sentcopy.json-number')]: true, text: '1,"admin":true' });
    expect(() => serializeJson({ n: forged })).toThrow('Cannot serialize the value at n as JSON: its JsonNumber text is not a JSON number.');
    const result = validateMessage({ ...(parseJson(pushText()) as object), extras: { n: forged } });
    expect(result.ok ? [] : result.issues).toEqual([{ path: 'extras.n', problem: 'must be a JSON value (a JsonNumber whose text is not a JSON number)' }]);
  });

  it('stringifyJson is one JSON.stringify for values without JsonNumbers', () => {
    for (const message of sampleMessages({ projectId: 'acme', count: 8 })) expect(stringifyJson(message)).toBe(JSON.stringify(message));
  });

  it('stringifyJson indents as JSON.stringify does, keeps key order, and no string can pose as a JsonNumber', () => {
    const value = { z: new JsonNumber(bigInteger), a: ['x', new JsonNumber(beyondDouble)], s: '0:0', t: `"${bigInteger}"` };
    expect(stringifyJson(value, 2)).toBe(
      JSON.stringify({ z: 1, a: ['x', 2], s: '0:0', t: `"${bigInteger}"` }, null, 2)
        .replace(': 1,', `: ${bigInteger},`)
        .replace('    2\n', `    ${beyondDouble}\n`),
    );
    expect(stringifyJson(value)).toBe(`{"z":${bigInteger},"a":["x",${beyondDouble}],"s":"0:0","t":"\\"${bigInteger}\\""}`);
  });

  it('stringifyJson text parses back to the same numbers, exactly', () => {
    const value = parseJson(pushText());
    // -0 is written 0, as JSON.stringify writes it; every other number reads back the same.
    expect(parseJson(stringifyJson(value))).toEqual(withPositiveZero(value));
    expect(stringifyJson(value)).toContain(`"ratio":${longDecimal}`);
  });
});

describe('validation of exact numbers', () => {
  it('treats a JsonNumber as a number where a number is expected, and names the field and the problem otherwise', () => {
    const message = parseJson(pushText()) as Record<string, unknown>;
    expect(validateMessage(message).ok).toBe(true);
    const issuesOf = (changes: Record<string, unknown>) => {
      const result = validateMessage({ ...message, ...changes });
      return result.ok ? [] : result.issues;
    };
    expect(issuesOf({ sent_at: new JsonNumber('17224432826800000000') })).toEqual([{ path: 'sent_at', problem: 'must be epoch milliseconds before the year 10000' }]);
    expect(issuesOf({ sent_at: new JsonNumber('1722443282680.0000000000001') })).toEqual([{ path: 'sent_at', problem: 'must be a whole number of epoch milliseconds' }]);
    expect(issuesOf({ sent_at: new JsonNumber('-17224432826800000000') })).toEqual([{ path: 'sent_at', problem: 'must not be negative (epoch milliseconds)' }]);
    expect(issuesOf({ sent_at: new JsonNumber('1e-400') })).toEqual([{ path: 'sent_at', problem: 'must be a whole number of epoch milliseconds' }]);
    expect(issuesOf({ version: new JsonNumber('1.0000000000000000000001') })).toEqual([{ path: 'version', problem: 'must be 1 (the only payload format version)' }]);
    expect(issuesOf({ payload: new JsonNumber(beyondDouble) })).toEqual([{ path: 'payload', problem: 'must be a JSON object' }]);
    expect(issuesOf({ extras: new JsonNumber(bigInteger) })).toEqual([{ path: 'extras', problem: 'must be a JSON object' }]);
    expect(issuesOf({ platform: new JsonNumber(bigInteger) })).toEqual([{ path: 'platform', problem: 'must be a string' }]);
  });

  it('stores a sent_at written with more digits than a double holds as a clear error, through the JSON text too', () => {
    const text = pushText().replace(`"sent_at":${documentedSentAt}`, '"sent_at":1722443282680.0000000000001');
    expect(() => parseMessageJson(text)).toThrow(MessageValidationError);
    expect(() => parseMessageJson(text)).toThrow('Invalid message: sent_at: must be a whole number of epoch milliseconds');
  });

  it('turns a JsonNumber a double holds exactly into a number, so one value has one stored form whatever the input', () => {
    const result = validateMessage({ ...(parseJson(pushText()) as object), user_id: new JsonNumber('1.50') });
    expect(result.ok && result.message.user_id).toBe(1.5);
  });
});

describe('the library keeps numbers exact: createArchiver().prepare()', () => {
  it.each(profileNames)('stores the exact number text with the %s profile, from JSON bytes and from parsed objects, in-thread and on a prepare pool', async (profile) => {
    const here = createArchiver({ destination: unusedDestination, profile, recipientKey, retry: false });
    const pooled = createArchiver({ destination: unusedDestination, profile, recipientKey, retry: false, preparePool: pool });
    const text = pushText();
    const results = [
      await here.prepare(encode(text)),
      await pooled.prepare(encode(text)),
      await here.prepare(parseJson(text)),
      // A parsed object with JsonNumbers cannot be cloned to a thread: the pool prepares it here, keeping the text.
      await pooled.prepare(parseJson(text)),
    ];
    const json = await storedJson(results[0] as PreparedObject, profile);
    for (const number of exactTexts) expect(json).toContain(`:${number}`);
    expect(json).toContain(`"list":[${exactTexts.join(',')}]`);
    expect(json).toContain('"tiny":1e-400');
    if (profile === 'sentcopy') expect(json).toBe(storedPush);
    for (const prepared of results) {
      expect(await storedJson(prepared, profile)).toBe(json);
      expect(prepared.contentSha256).toBe(sha256Hex(encode(json)));
      expect(prepared.sha256).toBe((results[0] as PreparedObject).sha256);
      expect(prepared.key).toBe((results[0] as PreparedObject).key);
    }
    // The stored document reads back (as the CLI and the profile read it) to the same message.
    const stored = getProfile(profile).parse(parseJson(json), { channel: 'push', project_id: 'acme' });
    expect(stored).toEqual(withPositiveZero(parseMessageJson(text)));
  });

  it('gives the same bytes and SHA-256 for the same text every time, and whitespace or key order do not matter', async () => {
    const archiver = createArchiver({ destination: unusedDestination, recipientKey, retry: false });
    const first = await archiver.prepare(encode(pushText()));
    const again = await archiver.prepare(encode(pushText()));
    // White space around every key, and version moved last (the `to` token holds a colon, but not after a quote).
    const reordered = pushText().replace('{"version":1,', '{').replace(/}$/, ',"version":1}');
    const pretty = await archiver.prepare(encode(`\n${reordered.replaceAll('":', '" :\t').replaceAll(',"', ',\r\n  "')}\n`));
    expect(again.sha256).toBe(first.sha256);
    expect(again.contentSha256).toBe(first.contentSha256);
    expect(pretty.contentSha256).toBe(first.contentSha256);
  });

  it('leaves the stored bytes of messages without such numbers as they were (JSON.parse then serializeJson)', async () => {
    const archiver = createArchiver({ destination: unusedDestination, recipientKey, retry: false });
    for (const message of sampleMessages({ projectId: 'acme', count: 12 })) {
      const text = JSON.stringify(message).replace('{', '{"price":1.50,"hundred":1e2,');
      const prepared = await archiver.prepare(encode(text));
      expect(prepared.contentSha256).toBe(sha256Hex(serializeJson(JSON.parse(text))));
    }
  });

  it('keys by the exact text of a numeric campaign_id', async () => {
    const layout = compileKeyLayout('{project_id}/{campaign_id|unassociated}/{message_id}.json.gz');
    const archiver = createArchiver({ destination: unusedDestination, layout, retry: false });
    expect((await archiver.prepare(encode(pushText()))).key).toBe(`acme/${bigInteger}/msg-exact-1.json.gz`);
  });

  it('reads a Braze document whose sent_at has more digits than a double holds', () => {
    const braze = getProfile('braze');
    const stored = parseJson(pushText().replace('"message_id"', '"dispatch_id"').replace(`"sent_at":${documentedSentAt}`, '"sent_at":1722443282.6800000000000001'));
    expect(braze.parse(stored).sent_at).toBe(documentedSentAt);
  });
});
