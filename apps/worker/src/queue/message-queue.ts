import type { DestinationErrorKind, ValidationIssue } from '@sentcopy/core';

/**
 * Why a message was given up on: a destination error kind, or `no_destination` when no
 * destination is configured for the message's project.
 */
export type DeadLetterKind = DestinationErrorKind | 'no_destination';

/** Every dead-letter kind, in a stable order (useful for metrics and validation). */
export const deadLetterKinds: readonly DeadLetterKind[] = ['rate_limited', 'unauthorized', 'unreachable', 'conflict', 'invalid', 'unknown', 'no_destination'];

/** A message handed to {@link MessageQueue.enqueue}. */
export interface QueueMessageInput {
  /**
   * The project the message was submitted to; it selects the destination. With `messageId`, the
   * de-duplication key. A non-empty string of at most 256 UTF-16 code units.
   */
  readonly project: string;
  /**
   * The message's `message_id` (the producer's idempotency key). With `project`, the
   * de-duplication key. A non-empty string of at most 512 characters (Unicode code points, as
   * core's `maxMessageIdLength` counts them), so every valid `message_id` fits.
   */
  readonly messageId: string;
  /**
   * The message exactly as received: JSON text as UTF-8 bytes, or a string (stored as UTF-8).
   * The queue never parses or changes it.
   */
  readonly payload: Uint8Array | string;
  /** Earliest time the message may be claimed, in epoch milliseconds. @default now */
  readonly notBefore?: number;
}

/** What happened to one message of an {@link MessageQueue.enqueue} batch. */
export interface EnqueueResult {
  /**
   * `accepted`: stored durably, will be delivered. `duplicate`: a message with the same project,
   * message id and payload (the same SHA-256 of its bytes) is already queued (pending or claimed)
   * or was archived within the de-duplication window; nothing was stored.
   */
  readonly status: 'accepted' | 'duplicate';
  /** The queue's id for the stored entry; for a duplicate, the id of the queued one when known. */
  readonly id?: string;
  /**
   * `true` on an accepted message when another, different payload under the same project and
   * message id is queued or was archived within the de-duplication window: this one is a second
   * version, kept as a new entry (the archive stores it next to the first). Absent otherwise.
   */
  readonly version?: true;
}

/** Options for {@link MessageQueue.claim}. */
export interface ClaimOptions {
  /** Most messages to return, at least 1. */
  readonly limit: number;
  /**
   * Most payload bytes to return, summed over the claimed messages (`payload.byteLength`), in bytes:
   * the claim stops before the first ready message that would take the sum past it. It always
   * returns at least one message when one is ready, so a message larger than `maxBytes` still
   * flows (alone). A whole number, 1 or more. @default no limit by bytes
   */
  readonly maxBytes?: number;
  /**
   * How long the lease lasts, in milliseconds. A message whose lease runs out without being
   * settled (ack, release, reschedule, dead letter) becomes claimable again: that is how the work
   * of a crashed or stuck worker comes back. @default the queue's default lease (60 s for the embedded queue)
   */
  readonly leaseMs?: number;
  /**
   * When nothing is ready, how long to wait for a message to become ready (enqueued, released, or
   * its not-before time reached) before resolving with an empty list, in milliseconds. @default 0
   */
  readonly waitMs?: number;
  /** Ends a wait early; the call then resolves with what it has (usually nothing). */
  readonly signal?: AbortSignal;
}

/** One failed archive attempt, as kept in a message's history. Never holds message content. */
export interface AttemptRecord {
  /** When the attempt started, in epoch milliseconds. */
  readonly at: number;
  /** What the attempt failed with. */
  readonly kind: DeadLetterKind;
  /** A human sentence saying why; never contains a secret or a raw recipient. */
  readonly reason: string;
}

/** The part of a claimed message that identifies its lease; what the settling calls need. */
export interface LeaseRef {
  /** The queue's id of the message. */
  readonly id: string;
  /** The lease this claim holds; a later claim of the same message gets a new one. */
  readonly leaseId: string;
}

