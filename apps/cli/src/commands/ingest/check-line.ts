import { formatIssues, identifierText, parseJson, validateMessage, type Channel, type ValidationIssue } from '@sentcopy/core';

/** Why a line was not ingested (a small fixed set, as in the rejects file). */
export type RejectReason = 'invalid_json' | 'invalid' | 'wrong_project' | 'unknown_project' | 'channel_disabled' | 'no_destination' | 'too_large' | 'conflict' | 'unreadable_file' | 'rejected';

/** One line of the rejects file. Never holds the message unless asked (`--rejects-include-message`). */
export interface RejectRecord {
  /** The file the line came from, when several files (a folder, a pattern) are ingested. */
  readonly file?: string;
  /** Line number in the input, from 1 (0 for a whole file that could not be read). */
  readonly line: number;
  /** Why, as a fixed word. */
  readonly reason: RejectReason;
  /** A sentence saying what is wrong, naming fields, never quoting values. */
  readonly error: string;
  /** Field problems, by path. */
  readonly issues: readonly ValidationIssue[];
  /** The message id, when the line had a valid one. */
  readonly message_id?: string;
  /** The raw line, only with `--rejects-include-message`. */
  readonly message?: string;
}

/** A line that passed the local checks. */
export interface CheckedLine {
  readonly ok: true;
  /** The file the line came from, when several files are ingested. */
  readonly file?: string;
  readonly line: number;
  readonly text: string;
  readonly projectId: string;
  readonly channel: Channel;
  readonly messageId: string;
}

// V8's JSON.parse messages; any other wording may quote the input (personal data), so it is not repeated.
const safeProblems = [
  /^(Unexpected end of JSON input)$/,
  /^(Unterminated string) in JSON at position (\d+)/,
  /^(Expected [^"']*?) in JSON at position (\d+)/,
  /^(Expected '[,:\]}]'(?: or '[,\]}]')? [a-z ]+) in JSON at position (\d+)/,
  /^(Bad control character in string literal) in JSON at position (\d+)/,
  /^(Bad escaped character) in JSON at position (\d+)/,
  /^(Unexpected non-whitespace character after JSON) at position (\d+)/,
  /^(Exponent part is missing a number) in JSON at position (\d+)/,
  /^(Unterminated fractional number) in JSON at position (\d+)/,
  /^(No number after minus sign) in JSON at position (\d+)/,
];

/** Describes why `text` is not JSON, with the column, without quoting any of it. */
export function describeJsonError(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  for (const pattern of safeProblems) {
    const match = pattern.exec(message);
    if (match === null) continue;
    const problem = (match[1] as string).replace(/^./, (first) => first.toLowerCase());
    return match[2] === undefined ? `not valid JSON: ${problem}` : `not valid JSON: ${problem} at column ${Number(match[2]) + 1}`;
  }
  const position = /at position (\d+)/.exec(message);
  return position === null ? 'not valid JSON' : `not valid JSON: unexpected character at column ${Number(position[1]) + 1}`;
}

/** The message id to echo in a rejection, unless the id itself is what is wrong. */
function echoableId(value: unknown, issues: readonly ValidationIssue[]): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const id = (value as { message_id?: unknown }).message_id;
  if (typeof id !== 'string' || id === '' || id.length > 512) return undefined;
  return issues.some((issue) => issue.path === 'message_id') ? undefined : id;
}

/** Checks one line: JSON syntax, then the message model's fields. */
export function checkLine(text: string, line: number): CheckedLine | RejectRecord {
  let value: unknown;
  try {
    // The line itself is what is sent; parsing exactly only makes these checks match the ones the worker or the archiver makes (a sent_at of 20 digits is refused here too).
    value = parseJson(text);
  } catch (error) {
    return { line, reason: 'invalid_json', error: `Line ${line} is ${describeJsonError(error)}.`, issues: [] };
  }
  const result = validateMessage(value);
  if (!result.ok) {
    const messageId = echoableId(value, result.issues);
    return { line, reason: 'invalid', error: `Invalid message: ${formatIssues(result.issues)}`, issues: result.issues, ...(messageId === undefined ? {} : { message_id: messageId }) };
  }
  return { ok: true, line, text, projectId: identifierText(result.message.project_id), channel: result.message.channel, messageId: identifierText(result.message.message_id) };
}

/** `true` when `checked` passed. */
export function isChecked(checked: CheckedLine | RejectRecord): checked is CheckedLine {
  return (checked as CheckedLine).ok === true;
}
