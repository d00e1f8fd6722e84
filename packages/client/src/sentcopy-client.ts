import { backoffDelay, retryAfterMs } from './backoff.js';
import type { ArchiveOptions, ClientHealth, CloseOptions, CloseReport, SentcopyClientOptions, UndeliveredMessage } from './client-options.js';
import { ArchiveFailedError, BufferFullError, ClientClosedError, MessageRejectedError, SentcopyClientError, UndeliveredError, WorkerRefusedError, WorkerUnavailableError } from './errors.js';
import type { ArchiveResult, ClientMessage, FieldError, MessageInput, SendResult } from './results.js';

/** A message the client holds until the worker answers for it. */
interface Entry {
  readonly sequence: number;
  /** The message's JSON text; the message itself is not kept, so the buffer holds what its bound counts. */
  readonly bytes: Bytes;
  /** Whether the caller gave text (handed back as text) rather than an object. */
  readonly text: boolean;
  readonly messageId: string | undefined;
  readonly promise: Promise<SendResult>;
  readonly resolve: (result: SendResult) => void;
  readonly reject: (error: SentcopyClientError) => void;
  settled: boolean;
}

/** A request's worth of entries. */
interface Batch {
  readonly entries: Entry[];
  /** Set when `close()` gave up on it, so a late answer changes nothing. */
  abandoned: boolean;
}

/** Why a request failed in a way that sending again can fix. */
interface RetryableProblem {
  readonly problem: string;
  readonly retryAfterMs: number | undefined;
}

/** The worker's error answer: `{ "error": { "code", "message", … } }`. */
interface WorkerError {
  readonly code: string;
  readonly message: string;
  readonly details: Record<string, unknown>;
}

/** Bytes on their own ArrayBuffer, which is what fetch takes as a body. */
type Bytes = Uint8Array<ArrayBuffer>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const comma = 0x2c;
const noop = () => undefined;
const retryableStatuses = new Set([408, 425, 429, 500, 502, 503, 504]);

function positiveInteger(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`options.${name} must be a whole number, 1 or more.`);
  return value;
}

function nonNegativeInteger(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`options.${name} must be a whole number, 0 or more.`);
  return value;
}

/** A message's id as text, when it has one. */
function idOf(message: unknown): string | undefined {
  const id = (message as { message_id?: unknown } | null)?.message_id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

/** A failed fetch's cause, by code only: undici's messages name the host and port, never the key, but codes are all a reader needs. */
function networkProblem(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; name?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : typeof cause?.name === 'string' ? cause.name : error instanceof Error ? error.name : 'unknown';
  return `network error (${code})`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function workerError(body: unknown): WorkerError | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message, ...details } = error as Record<string, unknown>;
  return { code: typeof code === 'string' ? code : 'unknown', message: typeof message === 'string' ? message : '', details };
}

function fieldErrors(value: unknown): FieldError[] {
  if (!Array.isArray(value)) return [];
  return value.map((item: { field?: unknown; problem?: unknown }) => ({ field: typeof item?.field === 'string' ? item.field : '', problem: typeof item?.problem === 'string' ? item.problem : String(item?.problem ?? 'refused') }));
}

/** An answer in a few words: status, the worker's code, and its `problem` (e.g. `disk_full`) when it names one. */
function describeAnswer(status: number, error: WorkerError | undefined): string {
  const problem = error?.details.problem;
  const detail = typeof problem === 'string' && /^[a-z_]{1,40}$/.test(problem) ? ` (${problem})` : '';
  return `HTTP ${status}${error === undefined ? '' : ` ${error.code}`}${detail}`;
}

function concatBatch(entries: readonly Entry[]): Bytes {
  let size = 2 + Math.max(0, entries.length - 1);
  for (const entry of entries) size += entry.bytes.length;
  const body = new Uint8Array(size);
  body[0] = 0x5b;
  let offset = 1;
  entries.forEach((entry, index) => {
    if (index > 0) body[offset++] = comma;
    body.set(entry.bytes, offset);
    offset += entry.bytes.length;
  });
  body[offset] = 0x5d;
  return body;
}

