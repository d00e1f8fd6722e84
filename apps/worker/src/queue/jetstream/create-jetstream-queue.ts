import { randomBytes, randomUUID } from 'node:crypto';
import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, StoredMsg, StreamConfig } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, createInbox, Empty, headers, nanos, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { ValidationIssue } from '@sentcopy/core';
import {
  deadLetterKinds,
  type AttemptRecord,
  type ClaimedMessage,
  type ClaimOptions,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterOptions,
  type DeadLetterPage,
  type EnqueueResult,
  type LeaseRef,
  type ListDeadLettersOptions,
  type MessageQueue,
  type QueueMessageInput,
  type QueueStats,
  type ReplayResult,
  type RescheduleOptions,
} from '../message-queue.js';
import { checkAttempt, checkDuration, checkIssues, historyLimit, invalidInput, isTime, maxReasonLength, prepareInput } from '../queue-checks.js';
import { QueueError } from '../queue-error.js';
import type { JetStreamQueueOptions } from './jetstream-queue-options.js';
import { jetStreamNames, messageKey, projectOfKey, projectToken } from './jetstream-names.js';

/** The JetStream queue: a {@link MessageQueue} many worker processes share through one NATS stream. */
export interface JetStreamQueue extends MessageQueue {
  readonly implementation: 'jetstream';
}

/** Per-message state kept in the state bucket while a message is queued. */
interface MessageState {
  /** project */
  p: string;
  /** message id */
  m: string;
  /** enqueued at */
  e: number;
  /** generation: a new one for each life of the message (enqueue, replay); copies of another are dropped */
  g: string;
  /**
   * 1 until the copy of this generation is known to be in the stream: a worker that dies between
   * writing this entry and publishing leaves it set, and whoever meets the entry publishes again
   * (under the same Nats-Msg-Id, so the stream keeps one copy).
   */
  u?: 1;
  /** not before (epoch ms), when it has to wait */
  n?: number;
  /** stream sequence of the copy held back by a delayed nak, so `hurry()` can republish it */
  s?: number;
  attempts: number;
  history: AttemptRecord[];
  first?: number;
  /** deliveries counted up to the server's delivery count `c` */
  d: number;
  c: number;
}

/** A dead letter as stored: the record, then the payload, in one message. */
interface StoredDeadLetter extends Omit<DeadLetter, 'payloadBytes'> {
  readonly generation: string;
}

interface Lease {
  readonly leaseId: string;
  readonly reply: string;
  readonly seq: number;
  readonly delivered: number;
  readonly deliveries: number;
  readonly state: MessageState;
  readonly payload: Uint8Array;
  expiresAt: number;
  timer: NodeJS.Timeout;
}

const header = {
  id: 'Sc-Id',
  /** Set on a copy published again (`hurry`): its first delivery reads the state. */
  copy: 'Sc-Copy',
  generation: 'Sc-Generation',
  messageId: 'Sc-Message-Id',
  enqueuedAt: 'Sc-Enqueued-At',
  notBefore: 'Sc-Not-Before',
  recordBytes: 'Sc-Record-Bytes',
} as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const headerRoomBytes = 8 * 1024;
const storeError = (error: unknown) =>
  QueueError.isInstance(error) ? error : new QueueError('storage', `The NATS server failed the request: ${error instanceof Error ? error.message : String(error)}`, { cause: error });

/** A new copy's generation; only a first publish's starts with `0` (see `examine`). */
function newGeneration(): string {
  return `r${randomBytes(6).toString('base64url')}`;
}

/** Delivery count and stream sequence from a JetStream ack subject (both the v1 and the v2 form). */
function deliveryInfo(reply: string): { delivered: number; seq: number } {
  const tokens = reply.split('.');
  const base = tokens.length === 9 ? 4 : 6;
  return { delivered: Number(tokens[base]), seq: Number(tokens[base + 1]) };
}

