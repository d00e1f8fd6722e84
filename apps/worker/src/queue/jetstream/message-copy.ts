import { headers, type MsgHdrs } from '@nats-io/transport-node';
import type { AttemptRecord } from '../message-queue.js';
import { historyLimit } from '../queue-checks.js';
import { projectOfKey } from './jetstream-names.js';
import { keyOfId, versionOfId } from './message-identity.js';

/**
 * Everything the queue knows about one message, carried in the headers of each copy of it that is
 * published (to the ready queue or the held stream). A copy is never changed once published: a
 * retry publishes a new copy with the new attempt and removes the old one, so there is exactly one
 * writer of each state (whoever holds the lease on the copy) and no shared entry to race on.
 */
export interface MessageCopy {
  /** The queue's id (see `message-identity.ts`): message key and version. */
  readonly id: string;
  /** The message key: project and message id, shared by every version (see `message-identity.ts`). */
  readonly dedupeKey: string;
  /** The version, from the id: the payload's hash token, or `''` for a copy published before versions. */
  readonly version: string;
  readonly project: string;
  readonly messageId: string;
  readonly enqueuedAt: number;
  /** A new one for each life of the message (enqueue, replay); copies of another life are dropped. */
  readonly generation: string;
  /** Claims before this copy was published. */
  readonly deliveries: number;
  readonly attempts: number;
  readonly firstAttemptAt?: number;
  readonly history: readonly AttemptRecord[];
  /** When a held copy is due, in epoch milliseconds. */
  readonly notBefore?: number;
  /** Set on every copy but the one published by `enqueue()`: its first delivery checks it is still current. */
  readonly isCopy: boolean;
}

const name = {
  id: 'Sc-Id',
  dedupeKey: 'Sc-Key',
  generation: 'Sc-Generation',
  messageId: 'Sc-Message-Id',
  enqueuedAt: 'Sc-Enqueued-At',
  notBefore: 'Sc-Not-Before',
  deliveries: 'Sc-Deliveries',
  attempts: 'Sc-Attempts',
  copy: 'Sc-Is-Copy',
} as const;

/** Room the headers of a copy may take; the payload limit leaves this much of the server's `max_payload`. */
export const headerRoomBytes = 8 * 1024;
// The attempt history is the only part of the headers that grows; it gets most of the room.
const attemptsRoomBytes = 6 * 1024;

function encodeAttempts(copy: MessageCopy): string {
  let history = copy.history.slice(-historyLimit);
  const encode = (records: readonly AttemptRecord[]) => Buffer.from(JSON.stringify({ a: copy.attempts, f: copy.firstAttemptAt, h: records }), 'utf8').toString('base64url');
  let encoded = encode(history);
  // Long reasons could push a payload near the limit over the server's max_payload: the oldest
  // records go first, then the reasons are shortened.
  while (encoded.length > attemptsRoomBytes && history.length > 1) {
    history = history.slice(1);
    encoded = encode(history);
  }
  if (encoded.length > attemptsRoomBytes) encoded = encode(history.map((record) => ({ ...record, reason: record.reason.slice(0, 500) })));
  return encoded;
}

/** The headers of a copy. */
export function copyHeaders(copy: MessageCopy): MsgHdrs {
  const result = headers();
  result.set(name.id, copy.id);
  result.set(name.dedupeKey, copy.dedupeKey);
  result.set(name.generation, copy.generation);
  result.set(name.messageId, Buffer.from(copy.messageId, 'utf8').toString('base64url'));
  result.set(name.enqueuedAt, String(copy.enqueuedAt));
  result.set(name.deliveries, String(copy.deliveries));
  if (copy.attempts > 0 || copy.history.length > 0) result.set(name.attempts, encodeAttempts(copy));
  if (copy.notBefore !== undefined) result.set(name.notBefore, String(copy.notBefore));
  if (copy.isCopy) result.set(name.copy, '1');
  return result;
}

const safeCount = (text: string | undefined) => {
  const value = Number(text ?? '0');
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
};

/**
 * Reads a copy from its headers; `undefined` for a message this queue did not publish (no or
 * malformed headers), which the caller drops.
 */
export function readCopy(messageHeaders: MsgHdrs | undefined): MessageCopy | undefined {
  if (messageHeaders === undefined) return undefined;
  const get = (key: string) => {
    const value = messageHeaders.get(key);
    return value === '' ? undefined : value;
  };
  const id = get(name.id);
  const project = id === undefined ? undefined : projectOfKey(id);
  const generation = get(name.generation);
  const enqueuedAt = Number(get(name.enqueuedAt));
  const deliveries = safeCount(get(name.deliveries));
  if (project === undefined || generation === undefined || !Number.isFinite(enqueuedAt) || deliveries === undefined) return undefined;
  let attempts = 0;
  let firstAttemptAt: number | undefined;
  let history: AttemptRecord[] = [];
  const encoded = get(name.attempts);
  if (encoded !== undefined) {
    try {
      const parsed = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as { a?: unknown; f?: unknown; h?: unknown };
      if (typeof parsed.a === 'number' && Number.isSafeInteger(parsed.a)) attempts = parsed.a;
      if (typeof parsed.f === 'number') firstAttemptAt = parsed.f;
      if (Array.isArray(parsed.h)) history = parsed.h as AttemptRecord[];
    } catch {
      return undefined;
    }
  }
  const notBefore = get(name.notBefore);
  return {
    id: id!,
    dedupeKey: get(name.dedupeKey) ?? keyOfId(id!),
    version: versionOfId(id!),
    project,
    messageId: Buffer.from(get(name.messageId) ?? '', 'base64url').toString('utf8'),
    enqueuedAt,
    generation,
    deliveries,
    attempts,
    ...(firstAttemptAt === undefined ? {} : { firstAttemptAt }),
    history,
    ...(notBefore === undefined || !Number.isFinite(Number(notBefore)) ? {} : { notBefore: Number(notBefore) }),
    isCopy: get(name.copy) !== undefined,
  };
}

/** The enqueue time a stored copy carries, for the oldest-pending age. */
export function enqueuedAtOf(messageHeaders: MsgHdrs | undefined): number | undefined {
  const value = Number(messageHeaders?.get(name.enqueuedAt) ?? NaN);
  return Number.isFinite(value) ? value : undefined;
}
