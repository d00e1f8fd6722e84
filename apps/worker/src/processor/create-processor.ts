import { ArchiveError, decideRetry, defaultRetryPolicy, DestinationError, MessageValidationError, type Archiver, type DestinationErrorKind, type PreparedObject, type ValidationIssue } from '@sentcopy/core';
import type { LogLevel } from '../logging/index.js';
import { createDestinationHealth } from '../destination-health/index.js';
import { QueueError, type AttemptRecord, type ClaimedMessage, type DeadLetterKind } from '../queue/index.js';
import { DestinationSlots } from './destination-slots.js';
import type { OutcomeMessage, ProcessOutcome, Processor, ProcessorOptions, StopReport } from './processor-options.js';

interface InFlightEntry {
  readonly message: ClaimedMessage;
  readonly abort: AbortController;
  /** True once the entry holds a destination slot: from then on, stop() lets it finish first. */
  writing: boolean;
  /** Payload bytes counted against `maxBytesInFlight`, read at claim time (a buffer handed on may be detached later). */
  readonly bytes: number;
}

type HandleResult = 'finished' | 'returned';

/** How long a message waits when looking up its archiver threw (a configuration problem, not the message's). */
const routeRetryMs = 5_000;
/** How long stop() waits for writes that were aborted to end. */
const abortGraceMs = 2_000;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`Invalid processor options: ${name} must be a positive integer.`);
  return value;
}

function positiveDuration(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RangeError(`Invalid processor options: ${name} must be a finite number of milliseconds above 0.`);
  return value;
}

