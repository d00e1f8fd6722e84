/**
 * Masks what looks like an e-mail address, a phone number or a URL's query string, and caps the
 * length. Reasons come from DestinationError messages, which are redacted already; this is a second
 * line of defence before anything leaves the process.
 */
export function redactReason(text: string): string {
  return text
    .replace(/(https?:\/\/[^\s?#"'<>]*)[?#][^\s"'<>]*/gi, '$1')
    .replace(/[^\s"'<>()[\]{},;:@]+@[^\s"'<>()[\]{},;:@]+/g, '[redacted address]')
    .replace(/\+?\d[\d\s().-]{6,}\d/g, '[redacted number]')
    .slice(0, 300);
}
