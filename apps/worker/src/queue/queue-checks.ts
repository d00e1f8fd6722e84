import type { ValidationIssue } from '@sentcopy/core';
import { deadLetterKinds, type AttemptRecord, type QueueMessageInput } from './message-queue.js';
import { QueueError } from './queue-error.js';

/** Attempts kept in a message's history. */
export const historyLimit = 32;
/** Longest reason, issue path or problem kept, in UTF-16 code units. */
export const maxReasonLength = 2000;
const maxProjectLength = 256;
const maxMessageIdLength = 512;

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

export function prepareInput(input: QueueMessageInput, index: number, maxPayloadBytes: number): PreparedInput {
  const where = `messages[${index}]`;
  if (typeof input !== 'object' || input === null) throw invalidInput(`${where} must be an object.`);
  const { project, messageId, payload, notBefore } = input;
  if (typeof project !== 'string' || project === '' || project.length > maxProjectLength) {
    throw invalidInput(`${where}.project must be a non-empty string of at most ${maxProjectLength} characters.`);
  }
  if (typeof messageId !== 'string' || messageId === '' || messageId.length > maxMessageIdLength) {
    throw invalidInput(`${where}.messageId must be a non-empty string of at most ${maxMessageIdLength} characters.`);
  }
  let body: Buffer;
  if (typeof payload === 'string') body = Buffer.from(payload, 'utf8');
  else if (payload instanceof Uint8Array) body = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  else throw invalidInput(`${where}.payload must be a Uint8Array or a string.`);
  if (body.byteLength > maxPayloadBytes) throw invalidInput(`${where}.payload is ${body.byteLength} bytes; the queue accepts at most ${maxPayloadBytes}.`);
  if (notBefore !== undefined && !isTime(notBefore)) throw invalidInput(`${where}.notBefore must be a time in epoch milliseconds.`);
  return { project, messageId, body, notBefore };
}
