import type { Worker } from 'node:worker_threads';
import { DestinationError, startThreadWithProcessFlags, type DestinationV1, type OperationOptions, type PutObjectInput, type PutObjectResult } from '@sentcopy/core';
import type { WriteThreadData, WriteThreadError, WriteThreadMessage, WriteThreadRequest } from './write-thread-protocol.js';

/** How long writes stay on the calling thread after a write thread could not start, in milliseconds. */
export const writeThreadRetryMs = 30_000;

/** Options for {@link createWriteThread}. */
export interface WriteThreadOptions {
  /**
   * Told when a write thread cannot start (the destination cannot be built in a thread, or the
   * thread fails before it has answered), with a sentence saying why. Its writes, and those of the
   * next {@link writeThreadRetryMs}, run on the calling thread instead: nothing fails for it.
   */
  readonly onThreadError?: (error: Error) => void;
  /**
   * Told when a write thread that had been writing stops or fails (killed, out of memory, a crash
   * in the destination package), with a sentence saying why. The writes it held fail with a
   * {@link WriteThreadStoppedError}, and the next writes go to a new thread.
   */
  readonly onThreadStopped?: (error: Error) => void;
}

const stoppedMarker = Symbol.for('sentcopy.write-thread-stopped');

/**
 * How a write fails when the write thread holding it stopped: the write may or may not have reached
 * the destination, which did nothing wrong, so retry it without blaming the destination.
 */
export class WriteThreadStoppedError extends Error {
  private readonly [stoppedMarker] = true;

  constructor(message: string) {
    super(message);
    this.name = 'WriteThreadStoppedError';
  }

  /** True for a `WriteThreadStoppedError` from any copy of this package. */
  static isInstance(error: unknown): error is WriteThreadStoppedError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[stoppedMarker] === true;
  }
}

interface Pending {
  readonly input: PutObjectInput;
  readonly options: OperationOptions | undefined;
  readonly resolve: (result: PutObjectResult) => void;
  readonly reject: (error: unknown) => void;
  /** Set while the write can be aborted: stops listening to its signal. */
  unlisten?: () => void;
}

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  /** Writes not posted yet (posted once per turn of the event loop). */
  batch: (readonly [number, PutObjectInput, boolean])[];
  /** Whether the destination was built in the thread. */
  ready: boolean;
}

// Built sources live next to the thread entry; tests that run the TypeScript sources use the built one.
function threadModule(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('../../dist/write-thread.js', import.meta.url) : new URL('./write-thread.js', import.meta.url);
}

