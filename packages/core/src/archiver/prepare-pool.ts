import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { getCodec, type Codec } from '../codecs/index.js';
import type { KeyLayout } from '../key-layout/index.js';
import { recipientKeyOf } from '../key-layout/compile-key-layout.js';
import { ledgerMessageFacts, type LedgerMessageFacts } from '../ledger/index.js';
import { MessageValidationError, type Channel, type ValidationIssue } from '../payload/index.js';
import { profiles, type Profile } from '../profiles/index.js';
import { readMessageJson } from '../payload/index.js';
import { archiveMetadata, derivedFields, parseInput, prepareHere, type PreparedObject } from './prepare-object.js';
import { startThreadWithProcessFlags } from '../threads/index.js';
import { rememberLedgerFacts } from './prepared-ledger-facts.js';

/** Options for {@link createPreparePool}. */
export interface PreparePoolOptions {
  /** How many worker threads prepare messages. @default one less than the available cores, at least 1 and at most 4 */
  readonly threads?: number;
  /**
   * Most bytes of JSON input (messages given as bytes) being prepared on the threads at once, in
   * bytes. Preparing holds a few times a message's size (its text, the parsed message, the rendered
   * JSON, the compressed object), so without a bound a burst of large emails (tens of MB each, e.g.
   * 64 claimed from a queue) would be held, and multiplied, all at once. Messages beyond the budget
   * wait, unread, in the calling thread, in order; a message larger than the whole budget is
   * prepared alone. Messages given as objects count 0 bytes. @default 67108864 (64 MiB)
   */
  readonly maxBytesInFlight?: number;
  /**
   * Called when a thread cannot start (e.g. the process runs with flags Node refuses in a thread, or
   * the thread's module cannot load), with an error whose message ends with a full stop. Nothing is
   * lost: the pool prepares on the calling thread meanwhile and tries a thread again after
   * {@link prepareThreadRetryMs}. Say it loudly from here (a log).
   * @default none
   */
  readonly onThreadError?: (error: Error) => void;
}

/** How long a pool whose thread could not start prepares on the calling thread before it tries a thread again, in milliseconds. */
export const prepareThreadRetryMs = 30_000;

/** What a pool prepares messages with: a built-in profile and codec, and any key layout. */
export interface PrepareSettings {
  readonly profile: Profile;
  readonly layout: KeyLayout;
  readonly codec: Codec;
}

/**
 * Worker threads that validate, render, encode and hash messages, so that the thread that writes
 * to the destination spends its time writing. One pool serves any number of archivers (pass it
 * as `preparePool` to `createArchiver`). Idle threads do not keep the process alive.
 */
export interface PreparePool {
  /** Number of worker threads. */
  readonly threads: number;
  /**
   * A `prepare()` that runs on the pool. Throws a `TypeError` when the profile or codec is not a
   * built-in one (a custom one cannot be sent to a thread).
   */
  preparer(settings: PrepareSettings): (input: unknown) => Promise<PreparedObject>;
  /** Bytes of JSON input being prepared on the threads now (at most `maxBytesInFlight`, or one message larger than it). */
  bytesInFlight(): number;
  /** Stops the threads; preparations still running reject. Idempotent. */
  close(): Promise<void>;
}

/** What a thread prepares with; sent once per batch, not per message. */
export interface PrepareWireSettings {
  readonly profile: string;
  readonly layout: string;
  /** The layout's `recipientKey` in hex, when it has one. */
  readonly recipientKey?: string;
  readonly codec: string;
}

/**
 * One batch sent to a thread, as parallel arrays: structured clone writes every property name of
 * every object again, and on the thread that writes (this one) that cost more than the bodies.
 */
export interface PrepareBatch {
  readonly settings: readonly PrepareWireSettings[];
  readonly ids: readonly number[];
  /** Index into `settings`, per message. */
  readonly settingIndexes: readonly number[];
  readonly inputs: readonly unknown[];
}

/**
 * A thread's answer for one prepared message, as a tuple: id, key, sha256, contentSha256,
 * messageId, projectId, channel, body (transferred), the fields read from `raw_mime` (or `null`),
 * and what the ledger entry takes from the message (normalized recipients, `sent_at`, the listed
 * ids). Content type, encoding and metadata follow from the settings and are rebuilt here.
 */
