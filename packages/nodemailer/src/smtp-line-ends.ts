const crlf = Buffer.from('\r\n');

/**
 * The message as an SMTP server receives it from nodemailer: RFC 5321 allows only CRLF line ends,
 * so nodemailer's SMTP connection turns every bare CR and bare LF into CRLF, and ends a message
 * that does not end with a line break with one. The same rule, applied to the whole message.
 */
export function smtpLineEnds(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index];
    if (byte === 0x0d && bytes[index + 1] !== 0x0a) {
      parts.push(bytes.subarray(start, index), crlf);
      start = index + 1;
    } else if (byte === 0x0a && (index === 0 || bytes[index - 1] !== 0x0d)) {
      parts.push(bytes.subarray(start, index), crlf);
      start = index + 1;
    }
  }
  if (start === 0 && bytes.length > 0 && bytes[bytes.length - 1] === 0x0a) return bytes;
  parts.push(bytes.subarray(start));
  const joined = Buffer.concat(parts);
  return joined.length > 0 && joined[joined.length - 1] === 0x0a ? joined : Buffer.concat([joined, crlf]);
}