/** The message an entry holds, read back from its JSON text (equal to what was given to `send()`). */
const messageOf = (entry: Entry): MessageInput => (entry.text ? decoder.decode(entry.bytes) : (JSON.parse(decoder.decode(entry.bytes)) as ClientMessage));

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Sends what a pipeline sent to a sentcopy worker. Create it with {@link createSentcopyClient}.
 * - `send()` (after-send) batches messages by count, bytes and time, posts them to
 *   `POST /v1/messages`, retries outages with jittered exponential backoff (honouring
 *   `Retry-After`), splits batches the worker finds too large, and settles one promise per message.
 * - `archive()` (before-send) stores one message through `POST /v1/archive` before it resolves.
 * Memory is bounded: past `maxBufferedMessages`/`maxBufferedBytes`, `send()` refuses at once.
 */
export class SentcopyClient {
  readonly #apiKey: string;
  readonly #url: string;
  readonly #fetch: typeof fetch;
  readonly #options: SentcopyClientOptions;
  readonly #maxBatchMessages: number;
  readonly #maxBatchBytes: number;
  readonly #lingerMs: number;
  readonly #maxInFlight: number;
  readonly #maxBufferedMessages: number;
  readonly #maxBufferedBytes: number;
  readonly #retryBaseDelayMs: number;
  readonly #retryMaxDelayMs: number;
  readonly #unavailableAfterMs: number;
  readonly #requestTimeoutMs: number;
  readonly #archiveAttempts: number;
  readonly #random: () => number;

  #sequence = 0;
  #pending: Entry[] = [];
  #pendingBytes = 0;
  #retryBatches: Batch[] = [];
  readonly #inFlight = new Map<Batch, AbortController>();
  #waitingMessages = 0;
  #waitingBytes = 0;
  /** Entries up to this sequence number go out without waiting for their batch to fill. */
  #flushThrough = 0;
  #failures = 0;
  #failingSince: number | undefined;
  #lastProblem: string | undefined;
  #pausedUntil = 0;
  /** The worker's own limits, learned from its 413 answers. */
  #workerMaxBodyBytes = Number.POSITIVE_INFINITY;
  #workerMaxBatchMessages = Number.POSITIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = 0;
  #closed = false;
  #closing: Promise<CloseReport> | undefined;
  #delivered = 0;
  #rejected = 0;
  #idleWaiters: (() => void)[] = [];
  #lastSignal = 'ok/false';
  /** When the oldest message waiting for its batch to fill arrived. */
  #lingerStart = 0;

