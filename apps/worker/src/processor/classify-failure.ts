import { ArchiveError, DestinationError, type Archiver, type DestinationErrorKind } from '@sentcopy/core';
import { QueueError } from '../queue/index.js';
import { WriteThreadStoppedError } from '../write-thread/index.js';

/** Why an attempt failed: what the retry policy decides on, and what the dead letter and the logs say. */
export interface Failure {
  readonly kind: DestinationErrorKind;
  readonly reason: string;
  readonly retryAfterMs?: number;
}

// Unexpected errors come from code we do not control; mask anything shaped like an address or a phone number.
function redactText(text: string): string {
  return text
    .replace(/[^\s"'<>()[\]{},;:@]+@[^\s"'<>()[\]{},;:@]+/g, '[redacted address]')
    .replace(/\+?\d[\d\s().-]{6,}\d/g, '[redacted number]')
    .slice(0, 300);
}

/** An error as a log field: sentcopy's own errors by their message, anything else by its name and a redacted message. */
export function describeError(error: unknown): string {
  if (QueueError.isInstance(error) || DestinationError.isInstance(error)) return error.message;
  if (error instanceof Error) return `${error.name}: ${redactText(error.message)}`;
  return `a thrown ${typeof error}`;
}

function classifyUnredacted(error: unknown): Failure {
  if (ArchiveError.isInstance(error)) {
    const cause = error.cause;
    const retryAfterMs = DestinationError.isInstance(cause) ? cause.retryAfterMs : undefined;
    return { kind: error.kind, reason: error.reason, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  if (DestinationError.isInstance(error)) {
    return { kind: error.kind, reason: `${error.message} (${error.kind})`, ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }) };
  }
  // Our own sentence, with no message content in it.
  if (WriteThreadStoppedError.isInstance(error)) return { kind: 'unknown', reason: `${error.message}.` };
  return { kind: 'unknown', reason: `Unexpected error while archiving: ${describeError(error)}` };
}

/**
 * The failure of an attempt, its reason with the object key redacted by the archiver's layout:
 * adapters name the key in their errors, and a key in an unkeyed layout holds a recipient's hash.
 */
export function classifyFailure(error: unknown, archiver?: Archiver): Failure {
  const failure = classifyUnredacted(error);
  const key = ArchiveError.isInstance(error) || DestinationError.isInstance(error) ? error.key : undefined;
  if (key === undefined || key === '' || typeof archiver?.layout.redact !== 'function') return failure;
  const redacted = archiver.layout.redact(key);
  return redacted === key ? failure : { ...failure, reason: failure.reason.replaceAll(key, redacted) };
}