// Unexpected errors come from code we do not control; mask anything shaped like an address or a phone number.
function redactText(text: string): string {
  return text
    .replace(/[^\s"'<>()[\]{},;:@]+@[^\s"'<>()[\]{},;:@]+/g, '[redacted address]')
    .replace(/\+?\d[\d\s().-]{6,}\d/g, '[redacted number]')
    .slice(0, 300);
}

function describeError(error: unknown): string {
  if (QueueError.isInstance(error) || DestinationError.isInstance(error)) return error.message;
  if (error instanceof Error) return `${error.name}: ${redactText(error.message)}`;
  return `a thrown ${typeof error}`;
}

interface Failure {
  readonly kind: DestinationErrorKind;
  readonly reason: string;
  readonly retryAfterMs?: number;
}

/**
 * The failure of an attempt, its reason with the object key redacted by the archiver's layout:
 * adapters name the key in their errors, and a key in an unkeyed layout holds a recipient's hash.
 */
function classifyFailure(error: unknown, archiver?: Archiver): Failure {
  const failure = classifyUnredacted(error);
  const key = ArchiveError.isInstance(error) || DestinationError.isInstance(error) ? error.key : undefined;
  if (key === undefined || key === '' || typeof archiver?.layout.redact !== 'function') return failure;
  const redacted = archiver.layout.redact(key);
  return redacted === key ? failure : { ...failure, reason: failure.reason.replaceAll(key, redacted) };
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
  return { kind: 'unknown', reason: `Unexpected error while archiving: ${describeError(error)}` };
}

/** The parsed message must be the one the queue entry was submitted as: same project, same id. */
function identityIssues(parsed: PreparedObject, claimed: ClaimedMessage): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (parsed.projectId !== claimed.project) issues.push({ path: 'project_id', problem: 'must be the project the message was submitted to' });
  if (parsed.messageId !== claimed.messageId) issues.push({ path: 'message_id', problem: 'must be the message id the message was queued under' });
  return issues;
}

function outcomeMessage(message: ClaimedMessage): OutcomeMessage {
  return { id: message.id, project: message.project, messageId: message.messageId, deliveries: message.deliveries };
}

function shutdownError(): Error {
  const error = new Error('The worker is shutting down; the message goes back to the queue.');
  error.name = 'AbortError';
  return error;
}

/**
 * Creates the processing loop: claims messages from the queue, archives each through the
 * project's archiver, and settles every claim — ack once stored (also when an identical copy was
 * already there), reschedule through the queue when the retry policy says so, or dead-letter with
 * the reason. Invalid messages are dead-lettered with their field issues; nothing a message
 * contains can stop the loop.
 */
export function createProcessor(options: ProcessorOptions): Processor {
  const queue = options.queue;
  const concurrency = positiveInteger('concurrencyPerDestination', options.concurrencyPerDestination ?? 16);
  const maxInFlight = positiveInteger('maxInFlight', options.maxInFlight ?? 64);
  const maxBytesInFlight = positiveInteger('maxBytesInFlight', options.maxBytesInFlight ?? 64 * 1024 * 1024);
  const leaseMs = positiveDuration('leaseMs', options.leaseMs ?? 60_000);
  const idleWaitMs = positiveDuration('idleWaitMs', options.idleWaitMs ?? 1_000);
  const policy = options.retryPolicy ?? defaultRetryPolicy;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const slots = new DestinationSlots(concurrency);
  if (options.health !== undefined && (options.breakerFailures !== undefined || options.breakerProbeMs !== undefined)) {
    throw new RangeError("Invalid processor options: breakerFailures and breakerProbeMs configure the processor's own destination health; with `health`, set pauseAfterFailures and pauseProbeMs on it instead.");
  }
  const breakerFailures = options.breakerFailures ?? 0;
  if (!Number.isSafeInteger(breakerFailures) || breakerFailures < 0) throw new RangeError('Invalid processor options: breakerFailures must be a whole number, 0 or more.');
  const breakerProbeMs = positiveDuration('breakerProbeMs', options.breakerProbeMs ?? 10_000);
  const ownHealth = options.health === undefined;
  const health = options.health ?? createDestinationHealth({ queue, pauseAfterFailures: breakerFailures, pauseProbeMs: breakerProbeMs, now, ...(options.logger === undefined ? {} : { logger: options.logger }) });
  const routeLoggedAt = new Map<string, number>();

  const inFlight = new Map<string, InFlightEntry>();
  let bytesInFlight = 0;
  /** Whether another claim may start: a free place and payload bytes left. */
  const hasRoom = () => inFlight.size < maxInFlight && bytesInFlight < maxBytesInFlight;
  const claimLimits = () => ({ limit: maxInFlight - inFlight.size, maxBytes: maxBytesInFlight - bytesInFlight });
  let capacityWaiters: (() => void)[] = [];
  let running = false;
  let draining = false;
  let stopping = false;
  let loopAbort = new AbortController();
  let loopDone: Promise<void> = Promise.resolve();
  let heartbeat: NodeJS.Timeout | undefined;
  let tally = { finished: 0, returned: 0 };

  const log = (level: LogLevel, event: string, message: string, fields: Record<string, unknown> = {}) => {
    try {
      options.logger?.({ level, event, message, ...fields });
    } catch {
      // A failing logger must not stop archiving.
    }
  };
  const emit = (outcome: ProcessOutcome) => {
    try {
      options.onOutcome?.(outcome);
    } catch {
      // Same: observers cannot break the loop.
    }
  };
  const fieldsOf = (message: ClaimedMessage) => ({ id: message.id, project: message.project, messageId: message.messageId, deliveries: message.deliveries });

  const capacityFreed = () => new Promise<void>((resolve) => capacityWaiters.push(resolve));
  const notifyCapacity = () => {
    const waiting = capacityWaiters;
    capacityWaiters = [];
    for (const resolve of waiting) resolve();
  };

  /** Runs a settling call; `true` if the queue applied it. Queue failures are logged, never thrown. */
  const settle = async (message: ClaimedMessage, action: 'ack' | 'release' | 'reschedule' | 'dead_letter', run: () => Promise<boolean>): Promise<boolean> => {
    try {
      const held = await run();
      if (!held) {
        emit({ type: 'lease_lost', message: outcomeMessage(message), settle: action });
        log('warn', 'message.lease_lost', 'The message was claimed again before this work finished; the newer claim settles it.', { ...fieldsOf(message), action });
      }
      return held;
    } catch (error) {
      log('error', 'queue.settle_failed', `Could not ${action.replace('_', ' ')} a message; it will be delivered again when its lease runs out.`, {
        ...fieldsOf(message),
        action,
        error: describeError(error),
      });
      return false;
    }
  };

  const giveBack = async (message: ClaimedMessage, notBefore?: number): Promise<HandleResult> => {
    if (await settle(message, 'release', () => queue.release(message, notBefore === undefined ? undefined : { notBefore }))) {
      emit({ type: 'returned', message: outcomeMessage(message) });
      log('debug', 'message.returned', 'The message went back to the queue unfinished.', fieldsOf(message));
    }
    return 'returned';
  };

  const deadLetter = async (message: ClaimedMessage, details: { kind: DeadLetterKind; reason: string; attempt?: AttemptRecord; issues?: readonly ValidationIssue[]; attemptAt: number }): Promise<HandleResult> => {
    const { attemptAt, ...recorded } = details;
    if (await settle(message, 'dead_letter', () => queue.deadLetter(message, recorded))) {
      const attempts = message.attempts + (details.attempt ? 1 : 0);
      const issues = details.issues ?? [];
      emit({ type: 'dead_lettered', message: outcomeMessage(message), kind: details.kind, reason: details.reason, attempts, issues, attemptAt });
      log('error', 'message.dead_lettered', 'The message was moved to the dead letters; replay it once the cause is fixed.', {
        ...fieldsOf(message),
        kind: details.kind,
        reason: details.reason,
        attempts,
        ...(issues.length > 0 ? { issues } : {}),
      });
    }
    return 'finished';
  };

  const rejectInvalid = (message: ClaimedMessage, issues: readonly ValidationIssue[], attemptAt: number) => deadLetter(message, { kind: 'invalid', reason: new MessageValidationError(issues).message, issues, attemptAt });

  const failed = async (message: ClaimedMessage, error: unknown, attemptAt: number, archiver: Archiver): Promise<HandleResult> => {
    const destination = archiver.destination.id;
    const failure = classifyFailure(error, archiver);
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
        ...fieldsOf(message),
        kind: failure.kind,
        reason: failure.reason,
        attempts,
        phase: decision.phase,
        retryAt: new Date(decision.at).toISOString(),
      });
    }
    return 'finished';
  };

  const archive = async (entry: InFlightEntry, archiver: Archiver, writeDone: () => void): Promise<HandleResult> => {
    const { message, abort } = entry;
    const signal = abort.signal;
    const attemptAt = now();
    const started = performance.now();
    try {
      let prepared;
      try {
        // The payload goes to prepare() as JSON bytes, so parsing happens wherever preparing does (a prepare pool's thread).
        prepared = await archiver.prepare(message.payload);
      } catch (error) {
        if (MessageValidationError.isInstance(error)) return await rejectInvalid(message, error.issues, attemptAt);
        throw error;
      }
      const mismatch = identityIssues(prepared, message);
      if (mismatch.length > 0) return await rejectInvalid(message, mismatch, attemptAt);
      if (signal.aborted) return await giveBack(message);
      let result;
      try {
        result = await archiver.write(prepared, { signal });
      } catch (error) {
        writeDone();
        if (signal.aborted) throw error;
        // Reported once the retry is on the queue, so a hurry the report sets off cannot miss this message.
        const settled = await failed(message, error, attemptAt, archiver);
        health.recordWrite(archiver.destination, { project: message.project, startedAt: attemptAt, failure: classifyFailure(error, archiver) });
        return settled;
      } finally {
        // The destination is done with this message: let the next write start while the queue settles it.
        writeDone();
      }
      health.recordWrite(archiver.destination, { project: message.project, startedAt: attemptAt });
      const durationMs = performance.now() - started;
      const position = result.ledgerPosition;
      const ledger = options.ledger;
      // Stored: with a ledger entry, the queue keeps the message until the entry is durable.
      if (await settle(message, 'ack', () => (position === undefined || ledger === undefined ? queue.ack(message) : ledger.hold(message, archiver, position)))) {
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
          log('warn', 'message.version_stored', 'The message id was already stored with other content; this copy is kept as a version next to the first.', { ...fieldsOf(message), ...loggedKey, created: result.created });
        } else {
          log('debug', 'message.archived', 'The message is stored.', { ...fieldsOf(message), ...loggedKey, created: result.created, durationMs: Math.round(durationMs) });
        }
      }
      return 'finished';
    } catch (error) {
      // Aborted by stop(): the write may or may not have landed; a later claim finds out (write-once makes that safe).
      if (signal.aborted) return await giveBack(message);
      return await failed(message, error, attemptAt, archiver);
    }
  };

  const handle = async (entry: InFlightEntry): Promise<HandleResult> => {
    const { message, abort } = entry;
    if (abort.signal.aborted) return giveBack(message);
    let archiver: Archiver | undefined;
    try {
      archiver = options.archiverFor(message.project);
    } catch (error) {
      // A destination that is not ready holds back every message of its projects: say so once a minute per project, not per message.
      const lastLogged = routeLoggedAt.get(message.project);
      if (lastLogged === undefined || now() - lastLogged >= 60_000) {
        routeLoggedAt.set(message.project, now());
        log('warn', 'processor.route_failed', 'The destination of a project cannot take messages yet; they wait in the queue and are tried again shortly.', {
          project: message.project,
          error: describeError(error),
        });
      }
      const retryAfterMs = (error as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
      return giveBack(message, now() + (typeof retryAfterMs === 'number' ? retryAfterMs : routeRetryMs));
    }
    if (!archiver) {
      const reason = options.missingDestinationReason?.(message.project) ?? `No destination is configured for project "${message.project}".`;
      return deadLetter(message, { kind: 'no_destination', reason, attemptAt: now() });
    }
    const destination = archiver.destination;
    const waitPaused = async (error: Error): Promise<HandleResult> => {
      const result = await failed(message, error, now(), archiver);
      health.recordWaiting(destination, message.project);
      return result;
    };
    const pausedBefore = health.pausedError(destination);
    if (pausedBefore !== undefined) return waitPaused(pausedBefore);
    let releaseSlot: () => void;
    try {
      const release = await slots.acquire(archiver.destination.id, abort.signal);
      let released = false;
      releaseSlot = () => {
        if (!released) release();
        released = true;
      };
    } catch {
      return giveBack(message);
    }
    // The destination may have been paused while this message waited for a slot.
    const pausedAfter = health.pausedError(destination);
    if (pausedAfter !== undefined) {
      releaseSlot();
      return waitPaused(pausedAfter);
    }
    entry.writing = true;
    try {
      return await archive(entry, archiver, releaseSlot);
    } finally {
      releaseSlot();
    }
  };

  const dispatch = (message: ClaimedMessage) => {
    const entry: InFlightEntry = { message, abort: new AbortController(), writing: false, bytes: message.payload.byteLength };
    if (stopping) entry.abort.abort(shutdownError());
    inFlight.set(message.leaseId, entry);
    bytesInFlight += entry.bytes;
    void handle(entry)
      .catch((error: unknown) => {
        log('error', 'processor.unexpected_error', 'Handling a message failed unexpectedly; it will be delivered again when its lease runs out.', {
          ...fieldsOf(message),
          error: describeError(error),
        });
        return 'returned' as const;
      })
      .then((result) => {
        inFlight.delete(message.leaseId);
        bytesInFlight -= entry.bytes;
        if (stopping) tally[result]++;
        notifyCapacity();
      });
  };

  const startHeartbeat = () => {
    heartbeat = setInterval(
      () => {
        for (const entry of inFlight.values()) {
          queue.extendLease(entry.message, leaseMs).catch((error: unknown) => {
            log('error', 'queue.extend_failed', 'Could not extend a lease; the message may be delivered twice (storing it stays exactly-once).', {
              ...fieldsOf(entry.message),
              error: describeError(error),
            });
          });
        }
      },
      Math.max(10, leaseMs / 3),
    );
    heartbeat.unref();
  };
  const stopHeartbeat = () => {
    clearInterval(heartbeat);
    heartbeat = undefined;
    if (ownHealth) health.close();
  };

  const waitUntilIdle = async (ms: number): Promise<void> => {
    const deadline = performance.now() + ms;
    while (inFlight.size > 0) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([capacityFreed(), new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining)))]);
      clearTimeout(timer);
    }
  };

  const runLoop = async (signal: AbortSignal): Promise<void> => {
    while (!stopping) {
      if (!hasRoom()) {
        await capacityFreed();
        continue;
      }
      let batch: ClaimedMessage[];
      try {
        batch = await queue.claim({ ...claimLimits(), leaseMs, waitMs: idleWaitMs, signal });
      } catch (error) {
        if (stopping) break;
        log('error', 'queue.claim_failed', 'Claiming messages failed; trying again in a second.', { error: describeError(error) });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1_000);
          signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
        continue;
      }
      for (const message of batch) dispatch(message);
    }
  };

  return {
    get running() {
      return running;
    },
    get inFlight() {
      return inFlight.size;
    },
    get bytesInFlight() {
      return bytesInFlight;
    },

    start() {
      if (running) return;
      if (draining) throw new Error('The processor is running processAvailable(); wait for it before start().');
      running = true;
      stopping = false;
      loopAbort = new AbortController();
      startHeartbeat();
      loopDone = runLoop(loopAbort.signal);
      log('info', 'processor.started', 'Processing queued messages.', { concurrencyPerDestination: concurrency, maxInFlight, maxBytesInFlight });
    },

    async stop(stopOptions = {}): Promise<StopReport> {
      if (!running) return { finished: 0, returned: 0, abandoned: 0 };
      const timeoutMs = stopOptions.timeoutMs ?? 10_000;
      stopping = true;
      tally = { finished: 0, returned: 0 };
      loopAbort.abort();
      notifyCapacity();
      for (const entry of inFlight.values()) if (!entry.writing) entry.abort.abort(shutdownError());
      await loopDone;
      await waitUntilIdle(timeoutMs);
      for (const entry of inFlight.values()) entry.abort.abort(shutdownError());
      await waitUntilIdle(abortGraceMs);
      const report: StopReport = { ...tally, abandoned: inFlight.size };
      stopHeartbeat();
      running = false;
      stopping = false;
      log('info', 'processor.stopped', 'Stopped processing.', { ...report });
      return report;
    },

    async processAvailable() {
      if (running) throw new Error('processAvailable() cannot run while the processor is started.');
      if (draining) throw new Error('processAvailable() is already running.');
      draining = true;
      startHeartbeat();
      try {
        for (;;) {
          let batch: ClaimedMessage[] = [];
          try {
            if (hasRoom()) batch = await queue.claim({ ...claimLimits(), leaseMs });
          } catch (error) {
            await waitUntilIdle(Infinity);
            throw error;
          }
          for (const message of batch) dispatch(message);
          if (inFlight.size === 0) {
            if (batch.length === 0) return;
            continue;
          }
          if (batch.length === 0 || !hasRoom()) await capacityFreed();
        }
      } finally {
        stopHeartbeat();
        draining = false;
      }
    },
  };
}
