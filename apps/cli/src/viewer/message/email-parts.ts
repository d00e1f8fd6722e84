import { decodeRawMime, stringifyJson } from '@sentcopy/core';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { maskRecipient } from '../../archive/mask-recipient.js';

/** One attachment of an email, from its `attachments` field or, when it has none, from its raw MIME. */
export interface EmailAttachmentView {
  /** File name as sent (may be empty or hostile: display it escaped, download it under {@link safeFileName}). */
  readonly fileName: string;
  /** MIME type as sent. */
  readonly contentType: string;
  /** The decoded bytes. */
  readonly bytes: Uint8Array;
  /** Content id as sent (`cid`, `content_id`, `contentId` or `ContentID`; raw MIME's `Content-ID`), which the HTML refers to as `cid:…`; absent when it has none. */
  readonly contentId?: string;
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** The decoded bytes of a documented (`bytes`, base64) or nodemailer-shaped (`content` + `encoding`) attachment. */
function attachmentBytes(attachment: Record<string, unknown>): Uint8Array {
  const base64 = text(attachment['bytes']);
  if (base64 !== undefined) return new Uint8Array(Buffer.from(base64, 'base64'));
  const content = text(attachment['content']);
  if (content === undefined) return new Uint8Array();
  const encoding = text(attachment['encoding'])?.toLowerCase();
  return new Uint8Array(Buffer.from(content, encoding === 'base64' ? 'base64' : encoding === 'hex' ? 'hex' : 'utf8'));
}

/** The raw MIME bytes of an email document, or `undefined` when it carries none. */
export function rawMimeBytes(document: Record<string, unknown> | undefined): Uint8Array | undefined {
  const raw = document?.['raw_mime'];
  return typeof raw === 'string' ? decodeRawMime(raw) : undefined;
}

/** The content id under nodemailer's (`cid`), the vendors' (`content_id`, `contentId`, `ContentID`) names, if any. */
function contentIdOf(attachment: Record<string, unknown>): { contentId?: string } {
  const id = text(attachment['cid']) ?? text(attachment['content_id']) ?? text(attachment['contentId']) ?? text(attachment['ContentID']);
  return id === undefined || id.trim() === '' ? {} : { contentId: id };
}

/** Every attachment: the document's own list, else those inside its raw MIME (read with mailparser). */
export async function emailAttachments(document: Record<string, unknown>): Promise<EmailAttachmentView[]> {
  const listed = document['attachments'];
  if (Array.isArray(listed) && listed.length > 0) {
    return listed
      .filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null)
      .map((item) => ({
        fileName: text(item['file_name']) ?? text(item['filename']) ?? '',
        contentType: text(item['content_type']) ?? text(item['contentType']) ?? 'application/octet-stream',
        bytes: attachmentBytes(item),
        ...contentIdOf(item),
      }));
  }
  const raw = rawMimeBytes(document);
  if (raw === undefined) return [];
  const parsed = await simpleParser(Buffer.from(raw), { skipTextToHtml: true, skipHtmlToText: true });
  return parsed.attachments.map((attachment) => ({
    fileName: attachment.filename ?? '',
    contentType: attachment.contentType,
    bytes: new Uint8Array(attachment.content),
    ...(attachment.contentId === undefined ? {} : { contentId: attachment.contentId }),
  }));
}

/** One header line as shown: name and value, recipient headers masked. */
export interface HeaderRow {
  readonly name: string;
  readonly value: string;
}

const recipientHeaders = new Set(['to', 'cc', 'bcc', 'delivered-to', 'x-original-to', 'envelope-to', 'x-rcpt-to', 'resent-to', 'resent-cc', 'resent-bcc']);
const maskIfRecipient = (name: string, value: string) => (recipientHeaders.has(name.trim().toLowerCase()) ? maskRecipient(value) : value);

