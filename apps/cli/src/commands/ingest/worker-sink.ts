import { formatIssues, type ValidationIssue } from '@sentcopy/core';
import { CliError, exitCodes } from '../../cli-kit/index.js';
import type { CheckedLine, RejectReason } from './check-line.js';
import { createTaskLimiter, type IngestSink, type IngestTally } from './ingest-sink.js';
import { callWorker, workerError, type WorkerConnection } from './worker-client.js';

/** Options for {@link createWorkerSink}. */
export interface WorkerSinkOptions {
  readonly connection: WorkerConnection;
  /** Most messages per `POST /v1/messages`; lowered to the worker's limit when it answers 413. */
  readonly batchSize: number;
  /** Most bytes per request body; lowered when the worker answers 413. */
  readonly maxBatchBytes: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Retries of a 429/503/unreachable worker per request. */
  readonly maxRetries: number;
  readonly tally: IngestTally;
  /** Told about each retry (shown on stderr). */
  readonly onRetry?: (cause: string, delayMs: number) => void;
}

/** One entry of the worker's `results`; `reason` and `errors` only for a rejected message. */
interface BatchResult {
  readonly index: number;
  readonly message_id?: string;
  readonly status: 'accepted' | 'duplicate' | 'rejected';
  readonly reason?: string;
  readonly errors?: readonly { readonly field?: unknown; readonly problem?: unknown }[];
}

const knownReasons: ReadonlySet<string> = new Set(['invalid', 'wrong_project', 'channel_disabled', 'no_destination', 'too_large']);

/** Sends checked lines to a worker's `POST /v1/messages` in batches, and reads each message's result. */
export function createWorkerSink(options: WorkerSinkOptions): IngestSink {
  const { connection, tally } = options;
  let batchSize = options.batchSize;
  let maxBatchBytes = options.maxBatchBytes;
  const limiter = createTaskLimiter(options.concurrency);
  let pending: CheckedLine[] = [];
  let pendingBytes = 2;

  function settle(items: readonly CheckedLine[], body: unknown): void {
    const results = (body as { results?: unknown } | undefined)?.results;
    if (!Array.isArray(results) || results.length !== items.length) {
      throw new CliError('The worker answered without one result per message.', { hint: 'Check that --worker points at a sentcopy worker of this version.' });
    }
    (results as BatchResult[]).forEach((result, index) => {
      const item = items[index] as CheckedLine;
      if (result.status === 'accepted') tally.taken(item);
      else if (result.status === 'duplicate') tally.duplicate(item);
      else {
        const issues: ValidationIssue[] = (result.errors ?? []).map((error) => ({ path: String(error.field ?? ''), problem: String(error.problem ?? '') }));
        const reason = (typeof result.reason === 'string' && knownReasons.has(result.reason) ? result.reason : 'rejected') as RejectReason;
        tally.rejected(
          {
            ...(item.file === undefined ? {} : { file: item.file }),
            line: item.line,
            reason,
            error: `Refused by the worker (${result.reason ?? 'rejected'})${issues.length === 0 ? '' : `: ${formatIssues(issues)}`}`,
            issues,
            message_id: item.messageId,
          },
          item.text,
        );
      }
    });
  }

  async function send(items: readonly CheckedLine[]): Promise<void> {
    if (items.length > batchSize) {
      for (let start = 0; start < items.length; start += batchSize) await send(items.slice(start, start + batchSize));
      return;
    }
    // The lines go as they were written: the worker stores the values they hold, whatever the spelling.
    const body = `[${items.map((item) => item.text).join(',')}]`;
    const response = await callWorker(connection, {
      method: 'POST',
      path: '/v1/messages',
      body,
      maxRetries: options.maxRetries,
      onRetry: ({ delayMs, cause }) => options.onRetry?.(cause, delayMs),
    });
    if (response.status === 202 || response.status === 422) {
      settle(items, response.body);
      return;
    }
    const error = workerError(response.body);
    if (response.status === 413 && error?.code === 'batch_too_large' && typeof error.limit_messages === 'number' && error.limit_messages >= 1) {
      batchSize = Math.min(batchSize, error.limit_messages);
      return send(items);
    }
    if (response.status === 413) {
      if (items.length === 1) {
        const item = items[0] as CheckedLine;
        const limit = typeof error?.limit_bytes === 'number' ? ` of ${error.limit_bytes} bytes` : '';
        tally.rejected(
          { ...(item.file === undefined ? {} : { file: item.file }), line: item.line, reason: 'too_large', error: `The message is larger than the worker's request limit${limit}.`, issues: [], message_id: item.messageId },
          item.text,
        );
        return;
      }
      maxBatchBytes = Math.max(1024, Math.min(maxBatchBytes, typeof error?.limit_bytes === 'number' ? error.limit_bytes - 1024 : Buffer.byteLength(body) / 2));
      const half = Math.ceil(items.length / 2);
      await send(items.slice(0, half));
      await send(items.slice(half));
      return;
    }
    if (response.status === 409 && error?.code === 'no_destination') {
      throw new CliError(error.message, { code: 'no_destination', hint: "Connect a destination to the project in the worker's config, then run the command again." });
    }
    throw new CliError(`The worker refused the batch (HTTP ${response.status}${error === undefined ? '' : `, ${error.code}: ${error.message}`}).`, {
      exitCode: response.status >= 500 ? exitCodes.unavailable : exitCodes.failure,
      code: 'worker_refused',
      hint: response.status >= 500 ? "Check the worker's log, then run again: lines already taken count as duplicates." : "Check --worker and the worker's version.",
    });
  }

  function flush(): Promise<void> {
    const items = pending;
    pending = [];
    pendingBytes = 2;
    return items.length === 0 ? Promise.resolve() : limiter.run(() => send(items));
  }

  return {
    async submit(line) {
      const bytes = Buffer.byteLength(line.text) + 1;
      if (pending.length > 0 && pendingBytes + bytes > maxBatchBytes) await flush();
      pending.push(line);
      pendingBytes += bytes;
      if (pending.length >= batchSize) await flush();
    },
    async finish() {
      await flush();
      await limiter.drain();
    },
    async close() {
      // Nothing held: fetch's connections close with the process.
    },
  };
}
