import { readCopy } from './message-copy.js';
import { moveToQueue } from './held-messages.js';
import type { QueuedRegistry } from './queued-registry.js';
import type { QueueContext } from './queue-context.js';

/**
 * Finds "phantoms": messages still stored in a work-queue stream although its consumer already
 * counts them as acknowledged, which a kill -9 of nats-server can leave behind (the consumer's
 * state reached the disk, the stream's removal did not). The server never delivers them again,
 * so without this they would sit in the queue depth and the oldest-pending age forever.
 *
 * Messages at or below the consumer's ack floor are acknowledged by definition. A phantom of the
 * ready queue whose message is still queued (its version in the queued-ids bucket is of the same
 * generation and it was not archived) is published again before it is removed, so nothing is
 * lost; any other phantom is simply removed. Held phantoms were moved (their copy was stored
 * before the ack), so they are removed.
 */
export async function repairPhantoms(context: QueueContext, registry: QueuedRegistry): Promise<number> {
  const { manager, names } = context;
  let repaired = 0;
  for (const [stream, consumer, ready] of [
    [names.queueStream, names.consumer, true],
    [names.heldStream, names.scheduler, false],
  ] as const) {
    // The oldest message is the one a crash leaves behind; each removal moves the first sequence on,
    // so this reads only phantoms. (Their subject index can be lost with them: they are read by
    // sequence, not by subject.)
    for (;;) {
      const [streamInfo, consumerInfo] = await Promise.all([manager.streams.info(stream), manager.consumers.info(stream, consumer)]);
      const seq = streamInfo.state.first_seq;
      if (streamInfo.state.messages === 0 || seq > consumerInfo.ack_floor.stream_seq) break;
      const stored = await manager.streams.getMessage(stream, { seq }).catch(() => null);
      const copy = stored === null ? undefined : readCopy(stored.header);
      if (ready && stored !== null && copy !== undefined && (await registry.isCurrent(copy)) && !(await registry.wasArchived(copy.dedupeKey, copy.version))) {
        await moveToQueue(context, copy, stored.data, -seq);
      }
      if (!(await manager.streams.deleteMessage(stream, seq, false).catch(() => false))) break;
      repaired++;
    }
  }
  return repaired;
}
