import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { PubAck } from '@nats-io/jetstream';
import { readCopy, type MessageCopy } from './message-copy.js';
import { publishCopy, type QueueContext } from './queue-context.js';

/** A copy of `copy` made ready: no not-before, marked as a copy. */
export function readyCopy(copy: MessageCopy): MessageCopy {
  const { notBefore: _notBefore, ...rest } = copy;
  return { ...rest, isCopy: true };
}

/**
 * Publishes a held message to the ready queue. The `Nats-Msg-Id` names the held message, so the
 * scheduler and a concurrent `hurry()` moving the same one store a single copy.
 */
export function moveToQueue(context: QueueContext, copy: MessageCopy, payload: Uint8Array, heldSeq: number): Promise<PubAck> {
  return publishCopy(context, context.names.queueSubject(copy.project), readyCopy(copy), payload, `${copy.id}.${copy.generation}.h${heldSeq}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Moves held messages (retries, releases with a not-before, messages enqueued for later) to the
 * ready queue when they are due. Every worker runs one on the shared scheduler consumer: a held
 * message waits on the server as a delayed redelivery of that consumer, whose ack-pending limit is
 * unlimited, so waiting messages never take the slots ready ones need. Held copies are never
 * rewritten; moving one publishes a copy and then removes it, so a race can at worst store the same
 * copy twice (de-duplicated by its `Nats-Msg-Id`), never park it.
 */
export class HeldScheduler {
  private running: Promise<void> | undefined;
  private messages: ConsumerMessages | undefined;
  private closed = false;

  constructor(
    private readonly context: QueueContext,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  /** Starts moving due messages (once; only queues that claim run it). */
  start(): void {
    this.running ??= this.run();
  }

  private async run(): Promise<void> {
    const { client, names } = this.context;
    while (!this.closed) {
      try {
        const consumer = await client.consumers.get(names.heldStream, names.scheduler);
        this.messages = await consumer.consume({ max_messages: 256 });
        if (this.closed) this.messages.stop();
        for await (const message of this.messages) await this.handle(message);
      } catch (error) {
        if (!this.closed) this.onFailure(error);
      }
      if (!this.closed) await sleep(1_000);
    }
  }

  private async handle(message: JsMsg): Promise<void> {
    if (this.closed) return message.nak();
    const copy = readCopy(message.headers);
    if (copy === undefined) return message.term();
    const wait = (copy.notBefore ?? 0) - Date.now();
    if (wait > 0) return message.nak(wait);
    try {
      await moveToQueue(this.context, copy, message.data, message.seq);
      message.ack();
    } catch (error) {
      this.onFailure(error);
      message.nak(1_000);
    }
  }

  /**
   * Moves every held message of these projects to the ready queue now, whatever its not-before;
   * resolves with how many it moved. Reads only the held messages of those projects.
   */
  async hurry(projects: readonly string[]): Promise<number> {
    const { manager, names } = this.context;
    let moved = 0;
    for (const project of new Set(projects)) {
      let seq = 1;
      for (;;) {
        const stored = await manager.direct.getMessage(names.heldStream, { seq, next_by_subj: names.heldSubject(project) });
        if (stored === null) break;
        seq = stored.seq + 1;
        const copy = readCopy(stored.header);
        if (copy === undefined) continue;
        await moveToQueue(this.context, copy, stored.data, stored.seq);
        // Gone already: the scheduler moved it meanwhile (same Nats-Msg-Id, one copy).
        if (await manager.streams.deleteMessage(names.heldStream, stored.seq, false).catch(() => false)) moved++;
      }
    }
    return moved;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.messages?.stop();
    await this.running?.catch(() => undefined);
  }
}