/** A message handed out by {@link MessageQueue.claim}, leased to the caller. */
export interface ClaimedMessage extends LeaseRef {
  /** The project it was submitted to. */
  readonly project: string;
  /** Its message id. */
  readonly messageId: string;
  /** The bytes given to `enqueue()`, unchanged. */
  readonly payload: Uint8Array;
  /** When it entered the queue (or was replayed from the dead letters), in epoch milliseconds. */
  readonly enqueuedAt: number;
  /** How many times it has been claimed, this claim included (so at least 1). */
  readonly deliveries: number;
  /** Failed archive attempts recorded so far (by `reschedule()`); 0 for a fresh message. */
  readonly attempts: number;
  /** When the first recorded attempt started, in epoch milliseconds; `undefined` before any. */
  readonly firstAttemptAt?: number;
  /** The most recent failed attempts, oldest first (at most the last 32). */
  readonly history: readonly AttemptRecord[];
  /** When this lease runs out unless extended, in epoch milliseconds. */
  readonly leaseExpiresAt: number;
}

/** Options for {@link MessageQueue.reschedule}. */
export interface RescheduleOptions {
  /** When the message may be claimed again, in epoch milliseconds. */
  readonly notBefore: number;
  /** The attempt that just failed; added to the history and the attempt count. */
  readonly attempt: AttemptRecord;
}

/** Options for {@link MessageQueue.deadLetter}. */
export interface DeadLetterOptions {
  /** Why the message is given up on. */
  readonly kind: DeadLetterKind;
  /** A human sentence saying why; never contains a secret or a raw recipient. */
  readonly reason: string;
  /** The attempt that just failed, if one was made; added to the history and the attempt count. */
  readonly attempt?: AttemptRecord;
  /** For a message that failed validation: every problem, by field path (never a value). */
  readonly issues?: readonly ValidationIssue[];
}

/** A message that will not be retried until someone replays it. Holds no message content. */
export interface DeadLetter {
  /** The queue's id of the message (kept when it is replayed). */
  readonly id: string;
  /** The project it was submitted to. */
  readonly project: string;
  /** Its message id. */
  readonly messageId: string;
  /** Why it was given up on. */
  readonly kind: DeadLetterKind;
  /** A human sentence saying why. */
  readonly reason: string;
  /** Validation problems by field path, for `invalid` messages; empty otherwise. */
  readonly issues: readonly ValidationIssue[];
  /** Failed archive attempts made. */
  readonly attempts: number;
  /** How many times it was claimed before it was given up on. */
  readonly deliveries: number;
  /** When the first attempt started, in epoch milliseconds; `undefined` if none was made. */
  readonly firstAttemptAt?: number;
  /** When the last attempt started, in epoch milliseconds; `undefined` if none was made. */
  readonly lastAttemptAt?: number;
  /** When it entered the queue, in epoch milliseconds. */
  readonly enqueuedAt: number;
  /** When it was moved to the dead letters, in epoch milliseconds. */
  readonly deadAt: number;
  /** The most recent failed attempts, oldest first (at most the last 32). */
  readonly history: readonly AttemptRecord[];
  /** Size of the stored payload, in bytes. */
  readonly payloadBytes: number;
}

/** Selects dead letters. Every given field must match; an empty filter selects all of them. */
export interface DeadLetterFilter {
  /** Only these ids. */
  readonly ids?: readonly string[];
  /** Only this project's. */
  readonly project?: string;
  /** Only this kind. */
  readonly kind?: DeadLetterKind;
  /** Only those dead-lettered at or after this time, in epoch milliseconds. */
  readonly deadFrom?: number;
  /** Only those dead-lettered before this time, in epoch milliseconds. */
  readonly deadBefore?: number;
}

/** Options for {@link MessageQueue.listDeadLetters}. */
export interface ListDeadLettersOptions {
  /** Which dead letters. @default all */
  readonly filter?: DeadLetterFilter;
  /** Most records per page, 1 to 1000. @default 100 */
  readonly limit?: number;
  /** Where the previous page ended (its `cursor`). */
  readonly cursor?: string;
}

/** One page of dead letters, oldest dead-lettered first. */
export interface DeadLetterPage {
  /** The records. */
  readonly items: readonly DeadLetter[];
  /** Pass to the next call to continue; `undefined` on the last page. */
  readonly cursor?: string;
}

/** What {@link MessageQueue.replayDeadLetters} did. */
export interface ReplayResult {
  /** Dead letters moved back into the queue, ready now, with a fresh attempt history. */
  readonly replayed: number;
  /** Dead letters dropped because the same message (project, message id and payload) was already queued again. */
  readonly alreadyQueued: number;
}

