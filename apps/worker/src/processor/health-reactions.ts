import type { Archiver, DestinationV1 } from '@sentcopy/core';
import type { DestinationHealth } from '../destination-health/index.js';
import type { ClaimedMessage } from '../queue/index.js';
import { classifyFailure, type Failure } from './classify-failure.js';
import type { ClaimSettler, HandleResult } from './settle-claim.js';

/** How the processor takes part in destination health: it reports each write, and holds messages back from a paused destination. */
export interface HealthReactions {
  /** Why `destination` takes no writes now (paused after failures), or `undefined` when it does. */
  pausedError(destination: DestinationV1): Error | undefined;
  /** A message for a paused destination: settled as a failed attempt (retried through the queue), and counted as waiting. */
  holdBack(message: ClaimedMessage, archiver: Archiver, paused: Error): Promise<HandleResult>;
  /** A write ended (with `failure` when it failed); reported after the message is settled, so a hurry the report sets off cannot miss it. */
  wrote(archiver: Archiver, message: ClaimedMessage, startedAt: number, failure?: Failure): void;
}

/** The processor's side of `health`, settling through `settler`. */
export function healthReactions(health: DestinationHealth, settler: ClaimSettler, now: () => number): HealthReactions {
  return {
    pausedError: (destination) => health.pausedError(destination),
    async holdBack(message, archiver, paused) {
      const result = await settler.retryOrGiveUp(message, classifyFailure(paused, archiver), now(), archiver.destination.id);
      health.recordWaiting(archiver.destination, message.project);
      return result;
    },
    wrote(archiver, message, startedAt, failure) {
      health.recordWrite(archiver.destination, { project: message.project, startedAt, ...(failure === undefined ? {} : { failure }) });
    },
  };
}
