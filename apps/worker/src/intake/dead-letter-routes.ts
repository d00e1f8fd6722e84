import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProjectDirectory, ProjectRoute } from '../projects/index.js';
import type { WorkerLogger } from '../logging/index.js';
import { deadLetterKinds, QueueError, type DeadLetter, type DeadLetterFilter, type DeadLetterKind, type DiscardedDeadLetter, type MessageQueue } from '../queue/index.js';
import { readBody } from './read-body.js';
import type { RequestTarget } from './request-target.js';

/** Paths the dead-letter routes answer. */
export const deadLetterPaths = ['/v1/dead-letters', '/v1/dead-letters/replay', '/v1/dead-letters/discard', '/v1/dead-letters/discarded'] as const;

/** Options for {@link createDeadLetterRoutes}. */
export interface DeadLetterRoutesOptions {
  /** The queue whose dead letters are listed and replayed. */
  readonly queue: MessageQueue;
  /** Authenticates the API key; its project scopes every request. */
  readonly directory: ProjectDirectory;
  /** Writes a JSON answer (the intake's `reply`, which adds `connection: close` while shutting down). */
  readonly reply: (response: ServerResponse, status: number, body: unknown, headers?: Record<string, string>) => void;
  /** Receives the log line each discard leaves (ids, counts and the reason; never message content). @default none */
  readonly logger?: WorkerLogger;
}

/** The dead-letter routes of the intake server. */
export interface DeadLetterRoutes {
  /** `true` when `pathname` is one of these routes. */
  handles(pathname: string): boolean;
  /** Answers the request (errors included); resolves with the status sent. */
  handle(request: IncomingMessage, response: ServerResponse, target: RequestTarget): Promise<number>;
}

class RouteProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const maxReplayBodyBytes = 1024 * 1024;
const maxReplayIds = 10_000;
const maxDiscardReasonLength = 500;

/** A discarded dead letter's record as the HTTP API shows it. */
function discardedToJson(record: DiscardedDeadLetter): Record<string, unknown> {
  return {
    id: record.id,
    project: record.project,
    message_id: record.messageId,
    kind: record.kind,
    reason: record.reason,
    discard_reason: record.discardReason,
    discarded_at: new Date(record.discardedAt).toISOString(),
    dead_at: new Date(record.deadAt).toISOString(),
    enqueued_at: new Date(record.enqueuedAt).toISOString(),
    attempts: record.attempts,
    ...(record.payloadSha256 === undefined ? {} : { payload_sha256: record.payloadSha256 }),
    payload_bytes: record.payloadBytes,
  };
}

/** A dead letter as the HTTP API shows it: snake_case, times as ISO 8601. Holds no message content. */
function toJson(letter: DeadLetter): Record<string, unknown> {
  const iso = (time: number | undefined) => (time === undefined ? undefined : new Date(time).toISOString());
  return {
    id: letter.id,
    project: letter.project,
    message_id: letter.messageId,
    kind: letter.kind,
    reason: letter.reason,
    issues: letter.issues,
    attempts: letter.attempts,
    deliveries: letter.deliveries,
    ...(letter.firstAttemptAt === undefined ? {} : { first_attempt_at: iso(letter.firstAttemptAt) }),
    ...(letter.lastAttemptAt === undefined ? {} : { last_attempt_at: iso(letter.lastAttemptAt) }),
    enqueued_at: iso(letter.enqueuedAt),
    dead_at: iso(letter.deadAt),
    history: letter.history.map((attempt) => ({ at: iso(attempt.at), kind: attempt.kind, reason: attempt.reason })),
    payload_bytes: letter.payloadBytes,
  };
}

/** A time given as an ISO 8601 date or date-time, or as epoch milliseconds. */
function parseTime(field: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const time = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (Number.isFinite(time)) return time;
  }
  throw new RouteProblem(400, 'bad_request', `${field} must be an ISO 8601 date or date-time (e.g. 2026-01-31T00:00:00Z) or epoch milliseconds.`);
}

