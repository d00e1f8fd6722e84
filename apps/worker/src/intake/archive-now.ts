import type { IncomingMessage, ServerResponse } from 'node:http';
import { ArchiveError, MessageValidationError, type Channel } from '@sentcopy/core';
import type { ProjectDirectory, ProjectRoute } from '../projects/index.js';
import { QueueError, type MessageQueue } from '../queue/index.js';
import { authenticate } from './authenticate-request.js';
import { routeProblem, type StorableChecks } from './check-storable.js';
import { fieldErrors, HttpProblemError, type FieldError, type IntakeReplies, type IntakeReport } from './intake-answer.js';
import type { GateLedger, IntakeRejection } from './intake-options.js';
import { readMessageBody } from './parse-request.js';

/** What the before-send gate needs. */
export interface GateIntakeOptions {
  readonly queue: MessageQueue;
  readonly directory: ProjectDirectory;
  readonly ledger: GateLedger | undefined;
  readonly checks: StorableChecks;
  readonly replies: IntakeReplies;
  readonly report: IntakeReport;
  readonly maxBodyBytes: number;
  readonly maxMessageBytes: number;
  readonly now: () => number;
}

/**
 * `POST /v1/archive` (before-send): authenticate → read the one message → prepare it with the
 * project's archiver → (with a ledger) check the queue can record it → write and record at once → answer
 * `201` with its key and SHA-256, or `502 failed_to_archive` with the error's kind and reason so
 * the caller can hold the send. Resolves with the status sent; refusals are thrown as {@link HttpProblemError}s.
 */
