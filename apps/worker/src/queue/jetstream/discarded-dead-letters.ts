import type { StoredMsg } from '@nats-io/jetstream';
import { deadLetterKinds, type DiscardedDeadLetter, type DiscardedPage } from '../message-queue.js';
import { invalidInput, isTime } from '../queue-checks.js';
import { decodeCursor, encodeCursor, unreadableDeadLetter, type DeadLetterStore, type ReadRecord } from './dead-letters.js';
import { projectOfToken } from './jetstream-names.js';
import { payloadSha256 } from './message-identity.js';
import type { QueueContext } from './queue-context.js';

/** Longest discard reason kept, in UTF-16 code units (as the embedded queue keeps). */
export const maxDiscardReasonLength = 500;

const decoder = new TextDecoder();
const cursorTag = 'jd';

/** Checks the reason given for a discard; the reason as kept. */
export function checkDiscardReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim() === '') throw invalidInput('A reason is required to discard dead letters: say why they are given up on for good.');
  return reason.trim().slice(0, maxDiscardReasonLength);
}

/**
 * The records discarded dead letters leave, one message each on the discarded stream (subject per
 * project), kept for good: who the message was, why it died, why and when it was discarded, and the
 * SHA-256 of the payload that was given up. Never the payload itself.
 */
export class DiscardedStore {
  constructor(
    private readonly context: QueueContext,
    private readonly deadLetters: DeadLetterStore,
  ) {}

  /** The record a dead letter leaves when it is discarded now. */
  async recordOf(read: ReadRecord, discardReason: string, discardedAt: number): Promise<DiscardedDeadLetter> {
    if ('unreadable' in read) {
      const shown = unreadableDeadLetter(read);
      return { id: shown.id, project: shown.project, messageId: '', kind: shown.kind, reason: shown.reason, discardReason, discardedAt, deadAt: shown.deadAt, enqueuedAt: shown.enqueuedAt, attempts: 0, payloadBytes: 0 };
    }
    const { record } = read;
    // Records written before versions carry no hash: the payload, while it is there, tells it.
    let sha256 = record.payloadSha256;
    if (sha256 === undefined) {
      const payload = await this.deadLetters.payload(record);
      if (payload !== undefined) sha256 = payloadSha256(payload);
    }
    return {
      id: record.id,
      project: record.project,
      messageId: record.messageId,
      kind: record.kind,
      reason: record.reason,
      discardReason,
      discardedAt,
      deadAt: record.deadAt,
      enqueuedAt: record.enqueuedAt,
      attempts: record.attempts,
      ...(sha256 === undefined ? {} : { payloadSha256: sha256 }),
      payloadBytes: record.payloadBytes,
    };
  }

  /**
   * Stores a record and waits for the server to keep it. `msgID` names the dead letter, so a
   * discard retried (or run by two workers at once) within the stream's duplicate window stores one record.
   */
  async write(record: DiscardedDeadLetter, msgID: string): Promise<void> {
    const { client, names } = this.context;
    await client.publish(names.discardedSubject(record.project), JSON.stringify(record), { msgID, timeout: 4_000 });
  }

  /** A page of records, oldest discarded first, of one project or all. */
  async list(project: string | undefined, limit: number, cursor: string | undefined): Promise<DiscardedPage> {
    const { manager, names } = this.context;
    const subject = names.discardedSubject(project);
    const items: DiscardedDeadLetter[] = [];
    let seq = cursor === undefined ? 1 : decodeCursor(cursor, cursorTag);
    for (;;) {
      const stored = await manager.direct.getMessage(names.discardedStream, { seq, next_by_subj: subject });
      if (stored === null) return { items };
      if (items.length === limit) return { items, cursor: encodeCursor(stored.seq, cursorTag) };
      items.push(this.read(stored));
      seq = stored.seq + 1;
    }
  }

  private read(stored: StoredMsg): DiscardedDeadLetter {
    const project = projectOfToken(stored.subject.split('.').at(-1) ?? '');
    try {
      const record = JSON.parse(decoder.decode(stored.data)) as DiscardedDeadLetter;
      const valid =
        typeof record === 'object' &&
        record !== null &&
        typeof record.id === 'string' &&
        record.project === project &&
        typeof record.messageId === 'string' &&
        deadLetterKinds.includes(record.kind) &&
        typeof record.reason === 'string' &&
        typeof record.discardReason === 'string' &&
        isTime(record.discardedAt) &&
        isTime(record.deadAt) &&
        isTime(record.enqueuedAt) &&
        Number.isSafeInteger(record.attempts) &&
        Number.isSafeInteger(record.payloadBytes) &&
        (record.payloadSha256 === undefined || /^[0-9a-f]{64}$/.test(record.payloadSha256));
      if (valid) {
        const { id, messageId, kind, reason, discardReason, discardedAt, deadAt, enqueuedAt, attempts, payloadSha256: sha256, payloadBytes } = record;
        return { id, project: record.project, messageId, kind, reason, discardReason, discardedAt, deadAt, enqueuedAt, attempts, ...(sha256 === undefined ? {} : { payloadSha256: sha256 }), payloadBytes };
      }
    } catch {
      // shown as unreadable below
    }
    // Listed rather than skipped, so a damaged or foreign record on the stream is seen.
    const at = stored.time.getTime();
    return {
      id: `unreadable.${stored.seq}`,
      project: project ?? '',
      messageId: '',
      kind: 'unknown',
      reason: `The discard record at sequence ${stored.seq} cannot be read (damaged, or not written by sentcopy).`,
      discardReason: '',
      discardedAt: at,
      deadAt: at,
      enqueuedAt: at,
      attempts: 0,
      payloadBytes: 0,
    };
  }
}
