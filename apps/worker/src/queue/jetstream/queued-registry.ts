import type { QueueContext } from './queue-context.js';

/** One version of a message in the queued-ids bucket. */
interface VersionEntry {
  /** The generation (life) of the version that is queued. */
  g: string;
  /**
   * 1 until the copy is known to be stored: a worker that dies between writing the entry and
   * publishing leaves it, and whoever meets it publishes again (same `Nats-Msg-Id`).
   */
  u?: 1;
}

/** The entry of a message key: every version of the message that is queued, by version token. */
interface QueuedEntry {
  v: Record<string, VersionEntry>;
}

/** Names one version of one life of a message: what the registry's entries are about. */
export interface VersionRef {
  /** The message key (project and message id). */
  readonly dedupeKey: string;
  /** The version token (`''` for a message queued before versions). */
  readonly version: string;
  readonly generation: string;
}

/** What {@link QueuedRegistry.create} found. */
export type CreateResult =
  /** This version is now listed; `others` when other versions of the message were listed already. */
  | { readonly outcome: 'created'; readonly revision: number; readonly written: QueuedEntry; readonly others: boolean }
  /** This version is queued already, as `entry`. */
  | { readonly outcome: 'queued'; readonly entry: VersionEntry; readonly revision: number }
  /** The entry cannot be read (damaged, or not written by sentcopy): nothing was changed. */
  | { readonly outcome: 'damaged' };

const decoder = new TextDecoder();
const isVersionEntry = (value: unknown): value is VersionEntry => typeof value === 'object' && value !== null && typeof (value as VersionEntry).g === 'string';

function parse(value: Uint8Array): QueuedEntry | undefined {
  try {
    const parsed = JSON.parse(decoder.decode(value)) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    // An entry written before versions: one version whose content the key does not name.
    if (isVersionEntry(parsed)) return { v: { '': { g: parsed.g, ...(parsed.u === 1 ? { u: 1 as const } : {}) } } };
    const versions = (parsed as QueuedEntry).v;
    if (typeof versions !== 'object' || versions === null || !Object.values(versions).every(isVersionEntry)) return undefined;
    return { v: versions };
  } catch {
    return undefined;
  }
}

const encode = (entry: QueuedEntry) => JSON.stringify(entry);
const attemptsOnContention = 8;

/**
 * The queued-ids bucket: one entry per message key (project and message id) while any version of
 * it is queued (ready, held or claimed), listing each queued version (payload hash) with its
 * generation, so that submitting a version again answers `duplicate` however long it waits, and a
 * different content under the key is told apart as a new version. Keyed by message key rather than
 * by version because a lookup by key prefix (`key.*`) walks every key on the server (nats-server
 * 2.9 scans for wildcard lookups), while an exact key is one index lookup; versions of one message
 * id are rare, so the compare-and-set their entry needs almost never contends. Entries are created
 * exclusively and changed only at the revision read; the last version's removal deletes the stored
 * message, which leaves no tombstone, so the bucket holds only what is queued.
 */
export class QueuedRegistry {
  private readonly toForget: VersionRef[] = [];
  private forgetting: Promise<void> | undefined;

  constructor(private readonly context: QueueContext) {}

