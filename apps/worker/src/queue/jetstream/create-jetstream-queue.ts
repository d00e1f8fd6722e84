import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { ValidationIssue } from '@sentcopy/core';
import {
  deadLetterKinds,
  type ClaimedMessage,
  type ClaimOptions,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterOptions,
  type DeadLetterPage,
  type DiscardedPage,
  type DiscardResult,
  type EnqueueResult,
  type EnqueueStoredOptions,
  type LeaseRef,
  type ListDeadLettersOptions,
  type ListDiscardedOptions,
  type MessageQueue,
  type QueueMessageInput,
  type QueueStats,
  type ReplayResult,
  type RescheduleOptions,
} from '../message-queue.js';
import { checkAttempt, checkDuration, checkIssues, checkMaxBytes, historyLimit, invalidInput, isTime, maxReasonLength, prepareInput } from '../queue-checks.js';
import { QueueError } from '../queue-error.js';
import { ackSurely, Leases, type Lease } from './claims.js';
import { checkFilter, DeadLetterStore, decodeCursor, encodeCursor, missingPayloadError, unreadableDeadLetter, type StoredDeadLetter } from './dead-letters.js';
import { DeliveryBuffer } from './delivery-buffer.js';
import { checkDiscardReason, DiscardedStore } from './discarded-dead-letters.js';
import { HeldScheduler, moveToQueue } from './held-messages.js';
import type { JetStreamQueueOptions } from './jetstream-queue-options.js';
import { jetStreamNames } from './jetstream-names.js';
import { natsConnectOptions } from './nats-connection.js';
import { enqueuedAtOf, headerRoomBytes, type MessageCopy } from './message-copy.js';
import { identify, payloadSha256, type MessageIdentity } from './message-identity.js';
import { repairPhantoms } from './phantom-repair.js';
import { jetStreamError, provision } from './provisioning.js';
import { publishCopy, type QueueContext } from './queue-context.js';
import { QueuedRegistry } from './queued-registry.js';

/** The JetStream queue: a {@link MessageQueue} many worker processes share through one NATS stream. */
export interface JetStreamQueue extends MessageQueue {
  readonly implementation: 'jetstream';
  /**
   * Largest payload `enqueue()` accepts, in bytes: the `maxPayloadBytes` option, capped by the
   * server's `max_payload` less the room the queue's headers take.
   */
  readonly maxPayloadBytes: number;
  /**
   * Removes messages a crash of nats-server left in the streams although they were acknowledged
   * (see `phantom-repair.ts`), publishing again those still queued; resolves with how many it
   * removed. Claiming queues run it on their own every `repairIntervalMs`.
   */
  repair(): Promise<number>;
}

/** Removes `ids` from `map` and returns what they held, skipping ids it does not hold. */
function takeFrom<V>(map: Map<string, V>, ids: readonly string[]): V[] {
  return ids.flatMap((id) => {
    const value = map.get(id);
    if (value === undefined) return [];
    map.delete(id);
    return [value];
  });
}

// A claim that has messages gathers what arrives within this gap, then returns.
const burstGapMs = 20;
const maxBurstGapMs = 200;
// A claim with no wait still gives the server this long to deliver what is ready.
const settleMs = 150;

/** A new life's generation. */
function newGeneration(): string {
  return randomBytes(6).toString('base64url');
}

/**
 * Opens (creating on first use) a queue on a NATS JetStream server that any number of worker
 * processes share. Intake publishes into a work-queue stream with `Nats-Msg-Id` de-duplication and
 * an entry in the queued-ids bucket; workers claim through one durable pull consumer (the library's
 * `fetch()`), and a worker's claims come back to the others after `ackWaitMs` if it dies. A retry
 * is a new copy of the message, carrying its attempt history, in a held stream that a scheduler
 * consumer moves back when due; dead letters (record and payload apart) go to their own stream.
 */
