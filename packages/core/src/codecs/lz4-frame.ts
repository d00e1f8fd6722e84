import { corruptInput, outputTooLarge } from './bytes.js';
import { xxhash32 } from './xxhash32.js';

// LZ4 frame format: https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md
const frameMagic = 0x184d2204;
const skippableMagicBase = 0x184d2a50;
const uncompressedBlockFlag = 0x80000000;
const minMatch = 4;
/** No LZ4 sequence turns n input bytes into more than 255·n output bytes (one length byte adds at most 255). */
const maxBlockExpansion = 255;
const blockMaxBytesById: Readonly<Record<number, number>> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

interface FrameHeader {
  blockIndependent: boolean;
  blockChecksum: boolean;
  contentChecksum: boolean;
  /** Declared decoded size, when the writer recorded it. */
  contentSize: number | undefined;
  blockMaxBytes: number;
  /** Offset of the first block header. */
  dataStart: number;
}

/** What a walk over the frame and block headers tells before decoding anything. */
export interface Lz4Layout {
  /** LZ4 data frames (skippable frames not counted). */
  dataFrames: number;
  skippableFrames: number;
  /** Upper bound of the decoded size, from block sizes alone. */
  outputBound: number;
  /** Sum of the declared content sizes, when every data frame declares one. */
  declaredSize: number | undefined;
}

function read32(bytes: Uint8Array, index: number): number {
  return (bytes[index]! | (bytes[index + 1]! << 8) | (bytes[index + 2]! << 16) | (bytes[index + 3]! << 24)) >>> 0;
}

function write32(bytes: Uint8Array, index: number, value: number): void {
  bytes[index] = value & 0xff;
  bytes[index + 1] = (value >>> 8) & 0xff;
  bytes[index + 2] = (value >>> 16) & 0xff;
  bytes[index + 3] = (value >>> 24) & 0xff;
}

function need(bytes: Uint8Array, end: number, what: string): void {
  if (end > bytes.length) throw corruptInput('lz4', `truncated ${what}`);
}

function readFrameHeader(bytes: Uint8Array, start: number): FrameHeader {
  need(bytes, start + 7, 'frame header');
  const flags = bytes[start + 4]!;
  const blockDescriptor = bytes[start + 5]!;
  if (flags >>> 6 !== 1) throw corruptInput('lz4', `unsupported frame version ${flags >>> 6}`);
  if ((flags & 0x02) !== 0 || (blockDescriptor & 0x8f) !== 0) throw corruptInput('lz4', 'reserved header bits are set');
  if ((flags & 0x01) !== 0) throw corruptInput('lz4', 'frames that need a dictionary are not supported');
  const blockMaxBytes = blockMaxBytesById[(blockDescriptor >>> 4) & 0x07];
  if (blockMaxBytes === undefined) throw corruptInput('lz4', 'invalid block maximum size');
  const hasContentSize = (flags & 0x08) !== 0;
  const checksumIndex = start + 6 + (hasContentSize ? 8 : 0);
  need(bytes, checksumIndex + 1, 'frame header');
  if (((xxhash32(bytes, start + 4, checksumIndex) >>> 8) & 0xff) !== bytes[checksumIndex]) {
    throw corruptInput('lz4', 'frame header checksum mismatch');
  }
  let contentSize: number | undefined;
  if (hasContentSize) {
    const high = read32(bytes, start + 10);
    // Sizes past 2^53 can't be represented, and are far past any limit anyway.
    contentSize = high >= 0x200000 ? Number.MAX_SAFE_INTEGER : high * 0x100000000 + read32(bytes, start + 6);
  }
  return {
    blockIndependent: (flags & 0x20) !== 0,
    blockChecksum: (flags & 0x10) !== 0,
    contentChecksum: (flags & 0x04) !== 0,
    contentSize,
    blockMaxBytes,
    dataStart: checksumIndex + 1,
  };
}

