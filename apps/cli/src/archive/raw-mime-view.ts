import type { AddressObject } from 'mailparser';

/** What `show` and `open` display of an email's raw MIME, read with mailparser. */
export interface RawMimeView {
  /** Size of the raw message, in bytes. */
  readonly bytes: number;
  readonly from?: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly bcc: readonly string[];
  readonly subject?: string;
  /** The Date header, ISO 8601. */
  readonly date?: string;
  readonly messageId?: string;
  /** The text part (or the HTML part rendered as text by mailparser). */
  readonly text?: string;
  /** The HTML part, with inline (cid:) images as data: URLs. */
  readonly html?: string;
  readonly attachments: readonly { readonly fileName: string; readonly contentType: string; readonly bytes: number }[];
}

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  const found: string[] = [];
  const walk = (entries: AddressObject['value']) => {
    for (const entry of entries) {
      if (entry.group !== undefined) walk(entry.group);
      else if (entry.address) found.push(entry.address);
    }
  };
  for (const object of list) walk(object.value);
  return found;
}

/** Parses a document's `raw_mime` (base64 of the exact message), or `undefined` when it has none. */
export async function readRawMimeView(document: Record<string, unknown> | undefined): Promise<RawMimeView | undefined> {
  const raw = document?.['raw_mime'];
  if (typeof raw !== 'string') return undefined;
  const bytes = Buffer.from(raw, 'base64');
  // Loaded on first use, so commands that never read raw MIME (the worker above all) do not carry mailparser.
  const { simpleParser } = await import('mailparser');
  const parsed = await simpleParser(bytes, { skipTextToHtml: true });
  const text = parsed.text ?? undefined;
  const html = typeof parsed.html === 'string' ? parsed.html : undefined;
  return {
    bytes: bytes.length,
    ...(parsed.from?.value[0]?.address ? { from: parsed.from.text } : {}),
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    bcc: addresses(parsed.bcc),
    ...(parsed.subject === undefined ? {} : { subject: parsed.subject }),
    ...(parsed.date === undefined || Number.isNaN(parsed.date.getTime()) ? {} : { date: parsed.date.toISOString() }),
    ...(parsed.messageId === undefined ? {} : { messageId: parsed.messageId }),
    ...(text === undefined || text === '' ? {} : { text }),
    ...(html === undefined ? {} : { html }),
    attachments: parsed.attachments.map((attachment) => ({ fileName: attachment.filename ?? '(no name)', contentType: attachment.contentType, bytes: attachment.size })),
  };
}
