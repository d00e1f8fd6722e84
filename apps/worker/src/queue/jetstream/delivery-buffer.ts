import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { QueueContext } from './queue-context.js';

// The library's shortest pull; a claim that wants less time returns earlier and leaves the pull
// running, its deliveries kept here (and kept alive) for the next claim.
const minimumPullMs = 1_000;
const longestPullMs = 30_000;
const retryAfterFailureMs = 500;
// How many messages the library's fetch() asks for with a byte limit.
const libraryBatch = 100;

/** What one pull asks the server for: a number of messages, or as many as fit in a number of bytes. */
type PullLimit = { readonly messages: number } | { readonly bytes: number; readonly messages: number };

// The server ends a pull by bytes with this once its next message does not fit: a normal end.
function isSizeExceeded(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 409 && /message size exceeds maxbytes/i.test(String((error as Error).message));
}

/**
 * Ready messages delivered by the workers' consumer (through the library's `fetch()`) and not yet
 * handed out by a claim. Deliveries that arrive after the claim that asked for them returned wait
 * here, kept from the server's ack wait by `working()`, and go to the next claim first, in order.
 */
export class DeliveryBuffer {
  private readonly messages: JsMsg[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly pulls = new Set<ConsumerMessages>();
  private consumer: Promise<Consumer> | undefined;
  private requested = 0;
  /** Payload bytes of the buffered deliveries. */
  private bufferedBytes = 0;
  /** Bytes the open pulls may still deliver: a pull by bytes its `max_bytes`, a pull by count the largest delivery per message. */
  private reservedBytes = 0;
  private openUntil = 0;
  private retryAt = 0;
  private closed = false;
  /** The last failure of a pull, cleared by the next delivery. */
  failure: unknown;

  /**
   * @param largestDelivery the most bytes one delivery can hold (the server's `max_payload` and
   *   room for the subject): a pull of `n` messages may bring `n` times this much.
   * @param deliveryOverhead the most bytes a delivery holds beside its payload (subject, headers):
   *   the server counts them against a pull's `max_bytes`, a claim's `maxBytes` does not.
   */
  constructor(
    private readonly context: QueueContext,
    private readonly largestDelivery: number,
    private readonly deliveryOverhead: number,
  ) {}

  get size(): number {
    return this.messages.length;
  }

  /** Payload bytes of the oldest buffered delivery; 0 when none is buffered. */
  get headBytes(): number {
    return this.messages[0]?.data.byteLength ?? 0;
  }

  /**
   * Takes up to `count` buffered deliveries, oldest first, and no more than `maxBytes` of payload;
   * with `atLeastOne`, the oldest one whatever its size.
   */
  take(count: number, maxBytes = Infinity, atLeastOne = true): JsMsg[] {
    let taken = 0;
    let bytes = 0;
    while (taken < count && taken < this.messages.length) {
      const size = this.messages[taken]!.data.byteLength;
      if (bytes + size > maxBytes && !(atLeastOne && taken === 0)) break;
      bytes += size;
      taken++;
    }
    this.bufferedBytes -= bytes;
    return this.messages.splice(0, taken);
  }

  /**
   * Makes sure pulls are open for `want` more messages, each waiting up to `waitMs` on the server,
   * and, with `wantBytes`, for no more than that many bytes beyond what is buffered or already
   * asked for. `needOne` (the claim holds nothing yet) opens a pull of one message when too few
   * bytes are left to be sure one fits, so a message larger than the budget still comes.
   */
  request(want: number, waitMs: number, wantBytes?: number, needOne = false): void {
    const missing = want - this.messages.length - this.requested;
    if (this.closed || missing <= 0 || Date.now() < this.retryAt) return;
    let limit: PullLimit;
    if (wantBytes === undefined) {
      limit = { messages: missing };
    } else {
      const room = wantBytes - this.bufferedBytes - this.reservedBytes;
      // The library asks for up to 100 messages with a byte limit; what a claim does not take waits here.
      const byBytes = { bytes: room + Math.min(missing, libraryBatch) * this.deliveryOverhead, messages: missing };
      if (room >= missing * this.largestDelivery) limit = { messages: missing };
      else if (room >= this.largestDelivery) limit = byBytes;
      else if (needOne && this.messages.length === 0 && this.requested === 0) limit = { messages: 1 };
      else if (room > 0 && !needOne) limit = byBytes;
      else return;
    }
    this.requested += limit.messages;
    const reserved = 'bytes' in limit ? limit.bytes : limit.messages * this.largestDelivery;
    this.reservedBytes += reserved;
    const expires = Math.min(longestPullMs, Math.max(minimumPullMs, Math.ceil(waitMs)));
    this.openUntil = Math.max(this.openUntil, Date.now() + expires);
    void this.pull(limit, reserved, expires);
  }

  private async pull(limit: PullLimit, reserved: number, expires: number): Promise<void> {
    let outstanding = limit.messages;
    let outstandingBytes = reserved;
    const byBytes = 'bytes' in limit;
    let pull: ConsumerMessages | undefined;
    try {
      this.consumer ??= this.context.client.consumers.get(this.context.names.queueStream, this.context.names.consumer);
      pull = await (await this.consumer).fetch(byBytes ? { max_bytes: limit.bytes, expires } : { max_messages: limit.messages, expires });
      this.pulls.add(pull);
      for await (const message of pull) {
        if (outstanding > 0) {
          outstanding--;
          this.requested--;
        }
        const released = Math.min(outstandingBytes, byBytes ? message.data.byteLength : this.largestDelivery);
        outstandingBytes -= released;
        this.reservedBytes -= released;
        if (this.closed) {
          message.nak();
          continue;
        }
        this.failure = undefined;
        this.messages.push(message);
        this.bufferedBytes += message.data.byteLength;
        this.wake();
      }
    } catch (error) {
      // Missed heartbeats end a pull on a busy machine; the next pull is the remedy, not an error.
      if (!/heartbeat/i.test(String((error as Error).message)) && !isSizeExceeded(error)) {
        this.consumer = undefined;
        this.failure = error;
        this.retryAt = Date.now() + retryAfterFailureMs;
      }
    } finally {
      if (pull !== undefined) this.pulls.delete(pull);
      this.requested -= outstanding;
      this.reservedBytes -= outstandingBytes;
      this.wake();
    }
  }

  /** Resolves on the next delivery or the end of a pull, at `until`, on abort, or on close. */
  wait(until: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || signal?.aborted === true || Date.now() >= until) return resolve();
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(finish);
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, until - Date.now()));
      this.waiters.add(finish);
      signal?.addEventListener('abort', finish);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /**
   * When the last pull this buffer opened ends on the server. A message given back before then
   * could be delivered to a pull of a queue that is closing (and counted as one more delivery).
   */
  get pullsOpenUntil(): number {
    return this.openUntil;
  }

  /** Tells the server the buffered deliveries are still wanted. */
  keepAlive(): void {
    for (const message of this.messages) message.working();
  }

  /** Gives back what is buffered and ends the pulls; later deliveries are given back as they come. */
  close(): void {
    this.closed = true;
    for (const message of this.messages.splice(0)) message.nak();
    this.bufferedBytes = 0;
    for (const pull of this.pulls) pull.stop();
    this.wake();
  }
}
