import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Codec } from '../../src/codecs/index.js';
import { CodecError, createLz4Codec, defaultMaxOutputBytes, getCodec } from '../../src/codecs/index.js';
import { requireTool, runShell, runTool } from './cli-tools.js';
import { emailJson, wordSalad } from './sample-inputs.js';

const mebibyte = 1024 * 1024;
const gzip = getCodec('gzip');
const native = createLz4Codec({ implementation: 'native' });
const js = createLz4Codec({ implementation: 'js' });

/** 100 MiB of zeros compressed by the command line tool, without holding 100 MiB here. */
function zerosBomb(tool: 'gzip' | 'lz4', flags = ''): Uint8Array {
  requireTool(tool);
  return runShell(`head -c ${100 * mebibyte} /dev/zero | ${tool} -c ${flags}`);
}

/**
 * Starts a fresh peak-RSS reading and returns its baseline, in bytes. Not `resourceUsage().maxRSS`:
 * a spawned process starts with its parent's resident size there (Linux keeps the high-water mark
 * across fork and exec), so late in a full run, under a large test runner, that reading was already
 * above anything a decode here could reach: the control below failed and the tight checks could not.
 * Writing 5 to clear_refs resets this process's own high-water mark (VmHWM) to its current size.
 */
function resetPeakRss(): number {
  writeFileSync('/proc/self/clear_refs', '5');
  const baseline = peakRss();
  expect(baseline - process.memoryUsage.rss()).toBeLessThan(8 * mebibyte);
  return baseline;
}

/** This process's resident high-water mark since the last reset, in bytes. */
function peakRss(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error('VmHWM is missing from /proc/self/status');
  return Number(match[1]) * 1024;
}

function expectTooLarge(run: () => unknown): CodecError {
  try {
    run();
  } catch (error) {
    if (CodecError.isInstance(error) && error.kind === 'output_too_large') return error;
    throw error;
  }
  throw new Error('expected a CodecError of kind output_too_large, but decoding succeeded');
}

async function expectTooLargeAsync(run: () => Promise<unknown>): Promise<CodecError> {
  try {
    await run();
  } catch (error) {
    if (CodecError.isInstance(error) && error.kind === 'output_too_large') return error;
    throw error;
  }
  throw new Error('expected a CodecError of kind output_too_large, but decoding succeeded');
}

const bombs: readonly (readonly [label: string, codec: Codec, bomb: () => Uint8Array])[] = [
  ['gzip', gzip, () => zerosBomb('gzip')],
  ['lz4 native', native, () => zerosBomb('lz4')],
  ['lz4 js', js, () => zerosBomb('lz4')],
];

describe.each(bombs)('%s: 100 MiB of zeros at maxOutputBytes 1 MiB', (_label, codec, bomb) => {
  it('is refused without inflating it, sync and async', async () => {
    const bytes = bomb();
    expect(bytes.length).toBeLessThan(mebibyte);
    const before = resetPeakRss();
    const error = expectTooLarge(() => codec.decodeSync(bytes, { maxOutputBytes: mebibyte }));
    expect(error.codec).toBe(codec.name);
    expect(error.message).toContain(`exceeds maxOutputBytes (${mebibyte} bytes)`);
    await expectTooLargeAsync(() => codec.decode(bytes, { maxOutputBytes: mebibyte }));
    expect(peakRss() - before).toBeLessThan(24 * mebibyte);
  }, 30_000);
});

describe('the peak-RSS reading', () => {
  it('is sensitive: an allowed 100 MiB inflate of the same bomb raises it by more than 64 MiB', () => {
    const bytes = zerosBomb('gzip');
    const before = resetPeakRss();
    expect(gzip.decodeSync(bytes, { maxOutputBytes: 200 * mebibyte }).length).toBe(100 * mebibyte);
    expect(peakRss() - before).toBeGreaterThan(64 * mebibyte);
  }, 30_000);
});

describe.each(bombs)('%s: 100 MiB of zeros without maxOutputBytes', (_label, codec, bomb) => {
  it('is refused by the default limit (64 MiB)', async () => {
    const bytes = bomb();
    expect(expectTooLarge(() => codec.decodeSync(bytes)).message).toContain(`(${defaultMaxOutputBytes} bytes)`);
    await expectTooLargeAsync(() => codec.decode(bytes));
  }, 30_000);
});

describe('the limit is exact', () => {
  it.each([
    ['gzip', gzip],
    ['lz4 native', native],
    ['lz4 js', js],
    ['none', getCodec('none')],
  ] as const)('%s: output of exactly maxOutputBytes decodes, one byte more does not', (_label, codec) => {
    const email = emailJson();
    const encoded = codec.encodeSync(email);
    expect(codec.decodeSync(encoded, { maxOutputBytes: email.length }).length).toBe(email.length);
    expectTooLarge(() => codec.decodeSync(encoded, { maxOutputBytes: email.length - 1 }));
    expect(codec.decodeSync(codec.encodeSync(new Uint8Array(0)), { maxOutputBytes: 0 }).length).toBe(0);
    expect(codec.decodeSync(encoded, { maxOutputBytes: Number.POSITIVE_INFINITY }).length).toBe(email.length);
  });
});

describe.each([
  ['native', native],
  ['js', js],
] as const)('lz4 (%s) output limits', (_implementation, lz4) => {
  it('refuses a frame whose declared content size is over the limit before decoding it', () => {
    const frame = runShell(`f=$(mktemp); head -c ${3 * mebibyte} /dev/zero > "$f"; lz4 -c --content-size "$f"; rm -f "$f"`);
    expect(expectTooLarge(() => lz4.decodeSync(frame, { maxOutputBytes: mebibyte })).message).toContain(`declared as ${3 * mebibyte} bytes`);
    expect(lz4.decodeSync(frame, { maxOutputBytes: 3 * mebibyte }).length).toBe(3 * mebibyte);
  });

  it('decodes a frame whose block sizes allow more than the limit but whose content fits', () => {
    // 900 KB of text in one 4 MiB block: the header walk can't prove it fits under 1 MiB, the decode can.
    const text = wordSalad(900_000, 5);
    const frame = runTool('lz4', ['-c'], text);
    expect(Buffer.from(lz4.decodeSync(frame, { maxOutputBytes: mebibyte })).equals(text)).toBe(true);
    expectTooLarge(() => lz4.decodeSync(frame, { maxOutputBytes: 500_000 }));
  });
});
