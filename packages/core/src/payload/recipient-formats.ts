// Formats shared by the validator, the JSON Schema and recipient normalization, so they cannot drift.

const notInAddress = String.raw`\s@<>()[\]\\,;:"\u0000-\u001f\u007f`;

/**
 * An email address (addr-spec, no display name), optionally surrounded by white space:
 * a local part, `@`, and a domain of at least two dot-separated labels. Non-ASCII is allowed.
 */
export const emailAddressPattern = String.raw`^\s*[^${notInAddress}]+@(?:[^${notInAddress}.]+\.)+[^${notInAddress}.]+\s*$`;

const separators = String.raw`[\s().-]*`;

/**
 * A phone number with its country code: an optional `+` or `00`, then 8 to 15 digits, the first
 * not `0`, with any spaces, dashes, dots and parentheses in between.
 */
export const phoneNumberPattern = `^${separators}(?:\\+|0${separators}0)?${separators}[1-9](?:${separators}\\d){7,14}${separators}$`;

/** Standard base64 (RFC 4648 alphabet, `=`-padded, no line breaks). */
export const base64Pattern = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';

const emailAddressExpression = new RegExp(emailAddressPattern, 'u');
const base64Characters = /^[A-Za-z0-9+/]*={0,2}$/;

/** True when `value` is an email address as {@link emailAddressPattern} describes. */
export function isEmailAddress(value: string): boolean {
  return emailAddressExpression.test(value);
}

/** True when `value` is standard, padded base64 without line breaks. */
export function isBase64(value: string): boolean {
  return value.length % 4 === 0 && base64Characters.test(value);
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