/** The header section of raw MIME as text, recipient headers' values masked (folded lines unfolded first). */
function rawHeaderLines(raw: Uint8Array): { rows: HeaderRow[]; headerEnd: number } {
  const source = Buffer.from(raw).toString('latin1');
  const match = /\r?\n\r?\n/.exec(source);
  const headerEnd = match === null ? source.length : match.index;
  const rows: HeaderRow[] = [];
  for (const line of source.slice(0, headerEnd).split(/\r?\n(?![ \t])/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon);
    const value = line
      .slice(colon + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    rows.push({ name, value: maskIfRecipient(name, value) });
  }
  return { rows, headerEnd };
}

/** The email's headers for the headers tab: its `headers` field (object or one string), else its raw MIME's header section. */
export function emailHeaders(document: Record<string, unknown>): HeaderRow[] {
  const headers = document['headers'];
  if (typeof headers === 'string') return rawHeaderLines(new Uint8Array(Buffer.from(`${headers}\r\n\r\n`, 'latin1'))).rows;
  if (typeof headers === 'object' && headers !== null && !Array.isArray(headers)) {
    return Object.entries(headers).flatMap(([name, value]) => {
      const values = Array.isArray(value) ? value : [value];
      return values.filter((item) => item !== null && item !== undefined).map((item) => ({ name, value: maskIfRecipient(name, typeof item === 'string' ? item : stringifyJson(item)) }));
    });
  }
  const raw = rawMimeBytes(document);
  return raw === undefined ? [] : rawHeaderLines(raw).rows;
}

/** Raw MIME as text for the raw tab: recipient headers masked, the body as stored (UTF-8 when it is valid UTF-8, else Latin-1, so no byte is lost). */
export function maskedRawMime(raw: Uint8Array): string {
  const { rows, headerEnd } = rawHeaderLines(raw);
  const bodyBytes = Buffer.from(raw).subarray(headerEnd);
  let body: string;
  try {
    body = new TextDecoder('utf-8', { fatal: true }).decode(bodyBytes);
  } catch {
    body = bodyBytes.toString('latin1');
  }
  return `${rows.map((row) => `${row.name}: ${row.value}`).join('\n')}${body}`;
}

/**
 * An `.eml` for the email: its raw MIME byte for byte when it carries one, else a message built
 * from its fields by nodemailer's MailComposer (no file or URL access: only the stored content).
 */
export async function emailEml(document: Record<string, unknown>): Promise<Uint8Array> {
  const raw = rawMimeBytes(document);
  if (raw !== undefined) return raw;
  const list = (value: unknown) => (typeof value === 'string' ? value : Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined);
  const fromAddress = text(document['from_address']);
  const fromName = text(document['from_name']);
  const headers = document['headers'];
  const extraHeaders =
    typeof headers === 'object' && headers !== null && !Array.isArray(headers)
      ? Object.fromEntries(
          Object.entries(headers)
            .filter(([name]) => !/^(to|cc|bcc|from|subject|reply-to|date|message-id|content-type|content-transfer-encoding|mime-version)$/i.test(name))
            .map(([name, value]) => [name, (Array.isArray(value) ? value : [value]).filter((item) => item !== null).map((item) => (typeof item === 'string' ? item : stringifyJson(item)))]),
        )
      : undefined;
  const sentAt = document['sent_at'];
  const attachments = await emailAttachments(document);
  const composer = new MailComposer({
    ...(fromAddress === undefined ? {} : { from: fromName !== undefined && !fromAddress.includes('<') ? { name: fromName, address: fromAddress } : fromAddress }),
    ...(list(document['to']) === undefined ? {} : { to: list(document['to']) }),
    ...(list(document['cc']) === undefined ? {} : { cc: list(document['cc']) }),
    ...(list(document['bcc']) === undefined ? {} : { bcc: list(document['bcc']) }),
    ...(list(document['reply_to']) === undefined ? {} : { replyTo: list(document['reply_to']) }),
    ...(text(document['subject']) === undefined ? {} : { subject: text(document['subject']) }),
    ...(text(document['plaintext_body']) === undefined ? {} : { text: text(document['plaintext_body']) }),
    ...(text(document['html_body']) === undefined ? {} : { html: text(document['html_body']) }),
    ...(text(document['amp_body']) === undefined ? {} : { amp: text(document['amp_body']) }),
    ...(typeof sentAt === 'number' ? { date: new Date(sentAt) } : {}),
    ...(text(document['message_id']) === undefined ? {} : { headers: { 'X-Sentcopy-Message-Id': text(document['message_id'])!, ...extraHeaders } }),
    attachments: attachments.map((attachment) => ({ filename: attachment.fileName === '' ? false : attachment.fileName, contentType: attachment.contentType, content: Buffer.from(attachment.bytes) })),
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const built = await composer.compile().build();
  return new Uint8Array(built);
}

/** A file name safe in a `Content-Disposition` header and on any file system: letters, digits, `.`, `-`, `_` and spaces, at most 100 characters, never hidden. */
export function safeFileName(name: string, fallback: string): string {
  const cleaned = name
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._ -]+/g, '_')
    .replace(/^[._ ]+/, '')
    .replace(/\s+/g, ' ')
    .slice(-100)
    .trim();
  return cleaned === '' || /^_+$/.test(cleaned) ? fallback : cleaned;
}
