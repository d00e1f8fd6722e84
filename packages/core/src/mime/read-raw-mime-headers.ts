import PostalMime, { type Address } from 'postal-mime';

/** What the header section of an RFC 5322 message says, as `readRawMimeHeaders` reads it. */
export interface RawMimeHeaders {
  /** Addresses of the To header (group members included), in order, without display names. */
  readonly to: readonly string[];
  /** Addresses of the Cc header. */
  readonly cc: readonly string[];
  /** Addresses of the Bcc header (most senders leave it out of the message they send). */
  readonly bcc: readonly string[];
  /** The From address, if there is one. */
  readonly from?: string;
  /** The Subject, decoded (RFC 2047 encoded words). */
  readonly subject?: string;
  /** The Date header as epoch milliseconds, when present and readable as a date. */
  readonly date?: number;
  /** `true` when a Date header is present (readable or not). */
  readonly hasDate: boolean;
  /** The Message-ID without its angle brackets, e.g. `abc.123@mail.example.com`. */
  readonly messageId?: string;
}

/**
 * Most bytes of a header section read. Mail servers refuse far smaller header sections; this only
 * bounds the work a hostile message can cause.
 */
export const maxRawMimeHeaderBytes = 1024 * 1024;

/** The bytes up to and including the blank line that ends the header section (all of them when there is none within the limit). */
export function headerSection(bytes: Uint8Array): Uint8Array {
  const end = Math.min(bytes.length, maxRawMimeHeaderBytes);
  for (let index = 0; index + 1 < end; index++) {
    if (bytes[index] !== 0x0a) continue;
    if (bytes[index + 1] === 0x0a) return bytes.subarray(0, index + 2);
    if (bytes[index + 1] === 0x0d && bytes[index + 2] === 0x0a) return bytes.subarray(0, index + 3);
  }
  return bytes.subarray(0, end);
}

function addressesOf(list: readonly Address[] | undefined): string[] {
  const found: string[] = [];
  for (const entry of list ?? []) {
    const members = 'group' in entry && Array.isArray(entry.group) ? entry.group : [entry];
    for (const member of members) {
      const address = (member as { address?: unknown }).address;
      if (typeof address === 'string' && address !== '') found.push(address);
    }
  }
  return found;
}

/**
 * Reads the addresses, subject, date and Message-ID of an RFC 5322 message with postal-mime (a
 * maintained MIME parser), from its header section only: the body is not parsed, whatever its size.
 * Rejects with postal-mime's error when the header section cannot be read.
 */
export async function readRawMimeHeaders(bytes: Uint8Array): Promise<RawMimeHeaders> {
  const section = headerSection(bytes);
  // A copy: postal-mime takes an ArrayBuffer, and the section is a view into a larger buffer.
  const email = await PostalMime.parse(section.slice().buffer, { maxHeadersSize: maxRawMimeHeaderBytes });
  const dateHeader = email.headers.find((header) => header.key === 'date');
  const date = dateHeader === undefined ? Number.NaN : Date.parse(dateHeader.value);
  const messageId = email.messageId
    ?.trim()
    .replace(/^<([^>]*)>$/, '$1')
    .trim();
  const from = email.from === undefined ? [] : addressesOf([email.from]);
  return {
    to: addressesOf(email.to),
    cc: addressesOf(email.cc),
    bcc: addressesOf(email.bcc),
    ...(from[0] === undefined ? {} : { from: from[0] }),
    ...(email.subject === undefined ? {} : { subject: email.subject }),
    ...(Number.isFinite(date) ? { date } : {}),
    hasDate: dateHeader !== undefined,
    ...(messageId === undefined || messageId === '' ? {} : { messageId }),
  };
}
