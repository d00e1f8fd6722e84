import { maxMessageIdLength, messageIdProblem } from '../limits/index.js';
import { maxSentAt, minSentAt } from '../payload/message-fields.js';
import { MessageValidationError, type ValidationIssue } from '../payload/message-validation-error.js';
import { isBase64, isEmailAddress } from '../payload/recipient-formats.js';
import { decodeRawMimePrefix } from './raw-mime-bytes.js';
import { maxRawMimeHeaderBytes, readRawMimeHeaders, type RawMimeHeaders } from './read-raw-mime-headers.js';

/** The fields `completeRawMimeMessage` reads from the raw MIME's headers when a message lacks them (and with `to`, `cc` and `bcc`). */
export const rawMimeDerivedFields = ['to', 'sent_at', 'message_id'] as const;

/** Field that lists, in a completed message, which fields were read from `raw_mime` (written by sentcopy, never by the sender). */
export const rawMimeDerivedMarker = 'derived_from_raw_mime';

const isAbsent = (record: Record<string, unknown>, field: string) => !Object.hasOwn(record, field) || record[field] === undefined || record[field] === null;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The well-formed addresses of a header, trimmed, in order. */
function addresses(values: readonly string[]): string[] {
  return values.filter((candidate) => isEmailAddress(candidate)).map((candidate) => candidate.trim());
}

function derive(field: (typeof rawMimeDerivedFields)[number], headers: RawMimeHeaders): { value: string | number | string[] } | { problem: string } {
  switch (field) {
    case 'to': {
      const to = addresses(headers.to);
      if (to.length > 0) return { value: to.length === 1 ? (to[0] as string) : to };
      const address = addresses([...headers.cc, ...headers.bcc])[0];
      return address === undefined ? { problem: 'is required: raw_mime has no To, Cc or Bcc address to read it from (send to with the message)' } : { value: address };
    }
    case 'sent_at': {
      if (headers.date === undefined)
        return { problem: headers.hasDate ? 'is required: the Date header of raw_mime is not a date (send sent_at with the message)' : 'is required: raw_mime has no Date header (send sent_at with the message)' };
      if (headers.date < minSentAt || headers.date > maxSentAt) return { problem: 'is required: the Date header of raw_mime is before 1973 or after 9999 (send sent_at with the message)' };
      return { value: headers.date };
    }
    case 'message_id': {
      if (headers.messageId === undefined) return { problem: 'is required: raw_mime has no Message-ID header (send message_id with the message)' };
      return messageIdProblem(headers.messageId) === undefined
        ? { value: headers.messageId }
        : { problem: `is required: the Message-ID header of raw_mime is longer than ${maxMessageIdLength} characters (send message_id with the message)` };
    }
  }
}

/**
 * Fills an email's `to`, `sent_at` and `message_id`, where they are absent (or `null`), from the
 * headers of its `raw_mime`: the addresses of To (a string for one, a list for several), else the
 * first address of Cc, else of Bcc; the Date header; the Message-ID without its angle brackets.
 * When `to` is read from the headers, `cc` and `bcc` are too, where absent and where the headers
 * have addresses not already taken as `to`. Fields the message has always win over the headers. The
 * completed message lists what was filled in `derived_from_raw_mime` (e.g. `["to","sent_at"]`),
 * so the stored copy says which fields sentcopy read rather than received; `raw_mime` itself is
 * untouched.
 *
 * Returns `input` itself when there is nothing to fill (not an email with a `raw_mime` string, or
 * every field present, or `raw_mime` not base64, which validation reports). Deterministic: the
 * same input always gives the same message. Throws a `MessageValidationError` naming each field
 * the headers cannot give (never quoting them).
 */
export async function completeRawMimeMessage(input: unknown): Promise<unknown> {
  if (!isRecord(input) || input['channel'] !== 'email' || typeof input['raw_mime'] !== 'string') return input;
  const missing = rawMimeDerivedFields.filter((field) => isAbsent(input, field));
  if (missing.length === 0 || !isBase64(input['raw_mime'])) return input;
  const issues: ValidationIssue[] = [];
  if (Object.hasOwn(input, rawMimeDerivedMarker)) issues.push({ path: rawMimeDerivedMarker, problem: 'is written by sentcopy to list the fields it read from raw_mime; leave it out' });
  let headers: RawMimeHeaders;
  try {
    headers = await readRawMimeHeaders(decodeRawMimePrefix(input['raw_mime'], maxRawMimeHeaderBytes));
  } catch {
    throw new MessageValidationError([...issues, { path: 'raw_mime', problem: `its header section could not be read as an RFC 5322 message, so ${missing.join(', ')} cannot be read from it (send them with the message)` }]);
  }
  const completed: Record<string, unknown> = { ...input };
  for (const field of missing) {
    const derived = derive(field, headers);
    if ('problem' in derived) issues.push({ path: field, problem: derived.problem });
    else completed[field] = derived.value;
  }
  if (issues.length > 0) throw new MessageValidationError(issues);
  const filled: string[] = [...missing];
  // Recipients read from the headers are all kept, so each is listed in the ledger and found later:
  // Cc and Bcc too, where absent, less the address already taken as `to`.
  if (missing.includes('to')) {
    const taken = new Set([completed['to']].flat());
    for (const field of ['cc', 'bcc'] as const) {
      const found = addresses(headers[field]).filter((address) => !taken.has(address));
      if (found.length === 0 || !isAbsent(input, field)) continue;
      completed[field] = found.length === 1 ? found[0] : found;
      filled.push(field);
    }
  }
  completed[rawMimeDerivedMarker] = filled;
  return completed;
}