export function createGateIntake(options: GateIntakeOptions): (request: IncomingMessage, response: ServerResponse) => Promise<number> {
  const { queue, directory, checks, report, maxBodyBytes, maxMessageBytes, now } = options;
  const { log, emit } = report;

  /** Answers a gate call whose message could not be recorded for the ledger: 503, so the caller holds the send and retries. */
  function unrecorded(route: ProjectRoute, channel: Channel, reason: string, stored: boolean, problem?: string): never {
    emit({ type: 'rejected', project: route.id, channel, reason: 'queue_unavailable' });
    log('error', 'intake.gate_unrecorded', `A before-send call of project "${route.id}" was refused: ${reason}.`, { project: route.id, stored, reason });
    throw new HttpProblemError(
      503,
      'queue_unavailable',
      stored
        ? 'The message is stored, but the queue could not record it for the archive ledger, so it was not confirmed. Hold the send and retry: the retry finds it stored (never a second copy) and records it.'
        : 'The queue refuses new messages, so a stored message could not be recorded for the archive ledger; nothing was stored. Hold the send and retry later.',
      { stored, ...(problem === undefined ? {} : { problem }) },
      { 'retry-after': '5' },
    );
  }

  return async (request, response) => {
    const started = now();
    const route = authenticate(directory, request);
    // The body is the message: one over the message limit is refused before it is read, parsed or validated.
    const limitBytes = Math.min(maxBodyBytes, maxMessageBytes);
    const body = await readMessageBody(
      request,
      route,
      limitBytes,
      () =>
        new HttpProblemError(
          413,
          'message_too_large',
          `The message is larger than ${limitBytes} bytes (limits.max_message_bytes: ${maxMessageBytes}, limits.max_body_bytes: ${maxBodyBytes}), so it cannot be archived as it is: raise these settings in the worker's configuration to archive messages this large.`,
          { reason: 'too_large', limit_bytes: limitBytes },
          { connection: 'close' },
        ),
      report,
    );
    checks.requireDestination(route);
    const refuse = (reason: IntakeRejection, errors: readonly FieldError[], channel?: Channel): never => {
      emit({ type: 'rejected', project: route.id, ...(channel === undefined ? {} : { channel }), reason });
      throw new HttpProblemError(422, 'invalid_message', 'The message was refused; see errors.', { reason, errors });
    };
    const failed = (kind: ArchiveError['kind'], reason: string, channel: Channel, status = 502): never => {
      emit({ type: 'gate', project: route.id, channel, result: 'failed', kind, seconds: (now() - started) / 1000 });
      log('warn', 'intake.archive_failed', `Failed to archive a message of project "${route.id}".`, { project: route.id, kind, reason });
      throw new HttpProblemError(status, 'failed_to_archive', 'The message could not be archived; hold the send or retry.', { kind, reason });
    };
    let archiver;
    try {
      archiver = directory.archiverFor(route.id, 'gate');
    } catch (error) {
      // Not ready: a message that cannot be stored still hears why.
      const checked = await checks.storable(body, checks.checkerFor(route));
      if (!checked.ok) return refuse('invalid', checked.errors);
      const problem = routeProblem(checked.projectId, checked.channel, route);
      if (problem !== undefined) return refuse(problem.reason, problem.errors, checked.channel);
      return failed('unreachable', error instanceof Error ? error.message : 'The destination is not ready.', checked.channel, 503);
    }
    if (archiver === undefined) throw new HttpProblemError(409, 'no_destination', `Project "${route.id}" has no destination.`);
    // prepare() validates, so the message is checked once, on the way to being stored.
    let prepared;
    try {
      prepared = await archiver.prepare(body);
    } catch (error) {
      if (MessageValidationError.isInstance(error)) return refuse('invalid', fieldErrors(error.issues));
      throw error;
    }
    const problem = routeProblem(prepared.projectId, prepared.channel, route);
    if (problem !== undefined) return refuse(problem.reason, problem.errors, prepared.channel);
    // With a ledger, the stored message is recorded in the queue before the answer (see recordStoring):
    // whatever the queue cannot take is refused before anything is stored.
    const record = options.ledger?.writes(archiver) === true ? checks.gateRecord(body, prepared, route) : undefined;
    if (record !== undefined && !record.ok) return refuse(record.reason, record.errors, prepared.channel);
    const queueHealth = record === undefined ? undefined : queue.health?.();
    if (queueHealth !== undefined && !queueHealth.ok)
      return unrecorded(route, prepared.channel, `the queue refuses new messages (${queueHealth.problem ?? 'unhealthy'}), so a stored message could not be recorded for the archive ledger`, false);
    // The write starts first, so that its request is on the wire while the record is committed (an
    // fsync in the embedded queue): the two overlap instead of adding up. A failed write discards the record.
    const writing = archiver.write(prepared);
    const recording = record === undefined ? undefined : options.ledger!.recordStoring(record.input, archiver);
    let result;
    try {
      result = await writing;
    } catch (error) {
      recording?.discard();
      if (ArchiveError.isInstance(error)) return failed(error.kind, error.reason, prepared.channel);
      return failed('unknown', 'Unexpected error while archiving.', prepared.channel);
    }
    if (recording !== undefined) {
      try {
        await recording.recorded;
      } catch (error) {
        return unrecorded(route, prepared.channel, QueueError.isInstance(error) ? error.message : 'unexpected error', true, QueueError.isInstance(error) ? error.problem : undefined);
      }
      recording.stored(result.ledgerPosition);
    }
    if (result.version)
      log('warn', 'intake.version_stored', `A message of project "${route.id}" reused a message id with other content; it is stored as a version next to the first copy.`, {
        project: route.id,
        key: result.key,
        originalKey: result.originalKey,
      });
    emit({ type: 'gate', project: route.id, channel: prepared.channel, result: 'archived', seconds: (now() - started) / 1000, ...(result.version && result.created ? { version: true as const } : {}) });
    options.replies.reply(response, 201, { key: result.key, sha256: result.sha256, size: result.size, created: result.created, attempts: result.attempts, ...(result.version ? { version: true, original_key: result.originalKey } : {}) });
    return 201;
  };
}
