import type { MessageQueue } from '../queue/index.js';
import { describeError } from './classify-failure.js';
import type { InFlightClaims } from './in-flight-claims.js';
import { outcomeMessage, type ProcessorReport } from './processor-report.js';

/** Extends the lease of every message in flight every third of `leaseMs`, so a long write is not claimed again; returns the stop. */
export function startLeaseHeartbeat(queue: MessageQueue, inFlight: InFlightClaims, leaseMs: number, report: ProcessorReport): () => void {
  const heartbeat = setInterval(
    () => {
      for (const entry of inFlight.entries()) {
        queue.extendLease(entry.message, leaseMs).catch((error: unknown) => {
          report.log('error', 'queue.extend_failed', 'Could not extend a lease; the message may be delivered twice (storing it stays exactly-once).', {
            ...outcomeMessage(entry.message),
            error: describeError(error),
          });
        });
      }
    },
    Math.max(10, leaseMs / 3),
  );
  heartbeat.unref();
  return () => clearInterval(heartbeat);
}
