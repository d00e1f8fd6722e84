import { randomUUID } from 'node:crypto';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ClaimedMessage, LeaseRef } from '../message-queue.js';
import { invalidInput } from '../queue-checks.js';
import { QueueError } from '../queue-error.js';
import { readCopy, type MessageCopy } from './message-copy.js';
import type { QueuedRegistry } from './queued-registry.js';

/** A claimed delivery, held by this process until it is settled or its lease runs out. */
export interface Lease {
  readonly leaseId: string;
  readonly message: JsMsg;
  readonly copy: MessageCopy;
  /** Claims so far, this one included. */
  readonly deliveries: number;
  expiresAt: number;
  timer: NodeJS.Timeout;
}

/**
 * The leases this process holds. A lease is local; the server's ack wait only bounds recovery
 * after a crash, since live leases are kept alive with `working()`.
 */
export class Leases {
  private readonly held = new Map<string, Lease>();

  constructor(private readonly registry: QueuedRegistry) {}

  get size(): number {
    return this.held.size;
  }

  /**
   * Whether a delivery is a copy of a life that is over (archived, dead-lettered, replaced by a
   * replay). Only copies need the lookup: the first delivery of what `enqueue()` published is current.
   */
  async isStale(message: JsMsg): Promise<boolean> {
    const copy = readCopy(message.headers);
    return copy !== undefined && copy.isCopy && message.info.deliveryCount === 1 && !(await this.registry.isCurrent(copy));
  }

  /**
   * Turns a delivery into a claimed message, or settles it at once: `term` what this queue did not
   * publish, `ack` a stale copy (see {@link isStale}, decided by the caller) or a second copy of a
   * message this process already holds.
   */
  examine(message: JsMsg, leaseMs: number, stale: boolean): ClaimedMessage | undefined {
    const copy = readCopy(message.headers);
    if (copy === undefined) {
      message.term();
      return undefined;
    }
    const current = this.held.get(copy.id);
    if (stale || (current !== undefined && current.message.seq !== message.seq && current.expiresAt >= Date.now() && current.copy.generation === copy.generation)) {
      // Settling the copy in hand settles the message; a stale copy has nothing left to do.
      message.ack();
      return undefined;
    }
    if (current !== undefined) clearTimeout(current.timer);
    const leaseId = randomUUID();
    const deliveries = copy.deliveries + message.info.deliveryCount;
    const expiresAt = Date.now() + leaseMs;
    const lease: Lease = { leaseId, message, copy, deliveries, expiresAt, timer: this.timer(copy.id, leaseId, leaseMs) };
    this.held.set(copy.id, lease);
    return {
      id: copy.id,
      leaseId,
      project: copy.project,
      messageId: copy.messageId,
      payload: message.data,
      enqueuedAt: copy.enqueuedAt,
      deliveries,
      attempts: copy.attempts,
      ...(copy.firstAttemptAt === undefined ? {} : { firstAttemptAt: copy.firstAttemptAt }),
      history: copy.history,
      leaseExpiresAt: expiresAt,
    };
  }

  private timer(id: string, leaseId: string, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.expire(id, leaseId), ms);
    timer.unref();
    return timer;
  }

  private expire(id: string, leaseId: string): void {
    const lease = this.held.get(id);
    if (lease === undefined || lease.leaseId !== leaseId) return;
    if (lease.expiresAt > Date.now()) {
      lease.timer = this.timer(id, leaseId, lease.expiresAt - Date.now());
      return;
    }
    this.held.delete(id);
    lease.message.nak();
  }

  /** Takes the lease out of this process's hands; `undefined` if it is not held (any more). */
  take(ref: LeaseRef): Lease | undefined {
    if (typeof ref !== 'object' || ref === null || typeof ref.id !== 'string' || typeof ref.leaseId !== 'string' || ref.leaseId === '') {
      throw invalidInput('A lease (a claimed message) is required.');
    }
    const lease = this.held.get(ref.id);
    if (lease === undefined || lease.leaseId !== ref.leaseId || lease.expiresAt < Date.now()) return undefined;
    clearTimeout(lease.timer);
    this.held.delete(ref.id);
    return lease;
  }

  /** Puts back a lease whose settling failed before anything changed on the server. */
  restore(lease: Lease): void {
    if (this.held.has(lease.copy.id)) return;
    lease.timer = this.timer(lease.copy.id, lease.leaseId, Math.max(1, lease.expiresAt - Date.now()));
    this.held.set(lease.copy.id, lease);
  }

  /** Pushes a lease's end; `false` if it is not held. */
  extend(ref: LeaseRef, leaseMs: number): boolean {
    const lease = this.held.get(ref?.id);
    if (lease === undefined || lease.leaseId !== ref.leaseId || lease.expiresAt < Date.now()) return false;
    lease.expiresAt = Date.now() + leaseMs;
    lease.message.working();
    return true;
  }

  keepAlive(): void {
    for (const lease of this.held.values()) lease.message.working();
  }

  /** Gives every lease back, each ready when its lease would have run out, and not before `notBefore`. */
  releaseAll(notBefore = 0): void {
    const now = Date.now();
    for (const lease of this.held.values()) {
      clearTimeout(lease.timer);
      lease.message.nak(Math.max(0, lease.expiresAt - now, notBefore - now));
    }
    this.held.clear();
  }
}

/**
 * Acknowledges a delivery and waits for the server to confirm it. `ackAck()` sends once; when its
 * confirmation is lost (a request sent while the server was coming back), the same idempotent ack
 * is sent again to the delivery's reply subject, as `ackAck()` itself does.
 */
export async function ackSurely(message: JsMsg, connection: NatsConnection): Promise<void> {
  try {
    if (await message.ackAck({ timeout: 3_000 })) return;
    throw new QueueError('storage', 'The delivery was already settled.');
  } catch (error) {
    const reply = (message as unknown as { reply?: string }).reply;
    if ((error as Error).name !== 'TimeoutError' || reply === undefined) throw error;
    for (let attempt = 1; ; attempt++) {
      try {
        await connection.request(reply, '+ACK', { timeout: 3_000 });
        return;
      } catch (retryError) {
        if (attempt === 2 || (retryError as Error).name !== 'TimeoutError') throw retryError;
      }
    }
  }
}
