import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { QueueContext } from './queue-context.js';

// The library's shortest pull; a claim that wants less time returns earlier and leaves the pull
// running, its deliveries kept here (and kept alive) for the next claim.
const minimumPullMs = 1_000;
const longestPullMs = 30_000;
const retryAfterFailureMs = 500;

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
  private openUntil = 0;
  private retryAt = 0;
  private closed = false;
  /** The last failure of a pull, cleared by the next delivery. */
  failure: unknown;

  constructor(private readonly context: QueueContext) {}

  get size(): number {
    return this.messages.length;
  }

  /** Takes up to `count` buffered deliveries, oldest first. */
  take(count: number): JsMsg[] {
    return this.messages.splice(0, count);
  }

  /** Makes sure pulls are open for `want` more messages, each waiting up to `waitMs` on the server. */
  request(want: number, waitMs: number): void {
    const missing = want - this.messages.length - this.requested;
    if (this.closed || missing <= 0 || Date.now() < this.retryAt) return;
    this.requested += missing;
    const expires = Math.min(longestPullMs, Math.max(minimumPullMs, Math.ceil(waitMs)));
    this.openUntil = Math.max(this.openUntil, Date.now() + expires);
    void this.pull(missing, expires);
  }

  private async pull(count: number, expires: number): Promise<void> {
    let outstanding = count;
    let pull: ConsumerMessages | undefined;
    try {
      this.consumer ??= this.context.client.consumers.get(this.context.names.queueStream, this.context.names.consumer);
      pull = await (await this.consumer).fetch({ max_messages: count, expires });
      this.pulls.add(pull);
      for await (const message of pull) {
        outstanding--;
        this.requested--;
        if (this.closed) {
          message.nak();
          continue;
        }
        this.failure = undefined;
        this.messages.push(message);
        this.wake();
      }
    } catch (error) {
      // Missed heartbeats end a pull on a busy machine; the next pull is the remedy, not an error.
      if (!/heartbeat/i.test(String((error as Error).message))) {
        this.consumer = undefined;
        this.failure = error;
        this.retryAt = Date.now() + retryAfterFailureMs;
      }
    } finally {
      if (pull !== undefined) this.pulls.delete(pull);
      this.requested -= outstanding;
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
    for (const pull of this.pulls) pull.stop();
    this.wake();
  }
}
