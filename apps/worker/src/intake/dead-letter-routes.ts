import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProjectDirectory, ProjectRoute } from '../projects/index.js';
import { deadLetterKinds, QueueError, type DeadLetter, type DeadLetterFilter, type DeadLetterKind, type MessageQueue } from '../queue/index.js';
import { readBody } from './read-body.js';
import type { RequestTarget } from './request-target.js';

/** Paths the dead-letter routes answer. */
export const deadLetterPaths = ['/v1/dead-letters', '/v1/dead-letters/replay'] as const;

/** Options for {@link createDeadLetterRoutes}. */
export interface DeadLetterRoutesOptions {
  /** The queue whose dead letters are listed and replayed. */
  readonly queue: MessageQueue;
  /** Authenticates the API key; its project scopes every request. */
  readonly directory: ProjectDirectory;
  /** Writes a JSON answer (the intake's `reply`, which adds `connection: close` while shutting down). */
  readonly reply: (response: ServerResponse, status: number, body: unknown, headers?: Record<string, string>) => void;
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
    const [page, total] = await Promise.all([
      queue.listDeadLetters({ filter, limit, ...(cursor === null || cursor === '' ? {} : { cursor }) }),
      queue.countDeadLetters(filter),
    ]);
    reply(response, 200, { project: route.id, total, items: page.items.map(toJson), ...(page.cursor === undefined ? {} : { cursor: page.cursor }) });
    return 200;
  }

  async function replay(request: IncomingMessage, response: ServerResponse): Promise<number> {
    const route = authenticate(request);
    const contentType = request.headers['content-type'];
    if (contentType === undefined || !/^application\/json\s*(;|$)/i.test(contentType)) throw new RouteProblem(415, 'unsupported_media_type', 'Send the body as JSON with "Content-Type: application/json".');
    const body = await readBody(request, maxReplayBodyBytes);
    if (!body.ok) {
      if (body.reason === 'too_large') throw new RouteProblem(413, 'payload_too_large', `The body is larger than ${maxReplayBodyBytes} bytes. Replay fewer ids at a time.`, { connection: 'close' });
      throw new RouteProblem(400, 'bad_request', 'The request body was not received completely.');
    }
    let value: unknown;
    try {
      value = JSON.parse(body.bytes.toString('utf8'));
    } catch {
      throw new RouteProblem(400, 'invalid_json', 'The body is not valid JSON.');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RouteProblem(400, 'bad_request', 'The body must be an object: {"ids": [...]}, {"filter": {...}} or {"all": true}.');
    const selection = value as { ids?: unknown; filter?: unknown; all?: unknown };
    const given = (['ids', 'filter', 'all'] as const).filter((name) => selection[name] !== undefined);
    if (given.length !== 1) throw new RouteProblem(400, 'bad_request', 'Give exactly one of "ids", "filter" or "all": {"ids": [...]}, {"filter": {"kind", "from", "to"}} or {"all": true}.');
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
      // An empty filter would replay everything: that takes an explicit {"all": true}.
      if (Object.keys(range).length === 0) throw new RouteProblem(400, 'bad_request', 'filter must set kind, from or to; to replay every dead letter send {"all": true}.');
      filter = { project: route.id, ...range };
    } else {
      if (selection.all !== true) throw new RouteProblem(400, 'bad_request', 'all must be true.');
      filter = { project: route.id };
    }
    const result = await queue.replayDeadLetters(filter);
    reply(response, 200, { project: route.id, replayed: result.replayed, already_queued: result.alreadyQueued });
    return 200;
  }

  return {
    handles: (pathname) => (deadLetterPaths as readonly string[]).includes(pathname),
    async handle(request, response, target) {
      const isReplay = target.pathname === '/v1/dead-letters/replay';
      const allowed = isReplay ? 'POST' : 'GET';
      try {
        const method = request.method ?? 'GET';
        if (method !== allowed && !(allowed === 'GET' && method === 'HEAD')) throw new RouteProblem(405, 'method_not_allowed', `Use ${allowed} for ${target.pathname}.`, { allow: allowed });
        return isReplay ? await replay(request, response) : await list(request, response, target);
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
