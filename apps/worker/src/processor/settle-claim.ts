import { decideRetry, MessageValidationError, type ArchiveResult, type Archiver, type PreparedObject, type RetryPolicy, type ValidationIssue } from '@sentcopy/core';
import type { AttemptRecord, ClaimedMessage, DeadLetterKind, MessageQueue } from '../queue/index.js';
import { describeError, type Failure } from './classify-failure.js';
import type { ProcessorOptions } from './processor-options.js';
import { outcomeMessage, type ProcessorReport } from './processor-report.js';

/** How a claim ended: settled for good (stored, retried later, dead-lettered) or given back unfinished. */
export type HandleResult = 'finished' | 'returned';

/** What settling a claim needs: the queue it goes back to, the retry policy, and where it reports. */
export interface SettleOptions {
  readonly queue: MessageQueue;
  readonly report: ProcessorReport;
  readonly policy: RetryPolicy;
  readonly now: () => number;
  readonly random: () => number;
  readonly ledger: ProcessorOptions['ledger'];
}

/** The ways a claim is settled; each reports its outcome once the queue applied it, and never throws. */
export interface ClaimSettler {
  /** Back to the queue unfinished (shutdown, no archiver yet), to be claimed again at once or after `notBefore`. */
  giveBack(message: ClaimedMessage, notBefore?: number): Promise<HandleResult>;
  deadLetter(message: ClaimedMessage, details: { kind: DeadLetterKind; reason: string; attempt?: AttemptRecord; issues?: readonly ValidationIssue[]; attemptAt: number }): Promise<HandleResult>;
  /** Dead-lettered with its field issues: a message that can never be stored. */
  rejectInvalid(message: ClaimedMessage, issues: readonly ValidationIssue[], attemptAt: number): Promise<HandleResult>;
  /** An attempt failed: rescheduled through the queue when the retry policy says so, else dead-lettered with the reason. */
  retryOrGiveUp(message: ClaimedMessage, failure: Failure, attemptAt: number, destination: string): Promise<HandleResult>;
  /** Stored: acknowledged, or with a ledger entry held in the queue until the entry is durable. */
  stored(message: ClaimedMessage, archiver: Archiver, prepared: PreparedObject, result: ArchiveResult, durationMs: number): Promise<HandleResult>;
}

/** Creates the settling calls of the processor: the only place a claim leaves it. */
export function createClaimSettler({ queue, report, policy, now, random, ledger }: SettleOptions): ClaimSettler {
  const { log, emit } = report;

  /** Runs a settling call; `true` if the queue applied it. Queue failures are logged, never thrown. */
  const settle = async (message: ClaimedMessage, action: 'ack' | 'release' | 'reschedule' | 'dead_letter', run: () => Promise<boolean>): Promise<boolean> => {
    try {
      const held = await run();
      if (!held) {
        emit({ type: 'lease_lost', message: outcomeMessage(message), settle: action });
        log('warn', 'message.lease_lost', 'The message was claimed again before this work finished; the newer claim settles it.', { ...outcomeMessage(message), action });
      }
      return held;
    } catch (error) {
      log('error', 'queue.settle_failed', `Could not ${action.replace('_', ' ')} a message; it will be delivered again when its lease runs out.`, {
        ...outcomeMessage(message),
        action,
        error: describeError(error),
      });
      return false;
    }
  };

  const deadLetter: ClaimSettler['deadLetter'] = async (message, details) => {
    const { attemptAt, ...recorded } = details;
    if (await settle(message, 'dead_letter', () => queue.deadLetter(message, recorded))) {
      const attempts = message.attempts + (details.attempt ? 1 : 0);
      const issues = details.issues ?? [];
      emit({ type: 'dead_lettered', message: outcomeMessage(message), kind: details.kind, reason: details.reason, attempts, issues, attemptAt });
      log('error', 'message.dead_lettered', 'The message was moved to the dead letters; replay it once the cause is fixed.', {
        ...outcomeMessage(message),
        kind: details.kind,
        reason: details.reason,
        attempts,
        ...(issues.length > 0 ? { issues } : {}),
      });
    }
    return 'finished';
  };

  return {
    deadLetter,

    async giveBack(message, notBefore) {
      if (await settle(message, 'release', () => queue.release(message, notBefore === undefined ? undefined : { notBefore }))) {
        emit({ type: 'returned', message: outcomeMessage(message) });
        log('debug', 'message.returned', 'The message went back to the queue unfinished.', { ...outcomeMessage(message) });
      }
      return 'returned';
    },

    rejectInvalid: (message, issues, attemptAt) => deadLetter(message, { kind: 'invalid', reason: new MessageValidationError(issues).message, issues, attemptAt }),

    async retryOrGiveUp(message, failure, attemptAt, destination) {
      const attempts = message.attempts + 1;
      const decision = decideRetry({
        kind: failure.kind,
        attempts,
        firstAttemptAt: message.firstAttemptAt ?? attemptAt,
        now: now(),
        policy,
        random,
        ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
      });
      const attempt: AttemptRecord = { at: attemptAt, kind: failure.kind, reason: failure.reason };
      if (decision.action === 'give_up') {
        return deadLetter(message, { kind: failure.kind, reason: `${decision.reason} Last error: ${failure.reason}`, attempt, attemptAt });
      }
      if (await settle(message, 'reschedule', () => queue.reschedule(message, { notBefore: decision.at, attempt }))) {
        emit({ type: 'retry_scheduled', message: outcomeMessage(message), destination, kind: failure.kind, reason: failure.reason, attempts, retryAt: decision.at, phase: decision.phase, attemptAt });
        log('warn', 'message.retry_scheduled', 'Archiving failed; the message will be tried again.', {
          ...outcomeMessage(message),
          kind: failure.kind,
          reason: failure.reason,
          attempts,
          phase: decision.phase,
          retryAt: new Date(decision.at).toISOString(),
        });
      }
      return 'finished';
    },

    async stored(message, archiver, prepared, result, durationMs) {
      const position = result.ledgerPosition;
      if (!(await settle(message, 'ack', () => (position === undefined || ledger === undefined ? queue.ack(message) : ledger.hold(message, archiver, position))))) return 'finished';
      const version = result.version === true;
      emit({
        type: 'archived',
        message: outcomeMessage(message),
        channel: prepared.channel,
        destination: archiver.destination.id,
        key: result.key,
        sha256: result.sha256,
        size: result.size,
        created: result.created,
        version,
        ...(result.originalKey === undefined ? {} : { originalKey: result.originalKey }),
        attempts: message.attempts + 1,
        durationMs,
      });
      // Redacted: an unkeyed hash of a recipient in a key (vendor layouts) is as good as the phone number. A hand-made layout without redact() logs no key.
      const redact = typeof archiver.layout.redact === 'function' ? archiver.layout.redact.bind(archiver.layout) : undefined;
      const loggedKey = redact === undefined ? {} : { key: redact(result.key), ...(result.originalKey === undefined ? {} : { originalKey: redact(result.originalKey) }) };
      if (version) {
        // Not an error, but worth a look: a producer reused a message id for other content.
        log('warn', 'message.version_stored', 'The message id was already stored with other content; this copy is kept as a version next to the first.', { ...outcomeMessage(message), ...loggedKey, created: result.created });
      } else {
        log('debug', 'message.archived', 'The message is stored.', { ...outcomeMessage(message), ...loggedKey, created: result.created, durationMs: Math.round(durationMs) });
      }
      return 'finished';
    },
  };
}
