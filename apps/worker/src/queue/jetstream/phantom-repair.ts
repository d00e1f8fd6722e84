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
 * ready queue whose message is still queued (its entry in the queued-ids bucket is of the same
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
    const [streamInfo, consumerInfo] = await Promise.all([manager.streams.info(stream), manager.consumers.info(stream, consumer)]);
    const floor = consumerInfo.ack_floor.stream_seq;
    let seq = streamInfo.state.first_seq;
    if (streamInfo.state.messages === 0 || seq > floor) continue;
    for (;;) {
      const stored = await manager.direct.getMessage(stream, { seq, next_by_subj: `${names.deployment}.${ready ? 'queue' : 'held'}.>` });
      if (stored === null || stored.seq > floor) break;
      seq = stored.seq + 1;
      const copy = readCopy(stored.header);
      if (ready && copy !== undefined && (await registry.isCurrent(copy.dedupeKey, copy.generation)) && !(await registry.wasArchived(copy.dedupeKey))) {
        await publishAgain(context, copy, stored.data, stored.seq);
      }
      if (await manager.streams.deleteMessage(stream, stored.seq, false).catch(() => false)) repaired++;
    }
  }
  return repaired;
}

async function publishAgain(context: QueueContext, copy: NonNullable<ReturnType<typeof readCopy>>, payload: Uint8Array, seq: number): Promise<void> {
  // Same shape as a held message made ready; the Nats-Msg-Id names the phantom.
  await moveToQueue(context, copy, payload, -seq);
}