/** Walks frame and block headers (no decoding); throws `CodecError` if the structure is broken. */
export function inspectLz4(bytes: Uint8Array): Lz4Layout {
  if (bytes.length === 0) throw corruptInput('lz4', 'empty input');
  const layout: Lz4Layout = { dataFrames: 0, skippableFrames: 0, outputBound: 0, declaredSize: 0 };
  let index = 0;
  while (index < bytes.length) {
    need(bytes, index + 4, 'frame magic number');
    const magic = read32(bytes, index);
    if ((magic & 0xfffffff0) === skippableMagicBase) {
      need(bytes, index + 8, 'skippable frame');
      index += 8 + read32(bytes, index + 4);
      need(bytes, index, 'skippable frame');
      layout.skippableFrames++;
      continue;
    }
    if (magic !== frameMagic) {
      throw corruptInput('lz4', index === 0 ? 'not an LZ4 frame (wrong magic number)' : `unexpected bytes after the frame at offset ${index}`);
    }
    const header = readFrameHeader(bytes, index);
    index = header.dataStart;
    for (;;) {
      need(bytes, index + 4, 'block header');
      const word = read32(bytes, index);
      index += 4;
      if (word === 0) break;
      const size = word & ~uncompressedBlockFlag;
      if (size > header.blockMaxBytes) throw corruptInput('lz4', 'block larger than the frame allows');
      index += size + (header.blockChecksum ? 4 : 0);
      need(bytes, index, 'block');
      layout.outputBound += (word & uncompressedBlockFlag) !== 0 ? size : Math.min(header.blockMaxBytes, size * maxBlockExpansion);
    }
    index += header.contentChecksum ? 4 : 0;
    need(bytes, index, 'content checksum');
    layout.dataFrames++;
    layout.declaredSize = header.contentSize === undefined || layout.declaredSize === undefined ? undefined : layout.declaredSize + header.contentSize;
  }
  if (layout.dataFrames === 0) throw corruptInput('lz4', 'no LZ4 data frame found');
  return layout;
}

/** Decoded output that grows on demand but never past the limit. */
class Output {
  bytes: Uint8Array;
  length = 0;

  constructor(
    initialCapacity: number,
    private readonly maxOutputBytes: number,
  ) {
    this.bytes = new Uint8Array(initialCapacity);
  }

