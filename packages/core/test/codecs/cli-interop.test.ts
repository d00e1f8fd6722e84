import { describe, expect, it } from 'vitest';
import { createLz4Codec, getCodec } from '../../src/codecs/index.js';
import { runTool, withTempFile } from './cli-tools.js';
import { allByteValues, emailJson, emptyJson, nonAsciiJson, randomish25MB, smsJson, wordSalad } from './sample-inputs.js';

const gzip = getCodec('gzip');
const lz4Implementations = [
  ['native', createLz4Codec({ implementation: 'native' })],
  ['js', createLz4Codec({ implementation: 'js' })],
] as const;

const inputs = [
  ['empty JSON {}', () => emptyJson],
  ['SMS JSON', () => smsJson],
  ['email JSON', () => emailJson()],
  ['all byte values', () => allByteValues],
  ['non-ASCII JSON', () => nonAsciiJson],
  ['empty input', () => new Uint8Array(0)],
  ['25 MB random-ish bytes', randomish25MB],
] as const;

function same(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.byteLength).toBe(expected.byteLength);
  expect(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected)).toBe(true);
}

describe('gzip against the gzip command line tool', () => {
  it.each(inputs)(
    'gzip -dc opens our %s',
    (_name, input) => {
      const bytes = input();
      same(
        withTempFile(gzip.encodeSync(bytes), (file) => runTool('gzip', ['-dc', file])),
        bytes,
      );
    },
    60_000,
  );

  it.each(inputs)(
    'we open gzip -c output of %s',
    async (_name, input) => {
      const bytes = input();
      const compressed = withTempFile(bytes, (file) => runTool('gzip', ['-c', file]));
      same(gzip.decodeSync(compressed), bytes);
      same(await gzip.decode(compressed), bytes);
    },
    60_000,
  );

  it('opens gzip -9 and gzip -1 output and concatenated members, as gzip -dc does', () => {
    const email = emailJson();
    for (const level of ['-1', '-9']) same(gzip.decodeSync(runTool('gzip', ['-c', level], email)), email);
    const twice = Buffer.concat([runTool('gzip', ['-c'], smsJson), runTool('gzip', ['-c'], email)]);
    same(gzip.decodeSync(twice), Buffer.concat([smsJson, email]));
  });
});

describe.each(lz4Implementations)('lz4 (%s) against the lz4 command line tool', (_implementation, lz4) => {
  it.each(inputs)(
    'lz4 -dc opens our %s',
    (_name, input) => {
      const bytes = input();
      same(
        withTempFile(lz4.encodeSync(bytes), (file) => runTool('lz4', ['-dc', file])),
        bytes,
      );
    },
    60_000,
  );

  it.each(inputs)(
    'we open lz4 -c output of %s',
    (_name, input) => {
      const bytes = input();
      same(lz4.decodeSync(withTempFile(bytes, (file) => runTool('lz4', ['-c', file]))), bytes);
    },
    60_000,
  );

  it.each([
    ['content size (--content-size)', ['--content-size']],
    ['64 KB blocks (-B4)', ['-B4']],
    ['256 KB linked blocks (-B5 -BD)', ['-B5', '-BD']],
    ['block checksums (-BX)', ['-BX']],
    ['no content checksum (--no-frame-crc)', ['--no-frame-crc']],
    ['high compression (-9)', ['-9']],
    ['fast mode (--fast=5)', ['--fast=5']],
  ])(
    'opens lz4 output written with %s',
    (_name, flags) => {
      for (const bytes of [emailJson(), randomish25MB().subarray(0, 3_000_000), emptyJson]) {
        same(lz4.decodeSync(withTempFile(bytes, (file) => runTool('lz4', ['-c', ...flags, file]))), bytes);
      }
    },
    60_000,
  );

  it('opens concatenated frames and skips skippable frames, as lz4 -dc does', () => {
    const email = emailJson();
    const skippable = Uint8Array.of(0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3);
    const stream = Buffer.concat([lz4.encodeSync(smsJson), skippable, runTool('lz4', ['-c'], email)]);
    const expected = Buffer.concat([smsJson, email]);
    same(
      withTempFile(stream, (file) => runTool('lz4', ['-dc', file])),
      expected,
    );
    same(lz4.decodeSync(stream), expected);
  });
});

describe('lz4 frames with full-size blocks', () => {
  // Word salad puts matches close to every block end; lz4js's own compressFrame fails `lz4 -dc` on
  // these three seeds (a match starting 10-11 bytes before a full block's end).
  it.each([3, 4, 8])(
    'open with lz4 -dc for 4 MiB + 1000 bytes of word salad (seed %i)',
    (seed) => {
      const bytes = wordSalad(4 * 1024 * 1024 + 1000, seed);
      for (const [, lz4] of lz4Implementations) {
        same(
          withTempFile(lz4.encodeSync(bytes), (file) => runTool('lz4', ['-dc', file])),
          bytes,
        );
      }
    },
    60_000,
  );
});
