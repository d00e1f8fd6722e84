import { createHash } from 'node:crypto';

/** SHA-256 of `bytes`, as 64 lower-case hex digits. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** MD5 of the UTF-8 encoding of `text`, as 32 lower-case hex digits (for vendor key layouts, not for security). */
export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}