  constructor(options: SentcopyClientOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey.length === 0) throw new TypeError('options.apiKey must be a non-empty string.');
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TypeError('options.url must be an absolute http:// or https:// URL, e.g. http://127.0.0.1:8787.');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('options.url must be an http:// or https:// URL.');
    this.#apiKey = options.apiKey;
    this.#url = url.href.replace(/\/+$/, '');
    const fetchFunction = options.fetch ?? globalThis.fetch;
    if (typeof fetchFunction !== 'function') throw new TypeError('This runtime has no fetch: pass options.fetch.');
    // Called unbound, some runtimes' fetch throws "Illegal invocation".
    this.#fetch = (input, init) => fetchFunction(input, init);
    this.#options = options;
    this.#maxBatchMessages = positiveInteger(options.maxBatchMessages, 'maxBatchMessages', 100);
    this.#maxBatchBytes = positiveInteger(options.maxBatchBytes, 'maxBatchBytes', 1024 * 1024);
    this.#lingerMs = nonNegativeInteger(options.lingerMs, 'lingerMs', 20);
    this.#maxInFlight = positiveInteger(options.maxInFlightRequests, 'maxInFlightRequests', 4);
    this.#maxBufferedMessages = positiveInteger(options.maxBufferedMessages, 'maxBufferedMessages', 10_000);
    this.#maxBufferedBytes = positiveInteger(options.maxBufferedBytes, 'maxBufferedBytes', 64 * 1024 * 1024);
    this.#retryBaseDelayMs = positiveInteger(options.retryBaseDelayMs, 'retryBaseDelayMs', 100);
    this.#retryMaxDelayMs = positiveInteger(options.retryMaxDelayMs, 'retryMaxDelayMs', 30_000);
    this.#unavailableAfterMs = nonNegativeInteger(options.unavailableAfterMs, 'unavailableAfterMs', 30_000);
    this.#requestTimeoutMs = positiveInteger(options.requestTimeoutMs, 'requestTimeoutMs', 30_000);
    this.#archiveAttempts = positiveInteger(options.archiveAttempts, 'archiveAttempts', 3);
    this.#random = options.random ?? Math.random;
  }

  /**
   * Takes a message sent by the pipeline, to be delivered to the worker in a batch. The promise
   * resolves with the worker's result (`accepted`, `duplicate`, or a newer status) and rejects
   * with a {@link MessageRejectedError} naming the fields at fault, a {@link WorkerRefusedError},
   * a {@link WorkerUnavailableError} or {@link BufferFullError} at once when the buffer is full, or
   * an {@link UndeliveredError} when `close()` gives up on it.
   */
  send(message: MessageInput): Promise<SendResult>;
  /** Takes several messages: one promise per message, in order (use `Promise.allSettled`). */
  send(messages: readonly MessageInput[]): Promise<SendResult>[];
  send(input: MessageInput | readonly MessageInput[]): Promise<SendResult> | Promise<SendResult>[] {
    if (Array.isArray(input)) {
      const promises = (input as readonly MessageInput[]).map((message) => this.#take(message));
      this.#pump();
      return promises;
    }
    const promise = this.#take(input as MessageInput);
    this.#pump();
    return promise;
  }

  /**
   * Sends whatever is buffered now without waiting for batches to fill, and resolves once every
   * message taken before the call is settled (delivered or rejected). Retries go on meanwhile, so
   * while the worker is down this waits; `close()` has a deadline, and `signal` stops the wait
   * (the messages stay held and keep being retried).
   */
  async flush(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    options.signal?.throwIfAborted();
    this.#flushThrough = this.#sequence;
    const held = this.#heldEntries();
    this.#pump();
    const settled = Promise.allSettled(held.map((entry) => entry.promise));
    const signal = options.signal;
    if (signal === undefined) {
      await settled;
      return;
    }
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        settled,
        new Promise<never>((_, reject) => {
          onAbort = () => reject(signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Stops taking messages, delivers what is held until `deadlineMs`, then aborts the requests in
   * flight and rejects what is left with {@link UndeliveredError}, handing those messages back in
   * the report (they may have reached the worker: sending them again is safe, the worker answers
   * `duplicate`). Calling it again returns the same report.
   */
  close(options: CloseOptions = {}): Promise<CloseReport> {
    this.#closing ??= this.#close(nonNegativeInteger(options.deadlineMs, 'deadlineMs', 10_000));
    return this.#closing;
  }

  /** What the client is doing: state, how much it holds, and the last failure. */
  health(): ClientHealth {
    const now = Date.now();
    const failingForMs = this.#failingSince === undefined ? 0 : now - this.#failingSince;
    const state = this.#closed ? 'closed' : this.#failingSince === undefined ? 'ok' : failingForMs >= this.#unavailableAfterMs ? 'unavailable' : 'retrying';
    return {
      state,
      full: this.#waitingMessages >= this.#maxBufferedMessages || this.#waitingBytes >= this.#maxBufferedBytes,
      waitingMessages: this.#waitingMessages,
      waitingBytes: this.#waitingBytes,
      inFlightRequests: this.#inFlight.size,
      failingForMs,
      lastProblem: this.#lastProblem,
    };
  }

  /**
   * Archives one message before it is sent (the gate): resolves once the worker has stored the
   * copy, with its key and SHA-256. Rejects with {@link ArchiveFailedError} (`kind`, `reason`)
   * when it could not be stored — hold the send — or {@link MessageRejectedError} with the fields
   * at fault when it never can be. Network errors and busy workers are retried `archiveAttempts` times.
   */
  async archive(message: MessageInput, options: ArchiveOptions = {}): Promise<ArchiveResult> {
    if (this.#closed) throw new ClientClosedError();
    options.signal?.throwIfAborted();
    const serialized = this.#serialize(message);
    if (serialized instanceof MessageRejectedError) throw serialized;
    const { messageId } = serialized;
    let last: { problem: string; status: number | undefined; retryAfterMs?: number | undefined; cause?: unknown } = { problem: 'no attempt made', status: undefined };
    for (let attempt = 0; attempt < this.#archiveAttempts; attempt++) {
      // A gate holds a send: its retries stay within about a second, whatever Retry-After asks.
      if (attempt > 0) await abortableDelay(Math.min(1000, Math.max(last.retryAfterMs ?? 0, backoffDelay(attempt, this.#retryBaseDelayMs, 1000, this.#random))), options.signal);
      let response: Response;
      let text: string;
      try {
        response = await this.#post('/v1/archive', serialized.bytes, options.signal);
        text = await response.text();
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        last = { problem: networkProblem(error), status: undefined, cause: error };
        continue;
      }
      const body = parseJson(text);
      const error = workerError(body);
      if (response.status === 201 || response.status === 200) {
        const stored = body as { key?: unknown; sha256?: unknown; size?: unknown; created?: unknown; version?: unknown; original_key?: unknown } | undefined;
        if (typeof stored?.key === 'string' && typeof stored.sha256 === 'string') {
          return {
            key: stored.key,
            sha256: stored.sha256,
            size: Number(stored.size),
            created: stored.created !== false,
            version: stored.version === true,
            originalKey: typeof stored.original_key === 'string' ? stored.original_key : undefined,
          };
        }
        last = { problem: `HTTP ${response.status} without a key and SHA-256 in the answer`, status: response.status };
        continue;
      }
      if (error?.code === 'failed_to_archive') {
        throw new ArchiveFailedError({ kind: typeof error.details.kind === 'string' ? error.details.kind : 'unknown', reason: typeof error.details.reason === 'string' ? error.details.reason : error.message, status: response.status });
      }
      if (response.status === 422 || response.status === 413) {
        const reason = typeof error?.details.reason === 'string' ? error.details.reason : response.status === 413 ? 'too_large' : 'invalid';
        const errors = fieldErrors(error?.details.errors);
        throw new MessageRejectedError({ messageId, reason, errors: errors.length > 0 ? errors : [{ field: '', problem: error?.message || `refused with HTTP ${response.status}` }] });
      }
      if (retryableStatuses.has(response.status)) {
        last = { problem: describeAnswer(response.status, error), status: response.status, retryAfterMs: retryAfterMs(response.headers.get('retry-after'), Date.now()) };
        continue;
      }
      throw new WorkerRefusedError(response.status, error?.code ?? 'unknown', error?.message || 'no explanation given');
    }
    throw new ArchiveFailedError(
      {
        kind: last.status === undefined || [429, 502, 503, 504].includes(last.status) ? 'unreachable' : 'unknown',
        reason: `the worker did not store the message after ${this.#archiveAttempts} attempts (last: ${last.problem})`,
        status: last.status,
      },
      { cause: last.cause },
    );
  }

  #serialize(message: MessageInput): { bytes: Bytes; messageId: string | undefined } | MessageRejectedError {
    const invalid = (messageId: string | undefined, problem: string) => new MessageRejectedError({ messageId, reason: 'invalid', errors: [{ field: '', problem }] });
    if (typeof message === 'string') {
      // Text is sent as given, so it must be JSON of an object, and UTF-8 must be able to carry it unchanged.
      if (loneSurrogate.test(message)) return invalid(undefined, 'is not well-formed Unicode text (it holds a lone surrogate)');
      let parsed: unknown;
      try {
        parsed = JSON.parse(message);
      } catch {
        return invalid(undefined, 'is not JSON text');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return invalid(undefined, 'must be the JSON text of an object');
      return { bytes: encoder.encode(message), messageId: idOf(parsed) };
    }
    const messageId = idOf(message);
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return invalid(undefined, 'must be a JSON object');
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (error) {
      // BigInt values and cycles end here; their text names no value.
      return invalid(messageId, `cannot be serialized as JSON (${error instanceof Error ? error.name : 'error'})`);
    }
    // A toJSON() that returns undefined leaves no text at all.
    if (typeof text !== 'string') return invalid(messageId, 'serializes to nothing (its toJSON() returned undefined)');
    return { bytes: encoder.encode(text), messageId };
  }

  #take(message: MessageInput): Promise<SendResult> {
    let resolve!: (result: SendResult) => void;
    let reject!: (error: SentcopyClientError) => void;
    const promise = new Promise<SendResult>((resolvePromise, rejectPromise) => {
      resolve = resolvePromise;
      reject = rejectPromise;
    });
    // With a hook, the hook is the report: an ignored promise must not also crash the process.
    if (this.#options.onRejected !== undefined) promise.catch(noop);
    const refuse = (error: SentcopyClientError) => {
      reject(error);
      this.#report(error, message);
      return promise;
    };
    if (this.#closed) return refuse(new ClientClosedError());
    const serialized = this.#serialize(message);
    if (serialized instanceof MessageRejectedError) {
      this.#rejected++;
      return refuse(serialized);
    }
    const { bytes } = serialized;
    // One message larger than the whole buffer still goes through an empty buffer, or it could never be sent.
    const overflow = this.#waitingMessages + 1 > this.#maxBufferedMessages || (this.#waitingMessages > 0 && this.#waitingBytes + bytes.length > this.#maxBufferedBytes);
    if (overflow) {
      this.#signalBackpressure();
      const waiting = { waitingMessages: this.#waitingMessages, waitingBytes: this.#waitingBytes };
      return refuse(
        this.#failingSince === undefined
          ? new BufferFullError({ ...waiting, maxBufferedMessages: this.#maxBufferedMessages, maxBufferedBytes: this.#maxBufferedBytes })
          : new WorkerUnavailableError({ ...waiting, unavailableForMs: Date.now() - this.#failingSince, lastProblem: this.#lastProblem ?? 'unknown' }),
      );
    }
    const entry: Entry = { sequence: ++this.#sequence, bytes, text: typeof message === 'string', messageId: serialized.messageId, promise, resolve, reject, settled: false };
    if (this.#pending.length === 0) this.#lingerStart = Date.now();
    this.#pending.push(entry);
    this.#pendingBytes += bytes.length;
    this.#waitingMessages++;
    this.#waitingBytes += bytes.length;
    this.#signalBackpressure();
    return promise;
  }

  #report(error: SentcopyClientError, message: MessageInput): void {
    try {
      this.#options.onRejected?.(error, message);
    } catch {
      // A failing hook must not stop the other messages' results.
    }
  }

  #settle(entry: Entry, outcome: { result: SendResult } | { error: SentcopyClientError }): void {
    if (entry.settled) return;
    entry.settled = true;
    this.#waitingMessages--;
    this.#waitingBytes -= entry.bytes.length;
    if ('result' in outcome) {
      this.#delivered++;
      entry.resolve(outcome.result);
    } else {
      if (MessageRejectedError.isInstance(outcome.error) || WorkerRefusedError.isInstance(outcome.error)) this.#rejected++;
      entry.reject(outcome.error);
      this.#report(outcome.error, messageOf(entry));
    }
    if (this.#waitingMessages === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  #heldEntries(): Entry[] {
    const held = [...this.#pending];
    for (const batch of this.#retryBatches) held.push(...batch.entries);
    for (const batch of this.#inFlight.keys()) held.push(...batch.entries);
    return held.filter((entry) => !entry.settled);
  }

  #signalBackpressure(): void {
    const hook = this.#options.onBackpressure;
    if (hook === undefined) return;
    const health = this.health();
    const signal = `${health.state}/${health.full}`;
    if (signal === this.#lastSignal) return;
    this.#lastSignal = signal;
    try {
      hook(health);
    } catch {
      // A failing hook must not stop delivery.
    }
  }

  /** Starts as many requests as the limits allow, and arms the one timer for whatever must wait (a batch to fill, a retry pause). */
  #pump(): void {
    const now = Date.now();
    let wakeAt: number | undefined;
    // While the worker fails, one request at a time finds out whether it is back.
    const limit = this.#failingSince === undefined ? this.#maxInFlight : 1;
    while (this.#inFlight.size < limit) {
      if (now < this.#pausedUntil) {
        if (this.#retryBatches.length > 0 || this.#pending.length > 0) wakeAt = this.#pausedUntil;
        break;
      }
      let batch = this.#retryBatches.shift();
      if (batch === undefined) {
        const first = this.#pending[0];
        if (first === undefined) break;
        const full = this.#pending.length >= this.#batchMessageLimit() || this.#pendingBytes >= this.#batchByteLimit();
        if (!full && !this.#closed && first.sequence > this.#flushThrough) {
          // Messages that wait for their batch to fill wait at most lingerMs from the first of them.
          wakeAt = this.#lingerStart + this.#lingerMs;
          if (now < wakeAt) break;
        }
        batch = this.#takeBatch();
      }
      this.#postBatch(batch);
    }
    this.#arm(wakeAt);
  }

  #arm(wakeAt: number | undefined): void {
    if (wakeAt === undefined) return;
    if (this.#timer !== undefined && this.#timerAt <= wakeAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = wakeAt;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#pump();
      },
      Math.max(0, wakeAt - Date.now()),
    );
  }

  #batchMessageLimit(): number {
    return Math.min(this.#maxBatchMessages, this.#workerMaxBatchMessages);
  }

  #batchByteLimit(): number {
    return Math.min(this.#maxBatchBytes, this.#workerMaxBodyBytes);
  }

  #takeBatch(): Batch {
    const maxMessages = this.#batchMessageLimit();
    const maxBytes = this.#batchByteLimit();
    let bytes = 2;
    let count = 0;
    for (const entry of this.#pending) {
      if (count >= maxMessages) break;
      const added = entry.bytes.length + (count > 0 ? 1 : 0);
      if (count > 0 && bytes + added > maxBytes) break;
      bytes += added;
      count++;
    }
    const entries = this.#pending.splice(0, count);
    for (const entry of entries) this.#pendingBytes -= entry.bytes.length;
    if (this.#pending.length > 0) this.#lingerStart = Date.now();
    return { entries, abandoned: false };
  }

  #post(path: string, body: Bytes, signal: AbortSignal | undefined): Promise<Response> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => controller.abort(new DOMException(`No answer within requestTimeoutMs (${this.#requestTimeoutMs} ms).`, 'TimeoutError')), this.#requestTimeoutMs);
    return this.#fetch(`${this.#url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.#apiKey}`, 'content-type': 'application/json' },
      body,
      signal: controller.signal,
    }).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    });
  }

  #postBatch(batch: Batch): void {
    const controller = new AbortController();
    this.#inFlight.set(batch, controller);
    this.#deliver(batch, controller.signal)
      .catch((error: unknown) => this.#retry(batch, { problem: `unexpected error (${error instanceof Error ? error.name : typeof error})`, retryAfterMs: undefined }))
      .finally(() => {
        this.#inFlight.delete(batch);
        this.#signalBackpressure();
        if (!batch.abandoned) this.#pump();
      });
  }

  async #deliver(batch: Batch, signal: AbortSignal): Promise<void> {
    let response: Response;
    let text: string;
    try {
      response = await this.#post('/v1/messages', concatBatch(batch.entries), signal);
      text = await response.text();
    } catch (error) {
      if (batch.abandoned) return;
      return this.#retry(batch, { problem: networkProblem(error), retryAfterMs: undefined });
    }
    if (batch.abandoned) return;
    const body = parseJson(text);
    const error = workerError(body);
    if (response.status === 202 || response.status === 200 || (response.status === 422 && error === undefined)) {
      if (!this.#settleResults(batch, body)) return this.#retry(batch, { problem: `HTTP ${response.status} without per-message results`, retryAfterMs: undefined });
      return this.#recovered();
    }
    if (response.status === 413) return this.#split(batch, error);
    if (retryableStatuses.has(response.status) || response.status >= 500) {
      return this.#retry(batch, { problem: describeAnswer(response.status, error), retryAfterMs: retryAfterMs(response.headers.get('retry-after'), Date.now()) });
    }
    const refused = new WorkerRefusedError(response.status, error?.code ?? 'unknown', error?.message || 'no explanation given');
    for (const entry of batch.entries) this.#settle(entry, { error: refused });
    // The worker answered: it is reachable, even though it refused.
    this.#recovered();
  }

  /** Settles each entry from the worker's results; entries without a result are sent again. False when the answer has no results at all. */
  #settleResults(batch: Batch, body: unknown): boolean {
    const results = (body as { results?: unknown } | undefined)?.results;
    if (!Array.isArray(results)) return false;
    const answered = new Set<number>();
    for (const raw of results as Record<string, unknown>[]) {
      if (typeof raw !== 'object' || raw === null) continue;
      const index = raw.index;
      const entry = typeof index === 'number' ? batch.entries[index] : undefined;
      if (entry === undefined || answered.has(index as number)) continue;
      answered.add(index as number);
      const messageId = typeof raw.message_id === 'string' ? raw.message_id : entry.messageId;
      if (raw.status === 'rejected') {
        const errors = fieldErrors(raw.errors);
        this.#settle(entry, { error: new MessageRejectedError({ messageId, reason: typeof raw.reason === 'string' ? raw.reason : 'invalid', errors }) });
      } else {
        this.#settle(entry, { result: { status: typeof raw.status === 'string' ? raw.status : 'unknown', messageId, version: raw.version === true, raw } });
      }
    }
    const unanswered = batch.entries.filter((_, index) => !answered.has(index));
    if (unanswered.length > 0) this.#retryBatches.unshift({ entries: unanswered, abandoned: false });
    return true;
  }

  /** A 413: learn the worker's limit, and send the batch again in parts that fit; one message alone that does not fit is rejected with the worker's words. */
  #split(batch: Batch, error: WorkerError | undefined): void {
    const limitBytes = error?.details.limit_bytes;
    const limitMessages = error?.details.limit_messages;
    if (typeof limitBytes === 'number' && limitBytes > 0) this.#workerMaxBodyBytes = Math.min(this.#workerMaxBodyBytes, limitBytes);
    if (typeof limitMessages === 'number' && limitMessages > 0) this.#workerMaxBatchMessages = Math.min(this.#workerMaxBatchMessages, limitMessages);
    const [only] = batch.entries;
    if (batch.entries.length === 1 && only !== undefined) {
      this.#settle(only, {
        error: new MessageRejectedError({ messageId: only.messageId, reason: 'too_large', errors: [{ field: '', problem: error?.message || 'the worker refused it as too large (HTTP 413)' }] }),
      });
      return this.#recovered();
    }
    const half = Math.ceil(batch.entries.length / 2);
    this.#retryBatches.unshift({ entries: batch.entries.slice(0, half), abandoned: false }, { entries: batch.entries.slice(half), abandoned: false });
    this.#recovered();
  }

  #retry(batch: Batch, problem: RetryableProblem): void {
    if (batch.abandoned) return;
    const now = Date.now();
    this.#failures++;
    this.#failingSince ??= now;
    this.#lastProblem = problem.problem;
    const delay = Math.min(this.#retryMaxDelayMs, Math.max(problem.retryAfterMs ?? 0, backoffDelay(this.#failures - 1, this.#retryBaseDelayMs, this.#retryMaxDelayMs, this.#random)));
    this.#pausedUntil = Math.max(this.#pausedUntil, now + delay);
    this.#retryBatches.unshift({ entries: batch.entries.filter((entry) => !entry.settled), abandoned: false });
    this.#signalBackpressure();
  }

  #recovered(): void {
    this.#failures = 0;
    this.#failingSince = undefined;
    this.#lastProblem = undefined;
    this.#pausedUntil = 0;
    this.#signalBackpressure();
  }

  async #close(deadlineMs: number): Promise<CloseReport> {
    this.#closed = true;
    this.#flushThrough = Number.POSITIVE_INFINITY;
    // The last chance to deliver: try now rather than after a long backoff that may outlast the deadline.
    this.#pausedUntil = 0;
    this.#signalBackpressure();
    this.#pump();
    if (this.#waitingMessages > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#idleWaiters.push(resolve)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, deadlineMs);
        }),
      ]);
      clearTimeout(timer);
    }
    const undelivered: UndeliveredMessage[] = [];
    for (const [batch, controller] of this.#inFlight) {
      batch.abandoned = true;
      controller.abort(new Error('close() deadline passed'));
    }
    for (const batch of this.#retryBatches) batch.abandoned = true;
    const lastProblem = this.#lastProblem;
    for (const entry of this.#heldEntries()) {
      const error = new UndeliveredError(entry.messageId, lastProblem);
      // The report hands these back, so their promises must not also surface as unhandled rejections.
      entry.promise.catch(noop);
      this.#settle(entry, { error });
      undelivered.push({ message: messageOf(entry), error });
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#retryBatches = [];
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    return { delivered: this.#delivered, rejected: this.#rejected, undelivered };
  }
}

/** Creates a {@link SentcopyClient}: after-send `send()` and before-send `archive()` against a sentcopy worker. */
export function createSentcopyClient(options: SentcopyClientOptions): SentcopyClient {
  return new SentcopyClient(options);
}
