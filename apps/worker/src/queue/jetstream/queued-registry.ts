import type { QueueContext } from './queue-context.js';

/** The entry of a queued message in the queued-ids bucket. */
interface QueuedEntry {
  /** The generation (life) of the message that is queued. */
  g: string;
  /**
   * 1 until the copy is known to be stored: a worker that dies between writing the entry and
   * publishing leaves it, and whoever meets it publishes again (same `Nats-Msg-Id`).
   */
  u?: 1;
}

const decoder = new TextDecoder();

function parse(value: Uint8Array): QueuedEntry | undefined {
  try {
    const parsed = JSON.parse(decoder.decode(value)) as QueuedEntry;
    return typeof parsed === 'object' && parsed !== null && typeof parsed.g === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The queued-ids bucket: one entry per message that is queued (ready, held or claimed), so that
 * submitting it again answers `duplicate` however long it waits. Each entry has one writer at a
 * time: `enqueue`/replay creates it (create fails when it exists), the settling worker removes it.
 * Entries are removed by deleting the stored message, which leaves no tombstone behind, so the
 * bucket holds only what is queued.
 */
export class QueuedRegistry {
  private readonly toForget: { dedupeKey: string; generation: string }[] = [];
  private forgetting: Promise<void> | undefined;

  constructor(private readonly context: QueueContext) {}

  /**
   * Removes entries in the background, one at a time: each removal is a JetStream API call, and
   * a burst of them (one per archived message) slows the server's API for everything else.
   */
  forgetLater(dedupeKey: string, generation: string, onError: (error: unknown) => void): void {
    this.toForget.push({ dedupeKey, generation });
    this.forgetting ??= (async () => {
      for (let next = this.toForget.shift(); next !== undefined; next = this.toForget.shift()) {
        await this.forget(next.dedupeKey, next.generation).catch(onError);
      }
      this.forgetting = undefined;
    })();
  }

  /** How many removals wait in the background. */
  get pendingRemovals(): number {
    return this.toForget.length;
  }

  /** Waits for the background removals, at most `ms` milliseconds. */
  async settle(ms: number): Promise<void> {
    if (this.forgetting === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.forgetting, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /** Creates the entry; its revision, or `undefined` when the message is already queued. */
  async create(dedupeKey: string, generation: string): Promise<number | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.context.queued.create(dedupeKey, JSON.stringify({ g: generation, u: 1 } satisfies QueuedEntry));
      } catch (error) {
        const existing = await this.context.queued.get(dedupeKey);
        if (existing?.operation === 'PUT') return undefined;
        // The entry was removed meanwhile (its message just settled): try again on what is there now.
        if (attempt === 5) throw error;
      }
    }
  }

  /** The entry, with its revision. */
  async read(dedupeKey: string): Promise<{ entry: QueuedEntry | undefined; revision: number } | undefined> {
    const found = await this.context.queued.get(dedupeKey);
    if (found === null || found.operation !== 'PUT') return undefined;
    return { entry: parse(found.value), revision: found.revision };
  }

  /** Clears the unpublished mark once the copy is stored, unless someone rewrote the entry since. */
  async confirm(dedupeKey: string, generation: string, revision: number): Promise<void> {
    await this.context.queued.update(dedupeKey, JSON.stringify({ g: generation } satisfies QueuedEntry), revision).catch(() => undefined);
  }

  /** Whether this generation of the message is still queued (not settled, not replaced by a replay). */
  async isCurrent(dedupeKey: string, generation: string): Promise<boolean> {
    const found = await this.read(dedupeKey);
    // A damaged entry keeps the message: losing it would be worse than a duplicate attempt.
    return found !== undefined && (found.entry === undefined || found.entry.g === generation);
  }

  /** Removes the entry of this generation, without leaving a tombstone. */
  async forget(dedupeKey: string, generation: string): Promise<void> {
    // The unpublished mark may be cleared (a new revision) between the read and the delete: read again
    // until no entry of this generation is left.
    for (let attempt = 0; attempt < 5; attempt++) {
      const found = await this.read(dedupeKey);
      if (found === undefined || (found.entry !== undefined && found.entry.g !== generation)) return;
      await this.context.manager.streams.deleteMessage(`KV_${this.context.names.queuedBucket}`, found.revision, false).catch(() => false);
    }
  }

  /** Whether the message was archived within the de-duplication window. */
  async wasArchived(dedupeKey: string): Promise<boolean> {
    if (this.context.archived === undefined) return false;
    const entry = await this.context.archived.get(dedupeKey);
    return entry?.operation === 'PUT';
  }

  /** Remembers an archived message for the de-duplication window (the bucket's TTL bounds it). */
  async markArchived(dedupeKey: string): Promise<void> {
    await this.context.archived?.put(dedupeKey, '');
  }
}
