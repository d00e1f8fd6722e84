import type { JetStreamClient, JetStreamManager, PubAck } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamNames } from './jetstream-names.js';
import { copyHeaders, type MessageCopy } from './message-copy.js';

/** What the parts of the queue share: the connection, the names, the buckets. */
export interface QueueContext {
  readonly connection: NatsConnection;
  readonly manager: JetStreamManager;
  readonly client: JetStreamClient;
  readonly names: JetStreamNames;
  readonly queued: KV;
  readonly archived: KV | undefined;
  readonly ackWaitMs: number;
}

/**
 * Publishes a copy and waits for the stream to store it. A publish whose acknowledgement was lost
 * (a reconnect) is sent again under the same `Nats-Msg-Id`, which the stream stores once within
 * its duplicate window.
 */
export async function publishCopy(context: QueueContext, subject: string, copy: MessageCopy, payload: Uint8Array, msgID: string): Promise<PubAck> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await context.client.publish(subject, payload, { msgID, headers: copyHeaders(copy), timeout: 4_000 });
    } catch (error) {
      if (attempt === 3 || (error as Error).name !== 'TimeoutError') throw error;
    }
  }
}
