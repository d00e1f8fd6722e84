import type { StoredMsg } from '@nats-io/jetstream';
import { deadLetterKinds, type DeadLetter, type DeadLetterFilter } from '../message-queue.js';
import { invalidInput, isTime } from '../queue-checks.js';
import { QueueError } from '../queue-error.js';
import { projectOfToken } from './jetstream-names.js';
import type { QueueContext } from './queue-context.js';

/**
 * A dead letter as stored: the record, in a message of its own on the record subject. The payload
 * is a separate message on the payload subject, so a payload near the server's `max_payload` can
 * be dead-lettered (record and payload together could exceed it).
 */
export interface StoredDeadLetter extends Omit<DeadLetter, 'payloadBytes'> {
  readonly payloadBytes: number;
  /** Stream sequence of the payload message. */
  readonly payloadSeq: number;
  readonly generation: string;
  readonly dedupeKey: string;
  /** SHA-256 of the payload, lower-case hex; absent on records written before versions. */
  readonly payloadSha256?: string;
}

const decoder = new TextDecoder();

/** A record read back; `unreadable` when the message on the record subject is not one (damaged, or not written by sentcopy). */
export type ReadRecord = { readonly seq: number; readonly record: StoredDeadLetter } | { readonly seq: number; readonly unreadable: true; readonly project: string | undefined; readonly at: number };

export function checkFilter(filter: DeadLetterFilter | undefined): DeadLetterFilter | undefined {
  if (filter === undefined) return undefined;
  if (typeof filter !== 'object' || filter === null) throw invalidInput('The dead-letter filter must be an object.');
  if (filter.ids !== undefined && (!Array.isArray(filter.ids) || filter.ids.some((id) => typeof id !== 'string'))) throw invalidInput('filter.ids must be an array of ids.');
  if (filter.project !== undefined && typeof filter.project !== 'string') throw invalidInput('filter.project must be a string.');
  if (filter.kind !== undefined && !deadLetterKinds.includes(filter.kind)) throw invalidInput(`filter.kind must be one of ${deadLetterKinds.join(', ')}.`);
  for (const field of ['deadFrom', 'deadBefore'] as const) {
    if (filter[field] !== undefined && !isTime(filter[field])) throw invalidInput(`filter.${field} must be a time in epoch milliseconds.`);
  }
  return filter;
}

function matches(record: StoredDeadLetter, filter: DeadLetterFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (filter.ids !== undefined && !filter.ids.includes(record.id)) return false;
  if (filter.project !== undefined && record.project !== filter.project) return false;
  if (filter.kind !== undefined && record.kind !== filter.kind) return false;
  if (filter.deadFrom !== undefined && record.deadAt < filter.deadFrom) return false;
  if (filter.deadBefore !== undefined && record.deadAt >= filter.deadBefore) return false;
  return true;
}

/** A cursor naming the stream sequence a page continues from; `tag` tells the listings' cursors apart. */
/** Whether a filter names an unreadable record by the id it is listed under, and nothing else rules it out. */
function namesUnreadable(read: Extract<ReadRecord, { unreadable: true }>, filter: DeadLetterFilter): boolean {
  return filter.ids !== undefined && filter.ids.includes(unreadableId(read.seq)) && filter.kind === undefined && filter.deadFrom === undefined && filter.deadBefore === undefined;
}

/** The id an unreadable record is listed under. */
function unreadableId(seq: number): string {
  return `unreadable.${seq}`;
}