/** What {@link MessageQueue.discardDeadLetters} did. */
export interface DiscardResult {
  /** Dead letters removed for good (their payload too), each recorded as discarded. */
  readonly discarded: number;
  /** Their ids. */
  readonly ids: readonly string[];
}

/** The record a discarded dead letter leaves: who it was, why it died, why it was discarded, when. Holds no message content. */
export interface DiscardedDeadLetter {
  /** The dead letter's id. */
  readonly id: string;
  /** The project it was submitted to. */
  readonly project: string;
  /** Its message id. */
  readonly messageId: string;
  /** Why it had been given up on. */
  readonly kind: DeadLetterKind;
  /** The dead letter's reason. */
  readonly reason: string;
  /** The reason given when it was discarded. */
  readonly discardReason: string;
  /** When it was discarded, in epoch milliseconds. */
  readonly discardedAt: number;
  /** When it had been moved to the dead letters, in epoch milliseconds. */
  readonly deadAt: number;
  /** When it entered the queue, in epoch milliseconds. */
  readonly enqueuedAt: number;
  /** Failed archive attempts made. */
  readonly attempts: number;
  /** SHA-256 of the discarded payload, lower-case hex, when known: proves which bytes were given up. */
  readonly payloadSha256?: string;
  /** Size of the discarded payload, in bytes. */
  readonly payloadBytes: number;
}

/** Options for {@link MessageQueue.listDiscardedDeadLetters}. */
export interface ListDiscardedOptions {
  /** Only this project's. @default all */
  readonly project?: string;
  /** Most records per page, 1 to 1000. @default 100 */
  readonly limit?: number;
  /** Where the previous page ended (its `cursor`). */
  readonly cursor?: string;
}

/** One page of discarded dead letters, oldest discarded first. */
export interface DiscardedPage {
  /** The records. */
  readonly items: readonly DiscardedDeadLetter[];
  /** Pass to the next call to continue; `undefined` on the last page. */
  readonly cursor?: string;
}

/** Options for {@link MessageQueue.enqueueStored}. */
export interface EnqueueStoredOptions {
  /**
   * How long after the call the record is handed out to be archived again should it still be held,
   * in milliseconds: choose more than an archive-ledger entry normally takes to become durable. Only
   * JetStream reads it (at least its ack wait is used): there a record is a held copy that comes back
   * when due, to whichever worker claims it, even while the process that recorded it lives. The
   * embedded queue hands a record out again only once it is reopened (after a crash or a stop).
   * @default the JetStream queue's ack wait
   */
  readonly recoverAfterMs?: number;
}

/** Numbers for metrics and health checks. */
export interface QueueStats {
  /** Messages in the queue: ready, waiting for a retry, or claimed. */
  readonly depth: number;
  /** Messages currently claimed (leased). */
  readonly inFlight: number;
  /** Messages in the dead letters. */
  readonly deadLetters: number;
  /** When the oldest message in the queue was enqueued, in epoch milliseconds; `undefined` when empty. */
  readonly oldestEnqueuedAt?: number;
}

/**
 * What is wrong with a queue's store, as {@link MessageQueue.health} reports it.
 * - `damaged`: the store file is corrupt (SQLite `SQLITE_CORRUPT`/`SQLITE_NOTADB`); recover the
 *   readable messages with `sentcopy queue salvage`.
 * - `file_missing`: the store file was deleted while the queue had it open; what it held is only
 *   in the open file until the process exits.
 * - `file_replaced`: another file now sits at the store's path.
 * - `disk_full`: the store's file system has no room (or less than the reserve) for new messages.
 * - `io_error`: the file system answers reads or writes with I/O errors.
 */
export type QueueProblem = 'damaged' | 'file_missing' | 'file_replaced' | 'disk_full' | 'io_error';

/** Every {@link QueueProblem}, in a stable order (for metrics). */
export const queueProblems: readonly QueueProblem[] = ['damaged', 'file_missing', 'file_replaced', 'disk_full', 'io_error'];

/** Whether a queue's store works, for readiness, metrics and alerts. */
export interface QueueHealth {
  /** `true` while the queue stores new messages and hands them out normally. */
  readonly ok: boolean;
  /** What is wrong, while not ok. */
  readonly problem?: QueueProblem;
  /**
   * A sentence for operators saying what is wrong and how to recover, while not ok. Holds no
   * message content, recipient or secret.
   */
  readonly reason?: string;
  /** When the problem was first seen, in epoch milliseconds, while not ok. */
  readonly since?: number;
}

