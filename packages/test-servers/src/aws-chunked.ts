/**
 * Decodes an `aws-chunked` request body (`<hex size>[;chunk-signature=…]\r\n<data>\r\n` …
 * `0\r\n<trailers>\r\n\r\n`), as the AWS SDKs send streaming uploads. Returns the data and the
 * trailing headers (e.g. `x-amz-checksum-crc32`), or `undefined` when the framing is broken.
 */
export function decodeAwsChunked(encoded: Buffer): { data: Buffer; trailers: Record<string, string> } | undefined {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = encoded.indexOf('\r\n', offset);
    if (lineEnd === -1) return undefined;
    const sizeText = encoded.subarray(offset, lineEnd).toString('latin1').split(';')[0] ?? '';
    const size = Number.parseInt(sizeText, 16);
    if (!/^[0-9a-fA-F]+$/.test(sizeText) || !Number.isFinite(size)) return undefined;
    offset = lineEnd + 2;
    if (size === 0) break;
    if (offset + size + 2 > encoded.length) return undefined;
    parts.push(encoded.subarray(offset, offset + size));
    offset += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of encoded.subarray(offset).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { data: Buffer.concat(parts), trailers };
}