export function encodeCursor(seq: number, tag = 'js'): string {
  return Buffer.from(JSON.stringify([tag, seq]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, tag = 'js'): number {
  try {
    const parsed: unknown = typeof cursor === 'string' ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
    if (Array.isArray(parsed) && parsed[0] === tag && Number.isSafeInteger(parsed[1]) && (parsed[1] as number) > 0) return parsed[1] as number;
  } catch {
    // falls through to the error below
  }
  throw invalidInput('The cursor is not one this queue returned.');
}

/** The visible form of a record that cannot be read: listed and counted, so the totals agree. */
export function unreadableDeadLetter(read: Extract<ReadRecord, { unreadable: true }>): DeadLetter {
  return {
    id: unreadableId(read.seq),
    project: read.project ?? '',
    messageId: '',
    kind: 'unknown',
    reason: `The dead-letter record at sequence ${read.seq} cannot be read (damaged, or not written by sentcopy); it cannot be replayed.`,
    issues: [],
    attempts: 0,
    deliveries: 0,
    enqueuedAt: read.at,
    deadAt: read.at,
    history: [],
    payloadBytes: 0,
  };
}

/** Writes, reads, counts and removes dead letters in the dead-letter stream. */
export class DeadLetterStore {
  constructor(private readonly context: QueueContext) {}

  /** Stores payload then record; `msgIdBase` makes a retried write store each once. */
  async write(record: Omit<StoredDeadLetter, 'payloadSeq' | 'payloadBytes'>, payload: Uint8Array, msgIdBase: string): Promise<void> {
    const { client, names } = this.context;
    const stored = await client.publish(names.deadPayloadSubject(record.project), payload, { msgID: `${msgIdBase}.p`, timeout: 4_000 });
    const full: StoredDeadLetter = { ...record, payloadSeq: stored.seq, payloadBytes: payload.byteLength };
    await client.publish(names.deadRecordSubject(record.project), JSON.stringify(full), { msgID: `${msgIdBase}.r`, timeout: 4_000 });
  }

  private read(stored: StoredMsg): ReadRecord {
    const project = projectOfToken(stored.subject.split('.').at(-1) ?? '');
    try {
      const record = JSON.parse(decoder.decode(stored.data)) as StoredDeadLetter;
      const valid =
        typeof record === 'object' &&
        record !== null &&
        typeof record.id === 'string' &&
        typeof record.project === 'string' &&
        record.project === project &&
        typeof record.messageId === 'string' &&
        deadLetterKinds.includes(record.kind) &&
        Number.isSafeInteger(record.payloadSeq) &&
        typeof record.generation === 'string' &&
        isTime(record.deadAt);
      if (valid) return { seq: stored.seq, record: { ...record, dedupeKey: typeof record.dedupeKey === 'string' ? record.dedupeKey : record.id } };
    } catch {
      // reported as unreadable below
    }
    return { seq: stored.seq, unreadable: true, project, at: stored.time.getTime() };
  }

  /**
   * Walks the records from `fromSeq` in stream order; `visit` returns false to stop. Unreadable
   * records are visited too: they match filters without kind, ids or times, and ids that name them
   * as they are listed (`unreadable.<seq>`, so that one can be discarded by its id).
   */
  async scan(filter: DeadLetterFilter | undefined, fromSeq: number, visit: (read: ReadRecord) => boolean | Promise<boolean>): Promise<void> {
    const { manager, names } = this.context;
    const subject = names.deadRecordSubject(filter?.project);
    const narrowed = filter !== undefined && (filter.ids !== undefined || filter.kind !== undefined || filter.deadFrom !== undefined || filter.deadBefore !== undefined);
    let seq = fromSeq;
    for (;;) {
      const stored = await manager.direct.getMessage(names.deadStream, { seq, next_by_subj: subject });
      if (stored === null) return;
      seq = stored.seq + 1;
      const read = this.read(stored);
      if ('unreadable' in read ? narrowed && !namesUnreadable(read, filter!) : !matches(read.record, filter)) continue;
      if (!(await visit(read))) return;
    }
  }

  /** The payload of a record, or `undefined` when it is gone. */
  async payload(record: StoredDeadLetter): Promise<Uint8Array | undefined> {
    const stored = await this.context.manager.direct.getMessage(this.context.names.deadStream, { seq: record.payloadSeq });
    return stored === null ? undefined : stored.data;
  }

  /**
   * Removes a record and its payload (`record` omitted: the record alone, for one that cannot be
   * read). `false` when the record was gone already (another worker removed it meanwhile).
   */
  async remove(seq: number, record?: StoredDeadLetter): Promise<boolean> {
    const { manager, names } = this.context;
    const removed = await manager.streams.deleteMessage(names.deadStream, seq, false).catch((error: unknown) => {
      if (!isNoMessage(error)) throw error;
      return false;
    });
    if (record !== undefined) await manager.streams.deleteMessage(names.deadStream, record.payloadSeq, false).catch(() => false);
    return removed;
  }

  /** How many records there are (cheap: the stream's subject counts; unreadable ones included). */
  async total(): Promise<number> {
    const { manager, names } = this.context;
    const info = await manager.streams.info(names.deadStream, { subjects_filter: names.deadRecordSubject() });
    return Object.values(info.state.subjects ?? {}).reduce((sum, count) => sum + Number(count), 0);
  }
}

/** The server's answer for a sequence that holds no message (JSNoMessageFoundErr, 10057). */
function isNoMessage(error: unknown): boolean {
  return (error as { code?: unknown }).code === 10057 || /no message found|not found/i.test(String((error as Error).message));
}

export const missingPayloadError = () => new QueueError('storage', 'The payload of a dead letter is missing from the dead-letter stream.');