/**
 * A durable queue of messages waiting to be archived. The worker's intake puts messages in; the
 * processor claims them, archives them, and settles each claim exactly one way: `ack` (stored),
 * `release` (not attempted), `reschedule` (failed, try again later) or `deadLetter` (give up).
 *
 * Guarantees every implementation gives (the behaviour suite in `test/queue-behaviour.ts` checks
 * them): a message is durable before `enqueue()` resolves; it leaves the queue only through
 * `ack()` or `deadLetter()`; a claim whose lease runs out is handed out again; retries wait in the
 * store, not in memory; and a settling call made with a lease that is no longer held (the message
 * was claimed again after the lease ran out, or was already settled) changes nothing and resolves
 * `false`. A lease that ran out but was not claimed again is still held.
 *
 * Implementations: the embedded queue (`createEmbeddedQueue`, a local file store, one process)
 * and NATS JetStream (`createJetStreamQueue`, many workers, one stream).
 */
export interface MessageQueue {
  /** Which implementation this is, e.g. `embedded`. */
  readonly implementation: string;
  /**
   * Largest payload one entry may have, in bytes: `enqueue()` refuses a batch holding a larger one.
   * The embedded queue's `maxPayloadBytes` option (64 MiB by default); for JetStream, the NATS
   * server's `max_payload` less room for the headers. The intake refuses a larger message on its own.
   */
  readonly maxPayloadBytes: number;
  /**
   * Stores a batch. Resolves once every accepted message is durably on disk (written and flushed),
   * with one result per input, in order. Messages already queued (same project, message id and
   * payload bytes) or archived within the de-duplication window are reported as `duplicate` and not
   * stored again; a different payload under a queued or recently archived message id is accepted
   * as a new entry with `version: true`.
   * The embedded queue takes a batch all or nothing: on failure nothing was stored (JetStream may
   * have stored part of it; sending the batch again answers those `duplicate`). Throws a `QueueError` of kind
   * `invalid_input`, before storing anything, when an entry is malformed or too large.
   */
  enqueue(messages: readonly QueueMessageInput[]): Promise<EnqueueResult[]>;
  /**
   * Leases up to `limit` ready messages (not-before time reached, not claimed, or whose lease ran
   * out), those ready earliest first and, among equals, in enqueue order, and no more than
   * `maxBytes` of payload (at least one message). Waits up to `waitMs` when none is ready. Resolves with an empty list when the queue is closed meanwhile.
   */
  claim(options: ClaimOptions): Promise<ClaimedMessage[]>;
  /** Removes a claimed message for good: call only once its object is stored. `false` if the lease is no longer held. */
  ack(lease: LeaseRef): Promise<boolean>;
  /**
   * Keeps a claimed message whose object is stored but whose archive-ledger entry is not durable
   * yet ("stored, not yet in the ledger"), instead of removing it. It is no longer claimed and is
   * not handed out again while this process lives; {@link ackStored} removes it once its entry is
   * durable, {@link releaseStored} makes it ready again. After a crash it comes back like a claim
   * whose holder died (the embedded queue at once when reopened, JetStream after the ack wait), so
   * it is archived again (`created: false`) and its entry appended again: readers count each
   * object once. `false` if the lease is no longer held.
   */
  holdStored(lease: LeaseRef): Promise<boolean>;
  /** Removes held messages (see {@link holdStored}) for good, as `ack()` does: their ledger entries are durable. Resolves with how many it removed. */
  ackStored(ids: readonly string[]): Promise<number>;
  /**
   * Makes held messages (see {@link holdStored}) ready again, so they are archived again and their
   * entries appended again (their ledger writer was retired before it could write them). Resolves
   * with how many it moved.
   */
  releaseStored(ids: readonly string[]): Promise<number>;
  /**
   * Removes records made by {@link enqueueStored} whose object was not stored after all (the
   * before-send gate records a message while it writes it, and the write failed): gone for good,
   * and not remembered as archived, so the same message can be submitted again. Not durable at
   * once: should the process die within a few milliseconds, the record comes back and the message
   * is archived after all. Meant for such records only; ids no longer held are skipped. Resolves
   * with how many it removed.
   */
  discardStored(ids: readonly string[]): Promise<number>;
  /**
   * Records a message whose object the caller already stored (the before-send gate archives before
   * it answers) directly as held "stored, not yet in the ledger" (see {@link holdStored}): durable
   * when it resolves, never claimed while held, removed by {@link ackStored} once its ledger entry
   * is durable, made ready by {@link releaseStored}. Should the process die first, it comes back
   * like a held message (see `recoverAfterMs`) and is archived again (`created: false`), its entry
   * appended again. Resolves with its id, or `undefined` when the same message (project, message id
   * and payload) is queued already: that one is archived, and listed, in any case. Not
   * de-duplicated against archived messages. Throws a `QueueError` as `enqueue()` does (`invalid_input`
   * for a malformed or too large entry, `storage` while the store refuses new messages).
   */
  enqueueStored(message: QueueMessageInput, options?: EnqueueStoredOptions): Promise<string | undefined>;
  /**
   * Returns a claimed message without counting an attempt (shutdown, or work not started), ready
   * at `notBefore` (default now). `false` if the lease is no longer held.
   */
  release(lease: LeaseRef, options?: { readonly notBefore?: number }): Promise<boolean>;
  /** Pushes the lease's end to `leaseMs` milliseconds from now, for long work. `false` if the lease is no longer held. */
  extendLease(lease: LeaseRef, leaseMs: number): Promise<boolean>;
  /**
   * Records a failed attempt and makes the message claimable again at `notBefore`. Durable: the
   * schedule survives restarts. `false` if the lease is no longer held.
   */
  reschedule(lease: LeaseRef, options: RescheduleOptions): Promise<boolean>;
  /** Moves a claimed message to the dead letters with the reason. `false` if the lease is no longer held. */
  deadLetter(lease: LeaseRef, options: DeadLetterOptions): Promise<boolean>;
  /** Lists dead letters, oldest dead-lettered first, a page at a time. */
  listDeadLetters(options?: ListDeadLettersOptions): Promise<DeadLetterPage>;
  /** Counts dead letters matching `filter` (all by default). */
  countDeadLetters(filter?: DeadLetterFilter): Promise<number>;
  /**
   * Moves the dead letters matching `filter` back into the queue, ready now, attempts reset so the
   * retry policy starts over: one (`{ ids: [id] }`), a filter, or all (`{}`).
   */
  replayDeadLetters(filter: DeadLetterFilter): Promise<ReplayResult>;
  /**
   * Removes the dead letters matching `filter` for good — their payloads too — and keeps a record
   * of each (ids, kinds, reasons, `reason` and the time) that {@link listDiscardedDeadLetters}
   * shows. `reason` is required (non-empty, trimmed; at most 500 characters are kept): a
   * `QueueError` of kind `invalid_input` without one. Resolves with the ids it removed.
   */
  discardDeadLetters(filter: DeadLetterFilter, reason: string): Promise<DiscardResult>;
  /** Lists the records of discarded dead letters, oldest discarded first, a page at a time. */
  listDiscardedDeadLetters(options?: ListDiscardedOptions): Promise<DiscardedPage>;
  /**
   * Makes every waiting message of these projects ready now: retries scheduled for later (hours, in
   * an outage) or messages set aside while their destination was down, once it is back. Claimed
   * messages are left alone. Resolves with how many messages it moved.
   */
  hurry(projects: readonly string[]): Promise<number>;
  /** Depth, claimed count, dead letters and the oldest message's age, for metrics. Cheap to call often. */
  stats(): Promise<QueueStats>;
  /**
   * Optional: whether the store works. An implementation that can tell reports a damaged, missing,
   * replaced or full store here, and refuses `enqueue()` with a `QueueError` of kind `storage` (whose
   * `problem` names it) for as long as it lasts, so nothing is acknowledged that it may not keep.
   * Synchronous and cheap: readiness, metrics and alerts call it often. @default not reported
   */
  health?(): QueueHealth;
  /**
   * Finishes pending writes and releases the store. Claims still held are not settled: they come
   * back when their lease runs out (the embedded queue hands them out again as soon as it is
   * reopened, since only one process can hold its store). Further calls reject with a `QueueError`
   * of kind `closed`; waiting claims resolve with an empty list.
   */
  close(): Promise<void>;
}
