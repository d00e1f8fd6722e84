import { MessageValidationError, type Archiver, type PreparedObject, type ValidationIssue } from '@sentcopy/core';
import type { ClaimedMessage } from '../queue/index.js';
import { WriteThreadStoppedError } from '../write-thread/index.js';
import { classifyFailure } from './classify-failure.js';
import type { HealthReactions } from './health-reactions.js';
import type { ClaimSettler, HandleResult } from './settle-claim.js';

/** What archiving one claimed message needs. */
export interface ArchiveClaimOptions {
  readonly settler: ClaimSettler;
  readonly health: HealthReactions;
  readonly now: () => number;
}

/** The parsed message must be the one the queue entry was submitted as: same project, same id. */
function identityIssues(parsed: PreparedObject, claimed: ClaimedMessage): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (parsed.projectId !== claimed.project) issues.push({ path: 'project_id', problem: 'must be the project the message was submitted to' });
  if (parsed.messageId !== claimed.messageId) issues.push({ path: 'message_id', problem: 'must be the message id the message was queued under' });
  return issues;
}

/**
 * A slot of the message's destination, once free: the function that gives it back, or how the
 * message was settled instead (given back on a stop, held back while the destination is paused).
 */
export type TakeSlot = () => Promise<(() => void) | HandleResult>;

/**
 * One attempt at storing a claimed message: prepare (invalid → dead letter) and check it is the
 * message queued, then take a slot of its destination (`takeSlot`), write, free the slot, report the
 * write to destination health, and settle. Preparing happens before the slot is taken, so a slot is
 * held only while the destination is written to. An abort (stop()) gives the message back unfinished.
 */
export async function archiveClaim(message: ClaimedMessage, signal: AbortSignal, archiver: Archiver, takeSlot: TakeSlot, { settler, health, now }: ArchiveClaimOptions): Promise<HandleResult> {
  const attemptAt = now();
  const started = performance.now();
  try {
    let prepared;
    try {
      // The payload goes to prepare() as JSON bytes, so parsing happens wherever preparing does (a prepare pool's thread).
      prepared = await archiver.prepare(message.payload);
    } catch (error) {
      if (MessageValidationError.isInstance(error)) return await settler.rejectInvalid(message, error.issues, attemptAt);
      throw error;
    }
    const mismatch = identityIssues(prepared, message);
    if (mismatch.length > 0) return await settler.rejectInvalid(message, mismatch, attemptAt);
    if (signal.aborted) return await settler.giveBack(message);
    const releaseSlot = await takeSlot();
    if (typeof releaseSlot !== 'function') return releaseSlot;
    let result;
    try {
      result = await archiver.write(prepared, { signal });
    } catch (error) {
      releaseSlot();
      if (signal.aborted) throw error;
      const failure = classifyFailure(error, archiver);
      const settled = await settler.retryOrGiveUp(message, failure, attemptAt, archiver.destination.id);
      // Our own write thread stopped: the destination did nothing wrong, so its health does not count it.
      if (!WriteThreadStoppedError.isInstance(error)) health.wrote(archiver, message, attemptAt, failure);
      return settled;
    } finally {
      // The destination is done with this message: let the next write start while the queue settles it.
      releaseSlot();
    }
    health.wrote(archiver, message, attemptAt);
    return await settler.stored(message, archiver, prepared, result, performance.now() - started);
  } catch (error) {
    // Aborted by stop(): the write may or may not have landed; a later claim finds out (write-once makes that safe).
    if (signal.aborted) return await settler.giveBack(message);
    return await settler.retryOrGiveUp(message, classifyFailure(error, archiver), attemptAt, archiver.destination.id);
  }
}
