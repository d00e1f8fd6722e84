import type { IncomingMessage, ServerResponse } from 'node:http';
import { messageIdProblem, type Channel } from '@sentcopy/core';
import type { ProjectDirectory, ProjectRoute } from '../projects/index.js';
import { QueueError, type MessageQueue, type QueueMessageInput } from '../queue/index.js';
import { authenticate } from './authenticate-request.js';
import type { StorableChecks } from './check-storable.js';
import { HttpProblemError, type FieldError, type IntakeReplies, type IntakeReport, type MessageResult } from './intake-answer.js';
import type { IntakeRejection } from './intake-options.js';
import { isRfc822ContentType } from './raw-mime-intake.js';
import { readMessageBody } from './parse-request.js';

/** What the after-send intake needs. */
export interface BatchIntakeOptions {
  readonly queue: MessageQueue;
  readonly directory: ProjectDirectory;
  readonly checks: StorableChecks;
  readonly replies: IntakeReplies;
  readonly report: IntakeReport;
  readonly maxBodyBytes: number;
  readonly maxBatchMessages: number;
  readonly maxMessageBytes: number;
}

/** The message's id, to help the caller match a rejection, unless the id itself is what was wrong with it. */
function echoableMessageId(value: unknown, errors: readonly FieldError[]): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const id = (value as { message_id?: unknown }).message_id;
  if (typeof id !== 'string' || messageIdProblem(id) !== undefined) return undefined;
  return errors.some((error) => error.field === 'message_id') ? undefined : id;
}

/**
 * `POST /v1/messages` (after-send): authenticate → read the batch → check each message → enqueue
 * the storable ones at once → answer `202` with one result per message (`422` when none was taken).
 * Resolves with the status sent; a refusal of the whole request is thrown as an {@link HttpProblemError}.
 */
export function createBatchIntake(options: BatchIntakeOptions): (request: IncomingMessage, response: ServerResponse) => Promise<number> {
  const { queue, checks, report, maxBodyBytes, maxBatchMessages, maxMessageBytes } = options;
  const { log, emit } = report;

  function refuseRequest(route: ProjectRoute, reason: IntakeRejection, problem: HttpProblemError): never {
    emit({ type: 'rejected', project: route.id, reason });
    throw problem;
  }

  /** The body's messages: the array, an object's `messages`, or the one email of a `message/rfc822` body. */
  function messagesOf(request: IncomingMessage, body: unknown, route: ProjectRoute): unknown[] {
    const rawBody = isRfc822ContentType(request.headers['content-type']);
    const list = rawBody ? [body] : Array.isArray(body) ? body : typeof body === 'object' && body !== null && Array.isArray((body as { messages?: unknown }).messages) ? (body as { messages: unknown[] }).messages : undefined;
    if (list === undefined) refuseRequest(route, 'bad_request', new HttpProblemError(400, 'bad_request', 'The body must be a JSON array of messages, or an object with a "messages" array.'));
    if (list.length === 0) refuseRequest(route, 'bad_request', new HttpProblemError(400, 'bad_request', 'The batch is empty: send at least one message.'));
    if (list.length > maxBatchMessages) {
      refuseRequest(
        route,
        'too_large',
        new HttpProblemError(413, 'batch_too_large', `The batch holds ${list.length} messages; the limit is ${maxBatchMessages} (limits.max_batch_messages). Split it, or raise that setting in the worker's configuration.`, {
          limit_messages: maxBatchMessages,
        }),
      );
    }
    return list;
  }

  /** Stores the accepted messages in the queue, all or none; fills in their results. */
  async function enqueue(route: ProjectRoute, toQueue: readonly { index: number; channel: Channel; input: QueueMessageInput }[], results: (MessageResult | undefined)[]): Promise<void> {
    let stored;
    try {
      stored = await queue.enqueue(toQueue.map((entry) => entry.input));
    } catch (error) {
      for (const entry of toQueue) emit({ type: 'rejected', project: route.id, channel: entry.channel, reason: 'queue_unavailable' });
      log('error', 'intake.enqueue_failed', 'The queue could not store a batch; nothing of it was accepted.', { project: route.id, messages: toQueue.length, reason: QueueError.isInstance(error) ? error.message : 'unexpected error' });
      throw new HttpProblemError(
        503,
        'queue_unavailable',
        'The queue could not store the batch. Send it again later: messages already stored are then answered duplicate, never stored twice.',
        QueueError.isInstance(error) && error.problem !== undefined ? { problem: error.problem } : {},
        { 'retry-after': '5' },
      );
    }
    toQueue.forEach((entry, position) => {
      const status = stored[position]?.status ?? 'accepted';
      // Same id, different content: both were sent, so the second is kept as a version; say so.
      const version = status === 'accepted' && stored[position]?.version === true;
      results[entry.index] = { index: entry.index, message_id: entry.input.messageId, status, ...(version ? { version: true as const } : {}) };
      emit({ type: status, project: route.id, channel: entry.channel, ...(version ? { version: true as const } : {}) });
    });
  }

  return async (request, response) => {
    const route = authenticate(options.directory, request);
    const body = await readMessageBody(
      request,
      route,
      maxBodyBytes,
      () =>
        new HttpProblemError(
          413,
          'payload_too_large',
          `The body is larger than limits.max_body_bytes (${maxBodyBytes} bytes). Send the messages in smaller batches (one message may be up to ${Math.min(maxMessageBytes, queue.maxPayloadBytes)} bytes of JSON), or raise limits.max_body_bytes in the worker's configuration.`,
          { limit_bytes: maxBodyBytes },
          { connection: 'close' },
        ),
      report,
    );
    const list = messagesOf(request, body, route);
    checks.requireDestination(route);
    const archiver = checks.checkerFor(route);

    const results: (MessageResult | undefined)[] = new Array(list.length);
    const toQueue: { index: number; channel: Channel; input: QueueMessageInput }[] = [];
    // check() reads an email's absent to, sent_at and message_id from its raw_mime headers, as prepare() will.
    const checked = await Promise.all(list.map((value) => checks.checkMessage(value, route, archiver)));
    list.forEach((value, index) => {
      const check = checked[index]!;
      if (check.ok) {
        toQueue.push({ index, channel: check.channel, input: check.input });
        return;
      }
      const messageId = echoableMessageId(value, check.errors);
      results[index] = { index, ...(messageId === undefined ? {} : { message_id: messageId }), status: 'rejected', reason: check.reason, errors: check.errors };
      emit({ type: 'rejected', project: route.id, ...(check.channel === undefined ? {} : { channel: check.channel }), reason: check.reason });
    });
    if (toQueue.length > 0) await enqueue(route, toQueue, results);

    const accepted = results.filter((result) => result?.status === 'accepted').length;
    const versions = results.filter((result) => result?.status === 'accepted' && result.version === true).length;
    const duplicates = results.filter((result) => result?.status === 'duplicate').length;
    const rejected = list.length - accepted - duplicates;
    const status = accepted + duplicates > 0 ? 202 : 422;
    log(
      rejected > 0 || versions > 0 ? 'warn' : 'debug',
      'intake.batch',
      `Batch for project "${route.id}": ${accepted} accepted${versions > 0 ? ` (${versions} of them a second version of a message id already sent with other content)` : ''}, ${duplicates} duplicate, ${rejected} rejected.`,
      { project: route.id, accepted, versions, duplicates, rejected },
    );
    options.replies.reply(response, status, { accepted, duplicates, rejected, ...(versions > 0 ? { versions } : {}), results });
    return status;
  };
}
