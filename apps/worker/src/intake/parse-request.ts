import type { IncomingMessage } from 'node:http';
import { parseJson } from '@sentcopy/core';
import type { ProjectRoute } from '../projects/index.js';
import { HttpProblemError, type IntakeReport } from './intake-answer.js';
import { findJsonSyntaxError } from './json-syntax-error.js';
import { isRfc822ContentType, RawMimeQueryError, rfc822Message } from './raw-mime-intake.js';
import { readBody } from './read-body.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isJsonContentType(value: string | undefined): boolean {
  return value !== undefined && /^application\/json\s*(;|$)/i.test(value);
}

/** A readable, value-free description of a JSON syntax error (`JSON.parse` messages can quote the input). */
function jsonProblem(text: string): { message: string; extra: Record<string, unknown> } {
  const found = findJsonSyntaxError(text);
  if (found === undefined) return { message: 'The body is not valid JSON.', extra: {} };
  return {
    message: `The body is not valid JSON: ${found.problem} at byte ${found.byte} (line ${found.line}, column ${found.column}).`,
    extra: { position: { byte: found.byte, line: found.line, column: found.column } },
  };
}

/** A request's body, at most `limitBytes`; `tooLarge` is the answer to a larger one. */
async function readWhole(request: IncomingMessage, limitBytes: number, tooLarge: () => HttpProblemError): Promise<Buffer> {
  const body = await readBody(request, limitBytes);
  if (!body.ok) {
    if (body.reason === 'too_large') throw tooLarge();
    throw new HttpProblemError(400, 'bad_request', 'The request body was not received completely.');
  }
  return body.bytes;
}

/** Reads a JSON body of at most `limitBytes`; `tooLarge` is the answer to a larger one. */
async function readJson(request: IncomingMessage, limitBytes: number, tooLarge: () => HttpProblemError): Promise<unknown> {
  if (!isJsonContentType(request.headers['content-type']))
    throw new HttpProblemError(415, 'unsupported_media_type', 'Send the body as JSON with "Content-Type: application/json", or one email\'s exact bytes with "Content-Type: message/rfc822".');
  const bytes = await readWhole(request, limitBytes, tooLarge);
  let text: string;
  try {
    // The decoder drops a leading byte order mark, which RFC 8259 lets parsers ignore.
    text = utf8.decode(bytes);
  } catch {
    throw new HttpProblemError(400, 'bad_request', 'The body is not UTF-8 text.');
  }
  try {
    return parseJson(text);
  } catch {
    const problem = jsonProblem(text);
    throw new HttpProblemError(400, 'invalid_json', problem.message, problem.extra);
  }
}

/** A `message/rfc822` body as the one email it is (see `rfc822Message`). */
async function readRfc822(request: IncomingMessage, route: ProjectRoute, limitBytes: number, tooLarge: () => HttpProblemError): Promise<Record<string, unknown>> {
  const bytes = await readWhole(request, limitBytes, tooLarge);
  if (bytes.length === 0) throw new HttpProblemError(400, 'bad_request', "The message/rfc822 body is empty: send the message's bytes.");
  try {
    return rfc822Message(bytes, route.id, request.url);
  } catch (error) {
    if (error instanceof RawMimeQueryError) throw new HttpProblemError(400, 'bad_request', error.message, { parameter: error.parameter });
    throw error;
  }
}

/**
 * Reads an authenticated request's JSON body (or a `message/rfc822` body, as one email) of at most
 * `limitBytes`; `tooLarge` is the answer to a larger one. A refusal is counted for the project.
 */
export async function readMessageBody(request: IncomingMessage, route: ProjectRoute, limitBytes: number, tooLarge: () => HttpProblemError, report: IntakeReport): Promise<unknown> {
  try {
    if (isRfc822ContentType(request.headers['content-type'])) return await readRfc822(request, route, limitBytes, tooLarge);
    return await readJson(request, limitBytes, tooLarge);
  } catch (error) {
    if (error instanceof HttpProblemError) report.emit({ type: 'rejected', project: route.id, reason: error.status === 413 ? 'too_large' : 'bad_request' });
    throw error;
  }
}
