import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  ArchiveError,
  defaultMaxBatchMessages,
  defaultMaxBodyBytes,
  defaultMaxMessageBytes,
  identifierText,
  messageIdProblem,
  MessageValidationError,
  parseJson,
  rawMimeDerivedMarker,
  stringifyJson,
  validateMessage,
  type Archiver,
  type Channel,
  type PreparedObject,
  type ValidationIssue,
} from '@sentcopy/core';
import type { LogLevel } from '../logging/index.js';
import type { ProjectRoute } from '../projects/index.js';
import { QueueError, type QueueMessageInput } from '../queue/index.js';
import { entryProblem } from '../queue/queue-checks.js';
import { workerVersion } from '../worker-version.js';
import { createDeadLetterRoutes } from './dead-letter-routes.js';
import type { IntakeEvent, IntakeRejection, IntakeServer, IntakeServerOptions } from './intake-options.js';
import { findJsonSyntaxError } from './json-syntax-error.js';
import { completeForIntake, isRfc822ContentType, RawMimeQueryError, rfc822Message } from './raw-mime-intake.js';
import { createByteBudget } from './byte-budget.js';
import { readBody } from './read-body.js';
import { parseRequestTarget } from './request-target.js';

/** One field problem in an answer. */
interface FieldError {
  readonly field: string;
  readonly problem: string;
}

type MessageResult =
  | { readonly index: number; readonly message_id: string; readonly status: 'accepted' | 'duplicate'; readonly version?: true }
  | { readonly index: number; readonly message_id?: string; readonly status: 'rejected'; readonly reason: IntakeRejection; readonly errors: readonly FieldError[] };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const routes = ['/v1/messages', '/v1/archive', '/healthz', '/readyz', '/metrics'] as const;

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const fieldErrors = (issues: readonly ValidationIssue[]): FieldError[] => issues.map((issue) => ({ field: issue.path, problem: issue.problem }));

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  response.end(text);
}

/** The message's id, to help the caller match a rejection, unless the id itself is what was wrong with it. */
function echoableMessageId(value: unknown, errors: readonly FieldError[]): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const id = (value as { message_id?: unknown }).message_id;
  if (typeof id !== 'string' || messageIdProblem(id) !== undefined) return undefined;
  return errors.some((error) => error.field === 'message_id') ? undefined : id;
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Whether a request carries `Authorization: Bearer <token>`, compared in constant time. */
function hasBearerToken(request: IncomingMessage, token: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), token);
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

function isJsonContentType(value: string | undefined): boolean {
  return value !== undefined && /^application\/json\s*(;|$)/i.test(value);
}

/** A readable, value-free description of a JSON syntax error (`JSON.parse` messages can quote the input). */
function jsonProblem(text: string): { message: string; extra: Record<string, unknown> } {
  const found = findJsonSyntaxError(text);
  if (found === undefined) return { message: 'The body is not valid JSON.', extra: {} };
  return {
    message: `The body is not valid JSON: ${found.problem} at byte ${found.byte} (line ${found.line}, column ${found.column}).`,
    extra: { position: { byte: found.byte, line: found.line, column: found.column } },
  };
}

/**
 * Creates the worker's HTTP intake:
 * - `POST /v1/messages` (after-send): a batch; answers `202` once every accepted message is durable
 *   in the queue, with one result per message (field errors for the rejected ones).
 * - `POST /v1/archive` (before-send): one message, stored before the answer: `201` with the key
 *   and SHA-256, or `502 failed_to_archive` with the error kind and reason so the caller can hold the send.
 * - `GET /healthz`, `GET /readyz`, `GET /metrics`, without authentication.
 * Requests are authenticated with `Authorization: Bearer <API key>`; the key selects the project.
 */