export async function createJetStreamQueue(options: JetStreamQueueOptions): Promise<JetStreamQueue> {
  const names = jetStreamNames(options.name ?? 'sentcopy');
  const ackWaitMs = checkDuration('ackWaitMs', options.ackWaitMs ?? 30_000, false);
  const defaultLeaseMs = checkDuration('defaultLeaseMs', options.defaultLeaseMs ?? 60_000, false);
  const dedupeWindowMs = checkDuration('dedupeWindowMs', options.dedupeWindowMs ?? 3_600_000, true);
  const retentionMs = checkDuration('retentionMs', options.retentionMs ?? 0, true);
  const deadLetterRetentionMs = checkDuration('deadLetterRetentionMs', options.deadLetterRetentionMs ?? 0, true);
  const repairIntervalMs = checkDuration('repairIntervalMs', options.repairIntervalMs ?? 60_000, false);
  const maxInFlight = options.maxInFlight ?? 20_000;
  if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) throw invalidInput('maxInFlight must be a whole number above 0.');
  if (options.connection === undefined && (options.servers === undefined || options.servers.length === 0)) throw invalidInput('servers (a NATS URL) or connection is required.');

  let connection: NatsConnection;
  try {
    connection = options.connection ?? (await connect({ ...natsConnectOptions(options.servers!), name: 'sentcopy-worker', maxReconnectAttempts: -1, noAsyncTraces: true }));
  } catch (error) {
    // The message of a connection error can carry the URL, and with it a password.
    throw new QueueError('storage', `Cannot connect to the NATS server (${(error as { code?: string }).code ?? (error as Error).name}).`, { cause: error });
  }
  const ownsConnection = options.connection === undefined;
  let context: QueueContext;
  try {
    const manager: JetStreamManager = await jetstreamManager(connection);
    const client = jetstream(connection);
    const { queued, archived } = await provision(manager, client, names, { ackWaitMs, retentionMs, deadLetterRetentionMs, dedupeWindowMs, maxInFlight });
    context = { connection, manager, client, names, queued, archived, ackWaitMs };
  } catch (error) {
    if (ownsConnection) await connection.close().catch(() => undefined);
    throw jetStreamError(error);
  }
  const { manager } = context;
  const serverMaxPayload = connection.info?.max_payload ?? 1024 * 1024;
  const maxPayloadBytes = Math.min(options.maxPayloadBytes ?? 64 * 1024 * 1024, serverMaxPayload - headerRoomBytes);

  const registry = new QueuedRegistry(context);
  const leases = new Leases(registry);
  // A delivery holds its subject and headers beside the payload, within the server's max_payload.
  const subjectRoomBytes = 1024;
  const buffer = new DeliveryBuffer(context, serverMaxPayload + subjectRoomBytes, headerRoomBytes + subjectRoomBytes);
  const deadLetters = new DeadLetterStore(context);
  const discarded = new DiscardedStore(context, deadLetters);
  let closed = false;
  const reportBackground = (error: unknown) => {
    if (!closed) options.onBackgroundError?.(jetStreamError(error));
  };
  const scheduler = new HeldScheduler(context, reportBackground);
  /** Removes a gate record's held copy; `false` when it is gone already (the scheduler moved it when it fell due). */
  const deleteRecord = (seq: number): Promise<boolean> =>
    manager.streams.deleteMessage(names.heldStream, seq, false).catch((error: unknown) => {
      if (/no message found|not found/i.test(String((error as Error).message))) return false;
      throw error;
    });
  // Messages stored but not yet in the ledger: un-acknowledged, kept from the ack wait like claims,
  // so a crash hands them to another worker, which archives them again and appends their entries.
  const stored = new Map<string, Lease>();
  // Messages the before-send gate stored and recorded (enqueueStored): a held copy each, due when it
  // should be archived again if nobody removes it first; by record id, with its stream sequence.
  const records = new Map<string, { readonly seq: number; readonly copy: MessageCopy }>();
  let claiming = false;
  let repairTimer: NodeJS.Timeout | undefined;
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
  const storeError = (error: unknown) => jetStreamError(error);

  // Live workers keep their claims, and deliveries not handed out yet, from the server's ack wait.
  const heartbeat = setInterval(
    () => {
      leases.keepAlive();
      buffer.keepAlive();
      for (const lease of stored.values()) lease.message.working();
    },
    Math.max(50, Math.floor(ackWaitMs / 3)),
  );
  heartbeat.unref();

  const startClaiming = () => {
    if (claiming) return;
    claiming = true;
    scheduler.start();
    const repairNow = () => track(repairPhantoms(context, registry).catch(reportBackground));
    repairNow();
    repairTimer = setInterval(repairNow, repairIntervalMs);
    repairTimer.unref();
  };

  /** Publishes the next copy of a claimed message: ready now, or held until `notBefore`. */
  const publishNext = async (lease: Lease, copy: MessageCopy, payload: Uint8Array) => {
    const msgID = `${copy.id}.${copy.generation}.d${lease.message.seq}.${lease.message.info.deliveryCount}`;
    const held = copy.notBefore !== undefined && copy.notBefore > Date.now();
    const { notBefore: _notBefore, ...ready } = copy;
    await publishCopy(context, held ? names.heldSubject(copy.project) : names.queueSubject(copy.project), held ? copy : ready, payload, msgID);
  };

  /** Publishes a message that may never have been published (its writer died first). */
  const publishUnconfirmed = async (copy: MessageCopy, payload: Uint8Array) => {
    const held = copy.notBefore !== undefined && copy.notBefore > Date.now();
    await publishCopy(context, held ? names.heldSubject(copy.project) : names.queueSubject(copy.project), copy, payload, `${copy.id}.${copy.generation}`);
  };

  /**
   * Queues one message as a new life (enqueue, replay): `duplicate` when this version (same
   * payload) is queued already or, with `checkArchived`, was archived within the window; `accepted`
   * with `version: true` when another version of the message is queued or was archived.
   */
  const queueNew = async (identity: MessageIdentity, project: string, messageId: string, payload: Uint8Array, notBefore: number | undefined, checkArchived: boolean): Promise<EnqueueResult> => {
    const { id, dedupeKey, version } = identity;
    const generation = newGeneration();
    const enqueuedAt = Date.now();
    const copy: MessageCopy = {
      id,
      dedupeKey,
      version,
      project,
      messageId,
      enqueuedAt,
      generation,
      deliveries: 0,
      attempts: 0,
      history: [],
      ...(notBefore !== undefined && notBefore > enqueuedAt ? { notBefore } : {}),
      isCopy: false,
    };
    const ref = { dedupeKey, version, generation };
    // Both lookups at once: the archived check rarely hits, and then the new entry is taken back.
    const [created, archived] = await Promise.all([registry.create(ref), checkArchived ? registry.archivedState(dedupeKey, version) : { same: false, other: false }]);
    if (created.outcome === 'queued') {
      // Queued by a worker that may have died before publishing: publish it now, so that the
      // `duplicate` answer is true (the same Nats-Msg-Id, so the stream keeps one copy).
      if (created.entry.u === 1) {
        const theirs = { ...ref, generation: created.entry.g };
        await publishUnconfirmed({ ...copy, generation: theirs.generation }, payload);
        await registry.confirm(theirs, created.revision);
      }
      return { status: 'duplicate', id };
    }
    if (archived.same) {
      if (created.outcome === 'created') await registry.forget(ref);
      return { status: 'duplicate', id };
    }
    // A damaged entry is left as it is: the message is published without one (its copies are
    // current while the entry is damaged), so it is kept rather than refused.
    try {
      await publishUnconfirmed(copy, payload);
    } catch (error) {
      if (created.outcome === 'created') await registry.forget(ref).catch(() => undefined);
      throw error;
    }
    if (created.outcome === 'created') track(registry.confirm(ref, created.revision, created.written).catch(reportBackground));
    const isVersion = (created.outcome === 'created' && created.others) || archived.other;
    return isVersion ? { status: 'accepted', id, version: true } : { status: 'accepted', id };
  };

  const queue: JetStreamQueue = {
    implementation: 'jetstream',
    maxPayloadBytes,

    async enqueue(messages: readonly QueueMessageInput[]): Promise<EnqueueResult[]> {
      assertOpen();
      if (!Array.isArray(messages)) throw invalidInput('messages must be an array.');
      const prepared = messages.map((input, index) => prepareInput(input, index, maxPayloadBytes));
      const firstIndex = new Map<string, number>();
      const identities = prepared.map((input, index) => {
        const identity = identify(input.project, input.messageId, input.body);
        if (!firstIndex.has(identity.id)) firstIndex.set(identity.id, index);
        return identity;
      });
      // Versions of one message id in a batch are queued in batch order, so that the first is the
      // one answered as the original, as on the embedded queue; other messages go in parallel.
      const previousOfKey = new Map<string, Promise<EnqueueResult>>();
      try {
        return await Promise.all(
          prepared.map((input, index) => {
            const identity = identities[index]!;
            if (firstIndex.get(identity.id) !== index) return { status: 'duplicate' as const, id: identity.id };
            const previous = previousOfKey.get(identity.dedupeKey);
            const run = () => queueNew(identity, input.project, input.messageId, input.body, input.notBefore, true);
            const result = previous === undefined ? run() : previous.then(run);
            previousOfKey.set(identity.dedupeKey, result);
            return result;
          }),
        );
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
      const maxBytes = checkMaxBytes(claimOptions.maxBytes);
      const signal = claimOptions.signal;
      startClaiming();
      const started = Date.now();
      const deadline = started + Math.max(waitMs, settleMs);
      const claimed: ClaimedMessage[] = [];
      let claimedBytes = 0;
      let firstAt: number | undefined;
      try {
        for (;;) {
          const bytesLeft = maxBytes === undefined ? undefined : maxBytes - claimedBytes;
          const taken = buffer.take(limit - claimed.length, bytesLeft, claimed.length === 0);
          const stale = await Promise.all(taken.map((message) => leases.isStale(message))).catch((error: unknown) => {
            for (const message of taken) message.nak();
            throw error;
          });
          taken.forEach((message, index) => {
            const result = leases.examine(message, leaseMs, stale[index]!);
            if (result !== undefined) {
              claimed.push(result);
              claimedBytes += result.payload.byteLength;
            }
          });
          if (claimed.length >= limit || closed || signal?.aborted === true) break;
          // Full by bytes: the next delivery in hand does not fit.
          if (maxBytes !== undefined && claimed.length > 0 && (claimedBytes >= maxBytes || (buffer.size > 0 && claimedBytes + buffer.headBytes > maxBytes))) break;
          buffer.request(limit - claimed.length, deadline - Date.now(), maxBytes === undefined ? undefined : maxBytes - claimedBytes, claimed.length === 0);
          const now = Date.now();
          firstAt ??= claimed.length > 0 ? now : undefined;
          // A busy machine spreads a burst out: the gap allowed grows with how long the first took.
          const gap = firstAt === undefined ? 0 : Math.min(maxBurstGapMs, Math.max(burstGapMs, firstAt - started));
          const until = claimed.length > 0 ? now + gap : deadline;
          // Deliveries that arrived while the last ones were examined are taken before any wait.
          if (buffer.size > 0) continue;
          if (now >= until) break;
          await buffer.wait(until, signal);
          if (claimed.length > 0 && buffer.size === 0) break;
        }
      } catch (error) {
        for (const message of claimed) leases.take(message)?.message.nak();
        throw storeError(error);
      }
      if (closed) return [];
      if (claimed.length === 0 && buffer.failure !== undefined && Date.now() - started >= waitMs) throw storeError(buffer.failure);
      return claimed;
    },

    async ack(ref: LeaseRef): Promise<boolean> {
      assertOpen();
      const lease = leases.take(ref);
      if (lease === undefined) return false;
      try {
        await ackSurely(lease.message, connection);
      } catch (error) {
        throw storeError(error);
      }
      // The queued entry goes only once the archived mark is stored, so a resubmission meets one of them.
      const { dedupeKey, version, generation } = lease.copy;
      track(registry.markArchived(dedupeKey, version).then(() => registry.forgetLater({ dedupeKey, version, generation }, reportBackground), reportBackground));
      return true;
    },

    async holdStored(ref: LeaseRef): Promise<boolean> {
      assertOpen();
      const lease = leases.take(ref);
      if (lease === undefined) return false;
      lease.message.working();
      stored.set(lease.copy.id, lease);
      return true;
    },

    async ackStored(ids: readonly string[]): Promise<number> {
      assertOpen();
      if (!Array.isArray(ids)) throw invalidInput('An array of message ids is required.');
      const held = takeFrom(stored, ids);
      const recorded = takeFrom(records, ids);
      const results = await Promise.allSettled([
        ...held.map(async (lease) => {
          await ackSurely(lease.message, connection);
          const { dedupeKey, version, generation } = lease.copy;
          track(registry.markArchived(dedupeKey, version).then(() => registry.forgetLater({ dedupeKey, version, generation }, reportBackground), reportBackground));
        }),
        ...recorded.map(async ({ seq, copy }) => {
          // Gone already when the scheduler moved it (it was due): forgetting this life makes that copy stale, so it is dropped.
          await deleteRecord(seq);
          const { dedupeKey, version, generation } = copy;
          track(registry.markArchived(dedupeKey, version).then(() => registry.forgetLater({ dedupeKey, version, generation }, reportBackground), reportBackground));
        }),
      ]);
      const failed = results.find((result) => result.status === 'rejected');
      // An ack that failed leaves the delivery to come back after the ack wait: archived again, its entry appended again.
      if (failed !== undefined && results.every((result) => result.status === 'rejected')) throw storeError(failed.reason);
      return results.filter((result) => result.status === 'fulfilled').length;
    },

    async discardStored(ids: readonly string[]): Promise<number> {
      assertOpen();
      if (!Array.isArray(ids)) throw invalidInput('An array of message ids is required.');
      const results = await Promise.allSettled(
        takeFrom(records, ids).map(async ({ seq, copy }) => {
          const deleted = await deleteRecord(seq);
          // As enqueueStored does when its publish fails: the message is not archived, so a later submission of it is new.
          if (deleted) await registry.forget({ dedupeKey: copy.dedupeKey, version: copy.version, generation: copy.generation });
          return deleted;
        }),
      );
      const failed = results.find((result) => result.status === 'rejected');
      if (failed !== undefined && results.every((result) => result.status === 'rejected')) throw storeError(failed.reason);
      return results.filter((result) => result.status === 'fulfilled' && result.value).length;
    },

    async releaseStored(ids: readonly string[]): Promise<number> {
      assertOpen();
      if (!Array.isArray(ids)) throw invalidInput('An array of message ids is required.');
      let moved = 0;
      for (const id of ids) {
        const record = records.get(id);
        if (record !== undefined) {
          records.delete(id);
          try {
            const held = await manager.streams.getMessage(names.heldStream, { seq: record.seq }).catch(() => null);
            // Not there: the scheduler moved it to the ready queue already.
            if (held !== null) {
              await moveToQueue(context, record.copy, held.data, record.seq);
              await manager.streams.deleteMessage(names.heldStream, record.seq, false).catch(() => false);
            }
          } catch (error) {
            throw storeError(error);
          }
          moved++;
          continue;
        }
        const lease = stored.get(id);
        if (lease === undefined) continue;
        stored.delete(id);
        lease.message.nak();
        moved++;
      }
      return moved;
    },

    async enqueueStored(message: QueueMessageInput, storedOptions?: EnqueueStoredOptions): Promise<string | undefined> {
      assertOpen();
      const input = prepareInput(message, 0, maxPayloadBytes);
      const recoverAfterMs = checkDuration('recoverAfterMs', storedOptions?.recoverAfterMs ?? ackWaitMs, true);
      const { id, dedupeKey, version } = identify(input.project, input.messageId, input.body);
      const generation = newGeneration();
      const enqueuedAt = Date.now();
      // A held copy due when it should be archived again, like a claim whose holder died: not a lease, so it costs no ack-pending slot.
      const copy: MessageCopy = {
        id,
        dedupeKey,
        version,
        project: input.project,
        messageId: input.messageId,
        enqueuedAt,
        generation,
        deliveries: 1,
        attempts: 0,
        history: [],
        notBefore: enqueuedAt + Math.max(ackWaitMs, recoverAfterMs),
        isCopy: false,
      };
      const ref = { dedupeKey, version, generation };
      try {
        const created = await registry.create(ref);
        if (created.outcome === 'queued') {
          // Queued by a worker that may have died before publishing: publish it now (see queueNew), so that it is archived.
          if (created.entry.u === 1) {
            const { notBefore: _notBefore, ...ready } = copy;
            const theirs = { ...ref, generation: created.entry.g };
            await publishUnconfirmed({ ...ready, deliveries: 0, generation: theirs.generation }, input.body);
            await registry.confirm(theirs, created.revision);
          }
          return undefined;
        }
        let published;
        try {
          published = await publishCopy(context, names.heldSubject(input.project), copy, input.body, `${id}.${generation}.s`);
        } catch (error) {
          if (created.outcome === 'created') await registry.forget(ref).catch(() => undefined);
          throw error;
        }
        if (created.outcome === 'created') track(registry.confirm(ref, created.revision, created.written).catch(reportBackground));
        const recordId = `${id}/${generation}`;
        records.set(recordId, { seq: published.seq, copy });
        return recordId;
      } catch (error) {
        throw storeError(error);
      }
    },

    async release(ref: LeaseRef, releaseOptions?: { readonly notBefore?: number }): Promise<boolean> {
      assertOpen();
      const notBefore = releaseOptions?.notBefore ?? Date.now();
      if (!isTime(notBefore)) throw invalidInput('notBefore must be a time in epoch milliseconds.');
      const lease = leases.take(ref);
      if (lease === undefined) return false;
      if (notBefore <= Date.now()) {
        lease.message.nak();
        return true;
      }
      try {
        await publishNext(lease, { ...lease.copy, deliveries: lease.deliveries, notBefore, isCopy: true }, lease.message.data);
      } catch (error) {
        leases.restore(lease);
        throw storeError(error);
      }
      await ackSurely(lease.message, connection).catch((error: unknown) => {
        throw storeError(error);
      });
      return true;
    },

    async extendLease(ref: LeaseRef, leaseMs: number): Promise<boolean> {
      checkDuration('leaseMs', leaseMs, false);
      assertOpen();
      return leases.extend(ref, leaseMs);
    },

    async reschedule(ref: LeaseRef, rescheduleOptions: RescheduleOptions): Promise<boolean> {
      assertOpen();
      const attempt = checkAttempt(rescheduleOptions?.attempt);
      const notBefore = rescheduleOptions.notBefore;
      if (!isTime(notBefore)) throw invalidInput('notBefore must be a time in epoch milliseconds.');
      const lease = leases.take(ref);
      if (lease === undefined) return false;
      const { copy } = lease;
      const next: MessageCopy = {
        ...copy,
        deliveries: lease.deliveries,
        attempts: copy.attempts + 1,
        history: [...copy.history, attempt].slice(-historyLimit),
        firstAttemptAt: copy.firstAttemptAt ?? attempt.at,
        notBefore,
        isCopy: true,
      };
      try {
        await publishNext(lease, next, lease.message.data);
      } catch (error) {
        leases.restore(lease);
        throw storeError(error);
      }
      await ackSurely(lease.message, connection).catch((error: unknown) => {
        throw storeError(error);
      });
      return true;
    },

    async deadLetter(ref: LeaseRef, deadOptions: DeadLetterOptions): Promise<boolean> {
      assertOpen();
      if (!deadLetterKinds.includes(deadOptions?.kind)) throw invalidInput(`kind must be one of ${deadLetterKinds.join(', ')}.`);
      if (typeof deadOptions.reason !== 'string') throw invalidInput('reason must be a string.');
      const attempt = deadOptions.attempt === undefined ? undefined : checkAttempt(deadOptions.attempt);
      const issues: ValidationIssue[] = checkIssues(deadOptions.issues);
      const lease = leases.take(ref);
      if (lease === undefined) return false;
      const { copy } = lease;
      const history = attempt === undefined ? [...copy.history] : [...copy.history, attempt].slice(-historyLimit);
      const first = copy.firstAttemptAt ?? attempt?.at;
      const last = attempt?.at ?? copy.history.at(-1)?.at;
      const record: Omit<StoredDeadLetter, 'payloadSeq' | 'payloadBytes'> = {
        id: copy.id,
        project: copy.project,
        messageId: copy.messageId,
        kind: deadOptions.kind,
        reason: deadOptions.reason.slice(0, maxReasonLength),
        issues,
        attempts: copy.attempts + (attempt === undefined ? 0 : 1),
        deliveries: lease.deliveries,
        ...(first === undefined ? {} : { firstAttemptAt: first }),
        ...(last === undefined ? {} : { lastAttemptAt: last }),
        enqueuedAt: copy.enqueuedAt,
        deadAt: Date.now(),
        history,
        generation: copy.generation,
        dedupeKey: copy.dedupeKey,
        payloadSha256: payloadSha256(lease.message.data),
      };
      try {
        await deadLetters.write(record, lease.message.data, `${copy.id}.${copy.generation}.x${lease.message.seq}.${lease.message.info.deliveryCount}`);
      } catch (error) {
        leases.restore(lease);
        throw storeError(error);
      }
      try {
        await ackSurely(lease.message, connection);
      } catch (error) {
        throw storeError(error);
      }
      // Awaited: once this resolves, submitting the message again queues it anew.
      await registry.forget(copy).catch(() => undefined);
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
        await deadLetters.scan(filter, fromSeq, (read) => {
          if (items.length === limit) {
            cursor = encodeCursor(read.seq);
            return false;
          }
          if ('unreadable' in read) items.push(unreadableDeadLetter(read));
          else {
            const { generation: _generation, dedupeKey: _dedupeKey, payloadSeq: _payloadSeq, payloadSha256: _payloadSha256, ...visible } = read.record;
            items.push(visible);
          }
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
        // Counted the way they are listed, so a total always matches what the pages show.
        let count = 0;
        await deadLetters.scan(checked, 1, () => {
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
        await deadLetters.scan(checked, 1, async (read) => {
          if ('unreadable' in read) return true;
          const { record } = read;
          const payload = await deadLetters.payload(record);
          if (payload === undefined) throw missingPayloadError();
          // Counted as already queued only when the same payload is queued; another version is replayed.
          const result = await queueNew(identify(record.project, record.messageId, payload), record.project, record.messageId, payload, undefined, false);
          await deadLetters.remove(read.seq, record);
          if (result.status === 'accepted') replayed++;
          else alreadyQueued++;
          return true;
        });
      } catch (error) {
        throw storeError(error);
      }
      return { replayed, alreadyQueued };
    },

    async discardDeadLetters(filter: DeadLetterFilter, reason: string): Promise<DiscardResult> {
      assertOpen();
      const discardReason = checkDiscardReason(reason);
      const checked = checkFilter(filter ?? {});
      const ids: string[] = [];
      try {
        await deadLetters.scan(checked, 1, async (read) => {
          const record = await discarded.recordOf(read, discardReason, Date.now());
          // The record first: a discard interrupted between the two leaves the dead letter, never a
          // dead letter gone without its record.
          await discarded.write(record, 'unreadable' in read ? `unreadable.${read.seq}` : `${record.id}.${read.record.generation}.${read.seq}`);
          if (await deadLetters.remove(read.seq, 'unreadable' in read ? undefined : read.record)) ids.push(record.id);
          return true;
        });
      } catch (error) {
        throw storeError(error);
      }
      return { discarded: ids.length, ids };
    },

    async listDiscardedDeadLetters(listOptions: ListDiscardedOptions = {}): Promise<DiscardedPage> {
      assertOpen();
      const limit = listOptions.limit ?? 100;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw invalidInput('limit must be a whole number from 1 to 1000.');
      const project = listOptions.project;
      if (project !== undefined && (typeof project !== 'string' || project === '')) throw invalidInput('project must be a non-empty string.');
      try {
        return await discarded.list(project, limit, listOptions.cursor);
      } catch (error) {
        throw storeError(error);
      }
    },

    async hurry(projects: readonly string[]): Promise<number> {
      assertOpen();
      if (!Array.isArray(projects) || projects.some((project) => typeof project !== 'string' || project === '')) throw invalidInput('projects must be an array of project names.');
      try {
        return await scheduler.hurry(projects);
      } catch (error) {
        throw storeError(error);
      }
    },

    async repair(): Promise<number> {
      assertOpen();
      try {
        return await repairPhantoms(context, registry);
      } catch (error) {
        throw storeError(error);
      }
    },

    async stats(): Promise<QueueStats> {
      assertOpen();
      try {
        const [queueInfo, heldInfo, dead] = await Promise.all([manager.streams.info(names.queueStream), manager.streams.info(names.heldStream), deadLetters.total()]);
        const depth = queueInfo.state.messages + heldInfo.state.messages;
        const oldest: number[] = [];
        for (const info of [queueInfo, heldInfo]) {
          if (info.state.messages === 0) continue;
          const first = await manager.direct.getMessage(info.config.name, { seq: info.state.first_seq, next_by_subj: info.config.subjects[0]! });
          const enqueued = enqueuedAtOf(first?.header) ?? first?.time.getTime();
          if (enqueued !== undefined) oldest.push(enqueued);
        }
        return { depth, inFlight: leases.size, deadLetters: dead, ...(oldest.length === 0 ? {} : { oldestEnqueuedAt: Math.min(...oldest) }) };
      } catch (error) {
        throw storeError(error);
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      if (repairTimer !== undefined) clearInterval(repairTimer);
      buffer.close();
      await scheduler.close();
      // Given back once the pulls this queue opened have ended, so no other worker's claim can
      // lose them to this closing queue; bounded by the ack wait, which would give them back anyway.
      const notBefore = Math.min(buffer.pullsOpenUntil, Date.now() + ackWaitMs);
      leases.releaseAll(notBefore);
      // Whose entries did not become durable before the stop: archived again, by whichever worker takes them.
      for (const lease of stored.values()) lease.message.nak(Math.max(0, notBefore - Date.now()));
      stored.clear();
      // Records wait in the held stream for their due time: archived again then, by whichever worker takes them.
      records.clear();
      await Promise.all(bookkeeping);
      // Entries not removed by then stay (a resubmission of those archived messages answers
      // `duplicate`, which is true); a worker that stops under load does not wait for all of them.
      await registry.settle(5_000);
      try {
        await connection.flush();
        if (ownsConnection) await connection.drain();
      } catch {
        // Closing is best effort: unsettled claims come back after the server's ack wait anyway.
      }
    },
  };
  return queue;
}
