import type { Archiver } from '@sentcopy/core';
import { archiveClaim, type ArchiveClaimOptions } from './archive-claim.js';
import { describeError } from './classify-failure.js';
import type { ClaimedMessage } from '../queue/index.js';
import type { DestinationSlots } from './destination-slots.js';
import type { InFlightEntry } from './in-flight-claims.js';
import type { ProcessorOptions } from './processor-options.js';
import type { ProcessorReport } from './processor-report.js';
import type { HandleResult } from './settle-claim.js';

/** How long a message waits when looking up its archiver threw (a configuration problem, not the message's). */
const routeRetryMs = 5_000;

/** What routing a claim to its destination needs. */
export interface RouteClaimOptions extends ArchiveClaimOptions {
  readonly archiverFor: ProcessorOptions['archiverFor'];
  readonly missingDestinationReason: ProcessorOptions['missingDestinationReason'];
  readonly slots: DestinationSlots;
  readonly report: ProcessorReport;
}

/**
 * Takes a claimed message to its destination: finds the project's archiver (not ready → back to
 * the queue for a while; none → dead letter), holds it back while the destination is paused, and
 * archives it (which waits for a slot of the destination once the message is prepared).
 */
export function createClaimRouter(options: RouteClaimOptions): (entry: InFlightEntry) => Promise<HandleResult> {
  const { settler, health, now, slots, report } = options;
  const routeLoggedAt = new Map<string, number>();

  /** The archiver of the message's project could not be looked up (its destination is not ready): the message goes back to the queue for a while. */
  const notReady = (message: ClaimedMessage, error: unknown): Promise<HandleResult> => {
    // A destination that is not ready holds back every message of its projects: say so once a minute per project, not per message.
    const lastLogged = routeLoggedAt.get(message.project);
    if (lastLogged === undefined || now() - lastLogged >= 60_000) {
      routeLoggedAt.set(message.project, now());
      report.log('warn', 'processor.route_failed', 'The destination of a project cannot take messages yet; they wait in the queue and are tried again shortly.', {
        project: message.project,
        error: describeError(error),
      });
    }
    const retryAfterMs = (error as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    return settler.giveBack(message, now() + (typeof retryAfterMs === 'number' ? retryAfterMs : routeRetryMs));
  };

  return async (entry) => {
    const { message, abort } = entry;
    if (abort.signal.aborted) return settler.giveBack(message);
    let archiver: Archiver | undefined;
    try {
      archiver = options.archiverFor(message.project);
    } catch (error) {
      return notReady(message, error);
    }
    if (archiver === undefined) {
      const reason = options.missingDestinationReason?.(message.project) ?? `No destination is configured for project "${message.project}".`;
      return settler.deadLetter(message, { kind: 'no_destination', reason, attemptAt: now() });
    }
    const destination = archiver.destination;
    const pausedBefore = health.pausedError(destination);
    if (pausedBefore !== undefined) return health.holdBack(message, archiver, pausedBefore);
    // Taken once the message is prepared: a slot stands for a write to the destination in flight.
    const takeSlot = async (): Promise<(() => void) | HandleResult> => {
      let release: () => void;
      try {
        release = await slots.acquire(destination.id, abort.signal);
      } catch {
        return settler.giveBack(message);
      }
      // The destination may have been paused while this message was prepared or waited for a slot.
      const pausedAfter = health.pausedError(destination);
      if (pausedAfter !== undefined) {
        release();
        return health.holdBack(message, archiver, pausedAfter);
      }
      entry.writing = true;
      // The slot's releaser gives it back once, however often it is called.
      return release;
    };
    return archiveClaim(message, abort.signal, archiver, takeSlot, options);
  };
}
