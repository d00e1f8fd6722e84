// The intake's raw MIME path: `message/rfc822` bodies become one email each, and emails that
// carry raw_mime get the fields their headers give before they are checked and queued.
import { completeRawMimeMessage, encodeRawMime, MessageValidationError, messageIdProblem, type ValidationIssue } from '@sentcopy/core';
import { parseRequestTarget } from './request-target.js';

/** `true` for `Content-Type: message/rfc822` (parameters allowed). */
export function isRfc822ContentType(value: string | undefined): boolean {
  return value !== undefined && /^message\/rfc822\s*(;|$)/i.test(value);
}

/** A query parameter of a `message/rfc822` request that cannot be used, named with what is wrong. */
export class RawMimeQueryError extends Error {
  constructor(
    readonly parameter: string,
    readonly problem: string,
  ) {
    super(`The query parameter ${parameter} ${problem}.`);
    this.name = 'RawMimeQueryError';
  }
}

/**
 * The email a `message/rfc822` body is: its exact bytes as `raw_mime`, the API key's project, and
 * `message_id` and `sent_at` from the query when given (else read from the Message-ID and Date headers).
 * Throws {@link RawMimeQueryError} for a query parameter that cannot be used.
 */
export function rfc822Message(bytes: Uint8Array, projectId: string, requestUrl: string | undefined): Record<string, unknown> {
  const query = parseRequestTarget(requestUrl)?.query ?? new URLSearchParams();
  const message: Record<string, unknown> = { version: 1, channel: 'email', project_id: projectId };
  const messageId = query.get('message_id');
  if (messageId !== null) {
    const problem = messageIdProblem(messageId);
    if (problem !== undefined) throw new RawMimeQueryError('message_id', problem);
    message['message_id'] = messageId;
  }
  const sentAt = query.get('sent_at');
  if (sentAt !== null) {
    if (!/^\d{1,16}$/.test(sentAt)) throw new RawMimeQueryError('sent_at', 'must be epoch milliseconds (digits only)');
    message['sent_at'] = Number(sentAt);
  }
  message['raw_mime'] = encodeRawMime(bytes);
  return message;
}

/** An email completed from its raw MIME headers, or the field problems that stop it. */
export type CompletedMessage = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly issues: readonly ValidationIssue[] };

/** {@link completeRawMimeMessage} as a result: never throws for a bad message. */
export async function completeForIntake(value: unknown): Promise<CompletedMessage> {
  try {
    return { ok: true, value: await completeRawMimeMessage(value) };
  } catch (error) {
    if (MessageValidationError.isInstance(error)) return { ok: false, issues: error.issues };
    throw error;
  }
}
