import { completeRawMimeMessage, encodeRawMime, formatIssues, identifierText, MessageValidationError, validateMessage } from '@sentcopy/core';
import type { CheckedLine, RejectRecord } from './check-line.js';

/** What an input file holds: JSON Lines, one email (.eml), or many emails (mbox). */
export type IngestFormat = 'jsonl' | 'eml' | 'mbox';

const fromLine = Buffer.from('From ');

/** Removes one `>` from a `>From ` (or `>>From `…) line: mboxrd quoting of body lines that begin with "From ". */
function unquote(line: Buffer): Buffer {
  let index = 0;
  while (line[index] === 0x3e) index++;
  return index > 0 && line.subarray(index, index + 5).equals(fromLine) ? line.subarray(1) : line;
}

/** A message's bytes from its lines, less the blank line the mbox format puts before the next "From " line. */
function finish(lines: Buffer[]): Buffer {
  const last = lines.at(-1);
  if (last !== undefined && (last.length === 1 ? last[0] === 0x0a : last.length === 2 && last[0] === 0x0d && last[1] === 0x0a)) lines.pop();
  return Buffer.concat(lines);
}

/**
 * Splits an mbox file into its messages, byte for byte: each message starts after a line beginning
 * with "From " (the separator, not part of the message), body lines quoted as `>From ` lose one
 * `>` (mboxrd), and the blank line before the next separator is dropped. Line ends are kept as they
 * are (LF or CRLF). Streams: one message is held at a time. Throws when the input does not start
 * with a "From " line (it is not an mbox).
 *
 * Not mbox-reader (postalsys): it rewrites line ends to LF and drops the message's last line break.
 */
export async function* splitMbox(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let rest = Buffer.alloc(0);
  let lines: Buffer[] | undefined;
  let first = true;
  const take = (line: Buffer): Buffer | undefined => {
    if (first) {
      first = false;
      if (!line.subarray(0, 5).equals(fromLine)) throw new Error('it does not start with a "From " line, so it is not an mbox file');
    }
    if (line.subarray(0, 5).equals(fromLine)) {
      const done = lines === undefined ? undefined : finish(lines);
      lines = [];
      return done;
    }
    lines?.push(unquote(line));
    return undefined;
  };
  for await (const chunk of input) {
    const data = rest.length === 0 ? Buffer.from(chunk) : Buffer.concat([rest, Buffer.from(chunk)]);
    let start = 0;
    for (let end = data.indexOf(0x0a, start); end !== -1; end = data.indexOf(0x0a, start)) {
      const message = take(Buffer.from(data.subarray(start, end + 1)));
      start = end + 1;
      if (message !== undefined) yield message;
    }
    rest = Buffer.from(data.subarray(start));
  }
  if (rest.length > 0) {
    const message = take(rest);
    if (message !== undefined) yield message;
  }
  if (lines !== undefined) yield finish(lines);
}

/**
 * Checks one email given as its exact bytes (from an .eml or mbox file): it becomes the message
 * `{ version: 1, channel: 'email', project_id, raw_mime }` with `to`, `sent_at` and `message_id`
 * read from its headers, validated as a line of JSON would be. `line` numbers the emails from 1.
 */
export async function checkEmail(bytes: Uint8Array, line: number, projectId: string): Promise<CheckedLine | RejectRecord> {
  let value: unknown;
  try {
    value = await completeRawMimeMessage({ version: 1, channel: 'email', project_id: projectId, raw_mime: encodeRawMime(bytes) });
  } catch (error) {
    if (!MessageValidationError.isInstance(error)) throw error;
    return { line, reason: 'invalid', error: `Email ${line} cannot be archived: ${formatIssues(error.issues)}`, issues: error.issues };
  }
  const result = validateMessage(value);
  if (!result.ok) return { line, reason: 'invalid', error: `Email ${line} cannot be archived: ${formatIssues(result.issues)}`, issues: result.issues };
  return { ok: true, line, text: JSON.stringify(value), projectId, channel: 'email', messageId: identifierText(result.message.message_id) };
}