/** A state entry, or `undefined` for one that is not (written by something else, or damaged). */
function parseState(value: Uint8Array): MessageState | undefined {
  try {
    const parsed = JSON.parse(decoder.decode(value)) as MessageState;
    return typeof parsed === 'object' && parsed !== null && typeof parsed.g === 'string' && Array.isArray(parsed.history) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function filterMatches(record: StoredDeadLetter, filter: DeadLetterFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (filter.ids !== undefined && !filter.ids.includes(record.id)) return false;
  if (filter.project !== undefined && record.project !== filter.project) return false;
  if (filter.kind !== undefined && record.kind !== filter.kind) return false;
  if (filter.deadFrom !== undefined && record.deadAt < filter.deadFrom) return false;
  if (filter.deadBefore !== undefined && record.deadAt >= filter.deadBefore) return false;
  return true;
}

function checkFilter(filter: DeadLetterFilter | undefined): DeadLetterFilter | undefined {
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

function encodeCursor(seq: number): string {
  return Buffer.from(JSON.stringify(['js', seq]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed[0] === 'js' && Number.isSafeInteger(parsed[1]) && (parsed[1] as number) > 0) return parsed[1] as number;
  } catch {
    // falls through to the error below
  }
  throw invalidInput('The cursor is not one this queue returned.');
}

async function ensureStream(manager: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    const info = await manager.streams.info(config.name);
    const current = info.config;
    if (current.max_age !== config.max_age || current.duplicate_window !== (config.duplicate_window ?? current.duplicate_window)) {
      await manager.streams.update(config.name, { ...current, max_age: config.max_age ?? current.max_age, duplicate_window: config.duplicate_window ?? current.duplicate_window });
    }
  } catch (error) {
    if ((error as { code?: unknown }).code !== 404 && !/stream not found/i.test(String((error as Error).message))) throw error;
    await manager.streams.add(config);
  }
}

/**
 * Opens (creating on first use) a queue on a NATS JetStream server that any number of worker
 * processes share: intake publishes into a work-queue stream with `Nats-Msg-Id` de-duplication; all
 * workers pull from one durable consumer; a worker's claims come back to the others after `ackWaitMs`
 * if it dies; retries wait on the server through delayed negative acknowledgements; dead letters go
 * to their own stream. Attempt history and schedules live in a key-value bucket, so any worker can
 * pick up where another left off.
 */
export async function createJetStreamQueue(options: JetStreamQueueOptions): Promise<JetStreamQueue> {
  const names = jetStreamNames(options.name ?? 'sentcopy');
  const ackWaitMs = checkDuration('ackWaitMs', options.ackWaitMs ?? 30_000, false);
  const defaultLeaseMs = checkDuration('defaultLeaseMs', options.defaultLeaseMs ?? 60_000, false);
  const dedupeWindowMs = checkDuration('dedupeWindowMs', options.dedupeWindowMs ?? 3_600_000, true);
  const retentionMs = checkDuration('retentionMs', options.retentionMs ?? 0, true);
  const deadLetterRetentionMs = checkDuration('deadLetterRetentionMs', options.deadLetterRetentionMs ?? 0, true);
  const maxInFlight = options.maxInFlight ?? 20_000;
  if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) throw invalidInput('maxInFlight must be a whole number above 0.');
  if (options.connection === undefined && (options.servers === undefined || options.servers.length === 0)) throw invalidInput('servers (a NATS URL) or connection is required.');

  let connection: NatsConnection;
  try {
    connection = options.connection ?? (await connect({ servers: options.servers as string | string[], name: 'sentcopy-worker', maxReconnectAttempts: -1, noAsyncTraces: true }));
  } catch (error) {
    // The message of a connection error can carry the URL, and with it a password.
    throw new QueueError('storage', `Cannot connect to the NATS server (${(error as { code?: string }).code ?? (error as Error).name}).`, { cause: error });
  }
  const ownsConnection = options.connection === undefined;
  let manager: JetStreamManager;
  try {
    manager = await jetstreamManager(connection);
  } catch (error) {
    if (ownsConnection) await connection.close().catch(() => undefined);
    throw /jetstream.*not enabled|no responders/i.test(String((error as Error).message))
      ? new QueueError('storage', 'The NATS server does not run JetStream: start it with `nats-server -js` (and a store folder, `-sd DIR`).', { cause: error })
      : storeError(error);
  }
  const client: JetStreamClient = jetstream(connection);
  const serverMaxPayload = connection.info?.max_payload ?? 1024 * 1024;
  const maxPayloadBytes = Math.min(options.maxPayloadBytes ?? 64 * 1024 * 1024, serverMaxPayload - headerRoomBytes);

  let state: KV;
  let archived: KV | undefined;
  try {
    await ensureStream(manager, {
      name: names.queueStream,
      subjects: [names.queueSubject()],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(retentionMs),
      duplicate_window: nanos(retentionMs === 0 ? 120_000 : Math.min(120_000, retentionMs)),
      allow_direct: true,
    });
    await ensureStream(manager, {
      name: names.deadStream,
      subjects: [names.deadSubject()],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(deadLetterRetentionMs),
      duplicate_window: nanos(120_000),
      allow_direct: true,
    });
    const consumerConfig = {
      durable_name: names.consumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(ackWaitMs),
      deliver_policy: DeliverPolicy.All,
      max_deliver: -1,
      max_ack_pending: maxInFlight,
      max_waiting: 512,
    };
    const existing = await manager.consumers.info(names.queueStream, names.consumer).catch(() => undefined);
    if (existing === undefined) await manager.consumers.add(names.queueStream, consumerConfig);
    else if (existing.config.ack_wait !== consumerConfig.ack_wait || existing.config.max_ack_pending !== maxInFlight) {
      await manager.consumers.update(names.queueStream, names.consumer, { ack_wait: consumerConfig.ack_wait, max_ack_pending: maxInFlight });
    }
    const buckets = new Kvm(client);
    state = await buckets.create(names.stateBucket, { history: 1, ttl: retentionMs, storage: StorageType.File });
    archived = dedupeWindowMs === 0 ? undefined : await buckets.create(names.archivedBucket, { history: 1, ttl: dedupeWindowMs, storage: StorageType.File });
  } catch (error) {
    if (ownsConnection) await connection.close().catch(() => undefined);
    throw storeError(error);
  }

  const nextSubject = `$JS.API.CONSUMER.MSG.NEXT.${names.queueStream}.${names.consumer}`;
  const inboxPrefix = createInbox();
  const buffer: Msg[] = [];
  const pulls = new Map<string, { done: boolean }>();
  const leases = new Map<string, Lease>();
  const wakers = new Set<() => void>();
  let pullCounter = 0;
  let closed = false;
  const wake = () => {
    for (const waker of [...wakers]) waker();
  };

  const inbox: Subscription = connection.subscribe(`${inboxPrefix}.*`, {
    callback: (error, message) => {
      if (error !== null) return;
      const pullId = message.subject.slice(inboxPrefix.length + 1);
      if (message.reply === undefined || message.reply === '' || message.reply.startsWith('$JS.ACK.') === false) {
        // A status (404 no messages, 408 expired, 409 …) ends that pull request.
        const pull = pulls.get(pullId);
        if (pull !== undefined && (message.headers?.code ?? 0) >= 400) pull.done = true;
      } else if (closed) {
        connection.publish(message.reply, '-NAK');
      } else {
        buffer.push(message);
      }
      wake();
    },
  });

  // Live workers keep their claims (and deliveries not handed out yet) from the server's ack wait.
  const heartbeat = setInterval(() => {
    for (const lease of leases.values()) connection.publish(lease.reply, '+WPI');
    for (const message of buffer) connection.publish(message.reply!, '+WPI');
  }, Math.max(50, Math.floor(ackWaitMs / 3)));
  heartbeat.unref();

  const deleteMarker = headers();
  deleteMarker.set('KV-Operation', 'DEL');
  const bookkeeping = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    bookkeeping.add(settled);
    void settled.then(() => bookkeeping.delete(settled));
  };
  const assertOpen = () => {
    if (closed) throw new QueueError('closed', 'The queue is closed.');
  };
  const nak = (reply: string, delayMs = 0) => connection.publish(reply, delayMs > 0 ? `-NAK ${JSON.stringify({ delay: nanos(Math.ceil(delayMs)) })}` : '-NAK');
  // Acks and naks are idempotent, so one lost while the connection is being re-established (the
  // reply never comes) is simply sent again.
  const confirmed = async (reply: string, body: string) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await connection.request(reply, body, { timeout: 3_000 });
        return;
      } catch (error) {
        if (attempt === 3 || (error as Error).name !== 'TimeoutError') throw error;
      }
    }
  };
  const ackSurely = (reply: string) => confirmed(reply, '+ACK');
  // Waits for the server to take the nak, so a claim right after a release finds the message.
  const nakSurely = (reply: string, delayMs: number) => confirmed(reply, delayMs > 0 ? `-NAK ${JSON.stringify({ delay: nanos(Math.ceil(delayMs)) })}` : '-NAK');
  const getState = async (key: string): Promise<{ value: MessageState; revision: number } | undefined> => {
    const entry = await state.get(key);
    const value = entry === null || entry.operation !== 'PUT' ? undefined : parseState(entry.value);
    return value === undefined ? undefined : { value, revision: entry!.revision };
  };
  const putState = async (key: string, value: MessageState) => {
    await state.put(key, JSON.stringify(value));
  };

  /** Starts a pull request for up to `batch` messages, answered at once (`waitMs` 0) or within `waitMs`. */
  const pull = (batch: number, waitMs: number) => {
    const id = String(++pullCounter);
    const record = { done: false };
    pulls.set(id, record);
    const request = waitMs > 0 ? { batch, expires: nanos(waitMs) } : { batch, no_wait: true };
    connection.publish(nextSubject, JSON.stringify(request), { reply: `${inboxPrefix}.${id}` });
    const finished = () => record.done;
    const forget = () => pulls.delete(id);
    return { finished, forget };
  };

  /** Waits until something arrives, `until` says stop, the deadline passes, or the signal fires. */
  const waitForDelivery = (deadline: number, until: () => boolean, signal: AbortSignal | undefined) =>
    new Promise<void>((resolve) => {
      if (until() || Date.now() >= deadline || signal?.aborted === true || closed) return resolve();
      const finish = () => {
        clearTimeout(timer);
        wakers.delete(finish);
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
      wakers.add(finish);
      signal?.addEventListener('abort', finish);
    });

  /** Decides what a delivery is: a message to hand out, or one to hold back (not ready) or drop (stale copy). */
  const examine = async (message: Msg, leaseMs: number): Promise<ClaimedMessage | undefined> => {
    const reply = message.reply!;
    const { delivered, seq } = deliveryInfo(reply);
    const headerOf = (name: string) => message.headers?.get(name) ?? '';
    const key = headerOf(header.id);
    const generation = headerOf(header.generation);
    const project = projectOfKey(key);
    if (project === undefined) {
      // Not something this queue published; keeping it would block nothing but cost a redelivery forever.
      connection.publish(reply, '+TERM');
      return undefined;
    }
    const now = Date.now();
    const headerNotBefore = Number(headerOf(header.notBefore) || 0);
    let current: MessageState = {
      p: project,
      m: Buffer.from(headerOf(header.messageId), 'base64url').toString('utf8'),
      e: Number(headerOf(header.enqueuedAt)),
      g: generation,
      attempts: 0,
      history: [],
      d: 0,
      c: 0,
    };
    const fresh = delivered === 1 && headerNotBefore <= now && generation.startsWith('0') && headerOf(header.copy) === '';
    if (!fresh) {
      // Reads the entry and writes the decision with a compare-and-set; when someone else wrote
      // the entry meanwhile (hurry(), another copy's delivery), decides again on what is there now.
      for (let attempt = 0; ; attempt++) {
        const found = await getState(key);
        if (found !== undefined && found.value.g !== generation) {
          // A copy from another life of this message (before a dead letter was replayed): obsolete.
          connection.publish(reply, '+ACK');
          return undefined;
        }
        if (found === undefined && attempt > 0) {
          // The entry went while we looked: another copy was archived or dead-lettered.
          connection.publish(reply, '+ACK');
          return undefined;
        }
        const base = found?.value ?? current;
        // A copy published by hurry() is due now, whatever the entry still says.
        const notBefore = headerOf(header.copy) !== '' ? 0 : found === undefined ? headerNotBefore : (base.n ?? 0);
        let next: MessageState | undefined;
        if (notBefore > now) {
          // Deliveries between the last count and this one were handed out (and lost with a crash).
          next = { ...base, s: seq, d: base.d + Math.max(0, delivered - 1 - base.c), c: delivered };
        } else if (found !== undefined && (base.s !== undefined || base.n !== undefined || base.u !== undefined)) {
          next = { ...base, d: base.d + (delivered - base.c), c: delivered };
          delete next.s;
          delete next.n;
        }
        if (next !== undefined) delete next.u;
        const written =
          next === undefined ||
          (found === undefined
            ? await putState(key, next).then(() => true)
            : await state.update(key, JSON.stringify(next), found.revision).then(
                () => true,
                () => false,
              ));
        if (!written) {
          if (attempt < 5) continue;
          throw new QueueError('storage', 'The state of a message kept changing while it was delivered.');
        }
        if (notBefore > now) {
          nak(reply, notBefore - now);
          return undefined;
        }
        current = next ?? base;
        break;
      }
    }
    const deliveries = current.d + (delivered - current.c);
    const leaseId = randomUUID();
    const previous = leases.get(key);
    if (previous !== undefined) clearTimeout(previous.timer);
    const expiresAt = Date.now() + leaseMs;
    const lease: Lease = { leaseId, reply, seq, delivered, deliveries, state: current, payload: message.data, expiresAt, timer: setTimeout(() => expire(key, leaseId), leaseMs) };
    lease.timer.unref();
    leases.set(key, lease);
    return {
      id: key,
      leaseId,
      project: current.p,
      messageId: current.m,
      payload: message.data,
      enqueuedAt: current.e,
      deliveries,
      attempts: current.attempts,
      ...(current.first === undefined ? {} : { firstAttemptAt: current.first }),
      history: current.history,
      leaseExpiresAt: expiresAt,
    };
  };

  const expire = (key: string, leaseId: string) => {
    const lease = leases.get(key);
    if (lease === undefined || lease.leaseId !== leaseId) return;
    if (lease.expiresAt > Date.now()) {
      lease.timer = setTimeout(() => expire(key, leaseId), lease.expiresAt - Date.now());
      lease.timer.unref();
      return;
    }
    leases.delete(key);
    nak(lease.reply);
  };

  const takeLease = (ref: LeaseRef): { key: string; lease: Lease } | undefined => {
    assertOpen();
    if (typeof ref !== 'object' || ref === null || typeof ref.id !== 'string' || typeof ref.leaseId !== 'string' || ref.leaseId === '') {
      throw invalidInput('A lease (a claimed message) is required.');
    }
    const lease = leases.get(ref.id);
    if (lease === undefined || lease.leaseId !== ref.leaseId || lease.expiresAt < Date.now()) return undefined;
    clearTimeout(lease.timer);
    leases.delete(ref.id);
    return { key: ref.id, lease };
  };

  const waitingState = (lease: Lease, notBefore: number, changes: Partial<MessageState> = {}): MessageState => {
    const next: MessageState = { ...lease.state, ...changes, d: lease.deliveries, c: lease.delivered };
    delete next.u;
    if (notBefore > Date.now()) {
      next.n = notBefore;
      next.s = lease.seq;
    } else {
      delete next.n;
      delete next.s;
    }
    return next;
  };

  const readDeadLetter = (stored: StoredMsg): { record: StoredDeadLetter; payload: Uint8Array } | undefined => {
    const recordBytes = Number(stored.header?.get(header.recordBytes) ?? NaN);
    if (!Number.isSafeInteger(recordBytes) || recordBytes > stored.data.byteLength) return undefined;
    try {
      const record = JSON.parse(decoder.decode(stored.data.subarray(0, recordBytes))) as StoredDeadLetter;
      return { record, payload: stored.data.subarray(recordBytes) };
    } catch {
      return undefined;
    }
  };

  /** Walks dead letters from `fromSeq` in stream order; `visit` returns false to stop. */
  const scanDeadLetters = async (
    filter: DeadLetterFilter | undefined,
    fromSeq: number,
    visit: (record: StoredDeadLetter, seq: number, payload: Uint8Array) => boolean | Promise<boolean>,
  ) => {
    const subject = names.deadSubject(filter?.project);
    let seq = fromSeq;
    for (;;) {
      const stored = await manager.direct.getMessage(names.deadStream, { seq, next_by_subj: subject });
      if (stored === null) return;
      seq = stored.seq + 1;
      const read = readDeadLetter(stored);
      if (read === undefined || !filterMatches(read.record, filter)) continue;
      if (!(await visit(read.record, stored.seq, read.payload))) return;
    }
  };

  const publishCopy = async (key: string, project: string, messageId: string, enqueuedAt: number, generation: string, payload: Uint8Array, notBefore?: number, copyOf?: number) => {
    const messageHeaders: MsgHdrs = headers();
    if (copyOf !== undefined) messageHeaders.set(header.copy, String(copyOf));
    messageHeaders.set(header.id, key);
    messageHeaders.set(header.generation, generation);
    messageHeaders.set(header.messageId, Buffer.from(messageId, 'utf8').toString('base64url'));
    messageHeaders.set(header.enqueuedAt, String(enqueuedAt));
    if (notBefore !== undefined) messageHeaders.set(header.notBefore, String(notBefore));
    // A publish whose acknowledgement was lost (a reconnect) is sent again under the same
    // Nats-Msg-Id, which the stream stores once within its duplicate window.
    for (let attempt = 1; ; attempt++) {
      try {
        return await client.publish(names.queueSubject(project), payload, { msgID: `${key}.${generation}${copyOf === undefined ? '' : `.${copyOf}`}`, headers: messageHeaders, timeout: 4_000 });
      } catch (error) {
        if (attempt === 2 || (error as Error).name !== 'TimeoutError') throw error;
      }
    }
  };

  // Clears the `u` mark once the copy is stored, without waiting: only if nobody wrote the entry
  // since (a worker that did has seen the copy delivered, and cleared the mark itself).
  const confirmPublished = (key: string, value: MessageState, revision: number) => {
    const confirmed = { ...value };
    delete confirmed.u;
    const expect = headers();
    expect.set('Nats-Expected-Last-Subject-Sequence', String(revision));
    connection.publish(`$KV.${names.stateBucket}.${key}`, JSON.stringify(confirmed), { headers: expect });
  };
  /** Publishes the copy of an entry that may never have been published (its writer died first). */
  const publishUnconfirmed = async (key: string, found: { value: MessageState; revision: number }, payload: Uint8Array) => {
    const { value } = found;
    await publishCopy(key, value.p, value.m, value.e, value.g, payload, value.n);
    confirmPublished(key, value, found.revision);
  };

  const queue: JetStreamQueue = {
    implementation: 'jetstream',
    maxPayloadBytes,

    async enqueue(messages: readonly QueueMessageInput[]): Promise<EnqueueResult[]> {
      assertOpen();
      if (!Array.isArray(messages)) throw invalidInput('messages must be an array.');
      const prepared = messages.map((input, index) => prepareInput(input, index, maxPayloadBytes));
      const firstIndex = new Map<string, number>();
      const keys = prepared.map((input, index) => {
        const key = messageKey(input.project, input.messageId);
        if (!firstIndex.has(key)) firstIndex.set(key, index);
        return key;
      });
      try {
        const outcomes = await Promise.all(
          prepared.map(async (input, index): Promise<EnqueueResult> => {
            const key = keys[index]!;
            if (firstIndex.get(key) !== index) return { status: 'duplicate', id: key };
            const wasArchived = archived === undefined ? Promise.resolve(false) : archived.get(key).then((entry) => entry?.operation === 'PUT');
            const enqueuedAt = Date.now();
            // Generations starting with 0 mark a first publish, whose first delivery needs no state lookup.
            const generation = `0${randomBytes(6).toString('base64url')}`;
            const initial: MessageState = { p: input.project, m: input.messageId, e: enqueuedAt, g: generation, u: 1, attempts: 0, history: [], d: 0, c: 0 };
            if (input.notBefore !== undefined && input.notBefore > enqueuedAt) initial.n = input.notBefore;
            // Both lookups at once: the archived check rarely hits, and then the new state entry is taken back.
            const [created, archivedAlready] = await Promise.all([state.create(key, JSON.stringify(initial)).then((revision) => revision, (error: unknown) => error as Error), wasArchived]);
            if (typeof created !== 'number') {
              const existing = await state.get(key);
              if (existing?.operation !== 'PUT') throw created;
              const found = await getState(key);
              // Queued by a worker that may have died before publishing: publish it now, so the
              // `duplicate` answer is true.
              if (found?.value.u === 1) await publishUnconfirmed(key, found, input.body);
              return { status: 'duplicate', id: key };
            }
            if (archivedAlready) {
              await state.delete(key);
              return { status: 'duplicate', id: key };
            }
            try {
              await publishCopy(key, input.project, input.messageId, enqueuedAt, generation, input.body, initial.n);
            } catch (error) {
              await state.delete(key).catch(() => undefined);
              throw error;
            }
            confirmPublished(key, initial, created);
            return { status: 'accepted', id: key };
          }),
        );
        if (outcomes.some((outcome) => outcome.status === 'accepted')) wake();
        return outcomes;
      } catch (error) {
        throw storeError(error);
      }
    },

    async claim(claimOptions: ClaimOptions): Promise<ClaimedMessage[]> {
      assertOpen();
      const limit = claimOptions?.limit;
      if (!Number.isSafeInteger(limit) || limit < 1) throw invalidInput('limit must be a whole number of at least 1.');
      const leaseMs = checkDuration('leaseMs', claimOptions.leaseMs ?? defaultLeaseMs, false);
      const waitMs = checkDuration('waitMs', claimOptions.waitMs ?? 0, true);
      const signal = claimOptions.signal;
      const aborted = () => signal?.aborted === true;
      const deadline = Date.now() + waitMs;
      const claimed: ClaimedMessage[] = [];
      const drainBuffer = async () => {
        while (buffer.length > 0 && claimed.length < limit && !closed) {
          const batch = buffer.splice(0, limit - claimed.length);
          const results = await Promise.all(batch.map((message) => examine(message, leaseMs)));
          for (const result of results) if (result !== undefined) claimed.push(result);
        }
      };
      try {
        let waited = false;
        for (;;) {
          await drainBuffer();
          if (claimed.length >= limit || closed) break;
          const immediate = pull(limit - claimed.length, 0);
          await waitForDelivery(Date.now() + 5_000, () => immediate.finished() || buffer.length >= limit - claimed.length, undefined);
          // A no-wait pull ends with a status, or by being filled.
          immediate.forget();
          const before = claimed.length;
          const arrived = buffer.length;
          await drainBuffer();
          if (claimed.length >= limit || closed) break;
          if (arrived > 0 && claimed.length === before) continue;
          if (claimed.length > 0 || waited || Date.now() >= deadline || aborted()) break;
          waited = true;
          const waiting = pull(limit - claimed.length, Math.max(1, deadline - Date.now()));
          await waitForDelivery(deadline, () => waiting.finished() || buffer.length > 0, signal);
          waiting.forget();
          await drainBuffer();
          if (claimed.length > 0 || Date.now() >= deadline || aborted() || closed) break;
          waited = false;
        }
      } catch (error) {
        for (const message of claimed) {
          const lease = leases.get(message.id);
          if (lease?.leaseId === message.leaseId) {
            clearTimeout(lease.timer);
            leases.delete(message.id);
            nak(lease.reply);
          }
        }
        throw storeError(error);
      }
      if (closed) return [];
      return claimed;
    },

    async ack(ref: LeaseRef): Promise<boolean> {
      const taken = takeLease(ref);
      if (taken === undefined) return false;
      try {
        await ackSurely(taken.lease.reply);
      } catch (error) {
        throw storeError(error);
      }
      // Bookkeeping after the ack is published without waiting for the streams to confirm: if it is
      // lost, a leftover state entry only makes a resubmission count as a duplicate (it was
      // archived), and a missing archived mark only lets a resubmission be written again,
      // identically, under the same key.
      // The state entry goes only once the archived mark is stored, so a resubmission finds one of them.
      const forgetState = () => connection.publish(`$KV.${names.stateBucket}.${taken.key}`, Empty, { headers: deleteMarker });
      if (archived === undefined) forgetState();
      else track(archived.put(taken.key, Empty).then(forgetState));
      return true;
    },

    async release(ref: LeaseRef, releaseOptions?: { readonly notBefore?: number }): Promise<boolean> {
      const notBefore = releaseOptions?.notBefore ?? Date.now();
      if (!isTime(notBefore)) throw invalidInput('notBefore must be a time in epoch milliseconds.');
      const taken = takeLease(ref);
      if (taken === undefined) return false;
      try {
        if (notBefore > Date.now()) await putState(taken.key, waitingState(taken.lease, notBefore));
      } catch (error) {
        leases.set(taken.key, taken.lease);
        throw storeError(error);
      }
      await nakSurely(taken.lease.reply, notBefore - Date.now()).catch((error: unknown) => {
        throw storeError(error);
      });
      return true;
    },

    async extendLease(ref: LeaseRef, leaseMs: number): Promise<boolean> {
      checkDuration('leaseMs', leaseMs, false);
      assertOpen();
      const lease = leases.get(ref?.id);
      if (lease === undefined || lease.leaseId !== ref.leaseId || lease.expiresAt < Date.now()) return false;
      lease.expiresAt = Date.now() + leaseMs;
      connection.publish(lease.reply, '+WPI');
      return true;
    },

    async reschedule(ref: LeaseRef, rescheduleOptions: RescheduleOptions): Promise<boolean> {
      const attempt = checkAttempt(rescheduleOptions?.attempt);
      const notBefore = rescheduleOptions.notBefore;
      if (!isTime(notBefore)) throw invalidInput('notBefore must be a time in epoch milliseconds.');
      const taken = takeLease(ref);
      if (taken === undefined) return false;
      const { lease } = taken;
      const next = waitingState(lease, notBefore, {
        attempts: lease.state.attempts + 1,
        history: [...lease.state.history, attempt].slice(-historyLimit),
        first: lease.state.first ?? attempt.at,
      });
      try {
        await putState(taken.key, next);
      } catch (error) {
        leases.set(taken.key, lease);
        throw storeError(error);
      }
      await nakSurely(lease.reply, notBefore - Date.now()).catch((error: unknown) => {
        throw storeError(error);
      });
      return true;
    },

    async deadLetter(ref: LeaseRef, deadOptions: DeadLetterOptions): Promise<boolean> {
      if (!deadLetterKinds.includes(deadOptions?.kind)) throw invalidInput(`kind must be one of ${deadLetterKinds.join(', ')}.`);
      if (typeof deadOptions.reason !== 'string') throw invalidInput('reason must be a string.');
      const attempt = deadOptions.attempt === undefined ? undefined : checkAttempt(deadOptions.attempt);
      const issues: ValidationIssue[] = checkIssues(deadOptions.issues);
      const taken = takeLease(ref);
      if (taken === undefined) return false;
      const { lease } = taken;
      const history = attempt === undefined ? lease.state.history : [...lease.state.history, attempt].slice(-historyLimit);
      const attempts = lease.state.attempts + (attempt === undefined ? 0 : 1);
      const first = lease.state.first ?? attempt?.at;
      const last = attempt?.at ?? lease.state.history.at(-1)?.at;
      const record: StoredDeadLetter = {
        id: taken.key,
        project: lease.state.p,
        messageId: lease.state.m,
        kind: deadOptions.kind,
        reason: deadOptions.reason.slice(0, maxReasonLength),
        issues,
        attempts,
        deliveries: lease.deliveries,
        ...(first === undefined ? {} : { firstAttemptAt: first }),
        ...(last === undefined ? {} : { lastAttemptAt: last }),
        enqueuedAt: lease.state.e,
        deadAt: Date.now(),
        history,
        generation: lease.state.g,
      };
      const recordBytes = encoder.encode(JSON.stringify(record));
      const body = new Uint8Array(recordBytes.byteLength + lease.payload.byteLength);
      body.set(recordBytes, 0);
      body.set(lease.payload, recordBytes.byteLength);
      const deadHeaders = headers();
      deadHeaders.set(header.recordBytes, String(recordBytes.byteLength));
      try {
        await client.publish(names.deadSubject(record.project), body, { msgID: `${taken.key}.${lease.state.g}.${lease.delivered}`, headers: deadHeaders });
        await ackSurely(lease.reply);
      } catch (error) {
        throw storeError(error);
      }
      track(state.delete(taken.key));
      return true;
    },

    async listDeadLetters(listOptions: ListDeadLettersOptions = {}): Promise<DeadLetterPage> {
      assertOpen();
      const filter = checkFilter(listOptions.filter);
      const limit = listOptions.limit ?? 100;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw invalidInput('limit must be a whole number from 1 to 1000.');
      const fromSeq = listOptions.cursor === undefined ? 1 : decodeCursor(listOptions.cursor);
      const items: DeadLetter[] = [];
      let cursor: string | undefined;
      try {
        await scanDeadLetters(filter, fromSeq, (record, seq, payload) => {
          if (items.length === limit) {
            cursor = encodeCursor(seq);
            return false;
          }
          const { generation: _generation, ...visible } = record;
          items.push({ ...visible, payloadBytes: payload.byteLength });
          return true;
        });
      } catch (error) {
        throw storeError(error);
      }
      return cursor === undefined ? { items } : { items, cursor };
    },

    async countDeadLetters(filter?: DeadLetterFilter): Promise<number> {
      assertOpen();
      const checked = checkFilter(filter);
      try {
        if (checked === undefined || Object.keys(checked).every((field) => field === 'project' || checked[field as keyof DeadLetterFilter] === undefined)) {
          const subject = names.deadSubject(checked?.project);
          const info = await manager.streams.info(names.deadStream, { subjects_filter: subject });
          return checked?.project === undefined ? info.state.messages : Number(info.state.subjects?.[subject] ?? 0);
        }
        let count = 0;
        await scanDeadLetters(checked, 1, () => {
          count++;
          return true;
        });
        return count;
      } catch (error) {
        throw storeError(error);
      }
    },

    async replayDeadLetters(filter: DeadLetterFilter): Promise<ReplayResult> {
      assertOpen();
      const checked = checkFilter(filter ?? {});
      let replayed = 0;
      let alreadyQueued = 0;
      try {
        await scanDeadLetters(checked, 1, async (record, seq, payload) => {
          const generation = newGeneration();
          const enqueuedAt = Date.now();
          const fresh: MessageState = { p: record.project, m: record.messageId, e: enqueuedAt, g: generation, u: 1, attempts: 0, history: [], d: 0, c: 0 };
          const created = await state.create(record.id, JSON.stringify(fresh)).then(
            (revision) => revision,
            () => undefined,
          );
          const queuedAgain = created === undefined;
          if (created === undefined) {
            const found = await getState(record.id);
            if (found === undefined) throw new QueueError('storage', 'The state of a replayed dead letter could not be written.');
            if (found.value.u === 1) await publishUnconfirmed(record.id, found, payload);
          } else {
            await publishCopy(record.id, record.project, record.messageId, enqueuedAt, generation, payload);
            confirmPublished(record.id, fresh, created);
          }
          await manager.streams.deleteMessage(names.deadStream, seq, false);
          if (queuedAgain) alreadyQueued++;
          else replayed++;
          return true;
        });
      } catch (error) {
        throw storeError(error);
      }
      if (replayed > 0) wake();
      return { replayed, alreadyQueued };
    },

    async hurry(projects: readonly string[]): Promise<number> {
      assertOpen();
      if (!Array.isArray(projects) || projects.some((project) => typeof project !== 'string' || project === '')) throw invalidInput('projects must be an array of project names.');
      let moved = 0;
      try {
        for (const project of new Set(projects)) {
          const keys: string[] = [];
          for await (const key of await state.keys(`${projectToken(project)}.*`)) keys.push(key);
          for (const key of keys) {
            const found = await getState(key);
            if (found === undefined || found.value.n === undefined) continue;
            const current = found.value;
            if (current.s === undefined) {
              // Never delivered yet: clearing its schedule is enough, the first delivery reads it.
              const next = { ...current };
              delete next.n;
              if (await state.update(key, JSON.stringify(next), found.revision).then(() => true, () => false)) moved++;
              continue;
            }
            const held = await manager.direct.getMessage(names.queueStream, { seq: current.s });
            if (held === null) continue;
            // The copy goes first and keeps the generation: whatever happens next (a crash, a worker
            // claiming the held copy meanwhile), one of the two is delivered; both at worst, which the
            // write-once destination absorbs.
            await publishCopy(key, current.p, current.m, current.e, current.g, held.data, undefined, current.s);
            const next: MessageState = { ...current, c: 0 };
            delete next.n;
            delete next.s;
            delete next.u;
            let revision = found.revision;
            for (let attempt = 0; attempt < 3; attempt++) {
              if (await state.update(key, JSON.stringify(next), revision).then(() => true, () => false)) break;
              // The copy may already have been delivered (which clears the schedule) or archived.
              const now = await getState(key);
              if (now === undefined || now.value.n === undefined) break;
              revision = now.revision;
            }
            await manager.streams.deleteMessage(names.queueStream, current.s, false).catch(() => false);
            moved++;
          }
        }
      } catch (error) {
        throw storeError(error);
      }
      if (moved > 0) wake();
      return moved;
    },

    async stats(): Promise<QueueStats> {
      assertOpen();
      try {
        const [queueInfo, deadInfo] = await Promise.all([manager.streams.info(names.queueStream), manager.streams.info(names.deadStream)]);
        const depth = queueInfo.state.messages;
        let oldestEnqueuedAt: number | undefined;
        if (depth > 0) {
          const first = await manager.direct.getMessage(names.queueStream, { seq: queueInfo.state.first_seq, next_by_subj: names.queueSubject() });
          const enqueued = Number(first?.header?.get(header.enqueuedAt) ?? NaN);
          oldestEnqueuedAt = Number.isFinite(enqueued) ? enqueued : first?.time.getTime();
        }
        return { depth, inFlight: leases.size, deadLetters: deadInfo.state.messages, ...(oldestEnqueuedAt === undefined ? {} : { oldestEnqueuedAt }) };
      } catch (error) {
        throw storeError(error);
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      wake();
      const now = Date.now();
      for (const lease of leases.values()) {
        clearTimeout(lease.timer);
        nak(lease.reply, lease.expiresAt - now);
      }
      leases.clear();
      for (const message of buffer.splice(0)) nak(message.reply!);
      await Promise.all(bookkeeping);
      try {
        await connection.flush();
        inbox.unsubscribe();
        if (ownsConnection) await connection.drain();
      } catch {
        // Closing is best effort: unsettled claims come back after the server's ack wait anyway.
      }
    },
  };
  return queue;
}
