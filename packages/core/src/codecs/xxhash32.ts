const prime1 = 0x9e3779b1;
const prime2 = 0x85ebca77;
const prime3 = 0xc2b2ae3d;
const prime4 = 0x27d4eb2f;
const prime5 = 0x165667b1;

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

function read32(bytes: Uint8Array, index: number): number {
  return bytes[index]! | (bytes[index + 1]! << 8) | (bytes[index + 2]! << 16) | (bytes[index + 3]! << 24);
}

function round(accumulator: number, lane: number): number {
  return Math.imul(rotateLeft((accumulator + Math.imul(lane, prime2)) | 0, 13), prime1);
}

/** XXH32 of `bytes[start, end)` as an unsigned 32-bit number: the checksum the LZ4 frame format uses. */
export function xxhash32(bytes: Uint8Array, start = 0, end = bytes.length, seed = 0): number {
  let index = start;
  let hash: number;
  if (end - start >= 16) {
    let v1 = (seed + prime1 + prime2) | 0;
    let v2 = (seed + prime2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - prime1) | 0;
    for (const limit = end - 16; index <= limit; index += 16) {
      v1 = round(v1, read32(bytes, index));
      v2 = round(v2, read32(bytes, index + 4));
      v3 = round(v3, read32(bytes, index + 8));
      v4 = round(v4, read32(bytes, index + 12));
    }
    hash = (rotateLeft(v1, 1) + rotateLeft(v2, 7) + rotateLeft(v3, 12) + rotateLeft(v4, 18)) | 0;
  } else {
    hash = (seed + prime5) | 0;
  }
  hash = (hash + (end - start)) | 0;
  for (; index + 4 <= end; index += 4) {
    hash = Math.imul(rotateLeft((hash + Math.imul(read32(bytes, index), prime3)) | 0, 17), prime4);
  }
  for (; index < end; index++) {
    hash = Math.imul(rotateLeft((hash + Math.imul(bytes[index]!, prime5)) | 0, 11), prime1);
  }
  hash = Math.imul(hash ^ (hash >>> 15), prime2);
  hash = Math.imul(hash ^ (hash >>> 13), prime3);
  return (hash ^ (hash >>> 16)) >>> 0;
}
