import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codecs/index.js';
import { CodecError, codecNames, createLz4Codec, defaultMaxOutputBytes, detectCodec, getCodec, isCodecName } from '../../src/codecs/index.js';
import { emailJson, randomish25MB, samples, smsJson } from './sample-inputs.js';

const native = createLz4Codec({ implementation: 'native' });
const js = createLz4Codec({ implementation: 'js' });

/** Every codec under test, with the lz4 implementations forced as well as the default. */
const codecs: readonly (readonly [label: string, codec: Codec])[] = [
  ['gzip', getCodec('gzip')],
  ['lz4 (auto)', getCodec('lz4')],
  ['lz4 native', native],
  ['lz4 js', js],
  ['none', getCodec('none')],
];

function same(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.byteLength).toBe(expected.byteLength);
  expect(Buffer.compare(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength), Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))).toBe(0);
}

describe('codec registry', () => {
  it('lists the three codecs and resolves each by name', () => {
    expect(codecNames).toEqual(['gzip', 'lz4', 'none']);
    for (const name of codecNames) expect(getCodec(name).name).toBe(name);
    expect(isCodecName('lz4')).toBe(true);
    expect(isCodecName('zstd')).toBe(false);
    expect(defaultMaxOutputBytes).toBe(64 * 1024 * 1024);
  });

  it('refuses an unknown name with a CodecError listing the valid ones', () => {
    let caught: unknown;
    try {
      getCodec('GZIP');
    } catch (error) {
      caught = error;
    }
    expect(CodecError.isInstance(caught)).toBe(true);
    expect(caught).toBeInstanceOf(CodecError);
    expect(caught).toMatchObject({ name: 'CodecError', kind: 'unknown_codec' });
    expect((caught as Error).message).toBe('unknown codec "GZIP"; valid codecs: gzip, lz4, none');
    expect(CodecError.isInstance(new Error('x'))).toBe(false);
    expect(CodecError.isInstance({ [Symbol.for('sentcopy.codec-error')]: true })).toBe(true);
  });

  it('carries the storage metadata for each codec', () => {
    expect(getCodec('gzip')).toMatchObject({ extension: '.gz', contentType: 'application/json', contentEncoding: 'gzip' });
    expect(getCodec('lz4')).toMatchObject({ extension: '.lz4', contentType: 'application/x-lz4' });
    expect(getCodec('lz4').contentEncoding).toBeUndefined();
    expect(getCodec('none')).toMatchObject({ extension: '', contentType: 'application/json' });
    expect(getCodec('none').contentEncoding).toBeUndefined();
  });

  it('uses the native LZ4 binding here, where its prebuilt binary installs', () => {
    expect(createLz4Codec().resolveImplementation()).toBe('native');
    expect(js.resolveImplementation()).toBe('js');
  });

  it('falls back to pure JS when the native binding cannot be loaded', () => {
    const fallback = createLz4Codec({ nativeModuleId: 'lz4-napi-not-installed' });
    expect(fallback.resolveImplementation()).toBe('js');
    expect(Buffer.from(native.decodeSync(fallback.encodeSync(smsJson))).equals(smsJson)).toBe(true);
    const forced = createLz4Codec({ implementation: 'native', nativeModuleId: 'lz4-napi-not-installed' });
    let caught: unknown;
    try {
      forced.encodeSync(smsJson);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ name: 'CodecError', kind: 'unavailable', codec: 'lz4' });
    expect((caught as Error).message).toContain("use implementation 'auto' or 'js'");
  });
});

describe.each(codecs)('%s', (_label, codec) => {
  it.each(samples)(
    'round-trips %s (sync and async)',
    async (_name, sample) => {
      const input = sample();
      const encoded = codec.encodeSync(input);
      same(codec.decodeSync(encoded), input);
      const encodedAsync = await codec.encode(input);
      same(encodedAsync, encoded);
      same(await codec.decode(encodedAsync), input);
    },
    120_000,
  );

  it('is deterministic: the same input encodes to the same bytes', async () => {
    for (const input of [smsJson, emailJson(), emailJson(1_500_000)]) {
      same(codec.encodeSync(input), codec.encodeSync(input));
      same(await codec.encode(input), codec.encodeSync(input));
    }
  }, 60_000);

  it('returns plain Uint8Arrays that own their whole buffer, and leaves the input alone', async () => {
    const input = Buffer.from(smsJson);
    const before = Buffer.from(input);
    for (const output of [codec.encodeSync(input), codec.decodeSync(codec.encodeSync(input)), await codec.encode(input)]) {
      expect(Buffer.isBuffer(output)).toBe(false);
      expect(output).toBeInstanceOf(Uint8Array);
      expect(output.byteOffset).toBe(0);
      expect(output.buffer.byteLength).toBe(output.byteLength);
      expect(output.buffer).not.toBe(input.buffer);
    }
    expect(input.equals(before)).toBe(true);
  });

  it('detects its own output', () => {
    expect(detectCodec(codec.encodeSync(emailJson()))).toBe(codec.name);
    expect(detectCodec(codec.encodeSync(new Uint8Array(0)))).toBe(codec.name);
  });
});

describe('gzip output', () => {
  it('is byte for byte what zlib.gzipSync at level 6 writes with its default output buffer, whatever the input size', () => {
    // The codec sizes zlib's output buffer to the input; the stored bytes (and so every recorded SHA-256) must not change with it.
    const inputs = [new Uint8Array(0), Buffer.from('x'), smsJson, emailJson(), emailJson(200_000), randomBytes(100), randomBytes(20_000), randomBytes(70_000)];
    for (const input of inputs) same(getCodec('gzip').encodeSync(input), zlib.gzipSync(input, { level: 6 }));
  });
});

describe('lz4 implementations', () => {
  it.each(samples)(
    'decode each other’s output: %s',
    (_name, sample) => {
      const input = sample();
      same(js.decodeSync(native.encodeSync(input)), input);
      same(native.decodeSync(js.encodeSync(input)), input);
    },
    60_000,
  );

  it('compress well enough to be worth it (under 20% of the email JSON)', () => {
    const email = emailJson();
    expect(native.encodeSync(email).length / email.length).toBeLessThan(0.2);
    expect(js.encodeSync(email).length / email.length).toBeLessThan(0.2);
    expect(getCodec('gzip').encodeSync(email).length / email.length).toBeLessThan(0.12);
  });

  it('write a content checksum in every frame (FLG bit 2)', () => {
    for (const codec of [native, js]) {
      const frame = codec.encodeSync(smsJson);
      expect((frame[4]! & 0x04) !== 0).toBe(true);
    }
  });
});

describe('detectCodec', () => {
  it('reads the magic number and nothing else', () => {
    expect(detectCodec(Uint8Array.of(0x1f, 0x8b))).toBe('gzip');
    expect(detectCodec(Uint8Array.of(0x04, 0x22, 0x4d, 0x18, 0x00))).toBe('lz4');
    expect(detectCodec(Uint8Array.of(0x1f))).toBe('none');
    expect(detectCodec(Uint8Array.of(0x04, 0x22, 0x4d))).toBe('none');
    expect(detectCodec(new Uint8Array(0))).toBe('none');
    expect(detectCodec(smsJson)).toBe('none');
    // A legacy-format LZ4 stream (lz4 -l) is not a frame.
    expect(detectCodec(Uint8Array.of(0x02, 0x21, 0x4c, 0x18))).toBe('none');
    expect(detectCodec(randomish25MB().subarray(0, 1000))).toBe('none');
  });
});
