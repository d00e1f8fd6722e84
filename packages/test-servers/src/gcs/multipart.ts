/** One part of a `multipart/related` body. */
export interface MultipartPart {
  /** Part headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** The boundary of a `multipart/related; boundary=…` content type, or `undefined`. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^multipart\/related\b/i.test(contentType.trim())) return undefined;
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/**
 * Splits a `multipart/related` body into its parts (RFC 2046): parts start after `--boundary` and a
 * line break, headers end at the first empty line, and the line break before the next delimiter
 * belongs to the delimiter. Returns `undefined` when the body is not well formed, e.g. a closing
 * delimiter is missing because the upload was cut short.
 */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] | undefined {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let position = body.indexOf(delimiter);
  if (position === -1) return undefined;
  for (;;) {
    position += delimiter.length;
    if (body[position] === 0x2d && body[position + 1] === 0x2d) return parts;
    if (body[position] === 0x0d && body[position + 1] === 0x0a) position += 2;
    else if (body[position] === 0x0a) position += 1;
    else return undefined;
    let next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), position);
    let lineBreak = 2;
    if (next === -1) {
      next = body.indexOf(Buffer.concat([Buffer.from('\n'), delimiter]), position);
      lineBreak = 1;
    }
    if (next === -1) return undefined;
    const part = body.subarray(position, next);
    let headerEnd = part.indexOf('\r\n\r\n');
    let separator = 4;
    if (headerEnd === -1) {
      headerEnd = part.indexOf('\n\n');
      separator = 2;
    }
    if (headerEnd === -1) return undefined;
    const headers: Record<string, string> = {};
    for (const line of part.subarray(0, headerEnd).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, body: part.subarray(headerEnd + separator) });
    position = next + lineBreak;
  }
}