export type PreparedReply = readonly [
  id: number,
  key: string,
  sha256: string,
  contentSha256: string,
  messageId: string,
  projectId: string,
  channel: string,
  body: Uint8Array,
  derived: Readonly<Record<string, unknown>> | null,
  recipients: readonly string[],
  sentAt: number,
  ledgerFields: Readonly<Record<string, string>>,
];

/** A thread's answer for a message it could not prepare. */
export interface FailedReply {
  readonly id: number;
  readonly name: string;
  readonly message: string;
  readonly issues?: readonly ValidationIssue[];
}

/** A thread's answers for one batch. */
export type PrepareReply = PreparedReply | FailedReply;

type Prepared = { prepared: Omit<PreparedObject, 'message'>; derived?: Readonly<Record<string, unknown>>; facts: LedgerMessageFacts };

interface Pending {
  readonly id: number;
  readonly settings: PrepareWireSettings;
  /** What is sent to the thread: JSON bytes as a copy, transferred with the batch. */
  readonly input: unknown;
  /** The caller's input, intact after a transfer: what is prepared here if the thread cannot. */
  readonly original: unknown;
  readonly codec: Codec;
  readonly profile: string;
  readonly resolve: (result: Prepared) => void;
  readonly reject: (error: unknown) => void;
  readonly local: (input: unknown) => Promise<PreparedObject>;
}

interface Lane {
  worker: Worker;
  readonly pending: Map<number, Pending>;
  batch: Pending[];
  /** Whether the thread has answered once: until then, a failure means it could not start. */
  answered: boolean;
}

function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

// Built sources live next to the thread entry; tests that run the TypeScript sources use the built one.
function threadModule(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('../../dist/prepare-thread.js', import.meta.url) : new URL('./prepare-thread.js', import.meta.url);
}

function replyError(reply: FailedReply): Error {
  if (reply.issues !== undefined) return new MessageValidationError(reply.issues);
  const error = new Error(reply.message);
  error.name = reply.name;
  return error;
}

function preparedFrom(reply: PreparedReply, entry: Pending): Prepared {
  const [, key, sha256, contentSha256, messageId, projectId, channel, body, derived, recipients, sentAt, fields] = reply;
  const codec = entry.codec;
  const prepared: Omit<PreparedObject, 'message'> = {
    messageId,
    projectId,
    channel: channel as PreparedObject['channel'],
    key,
    body,
    sha256,
    contentSha256,
    contentType: codec.contentType,
    ...(codec.contentEncoding === undefined ? {} : { contentEncoding: codec.contentEncoding }),
    metadata: archiveMetadata(entry.profile, channel, contentSha256),
  };
  const facts: LedgerMessageFacts = { messageId, projectId, channel: channel as Channel, recipients, fields, sentAt };
  return derived === null ? { prepared, facts } : { prepared, derived, facts };
}

/**
 * The thread keeps the parsed message; it is parsed again here only if someone reads it, with the
 * fields the thread read from `raw_mime` (`derived`), which cannot be read here synchronously.
 */
function withLazyMessage(prepared: Omit<PreparedObject, 'message'>, input: unknown, derived: Readonly<Record<string, unknown>> | undefined): PreparedObject {
  let message: PreparedObject['message'] | undefined;
  const read = () => {
    if (derived === undefined) return parseInput(input);
    const value = input instanceof Uint8Array ? readMessageJson(input) : input;
    return parseInput({ ...(value as Record<string, unknown>), ...derived });
  };
  return Object.defineProperty({ ...prepared }, 'message', {
    enumerable: true,
    get: () => (message ??= read()),
  }) as PreparedObject;
}

