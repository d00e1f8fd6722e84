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
    // The oldest messages are the ones a crash leaves behind: a batch at a time, from the stream's
    // first sequence up to the consumer's ack floor. Each is removed on its own (a purge would also
    // move the consumer's state, which left it delivering nothing in the kill -9 soak).
    for (;;) {
      const [streamInfo, consumerInfo] = await Promise.all([manager.streams.info(stream), manager.consumers.info(stream, consumer)]);
      const first = streamInfo.state.first_seq;
      const floor = consumerInfo.ack_floor.stream_seq;
      if (streamInfo.state.messages === 0 || first > floor) break;
      const removed = await inParallel(first, Math.min(floor, first + repairBatch - 1), async (seq) => {
        if (ready) await republishIfStillQueued(context, registry, seq);
        return await manager.streams.deleteMessage(stream, seq, false).catch(() => false);
      });
      repaired += removed;
      // Nothing removed (another worker's repair got there first, or the server refuses): try again at the next repair.
      if (removed === 0) break;
    }
  }
  return repaired;
}

/** Phantoms handled per look at the stream; each takes a read, two registry lookups and a removal, made {@link repairConcurrency} at a time. */
const repairBatch = 256;
const repairConcurrency = 16;

/** Runs `work` for each sequence from `first` to `last`, {@link repairConcurrency} at a time; resolves with how many returned `true`. */
async function inParallel(first: number, last: number, work: (seq: number) => Promise<boolean>): Promise<number> {
  let next = first;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.min(repairConcurrency, last - first + 1) }, async () => {
      while (next <= last) if (await work(next++)) done++;
    }),
  );
  return done;
}

/** Publishes a phantom of the ready queue again when its message is still queued, so that removing it loses nothing. */
async function republishIfStillQueued(context: QueueContext, registry: QueuedRegistry, seq: number): Promise<void> {
  // Read by sequence, not by subject: their subject index can be lost with them. A gap (an interior
  // sequence removed before) reads as absent; any other failure stops the repair before this one is
  // removed, so no message still queued goes unread (the next repair tries again).
  const stored = await context.manager.streams.getMessage(context.names.queueStream, { seq }).catch((error: unknown) => {
    if (/no message found|not found/i.test(String((error as Error).message))) return null;
    throw error;
  });
  const copy = stored === null ? undefined : readCopy(stored.header);
  if (stored !== null && copy !== undefined && (await registry.isCurrent(copy)) && !(await registry.wasArchived(copy.dedupeKey, copy.version))) {
    await moveToQueue(context, copy, stored.data, -seq);
  }
}