function parseKind(field: string, value: unknown): DeadLetterKind | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' && (deadLetterKinds as readonly string[]).includes(value)) return value as DeadLetterKind;
  throw new RouteProblem(400, 'bad_request', `${field} must be one of ${deadLetterKinds.join(', ')}.`);
}

function rangeFilter(source: { kind?: unknown; from?: unknown; to?: unknown }, prefix: string): Omit<DeadLetterFilter, 'project' | 'ids'> {
  const kind = parseKind(`${prefix}kind`, source.kind);
  const from = parseTime(`${prefix}from`, source.from);
  const to = parseTime(`${prefix}to`, source.to);
  if (from !== undefined && to !== undefined && from >= to) throw new RouteProblem(400, 'bad_request', `${prefix}from must be earlier than ${prefix}to.`);
  return { ...(kind === undefined ? {} : { kind }), ...(from === undefined ? {} : { deadFrom: from }), ...(to === undefined ? {} : { deadBefore: to }) };
}

/**
 * The intake's dead-letter routes, authenticated like `POST /v1/messages` and scoped to the API
 * key's project:
 * - `GET /v1/dead-letters?kind=&from=&to=&limit=&cursor=`: a page of dead letters, oldest first,
 *   with the total matching the filter and a cursor for the next page.
 * - `POST /v1/dead-letters/replay` with `{"ids": [...]}`, `{"filter": {"kind", "from", "to"}}` or
 *   `{"all": true}`: moves them back into the queue, ready now, and says how many.
 * - `POST /v1/dead-letters/discard` with the same selection and a required `"reason"`: removes them
 *   for good (payloads too), logs it, and keeps a record of each (id, message id, kind, reasons,
 *   time, payload SHA-256).
 * - `GET /v1/dead-letters/discarded?limit=&cursor=`: those records, oldest discarded first.
 */