  /**
   * Removes entries in the background, one at a time: each removal is a JetStream API call, and
   * a burst of them (one per archived message) slows the server's API for everything else.
   */
  forgetLater(ref: VersionRef, onError: (error: unknown) => void): void {
    this.toForget.push(ref);
    this.forgetting ??= (async () => {
      for (let next = this.toForget.shift(); next !== undefined; next = this.toForget.shift()) {
        await this.forget(next).catch(onError);
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

  /** Lists this version of the message as queued (marked unpublished), unless it is listed already. */
  async create(ref: VersionRef): Promise<CreateResult> {
    const { queued } = this.context;
    const mine: VersionEntry = { g: ref.generation, u: 1 };
    for (let attempt = 1; ; attempt++) {
      const fresh: QueuedEntry = { v: { [ref.version]: mine } };
      try {
        return { outcome: 'created', revision: await queued.create(ref.dedupeKey, encode(fresh)), written: fresh, others: false };
      } catch (error) {
        const found = await queued.get(ref.dedupeKey);
        if (found === null || found.operation !== 'PUT') {
          // The entry was removed meanwhile (its last version just settled): try again on what is there now.
          if (attempt === attemptsOnContention) throw error;
          continue;
        }
        const entry = parse(found.value);
        if (entry === undefined) return { outcome: 'damaged' };
        const existing = entry.v[ref.version];
        if (existing !== undefined) return { outcome: 'queued', entry: existing, revision: found.revision };
        const written: QueuedEntry = { v: { ...entry.v, [ref.version]: mine } };
        try {
          return { outcome: 'created', revision: await queued.update(ref.dedupeKey, encode(written), found.revision), written, others: true };
        } catch (updateError) {
          // Another version was added or settled since the read: read again.
          if (attempt === attemptsOnContention) throw updateError;
        }
      }
    }
  }

  /** The entry, with its revision; `entry` is `undefined` when it cannot be read. */
  async read(dedupeKey: string): Promise<{ entry: QueuedEntry | undefined; revision: number } | undefined> {
    const found = await this.context.queued.get(dedupeKey);
    if (found === null || found.operation !== 'PUT') return undefined;
    return { entry: parse(found.value), revision: found.revision };
  }

  /**
   * Clears the unpublished mark once the copy is stored. Tries the entry as `create` wrote it
   * (`written`, at `revision`) first, one call; when another version changed it since, reads it again. Best effort: a mark left
   * only makes a resubmission publish the same copy again (the same `Nats-Msg-Id`).
   */
  async confirm(ref: VersionRef, revision: number, written?: QueuedEntry): Promise<void> {
    const confirmed = (entry: QueuedEntry): QueuedEntry => ({ v: { ...entry.v, [ref.version]: { g: ref.generation } } });
    if (written !== undefined) {
      const updated = await this.context.queued.update(ref.dedupeKey, encode(confirmed(written)), revision).then(
        () => true,
        () => false,
      );
      // Otherwise changed since create: read below.
      if (updated) return;
    }
    for (let attempt = 1; attempt < attemptsOnContention; attempt++) {
      const found = await this.read(ref.dedupeKey).catch(() => undefined);
      const current = found?.entry?.v[ref.version];
      if (found === undefined || found.entry === undefined || current === undefined || current.g !== ref.generation || current.u === undefined) return;
      const updated = await this.context.queued.update(ref.dedupeKey, encode(confirmed(found.entry)), found.revision).then(
        () => true,
        () => false,
      );
      if (updated) return;
    }
  }

  /** Whether this generation of this version is still queued (not settled, not replaced by a replay). */
  async isCurrent(ref: VersionRef): Promise<boolean> {
    const found = await this.read(ref.dedupeKey);
    // A damaged entry keeps the message: losing it would be worse than a duplicate attempt.
    return found !== undefined && (found.entry === undefined || found.entry.v[ref.version]?.g === ref.generation);
  }

  /**
   * Removes this generation of this version from the entry, and the entry with its last version,
   * without leaving a tombstone. A damaged entry is left alone: it may stand for messages still
   * queued, which it keeps current (see {@link isCurrent}).
   */
  async forget(ref: VersionRef): Promise<void> {
    const { manager, names, queued } = this.context;
    // The entry may change (a new revision: the unpublished mark cleared, another version added)
    // between the read and the write, which then fails: read again. A write that succeeds was made
    // on the latest revision, so nothing of this generation is left.
    for (let attempt = 0; attempt < attemptsOnContention; attempt++) {
      const found = await this.read(ref.dedupeKey);
      if (found === undefined || found.entry === undefined || found.entry.v[ref.version]?.g !== ref.generation) return;
      const { [ref.version]: _mine, ...others } = found.entry.v;
      const done =
        Object.keys(others).length === 0
          ? await manager.streams.deleteMessage(`KV_${names.queuedBucket}`, found.revision, false).catch(() => false)
          : await queued.update(ref.dedupeKey, encode({ v: others }), found.revision).then(
              () => true,
              () => false,
            );
      if (done) return;
    }
  }

  /**
   * What the archived-ids bucket remembers of the message within the de-duplication window: `same`
   * when this version was archived, `other` when another version of it was.
   */
  async archivedState(dedupeKey: string, version: string): Promise<{ same: boolean; other: boolean }> {
    const { archived } = this.context;
    if (archived === undefined) return { same: false, other: false };
    // The mark of the message key is written with every version's and outlives it, so a message
    // never archived (the common case) costs one lookup.
    const any = await archived.get(dedupeKey);
    if (any === null || any.operation !== 'PUT') return { same: false, other: false };
    // A message queued before versions left an empty mark; a mark of a version says nothing of it
    // (taking it for archived could leave it unrepaired, while the opposite costs one more write).
    if (version === '') return { same: any.value.byteLength === 0, other: false };
    const same = (await archived.get(archivedKey(dedupeKey, version)))?.operation === 'PUT';
    // A mark written before versions (empty) says nothing of which content was archived.
    return { same, other: !same && any.value.byteLength > 0 };
  }

  /** Whether this version was archived within the de-duplication window. */
  async wasArchived(dedupeKey: string, version: string): Promise<boolean> {
    return (await this.archivedState(dedupeKey, version)).same;
  }

  /**
   * Remembers an archived version for the de-duplication window (the bucket's TTL bounds it): a
   * mark of the version, and a mark of the message key that says some version of it was archived.
   */
  async markArchived(dedupeKey: string, version: string): Promise<void> {
    const { archived } = this.context;
    if (archived === undefined) return;
    if (version === '') {
      await archived.put(dedupeKey, '');
      return;
    }
    // Both at once: until both are stored the message's queued entry is still there (it is
    // removed after this), which answers a resubmission on its own.
    await Promise.all([archived.put(archivedKey(dedupeKey, version), ''), archived.put(dedupeKey, 'v')]);
  }
}

/** The archived-ids key of one version. */
function archivedKey(dedupeKey: string, version: string): string {
  return `${dedupeKey}.${version}`;
}
