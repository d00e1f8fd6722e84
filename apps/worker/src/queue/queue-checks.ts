import { exceedsCodePoints, maxMessageIdLength, type ValidationIssue } from '@sentcopy/core';
import { deadLetterKinds, type AttemptRecord, type QueueMessageInput } from './message-queue.js';
import { QueueError } from './queue-error.js';

/** Attempts kept in a message's history. */
export const historyLimit = 32;
/** Longest reason, issue path or problem kept, in UTF-16 code units. */
export const maxReasonLength = 2000;
/** Longest project id, in UTF-16 code units (configured project ids are at most 128 ASCII characters). */
const maxProjectLength = 256;

export function invalidInput(message: string): QueueError {
  return new QueueError('invalid_input', message);
}

export function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function checkDuration(name: string, value: unknown, allowZero: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw invalidInput(`${name} must be a finite number of milliseconds${allowZero ? ' (0 or more)' : ' above 0'}.`);
  }
  return value;
}

/** A claim's `maxBytes`: `undefined` (no limit) or a whole number of bytes, 1 or more. */
export function checkMaxBytes(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw invalidInput('maxBytes must be a whole number of bytes, 1 or more.');
  return value;
}

export function checkAttempt(attempt: unknown): AttemptRecord {
  const record = attempt as AttemptRecord;
  if (typeof record !== 'object' || record === null || !isTime(record.at)) throw invalidInput('attempt.at must be a time in epoch milliseconds.');
  if (!deadLetterKinds.includes(record.kind)) throw invalidInput(`attempt.kind must be one of ${deadLetterKinds.join(', ')}.`);
  if (typeof record.reason !== 'string') throw invalidInput('attempt.reason must be a string.');
  return { at: record.at, kind: record.kind, reason: record.reason.slice(0, maxReasonLength) };
}

export function checkIssues(issues: unknown): ValidationIssue[] {
  if (issues === undefined) return [];
  if (!Array.isArray(issues)) throw invalidInput('issues must be an array of { path, problem }.');
  return issues.map((issue: ValidationIssue) => {
    if (typeof issue?.path !== 'string' || typeof issue.problem !== 'string') throw invalidInput('issues must be an array of { path, problem } strings.');
    return { path: issue.path.slice(0, maxReasonLength), problem: issue.problem.slice(0, maxReasonLength) };
  });
}

/** A checked {@link QueueMessageInput}, its payload as bytes. */
export interface PreparedInput {
  project: string;
  messageId: string;
  body: Buffer;
  notBefore: number | undefined;
}

/** Why a queue refuses one entry: the field of {@link QueueMessageInput} and the problem; `too_large` for a payload over the queue's limit. */
export interface EntryProblem {
  readonly field: 'entry' | 'project' | 'messageId' | 'payload' | 'notBefore';
  readonly problem: string;
  readonly tooLarge: boolean;
}

/** UTF-8 size of a payload, in bytes. */
export function payloadBytes(payload: Uint8Array | string): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength;
}

/**
 * What the queue would refuse about one entry, or `undefined` when it takes it: the one set of
 * checks both queues run in `enqueue()` and the intake runs on each message first, so that one
 * entry the queue would refuse is refused on its own, never failing its batch.
 */
export function entryProblem(input: QueueMessageInput, maxPayloadBytes: number): EntryProblem | undefined {
  const refuse = (field: EntryProblem['field'], problem: string, tooLarge = false): EntryProblem => ({ field, problem, tooLarge });
  if (typeof input !== 'object' || input === null) return refuse('entry', 'must be an object');
  const { project, messageId, payload, notBefore } = input;
  if (typeof project !== 'string' || project === '' || project.length > maxProjectLength) return refuse('project', `must be a non-empty string of at most ${maxProjectLength} characters`);
  // Counted in code points, as core's validator counts message_id: every valid message id is a valid queue id.
  if (typeof messageId !== 'string' || messageId === '' || exceedsCodePoints(messageId, maxMessageIdLength)) return refuse('messageId', `must be a non-empty string of at most ${maxMessageIdLength} characters`);
  if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) return refuse('payload', 'must be a Uint8Array or a string');
  const bytes = payloadBytes(payload);
  if (bytes > maxPayloadBytes) return refuse('payload', `is ${bytes} bytes; the queue accepts at most ${maxPayloadBytes}`, true);
  if (notBefore !== undefined && !isTime(notBefore)) return refuse('notBefore', 'must be a time in epoch milliseconds');
  return undefined;
}

export function prepareInput(input: QueueMessageInput, index: number, maxPayloadBytes: number): PreparedInput {
  const problem = entryProblem(input, maxPayloadBytes);
  if (problem !== undefined) throw invalidInput(`messages[${index}]${problem.field === 'entry' ? '' : `.${problem.field}`} ${problem.problem}.`);
  const { project, messageId, payload, notBefore } = input;
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return { project, messageId, body, notBefore };
}