/** Starts a pool of threads that prepare messages for archivers (see {@link PreparePool}). */
export function createPreparePool(options: PreparePoolOptions = {}): PreparePool {
  const threads = options.threads ?? defaultThreads();
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > 64) throw new RangeError('Invalid prepare pool options: threads must be a whole number from 1 to 64.');
  const maxBytesInFlight = options.maxBytesInFlight ?? 64 * 1024 * 1024;
  if (!Number.isSafeInteger(maxBytesInFlight) || maxBytesInFlight < 1) throw new RangeError('Invalid prepare pool options: maxBytesInFlight must be a whole number of bytes, 1 or more.');
  let bytesInFlight = 0;
  /** Preparations waiting for room in the byte budget, in order of arrival. */
  const waiting: { readonly bytes: number; readonly start: () => void }[] = [];
  const startWaiting = () => {
    while (waiting.length > 0 && (bytesInFlight === 0 || bytesInFlight + (waiting[0] as { bytes: number }).bytes <= maxBytesInFlight)) {
      const next = waiting.shift() as { bytes: number; start: () => void };
      bytesInFlight += next.bytes;
      next.start();
    }
  };
  /** Runs `task` once its bytes fit in the budget (at once when nothing else is in flight), and frees them when it settles. */
  const withinBudget = <T>(bytes: number, task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const start = () =>
        task()
          .then(resolve, reject)
          .finally(() => {
            bytesInFlight -= bytes;
            startWaiting();
          });
      waiting.push({ bytes, start });
      startWaiting();
    });
  const lanes: (Lane | undefined)[] = Array.from({ length: threads }, () => undefined);
  let nextId = 0;
  let closed = false;
  let flushScheduled = false;

  /** When a thread last could not start; until {@link prepareThreadRetryMs} after it, messages are prepared here. */
  let threadFailedAt: number | undefined;
  const threadsUsable = () => threadFailedAt === undefined || Date.now() - threadFailedAt >= prepareThreadRetryMs;
  const threadFailed = (error: Error) => {
    threadFailedAt = Date.now();
    // Told as a sentence, so that a caller can say what it does about it after it.
    options.onThreadError?.(error.message.endsWith('.') ? error : new Error(`${error.message}.`, { cause: error }));
  };

  /** Prepares one message on this thread, as a thread would have. */
  function prepareLocally(entry: Pick<Pending, 'original' | 'local' | 'resolve' | 'reject'>): void {
    // Through a promise: a message the local preparer refuses throws synchronously.
    new Promise<PreparedObject>((resolve) => resolve(entry.local(entry.original))).then(({ message, ...prepared }) => {
      const derived = derivedFields(message);
      entry.resolve({ prepared, ...(derived === undefined ? {} : { derived }), facts: ledgerMessageFacts(message) });
    }, entry.reject);
  }

  function failLane(index: number, lane: Lane, error: Error): void {
    // A thread that fails emits 'error' and then 'exit': the first says why and takes the lane out of use.
    if (lanes[index] !== lane) return;
    lanes[index] = undefined;
    const entries = [...lane.pending.values(), ...lane.batch];
    lane.pending.clear();
    lane.batch = [];
    // A thread that never answered could not start: its messages are prepared here instead.
    // One that has answered failed while preparing (a message may be the cause): they fail, and the caller retries them.
    if (!lane.answered && !closed) {
      threadFailed(error);
      for (const entry of entries) prepareLocally(entry);
      return;
    }
    for (const entry of entries) entry.reject(error);
  }

  function startLane(index: number): Lane {
    const worker = startThreadWithProcessFlags(threadModule());
    const lane: Lane = { worker, pending: new Map(), batch: [], answered: false };
    worker.on('message', (replies: PrepareReply[]) => {
      lane.answered = true;
      for (const reply of replies) {
        const ok = Array.isArray(reply);
        const id = ok ? (reply as PreparedReply)[0] : (reply as FailedReply).id;
        const entry = lane.pending.get(id);
        if (entry === undefined) continue;
        lane.pending.delete(id);
        if (ok) entry.resolve(preparedFrom(reply as PreparedReply, entry));
        else entry.reject(replyError(reply as FailedReply));
      }
      if (lane.pending.size === 0) worker.unref();
    });
    worker.on('error', (error) => failLane(index, lane, new Error(`A prepare thread failed: ${error.message}`)));
    worker.on('exit', (code) => failLane(index, lane, new Error(closed ? 'The prepare pool was closed.' : `A prepare thread stopped unexpectedly (exit code ${code}).`)));
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    lanes[index] = lane;
    return lane;
  }

  /** Posts `batch` to the lane's thread; `false` when something in it cannot be cloned (nothing is sent then). */
  function post(lane: Lane, batch: readonly Pending[]): boolean {
    const settings: PrepareWireSettings[] = [];
    const settingIndexes: number[] = [];
    const ids: number[] = [];
    const inputs: unknown[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const entry of batch) {
      let index = settings.indexOf(entry.settings);
      if (index < 0) index = settings.push(entry.settings) - 1;
      settingIndexes.push(index);
      ids.push(entry.id);
      inputs.push(entry.input);
      if (entry.input instanceof Uint8Array) transfer.push(entry.input.buffer as ArrayBuffer);
    }
    const message: PrepareBatch = { settings, ids, settingIndexes, inputs };
    try {
      lane.worker.postMessage(message, transfer);
      return true;
    } catch {
      return false;
    }
  }

  function flush(): void {
    flushScheduled = false;
    for (const lane of lanes) {
      if (lane === undefined || lane.batch.length === 0) continue;
      const batch = lane.batch;
      lane.batch = [];
      if (post(lane, batch)) {
        lane.worker.ref();
        continue;
      }
      // Something in the batch cannot be cloned: a function or symbol (no valid message holds one),
      // or a JsonNumber (it refuses to be cloned into a plain object). Send each message on its own
      // and prepare the ones that still cannot go here, where validation names the field and
      // JsonNumbers keep their text.
      let posted = false;
      for (const entry of batch) {
        if (post(lane, [entry])) {
          posted = true;
          continue;
        }
        lane.pending.delete(entry.id);
        prepareLocally(entry);
      }
      if (posted) lane.worker.ref();
    }
  }

  function leastBusy(): Lane {
    let best: Lane | undefined;
    for (let index = 0; index < lanes.length; index++) {
      const lane = lanes[index] ?? startLane(index);
      if (best === undefined || lane.pending.size < best.pending.size) best = lane;
    }
    return best as Lane;
  }

  return {
    threads,
    preparer({ profile, layout, codec }) {
      if (!Object.hasOwn(profiles, profile.name) || profiles[profile.name as keyof typeof profiles] !== profile)
        throw new TypeError(`A prepare pool needs a built-in profile; "${profile.name}" is a custom one. Prepare on the calling thread instead (no preparePool).`);
      if (getCodec(codec.name) !== codec) throw new TypeError(`A prepare pool needs a built-in codec; "${codec.name}" is a custom one. Prepare on the calling thread instead (no preparePool).`);
      const local = prepareHere(profile, layout, codec);
      const keyBytes = recipientKeyOf(layout);
      const recipientKey = keyBytes === undefined ? undefined : Buffer.from(keyBytes).toString('hex');
      // One object per preparer: a batch sends each distinct one once.
      const settings: PrepareWireSettings = { profile: profile.name, layout: layout.template, ...(recipientKey === undefined ? {} : { recipientKey }), codec: codec.name };
      return (input) =>
        withinBudget(
          input instanceof Uint8Array ? input.byteLength : 0,
          () =>
            new Promise<Prepared>((resolve, reject) => {
              if (closed) {
                reject(new Error('The prepare pool was closed.'));
                return;
              }
              let lane: Lane | undefined;
              if (threadsUsable()) {
                try {
                  lane = leastBusy();
                } catch (error) {
                  threadFailed(new Error(`A prepare thread could not start: ${(error as Error).message}`));
                }
              }
              if (lane === undefined) {
                prepareLocally({ original: input, local, resolve, reject });
                return;
              }
              // JSON bytes travel as a private copy that is transferred, not cloned: cheaper, and the caller's buffer stays usable.
              const sent = input instanceof Uint8Array ? new Uint8Array(input) : input;
              const entry: Pending = { id: nextId++, settings, input: sent, original: input, codec, profile: profile.name, resolve, reject, local };
              lane.pending.set(entry.id, entry);
              lane.batch.push(entry);
              if (!flushScheduled) {
                flushScheduled = true;
                setImmediate(flush);
              }
            }),
        ).then(({ prepared, derived, facts }) => rememberLedgerFacts(withLazyMessage(prepared, input, derived), facts));
    },
    bytesInFlight: () => bytesInFlight,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(lanes.map((lane) => lane?.worker.terminate()));
    },
  };
}