function errorFrom(fields: WriteThreadError): Error {
  if (fields.destination) {
    const { kind, message, provider, key, status, code, retryAfterMs } = fields;
    return new DestinationError({
      kind,
      message,
      ...(provider === undefined ? {} : { provider }),
      ...(key === undefined ? {} : { key }),
      ...(status === undefined ? {} : { status }),
      ...(code === undefined ? {} : { code }),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  const error = Object.assign(new Error(fields.message), fields.code === undefined ? {} : { code: fields.code });
  error.name = fields.name;
  return error;
}

/**
 * The thread's V8 heap. Its live set is the destination's client and the writes in flight (bodies
 * are buffers, outside the heap), so a small young generation and an old generation sized for it
 * make V8 collect early: with V8's defaults a thread's heap swelled to about 100 MB between
 * collections while draining (worker RSS 396–407 MiB against 351 MiB with these limits, same rate).
 */
const writeThreadHeap = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 256 };

/** Each write-thread view, and the destination it stands for. */
const views = new WeakMap<DestinationV1, DestinationV1>();

/**
 * The destination instance `destination` stands for: the one a write-thread view was made of, or
 * `destination` itself. Whatever tells instances apart (destination health) asks this first, so a
 * view's writes count for its destination.
 */
export function destinationBehind(destination: DestinationV1): DestinationV1 {
  return views.get(destination) ?? destination;
}

const sentence = (text: string) => (text.endsWith('.') ? text : `${text}.`);

/**
 * A view of `destination` whose writes (`put`) run on a worker thread, which builds its own instance
 * of the destination from the same configuration entry (`data`); every other call (probe, head,
 * get, list…) goes to `destination` itself. Signing and sending a write is most of what it costs the
 * thread that makes it, and a worker's main thread also runs the queue and the ledger.
 *
 * The same write semantics hold: the thread's destination is the same package with the same
 * settings, and its errors come back as the same `DestinationError` (kind, status, code,
 * Retry-After). A write whose thread stops fails with an error saying so (the queue retries it).
 * Closing the view stops the thread; it does not close `destination`.
 */
export function createWriteThread(destination: DestinationV1, data: WriteThreadData, options: WriteThreadOptions = {}): DestinationV1 {
  let thread: Thread | undefined;
  let failedAt: number | undefined;
  let closed = false;
  let nextId = 0;

  /** Writes a pending write on the calling thread instead. */
  function writeHere(entry: Pending): void {
    entry.unlisten?.();
    destination.put(entry.input, entry.options).then(entry.resolve, entry.reject);
  }

  /** Fails a pending write: with its caller's reason when its signal has aborted. */
  function fail(entry: Pending, error: Error): void {
    entry.unlisten?.();
    const signal = entry.options?.signal;
    entry.reject(signal?.aborted ? signal.reason : error);
  }

  function failThread(current: Thread, error: Error): void {
    if (thread !== current) return;
    thread = undefined;
    const entries = [...current.pending.values()];
    current.pending.clear();
    current.batch = [];
    void current.worker.terminate();
    if (!current.ready && !closed) {
      // It never wrote anything: its writes are made here, and a thread is tried again later.
      failedAt = Date.now();
      options.onThreadError?.(new Error(sentence(error.message), { cause: error }));
      for (const entry of entries) writeHere(entry);
      return;
    }
    if (!closed) options.onThreadStopped?.(new Error(sentence(error.message), { cause: error }));
    const stopped = new WriteThreadStoppedError(error.message);
    for (const entry of entries) fail(entry, stopped);
  }

  function startThread(): Thread {
    const worker = startThreadWithProcessFlags(threadModule(), { workerData: data, name: `sentcopy write thread (${data.name})`, resourceLimits: writeThreadHeap });
    const current: Thread = { worker, pending: new Map(), batch: [], ready: false };
    worker.on('message', (message: WriteThreadMessage) => {
      if (!Array.isArray(message)) {
        if ('error' in message) failThread(current, new Error(`Destination "${data.name}" cannot be built in a write thread: ${errorFrom(message.error).message}`));
        else current.ready = true;
        return;
      }
      for (const [id, result, failure] of message as readonly (readonly [number, PutObjectResult | undefined, WriteThreadError | undefined])[]) {
        const entry = current.pending.get(id);
        if (entry === undefined) continue;
        current.pending.delete(id);
        if (failure !== undefined) fail(entry, errorFrom(failure));
        else {
          entry.unlisten?.();
          entry.resolve(result as PutObjectResult);
        }
      }
      if (current.pending.size === 0) worker.unref();
    });
    worker.on('error', (error) => failThread(current, new Error(`The write thread of destination "${data.name}" failed: ${error.message}`)));
    worker.on('exit', (code) => failThread(current, new Error(`The write thread of destination "${data.name}" stopped unexpectedly (exit code ${code})`)));
    // After the listeners: adding a 'message' listener refs the worker again. It is referenced while writes are pending.
    worker.unref();
    return current;
  }

  function flush(current: Thread): void {
    if (thread !== current || current.batch.length === 0) return;
    const puts = current.batch;
    current.batch = [];
    try {
      current.worker.postMessage({ puts } satisfies WriteThreadRequest);
      current.worker.ref();
    } catch {
      // Something in a write cannot be posted (no input built by an archiver holds such a thing): these are written here.
      for (const [id] of puts) {
        const entry = current.pending.get(id);
        if (entry === undefined) continue;
        current.pending.delete(id);
        writeHere(entry);
      }
    }
  }

  function put(input: PutObjectInput, callOptions?: OperationOptions): Promise<PutObjectResult> {
    if (closed || (failedAt !== undefined && Date.now() - failedAt < writeThreadRetryMs)) return destination.put(input, callOptions);
    const signal = callOptions?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    let current: Thread;
    try {
      current = thread ??= startThread();
    } catch (error) {
      failedAt = Date.now();
      options.onThreadError?.(new Error(sentence(`A write thread for destination "${data.name}" could not start: ${(error as Error).message}`), { cause: error }));
      return destination.put(input, callOptions);
    }
    return new Promise<PutObjectResult>((resolve, reject) => {
      const id = nextId++;
      const entry: Pending = { input, options: callOptions, resolve, reject };
      current.pending.set(id, entry);
      // Posted as given (cloned by the post): an archiver's input holds the contract's fields only.
      const write = [id, input, signal !== undefined] as const;
      if (signal !== undefined) {
        const onAbort = () => {
          const index = current.batch.indexOf(write);
          if (index === -1) {
            // Posted: the thread aborts it, and its answer settles it.
            current.worker.postMessage({ abort: id } satisfies WriteThreadRequest);
            return;
          }
          current.batch.splice(index, 1);
          current.pending.delete(id);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        entry.unlisten = () => signal.removeEventListener('abort', onAbort);
      }
      if (current.batch.push(write) === 1) setImmediate(flush, current);
    });
  }

  async function close(): Promise<void> {
    closed = true;
    const current = thread;
    thread = undefined;
    if (current !== undefined) {
      for (const entry of current.pending.values()) {
        entry.unlisten?.();
        entry.reject(new Error(`The write thread of destination "${data.name}" was closed before the write was answered.`));
      }
      current.pending.clear();
      await current.worker.terminate();
    }
  }

  // Over an empty target: destinations are often frozen, and a proxy of a frozen object must answer with its own values.
  const bound = new Map<PropertyKey, unknown>();
  const view = new Proxy({} as DestinationV1, {
    get(_target, property) {
      if (property === 'put') return put;
      if (property === 'close') return close;
      const value = Reflect.get(destination, property, destination) as unknown;
      if (typeof value !== 'function') return value;
      if (!bound.has(property)) bound.set(property, value.bind(destination));
      return bound.get(property);
    },
    has: (_target, property) => Reflect.has(destination, property),
  });
  views.set(view, destination);
  return view;
}
