// Formats shared by the validator, the JSON Schema and recipient normalization, so they cannot drift.

const notInAddress = String.raw`\s@<>()[\]\\,;:"\u0000-\u001f\u007f`;
const addrSpec = String.raw`[^${notInAddress}]+@(?:[^${notInAddress}.]+\.)+[^${notInAddress}.]+`;

/**
 * An email address (addr-spec, no display name), optionally surrounded by white space:
 * a local part, `@`, and a domain of at least two dot-separated labels. Non-ASCII is allowed.
 */
export const emailAddressPattern = String.raw`^\s*${addrSpec}\s*$`;

// Hand-written rather than a parser from npm (email-addresses, addressparser): the published JSON
// Schema must accept exactly what the validator accepts, so the grammar has to be one regular
// expression that both use. A library's grammar (nested comments, groups, obsolete forms) cannot be
// written as a JSON Schema pattern. The grammar is unambiguous: a display name stops at the first
// `<`, `@`, `;` or unquoted `"`, so each mailbox has one reading and the address part is unique.
const quotedString = String.raw`"(?:[^"\\\r\n]|\\[^\r\n])*"`;
const phraseCharacter = String.raw`[^"<>@;\u0000-\u0008\u000a-\u001f\u007f]`;
const mailboxSource = String.raw`(?:(?:${quotedString}|${phraseCharacter})*<\s*(${addrSpec})\s*>\s*|\s*(${addrSpec})\s*)`;

/**
 * One mailbox: an address, optionally with a display name before it in angle brackets
 * (`jane@example.com`, `Jane Doe <jane@example.com>`, `"Doe, Jane" <jane@example.com>`,
 * `=?UTF-8?Q?J=C3=A9r=C3=B4me?= <j@example.com>`). An unquoted display name may hold commas but
 * not `@`, `<`, `;` or line breaks; surrounding white space is tolerated.
 */
export const mailboxPattern = `^${mailboxSource.replaceAll('(' + addrSpec + ')', addrSpec)}$`;

/** One or more mailboxes (see {@link mailboxPattern}) separated by commas: an RFC 5322 address list without groups or comments. */
export const addressListPattern = `^${mailboxSource.replaceAll('(' + addrSpec + ')', addrSpec)}(?:,${mailboxSource.replaceAll('(' + addrSpec + ')', addrSpec)})*$`;

const separators = String.raw`[\s().-]*`;

/**
 * A phone number with its country code: an optional `+` or `00`, then 8 to 15 digits, the first
 * not `0`, with any spaces, dashes, dots and parentheses in between.
 */
export const phoneNumberPattern = `^${separators}(?:\\+|0${separators}0)?${separators}[1-9](?:${separators}\\d){7,14}${separators}$`;

const base64Alphabet = '[A-Za-z0-9+/_-]';
/**
 * Base64 in any standard form (RFC 4648 and RFC 2045): the standard or the URL-safe alphabet,
 * `=` padding or none, and line breaks (CRLF or LF) between 4-character groups, as MIME wraps it
 * at 76 columns, with an optional final line break.
 */
export const base64Pattern = `^(?:(?:${base64Alphabet}{4})+\\r?\\n)*(?:${base64Alphabet}{4})*(?:${base64Alphabet}{2}(?:==)?|${base64Alphabet}{3}=?)?(?:\\r?\\n)?$`;

const emailAddressExpression = new RegExp(emailAddressPattern, 'u');
const mailboxExpression = new RegExp(mailboxSource, 'uy');

/** True when `value` is a bare email address as {@link emailAddressPattern} describes. */
export function isEmailAddress(value: string): boolean {
  return emailAddressExpression.test(value);
}

/**
 * The address parts of an address list (see {@link addressListPattern}), in order and as written
 * (not normalized), or `undefined` when `value` is not one. Reads one mailbox at a time, so a very
 * long list cannot exhaust the regular expression engine's stack.
 */
export function addressesIn(value: string): string[] | undefined {
  const addresses: string[] = [];
  let position = 0;
  for (;;) {
    mailboxExpression.lastIndex = position;
    const match = mailboxExpression.exec(value);
    if (match === null) return undefined;
    addresses.push((match[1] ?? match[2]) as string);
    position = mailboxExpression.lastIndex;
    if (position === value.length) return addresses;
    if (value[position] !== ',') return undefined;
    position++;
  }
}

/** True when `value` is one mailbox (see {@link mailboxPattern}). */
export function isMailbox(value: string): boolean {
  return addressesIn(value)?.length === 1;
}

/** The characters of both base64 alphabets (standard `+/`, URL-safe `-_`), as one run from `lastIndex`. */
const base64Run = /[A-Za-z0-9+/_-]*/y;

/** Length of the line break at `index` (2 for CRLF, 1 for LF), or 0 when there is none. */
function lineBreakAt(value: string, index: number): number {
  const code = value.charCodeAt(index);
  if (code === 0x0a) return 1;
  return code === 0x0d && value.charCodeAt(index + 1) === 0x0a ? 2 : 0;
}

/**
 * True when `value` is base64 as {@link base64Pattern} describes. A linear scan, not the pattern:
 * attachments run to tens of megabytes, more than a backtracking regular expression can take.
 */
export function isBase64(value: string): boolean {
  const length = value.length;
  let position = 0;
  for (;;) {
    // A sticky character-class run: linear, and many times faster than a charCodeAt loop on a 30 MB attachment.
    base64Run.lastIndex = position;
    base64Run.test(value);
    const end = base64Run.lastIndex;
    const run = end - position;
    if (end === length) return run % 4 !== 1;
    const lineBreak = lineBreakAt(value, end);
    if (lineBreak > 0) {
      if (end + lineBreak === length) return run % 4 !== 1;
      // Only a whole, non-empty line of 4-character groups may end in a break with more to follow.
      if (run === 0 || run % 4 !== 0) return false;
      position = end + lineBreak;
      continue;
    }
    let padding = 0;
    while (end + padding < length && value.charCodeAt(end + padding) === 0x3d) padding++;
    if (!((run % 4 === 2 && padding === 2) || (run % 4 === 3 && padding === 1))) return false;
    const after = end + padding;
    return after === length || (after + lineBreakAt(value, after) === length && lineBreakAt(value, after) > 0);
  }
}

/** The outcome of {@link toE164}: the E.164 form, or why there is none (without echoing the input). */
export type E164Result = { ok: true; value: string } | { ok: false; problem: string };

/**
 * Converts a phone number to E.164 (`+` then digits). Strips white space, dashes, dots and
 * parentheses; reads a leading `00` as `+`; takes a number without `+` to include its country code.
 */
export function toE164(value: string): E164Result {
  const compact = value.replace(/[\s().-]/g, '');
  let digits: string;
  if (compact.startsWith('+')) digits = compact.slice(1);
  else if (compact.startsWith('00')) digits = compact.slice(2);
  else digits = compact;
  if (!/^\d*$/.test(digits)) {
    return { ok: false, problem: 'must be a phone number: digits with an optional leading + or 00, and only spaces, dashes, dots or parentheses between them' };
  }
  if (digits.length < 8 || digits.length > 15) {
    return { ok: false, problem: 'must be a phone number with its country code, 8 to 15 digits (E.164)' };
  }
  if (digits.startsWith('0')) {
    return { ok: false, problem: 'must start with a country code (an E.164 number never starts with 0 after the + or 00)' };
  }
  return { ok: true, value: `+${digits}` };
}
