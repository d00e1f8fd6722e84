import type { ClaimedMessage } from '../queue/index.js';

/** A claimed message being handled. */
export interface InFlightEntry {
  readonly message: ClaimedMessage;
  readonly abort: AbortController;
  /** True once the entry holds a destination slot: from then on, stop() lets it finish first. */
  writing: boolean;
  /** Payload bytes counted against `maxBytesInFlight`, read at claim time (a buffer handed on may be detached later). */
  readonly bytes: number;
}

/**
 * The claims being handled and the budget they share: at most `maxInFlight` messages and
 * `maxBytesInFlight` payload bytes. The claim loop waits here for room.
 */
export class InFlightClaims {
  private readonly byLease = new Map<string, InFlightEntry>();
  private heldBytes = 0;
  private capacityWaiters: (() => void)[] = [];

  constructor(
    private readonly maxInFlight: number,
    private readonly maxBytesInFlight: number,
  ) {}

  get size(): number {
    return this.byLease.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  entries(): IterableIterator<InFlightEntry> {
    return this.byLease.values();
  }

  /** Whether another claim may start: a free place and payload bytes left. */
  hasRoom(): boolean {
    return this.byLease.size < this.maxInFlight && this.heldBytes < this.maxBytesInFlight;
  }

  /** What the next claim may take. */
  claimLimits(): { limit: number; maxBytes: number } {
    return { limit: this.maxInFlight - this.byLease.size, maxBytes: this.maxBytesInFlight - this.heldBytes };
  }

  /** Counts a claimed message in; `aborted` is the reason it is to be given back at once (a stop under way). */
  add(message: ClaimedMessage, aborted?: Error): InFlightEntry {
    const entry: InFlightEntry = { message, abort: new AbortController(), writing: false, bytes: message.payload.byteLength };
    if (aborted !== undefined) entry.abort.abort(aborted);
    this.byLease.set(message.leaseId, entry);
    this.heldBytes += entry.bytes;
    return entry;
  }

  /** Counts a handled message out, and wakes whoever waits for room. */
  remove(entry: InFlightEntry): void {
    this.byLease.delete(entry.message.leaseId);
    this.heldBytes -= entry.bytes;
    this.wake();
  }

  /** Resolves the next time a message is counted out (or {@link wake} is called). */
  capacityFreed(): Promise<void> {
    return new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
  }

  /** Wakes every waiter, e.g. so a stopping loop sees that it stops. */
  wake(): void {
    const waiting = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const resolve of waiting) resolve();
  }

  /** Waits until no message is in flight, or `ms` milliseconds have passed. */
  async waitUntilIdle(ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    while (this.byLease.size > 0) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.capacityFreed(), new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining)))]);
      clearTimeout(timer);
    }
  }
}
