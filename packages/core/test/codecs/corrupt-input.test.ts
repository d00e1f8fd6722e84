import { describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codecs/index.js';
import { CodecError, createLz4Codec, getCodec } from '../../src/codecs/index.js';
import { runTool } from './cli-tools.js';
import { emailJson, seededRandom, smsJson } from './sample-inputs.js';

const gzip = getCodec('gzip');
const native = createLz4Codec({ implementation: 'native' });
const js = createLz4Codec({ implementation: 'js' });
const compressing: readonly (readonly [label: string, codec: Codec])[] = [
  ['gzip', gzip],
  ['lz4 native', native],
  ['lz4 js', js],
];

function codecError(run: () => unknown): CodecError {
  try {
    run();
  } catch (error) {
    if (CodecError.isInstance(error)) return error;
    throw new Error(`expected a CodecError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a CodecError, but decoding succeeded');
}

async function codecErrorAsync(run: () => Promise<unknown>): Promise<CodecError> {
  try {
    await run();
  } catch (error) {
    if (CodecError.isInstance(error)) return error;
    throw new Error(`expected a CodecError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a CodecError, but decoding succeeded');
}

function randomBytes(length: number, seed: number): Uint8Array {
  const next = seededRandom(seed);
  return Uint8Array.from({ length }, () => Math.floor(next() * 256));
}

/** A copy of `bytes` with the bits in `mask` flipped at `index`. */
function flipped(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[index] = copy[index]! ^ mask;
  return copy;
}

describe.each(compressing)('%s rejects corrupt input with CodecError', (label, codec) => {
  it.each([
    ['empty input', new Uint8Array(0)],
    ['random bytes', randomBytes(1000, 1)],
    ['plain JSON', smsJson],
    ['a lone magic number', label === 'gzip' ? Uint8Array.of(0x1f, 0x8b) : Uint8Array.of(0x04, 0x22, 0x4d, 0x18)],
  ])('%s', async (_name, bytes) => {
    const error = codecError(() => codec.decodeSync(bytes));
    expect(error).toMatchObject({ kind: 'corrupt_input', codec: codec.name });
    expect(error.message).toMatch(new RegExp(`^corrupt ${codec.name} input: `));
    expect((await codecErrorAsync(() => codec.decode(bytes))).kind).toBe('corrupt_input');
  });

  it('every truncation of an encoded email', () => {
    const encoded = codec.encodeSync(emailJson(8_000));
    for (let length = 0; length < encoded.length; length++) {
      expect(codecError(() => codec.decodeSync(encoded.subarray(0, length))).kind).toBe('corrupt_input');
    }
  });

  it('never returns different bytes: any single flipped bit either fails or changes nothing', () => {
    const encoded = codec.encodeSync(smsJson);
    const harmless = new Set<number>();
    for (let index = 0; index < encoded.length; index++) {
      for (const mask of [0x01, 0x80]) {
        try {
          expect(Buffer.from(codec.decodeSync(flipped(encoded, index, mask))).equals(smsJson)).toBe(true);
          harmless.add(index);
        } catch (error) {
          if (!CodecError.isInstance(error)) throw error;
        }
      }
    }
    if (codec.name === 'gzip') {
      // Unchecked: the header's text flag, mtime, extra flags and OS, and the padding bits after the
      // last deflate block (just before the 8-byte trailer).
      const allowed = [3, 4, 5, 6, 7, 8, 9, encoded.length - 9];
      expect([...harmless].filter((index) => !allowed.includes(index))).toEqual([]);
    } else {
      // LZ4 frames checksum everything; a flipped match offset may still point at identical bytes.
      expect(harmless.size).toBeLessThanOrEqual(2);
    }
  });

  it('a flipped byte in the middle of a large object', async () => {
    const encoded = codec.encodeSync(emailJson(2_000_000));
    const middle = Math.floor(encoded.length / 2);
    expect(codecError(() => codec.decodeSync(flipped(encoded, middle, 0xff))).kind).toBe('corrupt_input');
    expect((await codecErrorAsync(() => codec.decode(flipped(encoded, middle, 0xff)))).kind).toBe('corrupt_input');
  });

  it('keeps the library error as the cause', () => {
    const error = codecError(() => codec.decodeSync(randomBytes(64, 2)));
    expect(error.name).toBe('CodecError');
    expect(error.stack).toContain('CodecError');
  });
});

describe('gzip specifics', () => {
  it('names the zlib failure: bad CRC, truncation, bad header', () => {
    const encoded = gzip.encodeSync(emailJson());
    const badCrc = flipped(encoded, encoded.length - 6);
    expect(codecError(() => gzip.decodeSync(badCrc)).message).toBe('corrupt gzip input: incorrect data check');
    expect(codecError(() => gzip.decodeSync(encoded.subarray(0, encoded.length - 1))).message).toBe('corrupt gzip input: unexpected end of file');
    const error = codecError(() => gzip.decodeSync(randomBytes(100, 3)));
    expect(error.message).toBe('corrupt gzip input: incorrect header check');
    expect((error.cause as { code?: string }).code).toBe('Z_DATA_ERROR');
  });
});

describe.each([
  ['native', native],
  ['js', js],
] as const)('lz4 (%s) specifics', (_implementation, lz4) => {
  const frame = runTool('lz4', ['-c', '-BX'], emailJson());

  it('checks the header checksum, reserved bits, version and dictionary flag', () => {
    expect(codecError(() => lz4.decodeSync(flipped(frame, 6))).message).toBe('corrupt lz4 input: frame header checksum mismatch');
    for (const [index, mask, message] of [
      [4, 0x02, 'reserved header bits are set'],
      [5, 0x01, 'reserved header bits are set'],
      [4, 0xc0, 'unsupported frame version 2'],
      [4, 0x01, 'frames that need a dictionary are not supported'],
    ] as const) {
      expect(codecError(() => lz4.decodeSync(flipped(frame, index, mask))).message).toBe(`corrupt lz4 input: ${message}`);
    }
  });

  it('checks block checksums (-BX) and the content checksum', () => {
    expect(codecError(() => lz4.decodeSync(flipped(frame, 20))).kind).toBe('corrupt_input');
    const checksumOnly = runTool('lz4', ['-c'], emailJson());
    expect(codecError(() => lz4.decodeSync(flipped(checksumOnly, checksumOnly.length - 1))).kind).toBe('corrupt_input');
  });

  it('refuses bytes after the last frame (lz4 -dc refuses them too)', () => {
    const trailing = Buffer.concat([lz4.encodeSync(smsJson), Buffer.from('garbage')]);
    expect(codecError(() => lz4.decodeSync(trailing)).message).toMatch(/unexpected bytes after the frame/);
  });

  it('refuses a match reaching before the start of the output', () => {
    // Header (no checksums, 64 KB blocks, independent), one block: literal 'a', a 4-byte match at
    // `offset`, then five literals 'b'. Offset 1 repeats the 'a'; offset 2 points before the output.
    const header = [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82];
    const frameWith = (offset: number) => {
      const block = [0x10, 0x61, offset, 0x00, 0x50, 0x62, 0x62, 0x62, 0x62, 0x62];
      return Uint8Array.from([...header, block.length, 0, 0, 0, ...block, 0, 0, 0, 0]);
    };
    const valid = frameWith(1);
    const crafted = frameWith(2);
    expect(codecError(() => js.decodeSync(crafted)).kind).toBe('corrupt_input');
    expect(codecError(() => lz4.decodeSync(crafted)).kind).toBe('corrupt_input');
    expect(Buffer.from(lz4.decodeSync(valid)).toString()).toBe('aaaaabbbbb');
  });
});

describe('maxOutputBytes validation', () => {
  it.each([-1, 1.5, Number.NaN, '10' as unknown as number])('refuses %s with a RangeError', (maxOutputBytes) => {
    for (const codec of [gzip, native, js, getCodec('none')]) {
      expect(() => codec.decodeSync(codec.encodeSync(smsJson), { maxOutputBytes })).toThrow(RangeError);
    }
  });
});
