/**
 * The `raw_mime` field's text for a message's exact bytes: standard base64 (RFC 4648 alphabet,
 * `=`-padded, no line breaks). Base64 rather than a string of the message itself because MIME may
 * be 8-bit and need not be UTF-8, while a JSON string holds only Unicode text.
 */
export function encodeRawMime(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** The exact bytes a `raw_mime` field holds (its base64 decoded). The field is assumed valid: validation checks it. */
export function decodeRawMime(rawMime: string): Uint8Array {
  return new Uint8Array(Buffer.from(rawMime, 'base64'));
}

/**
 * The first bytes of a `raw_mime` field, up to `limit`, without decoding the rest (a message with
 * attachments may be tens of megabytes, and only its header section is needed to key it).
 */
export function decodeRawMimePrefix(rawMime: string, limit: number): Uint8Array {
  const characters = Math.ceil(limit / 3) * 4;
  return new Uint8Array(Buffer.from(characters >= rawMime.length ? rawMime : rawMime.slice(0, characters), 'base64'));
}