  /** Makes room for `extra` more bytes after `length`; returns the (possibly new) array. */
  reserve(extra: number): Uint8Array {
    const needed = this.length + extra;
    if (needed > this.maxOutputBytes) throw outputTooLarge('lz4', this.maxOutputBytes, `of at least ${needed} bytes`);
    if (needed > this.bytes.length) {
      const grown = new Uint8Array(Math.min(this.maxOutputBytes, Math.max(needed, this.bytes.length * 2, 64 * 1024)));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    return this.bytes;
  }

  result(): Uint8Array {
    return this.length === this.bytes.length ? this.bytes : this.bytes.slice(0, this.length);
  }
}

function readLength(bytes: Uint8Array, index: number, end: number): [length: number, next: number] {
  let length = 0;
  let byte = 255;
  while (byte === 255) {
    if (index >= end) throw corruptInput('lz4', 'length runs past the end of the block');
    byte = bytes[index++]!;
    length += byte;
  }
  return [length, index];
}

/** Decodes one compressed block into `output`; matches may reach back to `windowStart`. */
function decodeBlock(source: Uint8Array, start: number, end: number, output: Output, windowStart: number): void {
  let index = start;
  let target = output.bytes;
  let length = output.length;
  for (;;) {
    if (index >= end) throw corruptInput('lz4', 'block does not end with literals');
    const token = source[index++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      const [extra, next] = readLength(source, index, end);
      literals += extra;
      index = next;
    }
    if (literals > end - index) throw corruptInput('lz4', 'literals run past the end of the block');
    if (length + literals > target.length) {
      output.length = length;
      target = output.reserve(literals);
    }
    if (literals < 32) {
      for (let copied = 0; copied < literals; copied++) target[length + copied] = source[index + copied]!;
    } else {
      target.set(source.subarray(index, index + literals), length);
    }
    index += literals;
    length += literals;
    if (index === end) break;
    if (end - index < 2) throw corruptInput('lz4', 'match offset runs past the end of the block');
    const offset = source[index]! | (source[index + 1]! << 8);
    index += 2;
    if (offset === 0 || offset > length - windowStart) throw corruptInput('lz4', 'match refers to data before the window');
    let matchLength = token & 15;
    if (matchLength === 15) {
      const [extra, next] = readLength(source, index, end);
      matchLength += extra;
      index = next;
    }
    matchLength += minMatch;
    if (length + matchLength > target.length) {
      output.length = length;
      target = output.reserve(matchLength);
    }
    const from = length - offset;
    if (offset >= matchLength && matchLength >= 32) {
      target.copyWithin(length, from, from + matchLength);
    } else {
      // Overlapping copies must go byte by byte: they repeat the last `offset` bytes.
      for (let copied = 0; copied < matchLength; copied++) target[length + copied] = target[from + copied]!;
    }
    length += matchLength;
  }
  output.length = length;
}

/**
 * Pure-JS decoder for every LZ4 frame the reference tool writes (linked or independent blocks, any
 * block size, optional content size and checksums, concatenated and skippable frames). Verifies
 * every checksum present and stops as soon as the output would pass `maxOutputBytes`. lz4js's own
 * decoder is not used: it checks neither bounds nor checksums.
 */
export function decodeLz4Js(bytes: Uint8Array, maxOutputBytes: number, layout: Lz4Layout = inspectLz4(bytes)): Uint8Array {
  if (layout.declaredSize !== undefined && layout.declaredSize > maxOutputBytes) {
    throw outputTooLarge('lz4', maxOutputBytes, `declared as ${layout.declaredSize} bytes`);
  }
  // Start from the declared size or a guess; growing beats zeroing a 4 MiB bound for a 3 KB message.
  const guess = layout.declaredSize ?? 8 * bytes.length + 64 * 1024;
  const output = new Output(Math.min(guess, layout.outputBound, maxOutputBytes), maxOutputBytes);
  let index = 0;
  while (index < bytes.length) {
    if (read32(bytes, index) !== frameMagic) {
      index += 8 + read32(bytes, index + 4);
      continue;
    }
    const header = readFrameHeader(bytes, index);
    const frameStart = output.length;
    index = header.dataStart;
    for (;;) {
      const word = read32(bytes, index);
      index += 4;
      if (word === 0) break;
      const size = word & ~uncompressedBlockFlag;
      const blockEnd = index + size;
      if (header.blockChecksum && xxhash32(bytes, index, blockEnd) !== read32(bytes, blockEnd)) {
        throw corruptInput('lz4', 'block checksum mismatch');
      }
      if ((word & uncompressedBlockFlag) !== 0) {
        output.reserve(size).set(bytes.subarray(index, blockEnd), output.length);
        output.length += size;
      } else {
        decodeBlock(bytes, index, blockEnd, output, header.blockIndependent ? output.length : frameStart);
      }
      index = blockEnd + (header.blockChecksum ? 4 : 0);
    }
    if (header.contentSize !== undefined && output.length - frameStart !== header.contentSize) {
      throw corruptInput('lz4', `frame declares ${header.contentSize} bytes but holds ${output.length - frameStart}`);
    }
    if (header.contentChecksum) {
      if (xxhash32(output.bytes, frameStart, output.length) !== read32(bytes, index)) throw corruptInput('lz4', 'content checksum mismatch');
      index += 4;
    }
  }
  return output.result();
}

/** lz4js's block compressor: compresses `source[start, start + length)` into `target` from 0; returns the size, 0 if it found nothing to compress. */
export type Lz4jsCompressBlock = (source: Uint8Array, target: Uint8Array, start: number, length: number, hashTable: Uint32Array) => number;

const jsBlockMaxId = 7;
const jsBlockMaxBytes = blockMaxBytesById[jsBlockMaxId]!;
/*
 * lz4js may start a match 10-11 bytes before a block's end, which the format forbids (the last match
 * must start 12 or more bytes before it). liblz4 decodes each block into a buffer of exactly the
 * declared maximum, so a *full* block written that way fails `lz4 -dc` (9 of 30 word-salad
 * inputs of 4 MiB + 1000 bytes, with lz4js's own compressFrame). Blocks 16 bytes short of the
 * maximum never reach that margin.
 */
const jsBlockBytes = jsBlockMaxBytes - 16;
let jsHashTable: Uint32Array | undefined;

/**
 * Writes an LZ4 frame with lz4js's block compressor: linked blocks (lz4js matches across block
 * boundaries), 4 MiB maximum block size like the `lz4` tool, and a content checksum.
 */
export function encodeLz4FrameJs(bytes: Uint8Array, compressBlock: Lz4jsCompressBlock): Uint8Array {
  const blockCount = Math.ceil(bytes.length / jsBlockBytes);
  const frame = new Uint8Array(7 + bytes.length + 4 * blockCount + 8);
  write32(frame, 0, frameMagic);
  frame[4] = 0x40 | 0x04;
  frame[5] = jsBlockMaxId << 4;
  frame[6] = (xxhash32(frame, 4, 6) >>> 8) & 0xff;
  let length = 7;
  if (bytes.length > 0) {
    const largest = Math.min(bytes.length, jsBlockBytes);
    // LZ4's worst-case expansion; lz4js silently drops writes past the end of a short buffer.
    const scratch = new Uint8Array(largest + Math.ceil(largest / 255) + 64);
    // Reused: clearing 256 KiB is cheaper than allocating it per message; encoding is synchronous.
    jsHashTable ??= new Uint32Array(1 << 16);
    jsHashTable.fill(0);
    for (let start = 0; start < bytes.length; start += jsBlockBytes) {
      const size = Math.min(jsBlockBytes, bytes.length - start);
      const compressed = compressBlock(bytes, scratch, start, size, jsHashTable);
      if (compressed > 0 && compressed < size) {
        write32(frame, length, compressed);
        frame.set(scratch.subarray(0, compressed), length + 4);
        length += 4 + compressed;
      } else {
        write32(frame, length, (uncompressedBlockFlag | size) >>> 0);
        frame.set(bytes.subarray(start, start + size), length + 4);
        length += 4 + size;
      }
    }
  }
  write32(frame, length, 0);
  write32(frame, length + 4, xxhash32(bytes));
  length += 8;
  return length === frame.length ? frame : frame.slice(0, length);
}
