import { messageKey } from './jetstream-names.js';

/** How the queue names one message: its stable id and the key it is de-duplicated by. */
export interface MessageIdentity {
  /** The queue's id: stable through retries, hurries and replays. */
  readonly id: string;
  /**
   * What "the same message" means for de-duplication: the key of the queued-ids and archived-ids
   * buckets, and the base of every `Nats-Msg-Id`. Today the id itself (project and message id);
   * made of key-value-safe characters so that a payload hash can be appended here alone when a
   * different payload under the same message id becomes a new version.
   */
  readonly dedupeKey: string;
}

/** The identity of a message about to be queued. */
export function identify(project: string, messageId: string, _payload: Uint8Array): MessageIdentity {
  const id = messageKey(project, messageId);
  return { id, dedupeKey: id };
}
