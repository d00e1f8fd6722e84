import type { EmailAttachmentView } from './email-parts.js';

/** Largest attachment, in bytes, that an email's `cid:` reference is shown inline from (as a data: URI); larger ones get a visible note instead. */
export const inlineImageCapBytes = 2 * 1024 * 1024;

/** What a `cid:` reference in an email's HTML becomes: the attachment as a data: URI, or a note saying why it is not shown. */
export type InlineImage = { readonly dataUri: string } | { readonly note: string };

// Types a browser draws in <img> without running anything or loading anything else; others (a PDF under a cid) stay blank.
const imageTypes = new Set(['image/png', 'image/jpeg', 'image/jpg', 'image/pjpeg', 'image/gif', 'image/webp', 'image/bmp', 'image/avif', 'image/svg+xml', 'image/x-icon', 'image/vnd.microsoft.icon']);

/** A content id as `cid:` URLs and attachments spell it, compared: percent-decoded, without angle brackets, lower-case. */
export function normalizeContentId(value: string): string {
  let decoded = value.trim();
  try {
    decoded = decodeURIComponent(decoded);
  } catch {
    // A malformed escape: compared as written.
  }
  return decoded
    .replace(/^<(.*)>$/, '$1')
    .trim()
    .toLowerCase();
}

const size = (bytes: number) => (bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`);

/**
 * The attachments an email's HTML can show inline, by normalized content id: image types as data:
 * URIs (built from the stored bytes, so the frame loads nothing), over `capBytes` as a note.
 * Attachments without a content id, or of another type, are left out (their `cid:` stays blank).
 */
export function inlineImages(attachments: readonly EmailAttachmentView[], capBytes: number = inlineImageCapBytes): Map<string, InlineImage> {
  const found = new Map<string, InlineImage>();
  for (const attachment of attachments) {
    if (attachment.contentId === undefined) continue;
    const id = normalizeContentId(attachment.contentId);
    const type = attachment.contentType.split(';')[0]!.trim().toLowerCase();
    if (id === '' || found.has(id) || !imageTypes.has(type)) continue;
    found.set(
      id,
      attachment.bytes.byteLength > capBytes
        ? { note: `[Inline image not shown: ${size(attachment.bytes.byteLength)}, over the viewer limit of ${size(capBytes)} for inline images; it is in the Attachments tab]` }
        : { dataUri: `data:${type};base64,${Buffer.from(attachment.bytes).toString('base64')}` },
    );
  }
  return found;
}