export function createDeadLetterRoutes(options: DeadLetterRoutesOptions): DeadLetterRoutes {
  const { queue, directory, reply } = options;

  function authenticate(request: IncomingMessage): ProjectRoute {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    const route = match?.[1] === undefined ? undefined : directory.authenticate(match[1]);
    if (route === undefined) throw new RouteProblem(401, 'unauthorized', 'Send a valid API key as "Authorization: Bearer <key>".', { 'www-authenticate': 'Bearer realm="sentcopy"' });
    return route;
  }

  async function list(request: IncomingMessage, response: ServerResponse, target: RequestTarget): Promise<number> {
    const route = authenticate(request);
    const query = target.query;
    for (const name of query.keys()) {
      if (!['kind', 'from', 'to', 'limit', 'cursor'].includes(name)) throw new RouteProblem(400, 'bad_request', `Unknown query parameter "${name}". Use kind, from, to, limit and cursor.`);
    }
    const limitText = query.get('limit');
    const limit = limitText === null || limitText === '' ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new RouteProblem(400, 'bad_request', 'limit must be a whole number from 1 to 1000.');
    const filter: DeadLetterFilter = { project: route.id, ...rangeFilter({ kind: query.get('kind') ?? undefined, from: query.get('from') ?? undefined, to: query.get('to') ?? undefined }, '') };
    const cursor = query.get('cursor');
    const [page, total] = await Promise.all([queue.listDeadLetters({ filter, limit, ...(cursor === null || cursor === '' ? {} : { cursor }) }), queue.countDeadLetters(filter)]);
    reply(response, 200, { project: route.id, total, items: page.items.map(toJson), ...(page.cursor === undefined ? {} : { cursor: page.cursor }) });
    return 200;
  }

  /** Reads a replay or discard body: which dead letters of the key's project (ids, a filter, or all), and the other fields given. */
  async function readSelection(request: IncomingMessage, route: ProjectRoute, action: 'replay' | 'discard'): Promise<{ filter: DeadLetterFilter; body: Record<string, unknown> }> {
    const contentType = request.headers['content-type'];
    if (contentType === undefined || !/^application\/json\s*(;|$)/i.test(contentType)) throw new RouteProblem(415, 'unsupported_media_type', 'Send the body as JSON with "Content-Type: application/json".');
    const body = await readBody(request, maxReplayBodyBytes);
    if (!body.ok) {
      if (body.reason === 'too_large') throw new RouteProblem(413, 'payload_too_large', `The body is larger than ${maxReplayBodyBytes} bytes. ${action === 'replay' ? 'Replay' : 'Discard'} fewer ids at a time.`, { connection: 'close' });
      throw new RouteProblem(400, 'bad_request', 'The request body was not received completely.');
    }
    let value: unknown;
    try {
      value = JSON.parse(body.bytes.toString('utf8'));
    } catch {
      throw new RouteProblem(400, 'invalid_json', 'The body is not valid JSON.');
    }
    const extra = action === 'discard' ? ', "reason": "..."' : '';
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RouteProblem(400, 'bad_request', `The body must be an object: {"ids": [...]${extra}}, {"filter": {...}${extra}} or {"all": true${extra}}.`);
    const selection = value as { ids?: unknown; filter?: unknown; all?: unknown };
    const given = (['ids', 'filter', 'all'] as const).filter((name) => selection[name] !== undefined);
    if (given.length !== 1) throw new RouteProblem(400, 'bad_request', `Give exactly one of "ids", "filter" or "all": {"ids": [...]${extra}}, {"filter": {"kind", "from", "to"}${extra}} or {"all": true${extra}}.`);
    let filter: DeadLetterFilter;
    if (selection.ids !== undefined) {
      const ids = selection.ids;
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > maxReplayIds || ids.some((id) => typeof id !== 'string' || id === '' || id.length > 1000)) {
        throw new RouteProblem(400, 'bad_request', `ids must be a non-empty array of at most ${maxReplayIds} dead-letter ids (strings).`);
      }
      filter = { project: route.id, ids: ids as string[] };
    } else if (selection.filter !== undefined) {
      const source = selection.filter;
      if (typeof source !== 'object' || source === null || Array.isArray(source)) throw new RouteProblem(400, 'bad_request', 'filter must be an object with kind, from and/or to.');
      const unknown = Object.keys(source).filter((name) => !['kind', 'from', 'to'].includes(name));
      if (unknown.length > 0) throw new RouteProblem(400, 'bad_request', `filter.${unknown[0]} is not a filter field. Use kind, from and to.`);
      const range = rangeFilter(source as { kind?: unknown; from?: unknown; to?: unknown }, 'filter.');
      // An empty filter would select everything: that takes an explicit {"all": true}.
      if (Object.keys(range).length === 0) throw new RouteProblem(400, 'bad_request', `filter must set kind, from or to; to ${action} every dead letter send {"all": true}.`);
      filter = { project: route.id, ...range };
    } else {
      if (selection.all !== true) throw new RouteProblem(400, 'bad_request', 'all must be true.');
      filter = { project: route.id };
    }
    return { filter, body: value as Record<string, unknown> };
  }

  async function replay(request: IncomingMessage, response: ServerResponse): Promise<number> {
    const route = authenticate(request);
    const { filter } = await readSelection(request, route, 'replay');
    const result = await queue.replayDeadLetters(filter);
    reply(response, 200, { project: route.id, replayed: result.replayed, already_queued: result.alreadyQueued });
    return 200;
  }

  function requireDiscard(): Required<Pick<MessageQueue, 'discardDeadLetters' | 'listDiscardedDeadLetters'>> {
    if (queue.discardDeadLetters === undefined || queue.listDiscardedDeadLetters === undefined) {
      throw new RouteProblem(501, 'not_implemented', `The ${queue.implementation} queue cannot discard dead letters yet; replay them, or use the embedded queue.`);
    }
    return { discardDeadLetters: queue.discardDeadLetters.bind(queue), listDiscardedDeadLetters: queue.listDiscardedDeadLetters.bind(queue) };
  }

  async function discard(request: IncomingMessage, response: ServerResponse): Promise<number> {
    const route = authenticate(request);
    const { filter, body } = await readSelection(request, route, 'discard');
    const unknown = Object.keys(body).filter((name) => !['ids', 'filter', 'all', 'reason'].includes(name));
    if (unknown.length > 0) throw new RouteProblem(400, 'bad_request', `"${unknown[0]}" is not a discard field. Give "ids", "filter" or "all", and "reason".`);
    const reason = body['reason'];
    if (typeof reason !== 'string' || reason.trim() === '') throw new RouteProblem(400, 'bad_request', 'reason is required: say why these dead letters are given up on for good (it is kept with their record).');
    if (reason.length > maxDiscardReasonLength) throw new RouteProblem(400, 'bad_request', `reason must be at most ${maxDiscardReasonLength} characters.`);
    const result = await requireDiscard().discardDeadLetters(filter, reason);
    if (result.discarded > 0) {
      try {
        options.logger?.({
          level: 'warn',
          event: 'dead_letters.discarded',
          message: `${result.discarded} dead letter(s) of project "${route.id}" were discarded for good: ${reason.trim()}`,
          project: route.id,
          discarded: result.discarded,
          ids: result.ids,
          reason: reason.trim(),
        });
      } catch {
        // A failing logger must not undo an answer: the record is kept in the queue.
      }
    }
    reply(response, 200, { project: route.id, discarded: result.discarded, ids: result.ids, reason: reason.trim() });
    return 200;
  }

  async function listDiscarded(request: IncomingMessage, response: ServerResponse, target: RequestTarget): Promise<number> {
    const route = authenticate(request);
    const query = target.query;
    for (const name of query.keys()) {
      if (!['limit', 'cursor'].includes(name)) throw new RouteProblem(400, 'bad_request', `Unknown query parameter "${name}". Use limit and cursor.`);
    }
    const limitText = query.get('limit');
    const limit = limitText === null || limitText === '' ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new RouteProblem(400, 'bad_request', 'limit must be a whole number from 1 to 1000.');
    const cursor = query.get('cursor');
    const page = await requireDiscard().listDiscardedDeadLetters({ project: route.id, limit, ...(cursor === null || cursor === '' ? {} : { cursor }) });
    reply(response, 200, { project: route.id, items: page.items.map(discardedToJson), ...(page.cursor === undefined ? {} : { cursor: page.cursor }) });
    return 200;
  }

  return {
    handles: (pathname) => (deadLetterPaths as readonly string[]).includes(pathname),
    async handle(request, response, target) {
      const isPost = target.pathname === '/v1/dead-letters/replay' || target.pathname === '/v1/dead-letters/discard';
      const allowed = isPost ? 'POST' : 'GET';
      try {
        const method = request.method ?? 'GET';
        if (method !== allowed && !(allowed === 'GET' && method === 'HEAD')) throw new RouteProblem(405, 'method_not_allowed', `Use ${allowed} for ${target.pathname}.`, { allow: allowed });
        switch (target.pathname) {
          case '/v1/dead-letters/replay':
            return await replay(request, response);
          case '/v1/dead-letters/discard':
            return await discard(request, response);
          case '/v1/dead-letters/discarded':
            return await listDiscarded(request, response, target);
          default:
            return await list(request, response, target);
        }
      } catch (error) {
        let problem: RouteProblem;
        if (error instanceof RouteProblem) problem = error;
        else if (QueueError.isInstance(error) && error.kind === 'invalid_input') problem = new RouteProblem(400, 'bad_request', error.message);
        else if (QueueError.isInstance(error)) problem = new RouteProblem(503, 'queue_unavailable', 'The queue could not answer. Retry later.', { 'retry-after': '5' });
        else problem = new RouteProblem(500, 'internal_error', 'Unexpected error; nothing was changed by this request.');
        if (!response.headersSent) reply(response, problem.status, { error: { code: problem.code, message: problem.message } }, problem.headers);
        if (!request.complete) response.once('finish', () => request.socket?.destroy());
        return problem.status;
      }
    },
  };
}