export function createIntakeServer(options: IntakeServerOptions): IntakeServer {
  const { queue, directory } = options;
  const maxBodyBytes = options.limits?.maxBodyBytes ?? defaultMaxBodyBytes;
  const maxBatchMessages = options.limits?.maxBatchMessages ?? defaultMaxBatchMessages;
  const maxMessageBytes = options.limits?.maxMessageBytes ?? defaultMaxMessageBytes;
  const budget = createByteBudget(Math.max(maxBodyBytes, options.limits?.maxBytesInProgress ?? 128 * 1024 * 1024));
  /** The bytes a request's body will hold: its Content-Length (at most the limit that refuses it), or the limit when it has none. */
  const bodyShare = (request: IncomingMessage, limitBytes: number) => {
    const declared = Number(request.headers['content-length']);
    return Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, limitBytes) : limitBytes;
  };
  const metricsToken = options.metricsToken === undefined ? undefined : digest(options.metricsToken);
  const now = options.now ?? Date.now;
  const log = (level: LogLevel, event: string, message: string, fields: Record<string, unknown> = {}) => options.logger?.({ level, event, message, ...fields });
  // A failing metrics hook must cost a metric, not the answer to a request (or, outside one, the process).
  const emit = (event: IntakeEvent) => {
    try {
      options.onEvent?.(event);
    } catch (error) {
      log('error', 'intake.event_failed', 'The intake event hook failed; the event was not counted.', { type: event.type, error: error instanceof Error ? error.name : typeof error });
    }
  };
  let closing = false;
  // While closing, every answer ends its connection, so keep-alive clients move to another worker and close() need not wait them out.
  const reply = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => send(response, status, body, closing ? { ...headers, connection: 'close' } : headers);
  const deadLetters = createDeadLetterRoutes({ queue, directory, reply, ...(options.logger === undefined ? {} : { logger: options.logger }) });

  function authenticate(request: IncomingMessage): ProjectRoute {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    const route = match?.[1] === undefined ? undefined : directory.authenticate(match[1]);
    if (route === undefined) {
      // One answer for a missing and an unknown key, and never the key itself.
      throw new HttpProblem(401, 'unauthorized', 'Send a valid API key as "Authorization: Bearer <key>".', {}, { 'www-authenticate': 'Bearer realm="sentcopy"' });
    }
    return route;
  }

  /** Reads a JSON body of at most `limitBytes`; `tooLarge` is the answer to a larger one. */
  async function readJson(request: IncomingMessage, limitBytes: number, tooLarge: () => HttpProblem): Promise<unknown> {
    if (!isJsonContentType(request.headers['content-type']))
      throw new HttpProblem(415, 'unsupported_media_type', 'Send the body as JSON with "Content-Type: application/json", or one email\'s exact bytes with "Content-Type: message/rfc822".');
    const body = await readBody(request, limitBytes);
    if (!body.ok) {
      if (body.reason === 'too_large') throw tooLarge();
      throw new HttpProblem(400, 'bad_request', 'The request body was not received completely.');
    }
    let text: string;
    try {
      // The decoder drops a leading byte order mark, which RFC 8259 lets parsers ignore.
      text = utf8.decode(body.bytes);
    } catch {
      throw new HttpProblem(400, 'bad_request', 'The body is not UTF-8 text.');
    }
    try {
      return parseJson(text);
    } catch {
      const problem = jsonProblem(text);
      throw new HttpProblem(400, 'invalid_json', problem.message, problem.extra);
    }
  }

  function requireDestination(route: ProjectRoute): void {
    if (route.destinationId === undefined) {
      emit({ type: 'rejected', project: route.id, reason: 'no_destination' });
      throw new HttpProblem(409, 'no_destination', `Project "${route.id}" has no destination (it was deleted or never set), so its messages are refused. Connect a destination to the project and send again.`);
    }
  }

  /** Why a valid message may not enter this project (wrong project, channel not archived), if it may not. */
  function routeProblem(projectId: string, channel: Channel, route: ProjectRoute): { reason: IntakeRejection; errors: FieldError[] } | undefined {
    if (projectId !== route.id) return { reason: 'wrong_project', errors: [{ field: 'project_id', problem: `must be the project of the API key used: this key belongs to project "${route.id}"` }] };
    if (!route.channels.includes(channel)) return { reason: 'channel_disabled', errors: [{ field: 'channel', problem: `is not archived for this project (enabled: ${route.channels.join(', ')})` }] };
    return undefined;
  }

  const messageTooLarge = (bytes: number): FieldError => ({
    field: '',
    problem: `the message is ${bytes} bytes of JSON, more than limits.max_message_bytes (${maxMessageBytes} bytes); raise that setting in the worker's configuration to archive messages this large`,
  });

  /** Why the queue cannot hold a message of this size, naming the setting to raise. */
  const queueTooLarge = (bytes: number): FieldError => ({
    field: '',
    problem:
      queue.implementation === 'jetstream'
        ? `the message is ${bytes} bytes of JSON; the JetStream queue holds at most ${queue.maxPayloadBytes} bytes per message (nats-server's max_payload less room for headers): raise max_payload in the NATS server's configuration`
        : `the message is ${bytes} bytes of JSON; the ${queue.implementation} queue holds at most ${queue.maxPayloadBytes} bytes per message (its maxPayloadBytes option)`,
  });

  /**
   * The project's archiver, to run its checks (validation, profile, key layout) before a message is
   * accepted; `undefined` when the project has no destination (the caller refuses the request then).
   */
  function checkerFor(route: ProjectRoute): Archiver | undefined {
    try {
      return directory.archiverFor(route.id, 'check');
    } catch (error) {
      // Configuration validation makes this unreachable; should it happen, validation alone still guards the queue.
      log('warn', 'intake.checker_unavailable', `The archiver of project "${route.id}" could not be built; messages are validated without its profile and key checks.`, {
        project: route.id,
        error: error instanceof Error ? error.name : typeof error,
      });
      return undefined;
    }
  }

  /**
   * Validates a message and renders its key as the project's archiver would (its `check()`, which
   * also reads an email's absent `to`, `sent_at` and `message_id` from its raw MIME headers, as
   * `prepare()` will): field errors when it cannot be stored. `completed` is set when fields were
   * read from raw MIME: the message to queue, so what is queued is what is stored.
   */
  async function storable(value: unknown, archiver: Archiver | undefined): Promise<{ ok: true; channel: Channel; messageId: string; projectId: string; completed?: unknown } | { ok: false; errors: FieldError[] }> {
    if (archiver === undefined) {
      const completion = await completeForIntake(value);
      if (!completion.ok) return { ok: false, errors: fieldErrors(completion.issues) };
      const result = validateMessage(completion.value);
      if (!result.ok) return { ok: false, errors: fieldErrors(result.issues) };
      const message = result.message;
      return { ok: true, channel: message.channel, messageId: identifierText(message.message_id), projectId: identifierText(message.project_id), ...(completion.value === value ? {} : { completed: completion.value }) };
    }
    try {
      const checked = await archiver.check(value);
      const derived = Object.hasOwn(checked.message, rawMimeDerivedMarker);
      return { ok: true, channel: checked.channel, messageId: checked.messageId, projectId: checked.projectId, ...(derived ? { completed: checked.message } : {}) };
    } catch (error) {
      if (MessageValidationError.isInstance(error)) return { ok: false, errors: fieldErrors(error.issues) };
      throw error;
    }
  }

  /**
   * Checks one message of a batch, cheapest first: its size (before any validation, so a huge
   * message costs no validation), then what the project's archiver checks (fields, profile, key),
   * the project and channel, and what the queue checks. Returns the entry to queue, or the reason
   * and errors it is refused with; never throws for a bad message.
   */
  async function checkMessage(
    value: unknown,
    route: ProjectRoute,
    archiver: Archiver | undefined,
  ): Promise<{ ok: true; channel: Channel; input: QueueMessageInput } | { ok: false; reason: IntakeRejection; errors: FieldError[]; channel?: Channel }> {
    // The body was parsed once; stringifying an element gives text that parses back to the same values (validation
    // refuses the only values that would not survive: non-finite numbers and lone surrogates). Only the spelling may
    // differ (white space, escapes, `1e2` → `100`, key order), and none of it reaches the stored copy, which is the
    // deterministic serialization of those values: the same bytes as if the sender's own text had been queued.
    let text: string;
    try {
      // Numbers a double cannot hold were parsed as JsonNumbers, which stringifyJson writes as their exact text.
      text = stringifyJson(value);
    } catch {
      // Only nesting deep enough to exhaust the stack gets here; validation would refuse it too.
      return { ok: false, reason: 'invalid', errors: [{ field: '', problem: 'nests too deeply to be read' }] };
    }
    let bytes = Buffer.byteLength(text);
    if (bytes > maxMessageBytes) return { ok: false, reason: 'too_large', errors: [messageTooLarge(bytes)] };
    const result = await storable(value, archiver);
    if (!result.ok) return { ok: false, reason: 'invalid', errors: result.errors };
    const problem = routeProblem(result.projectId, result.channel, route);
    if (problem !== undefined) return { ok: false, channel: result.channel, ...problem };
    if (result.completed !== undefined) {
      // A few fields read from the raw MIME headers: the stored copy carries them, so the limit applies to it.
      text = stringifyJson(result.completed);
      bytes = Buffer.byteLength(text);
      if (bytes > maxMessageBytes) return { ok: false, reason: 'too_large', channel: result.channel, errors: [messageTooLarge(bytes)] };
    }
    const input: QueueMessageInput = { project: route.id, messageId: result.messageId, payload: text };
    const refused = entryProblem(input, queue.maxPayloadBytes);
    if (refused !== undefined) {
      if (refused.tooLarge) return { ok: false, reason: 'too_large', channel: result.channel, errors: [queueTooLarge(bytes)] };
      const field = refused.field === 'messageId' ? 'message_id' : refused.field === 'project' ? 'project_id' : '';
      return { ok: false, reason: 'invalid', channel: result.channel, errors: [{ field, problem: `cannot be queued: ${refused.problem}` }] };
    }
    return { ok: true, channel: result.channel, input };
  }

  /** A `message/rfc822` body as the one email it is (see `rfc822Message`). */
  async function readRfc822(request: IncomingMessage, route: ProjectRoute, limitBytes: number, tooLarge: () => HttpProblem): Promise<Record<string, unknown>> {
    const body = await readBody(request, limitBytes);
    if (!body.ok) {
      if (body.reason === 'too_large') throw tooLarge();
      throw new HttpProblem(400, 'bad_request', 'The request body was not received completely.');
    }
    if (body.bytes.length === 0) throw new HttpProblem(400, 'bad_request', "The message/rfc822 body is empty: send the message's bytes.");
    try {
      return rfc822Message(body.bytes, route.id, request.url);
    } catch (error) {
      if (error instanceof RawMimeQueryError) throw new HttpProblem(400, 'bad_request', error.message, { parameter: error.parameter });
      throw error;
    }
  }

  /** Reads an authenticated request's JSON body (or a `message/rfc822` body, as one email); a refusal is counted for the project. */
  async function readJsonOf(request: IncomingMessage, route: ProjectRoute, limitBytes: number, tooLarge: () => HttpProblem): Promise<unknown> {
    try {
      if (isRfc822ContentType(request.headers['content-type'])) return await readRfc822(request, route, limitBytes, tooLarge);
      return await readJson(request, limitBytes, tooLarge);
    } catch (error) {
      if (error instanceof HttpProblem) emit({ type: 'rejected', project: route.id, reason: error.status === 413 ? 'too_large' : 'bad_request' });
      throw error;
    }
  }

  function refuseRequest(route: ProjectRoute, reason: IntakeRejection, problem: HttpProblem): never {
    emit({ type: 'rejected', project: route.id, reason });
    throw problem;
  }

  /** Runs `handle` once the request's body fits in the intake's byte budget (see `maxBytesInProgress`), and frees its share when it is answered. */
  async function withinBudget(request: IncomingMessage, limitBytes: number, handle: () => Promise<number>): Promise<number> {
    const release = await budget.take(bodyShare(request, limitBytes));
    try {
      return await handle();
    } finally {
      release();
    }
  }

  async function submitBatch(request: IncomingMessage, response: ServerResponse): Promise<number> {
    const route = authenticate(request);
    const body = await readJsonOf(
      request,
      route,
      maxBodyBytes,
      () =>
        new HttpProblem(
          413,
          'payload_too_large',
          `The body is larger than limits.max_body_bytes (${maxBodyBytes} bytes). Send the messages in smaller batches (one message may be up to ${Math.min(maxMessageBytes, queue.maxPayloadBytes)} bytes of JSON), or raise limits.max_body_bytes in the worker's configuration.`,
          { limit_bytes: maxBodyBytes },
          { connection: 'close' },
        ),
    );
    const rawBody = isRfc822ContentType(request.headers['content-type']);
    const list = rawBody ? [body] : Array.isArray(body) ? body : typeof body === 'object' && body !== null && Array.isArray((body as { messages?: unknown }).messages) ? (body as { messages: unknown[] }).messages : undefined;
    if (list === undefined) refuseRequest(route, 'bad_request', new HttpProblem(400, 'bad_request', 'The body must be a JSON array of messages, or an object with a "messages" array.'));
    if (list.length === 0) refuseRequest(route, 'bad_request', new HttpProblem(400, 'bad_request', 'The batch is empty: send at least one message.'));
    if (list.length > maxBatchMessages) {
      refuseRequest(
        route,
        'too_large',
        new HttpProblem(413, 'batch_too_large', `The batch holds ${list.length} messages; the limit is ${maxBatchMessages} (limits.max_batch_messages). Split it, or raise that setting in the worker's configuration.`, {
          limit_messages: maxBatchMessages,
        }),
      );
    }
    requireDestination(route);
    const archiver = checkerFor(route);

    const results: (MessageResult | undefined)[] = new Array(list.length);
    const toQueue: { index: number; channel: Channel; input: QueueMessageInput }[] = [];
    // check() reads an email's absent to, sent_at and message_id from its raw_mime headers, as prepare() will.
    const checks = await Promise.all(list.map((value) => checkMessage(value, route, archiver)));
    list.forEach((value, index) => {
      const checked = checks[index]!;
      if (checked.ok) {
        toQueue.push({ index, channel: checked.channel, input: checked.input });
        return;
      }
      const messageId = echoableMessageId(value, checked.errors);
      results[index] = { index, ...(messageId === undefined ? {} : { message_id: messageId }), status: 'rejected', reason: checked.reason, errors: checked.errors };
      emit({ type: 'rejected', project: route.id, ...(checked.channel === undefined ? {} : { channel: checked.channel }), reason: checked.reason });
    });

    if (toQueue.length > 0) {
      let stored;
      try {
        stored = await queue.enqueue(toQueue.map((entry) => entry.input));
      } catch (error) {
        for (const entry of toQueue) emit({ type: 'rejected', project: route.id, channel: entry.channel, reason: 'queue_unavailable' });
        log('error', 'intake.enqueue_failed', 'The queue could not store a batch; nothing of it was accepted.', { project: route.id, messages: toQueue.length, reason: QueueError.isInstance(error) ? error.message : 'unexpected error' });
        throw new HttpProblem(
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
    reply(response, status, { accepted, duplicates, rejected, ...(versions > 0 ? { versions } : {}), results });
    return status;
  }

  async function archiveNow(request: IncomingMessage, response: ServerResponse): Promise<number> {
    const started = now();
    const route = authenticate(request);
    // The body is the message: one over the message limit is refused before it is read, parsed or validated.
    const limitBytes = Math.min(maxBodyBytes, maxMessageBytes);
    const body = await readJsonOf(
      request,
      route,
      limitBytes,
      () =>
        new HttpProblem(
          413,
          'message_too_large',
          `The message is larger than ${limitBytes} bytes (limits.max_message_bytes: ${maxMessageBytes}, limits.max_body_bytes: ${maxBodyBytes}), so it cannot be archived as it is: raise these settings in the worker's configuration to archive messages this large.`,
          { reason: 'too_large', limit_bytes: limitBytes },
          { connection: 'close' },
        ),
    );
    requireDestination(route);
    const refuse = (reason: IntakeRejection, errors: readonly FieldError[], channel?: Channel): never => {
      emit({ type: 'rejected', project: route.id, ...(channel === undefined ? {} : { channel }), reason });
      throw new HttpProblem(422, 'invalid_message', 'The message was refused; see errors.', { reason, errors });
    };
    const failed = (kind: ArchiveError['kind'], reason: string, channel: Channel, status = 502): never => {
      emit({ type: 'gate', project: route.id, channel, result: 'failed', kind, seconds: (now() - started) / 1000 });
      log('warn', 'intake.archive_failed', `Failed to archive a message of project "${route.id}".`, { project: route.id, kind, reason });
      throw new HttpProblem(status, 'failed_to_archive', 'The message could not be archived; hold the send or retry.', { kind, reason });
    };
    let archiver;
    try {
      archiver = directory.archiverFor(route.id, 'gate');
    } catch (error) {
      // Not ready: a message that cannot be stored still hears why.
      const checked = await storable(body, checkerFor(route));
      if (!checked.ok) return refuse('invalid', checked.errors);
      const problem = routeProblem(checked.projectId, checked.channel, route);
      if (problem !== undefined) return refuse(problem.reason, problem.errors, checked.channel);
      return failed('unreachable', error instanceof Error ? error.message : 'The destination is not ready.', checked.channel, 503);
    }
    if (archiver === undefined) throw new HttpProblem(409, 'no_destination', `Project "${route.id}" has no destination.`);
    // prepare() validates, so the message is checked once, on the way to being stored.
    let prepared;
    try {
      prepared = await archiver.prepare(body);
    } catch (error) {
      if (MessageValidationError.isInstance(error)) return refuse('invalid', fieldErrors(error.issues));
      throw error;
    }
    const problem = routeProblem(prepared.projectId, prepared.channel, route);
    if (problem !== undefined) return refuse(problem.reason, problem.errors, prepared.channel);
    // With a ledger, the stored message is recorded in the queue before the answer (see recordStored):
    // whatever the queue cannot take is refused before anything is stored.
    const record = options.ledger?.writes(archiver) === true ? gateRecord(body, prepared, route) : undefined;
    if (record !== undefined && !record.ok) return refuse(record.reason, record.errors, prepared.channel);
    const queueHealth = record === undefined ? undefined : queue.health?.();
    if (queueHealth !== undefined && !queueHealth.ok)
      return unrecorded(route, prepared.channel, `the queue refuses new messages (${queueHealth.problem ?? 'unhealthy'}), so a stored message could not be recorded for the archive ledger`, false);
    let result;
    try {
      result = await archiver.write(prepared);
    } catch (error) {
      if (ArchiveError.isInstance(error)) return failed(error.kind, error.reason, prepared.channel);
      return failed('unknown', 'Unexpected error while archiving.', prepared.channel);
    }
    if (record !== undefined && result.ledgerPosition !== undefined) {
      try {
        await options.ledger!.recordStored(record.input, archiver, result.ledgerPosition);
      } catch (error) {
        return unrecorded(route, prepared.channel, QueueError.isInstance(error) ? error.message : 'unexpected error', true, QueueError.isInstance(error) ? error.problem : undefined);
      }
    }
    if (result.version)
      log('warn', 'intake.version_stored', `A message of project "${route.id}" reused a message id with other content; it is stored as a version next to the first copy.`, {
        project: route.id,
        key: result.key,
        originalKey: result.originalKey,
      });
    emit({ type: 'gate', project: route.id, channel: prepared.channel, result: 'archived', seconds: (now() - started) / 1000, ...(result.version && result.created ? { version: true as const } : {}) });
    reply(response, 201, { key: result.key, sha256: result.sha256, size: result.size, created: result.created, attempts: result.attempts, ...(result.version ? { version: true, original_key: result.originalKey } : {}) });
    return 201;
  }

  /**
   * The queue entry that records a message the gate stores: the same text the batch intake would
   * queue (the fields read from raw MIME included), so archiving it again stores the same object.
   */
  function gateRecord(body: unknown, prepared: PreparedObject, route: ProjectRoute): { ok: true; input: QueueMessageInput } | { ok: false; reason: IntakeRejection; errors: FieldError[] } {
    const text = stringifyJson(Object.hasOwn(prepared.message, rawMimeDerivedMarker) ? prepared.message : body);
    const input: QueueMessageInput = { project: route.id, messageId: prepared.messageId, payload: text };
    const refused = entryProblem(input, queue.maxPayloadBytes);
    if (refused === undefined) return { ok: true, input };
    if (refused.tooLarge) return { ok: false, reason: 'too_large', errors: [queueTooLarge(Buffer.byteLength(text))] };
    const field = refused.field === 'messageId' ? 'message_id' : refused.field === 'project' ? 'project_id' : '';
    return { ok: false, reason: 'invalid', errors: [{ field, problem: `cannot be recorded in the queue: ${refused.problem}` }] };
  }

  /** Answers a gate call whose message could not be recorded for the ledger: 503, so the caller holds the send and retries. */
  function unrecorded(route: ProjectRoute, channel: Channel, reason: string, stored: boolean, problem?: string): never {
    emit({ type: 'rejected', project: route.id, channel, reason: 'queue_unavailable' });
    log('error', 'intake.gate_unrecorded', `A before-send call of project "${route.id}" was refused: ${reason}.`, { project: route.id, stored, reason });
    throw new HttpProblem(
      503,
      'queue_unavailable',
      stored
        ? 'The message is stored, but the queue could not record it for the archive ledger, so it was not confirmed. Hold the send and retry: the retry finds it stored (never a second copy) and records it.'
        : 'The queue refuses new messages, so a stored message could not be recorded for the archive ledger; nothing was stored. Hold the send and retry later.',
      { stored, ...(problem === undefined ? {} : { problem }) },
      { 'retry-after': '5' },
    );
  }

  async function readyz(request: IncomingMessage, response: ServerResponse): Promise<number> {
    let readiness;
    try {
      readiness = options.readiness !== undefined ? await options.readiness() : (await queue.stats(), { ready: true, checks: { queue: 'ok' } });
    } catch {
      readiness = { ready: false, checks: { queue: 'not answering' } };
    }
    const status = readiness.ready && !closing ? 200 : 503;
    // The checks name projects, destinations and buckets: with a metrics token, only its holder sees them.
    const detailed = metricsToken === undefined || hasBearerToken(request, metricsToken);
    reply(response, status, detailed ? { ready: status === 200, checks: { ...readiness.checks, ...(closing ? { shutdown: 'in progress' } : {}) } } : { ready: status === 200 });
    return status;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = parseRequestTarget(request.url);
    const route = target !== undefined && (routes as readonly string[]).includes(target.pathname) ? target.pathname : 'other';
    const method = request.method ?? 'GET';
    let status: number;
    if (target !== undefined && deadLetters.handles(target.pathname)) {
      emit({ type: 'request', route: target.pathname, status: await deadLetters.handle(request, response, target) });
      return;
    }
    try {
      if (target === undefined) throw new HttpProblem(400, 'bad_request', 'The request target is not a path (such as /v1/messages) or an http:// URL.');
      const allowed = route === '/v1/messages' || route === '/v1/archive' ? 'POST' : 'GET';
      if (route === 'other')
        throw new HttpProblem(
          404,
          'not_found',
          `No such route. Use POST /v1/messages, POST /v1/archive, GET /v1/dead-letters, POST /v1/dead-letters/replay, POST /v1/dead-letters/discard, GET /v1/dead-letters/discarded, GET /healthz, GET /readyz or GET /metrics.`,
        );
      if (method !== allowed && !(allowed === 'GET' && method === 'HEAD')) throw new HttpProblem(405, 'method_not_allowed', `Use ${allowed} for ${route}.`, {}, { allow: allowed });
      if (closing && allowed === 'POST') throw new HttpProblem(503, 'shutting_down', 'The worker is shutting down. Retry against another worker or later.', {}, { 'retry-after': '5', connection: 'close' });
      switch (route) {
        case '/v1/messages':
          authenticate(request);
          status = await withinBudget(request, maxBodyBytes, () => submitBatch(request, response));
          break;
        case '/v1/archive':
          authenticate(request);
          status = await withinBudget(request, Math.min(maxBodyBytes, maxMessageBytes), () => archiveNow(request, response));
          break;
        case '/healthz':
          reply(response, 200, { status: 'ok', version: workerVersion });
          status = 200;
          break;
        case '/readyz':
          status = await readyz(request, response);
          break;
        default: {
          if (options.metrics === undefined) throw new HttpProblem(404, 'not_found', 'Metrics are not enabled.');
          if (metricsToken !== undefined && !hasBearerToken(request, metricsToken)) {
            throw new HttpProblem(401, 'unauthorized', 'Send the metrics token as "Authorization: Bearer <token>".', {}, { 'www-authenticate': 'Bearer realm="sentcopy-metrics"' });
          }
          const text = await options.metrics.render();
          response.writeHead(200, { 'content-type': options.metrics.contentType, 'content-length': Buffer.byteLength(text), ...(closing ? { connection: 'close' } : {}) });
          response.end(text);
          status = 200;
        }
      }
    } catch (error) {
      const problem = error instanceof HttpProblem ? error : new HttpProblem(500, 'internal_error', 'Unexpected error; nothing was accepted from this request.');
      if (!(error instanceof HttpProblem)) log('error', 'intake.unexpected', 'An intake request failed unexpectedly.', { route, error: error instanceof Error ? error.name : typeof error });
      status = problem.status;
      if (!response.headersSent) reply(response, problem.status, { error: { code: problem.code, message: problem.message, ...problem.extra } }, problem.headers);
      // A body left unread (too large, or refused before reading) must not be drained into memory: drop the connection once answered.
      if (!request.complete) response.once('finish', () => request.socket?.destroy());
    }
    emit({ type: 'request', route, status });
  }

  /** The last line of defence: whatever escaped the error paths above is answered (or the connection closed), never left to crash the process. */
  function answerUnexpected(request: IncomingMessage, response: ServerResponse, error: unknown): void {
    try {
      log('error', 'intake.unexpected', 'An intake request failed unexpectedly.', { error: error instanceof Error ? error.name : typeof error });
      if (!response.headersSent) reply(response, 500, { error: { code: 'internal_error', message: 'Unexpected error; nothing was accepted from this request.' } });
      else response.destroy();
      if (!request.complete) response.once('finish', () => request.socket?.destroy());
    } catch {
      request.socket?.destroy();
    }
  }

  const handler = (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch((error: unknown) => answerUnexpected(request, response, error));
  };
  const server = options.tls === undefined ? createServer(handler) : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler);
  // A client that fails the handshake (plain HTTP to the HTTPS port, a distrusted certificate) only loses its own connection.
  server.on('tlsClientError', (error: Error) => log('debug', 'intake.tls_handshake_failed', 'A client failed the TLS handshake.', { error: (error as { code?: string }).code ?? error.name }));
  // CONNECT is answered like any other request to a route that does not exist, rather than by a silently dropped connection.
  server.on('connect', (_request: IncomingMessage, socket: Duplex) => {
    const text = `${JSON.stringify({ error: { code: 'method_not_allowed', message: 'CONNECT is not supported; this is the sentcopy intake, not a proxy.' } })}\n`;
    socket.on('error', () => socket.destroy());
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
    emit({ type: 'request', route: 'other', status: 405 });
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 30_000;
  server.requestTimeout = 120_000;

  return {
    server,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          if (metricsToken === undefined && options.metrics !== undefined && !isLoopback(host)) {
            log('warn', 'intake.metrics_open', `GET /metrics and GET /readyz answer anyone who reaches ${host} and name projects, destinations and buckets. Set http.metrics.token to require a token.`, { host });
          }
          const address = server.address() as AddressInfo;
          resolve(`${options.tls === undefined ? 'http' : 'https'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`);
        });
      });
    },
    async close({ graceMs = 10_000 } = {}) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
