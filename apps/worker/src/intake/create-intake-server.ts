import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { defaultMaxBatchMessages, defaultMaxBodyBytes, defaultMaxMessageBytes } from '@sentcopy/core';
import { createGateIntake } from './archive-now.js';
import { authenticate, tokenDigest } from './authenticate-request.js';
import { createByteBudget } from './byte-budget.js';
import { createStorableChecks } from './check-storable.js';
import { createDeadLetterRoutes } from './dead-letter-routes.js';
import { createIntakeReport, HttpProblemError, IntakeReplies } from './intake-answer.js';
import type { IntakeServer, IntakeServerOptions } from './intake-options.js';
import { createProbeRoutes } from './probe-routes.js';
import { parseRequestTarget } from './request-target.js';
import { createBatchIntake } from './submit-batch.js';

const routes = ['/v1/messages', '/v1/archive', '/healthz', '/readyz', '/metrics'] as const;

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/** The bytes a request's body will hold: its Content-Length (at most the limit that refuses it), or the limit when it has none. */
function bodyShare(request: IncomingMessage, limitBytes: number): number {
  const declared = Number(request.headers['content-length']);
  return Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, limitBytes) : limitBytes;
}

/**
 * Creates the worker's HTTP intake:
 * - `POST /v1/messages` (after-send): a batch; answers `202` once every accepted message is durable
 *   in the queue, with one result per message (field errors for the rejected ones).
 * - `POST /v1/archive` (before-send): one message, stored before the answer: `201` with the key
 *   and SHA-256, or `502 failed_to_archive` with the error kind and reason so the caller can hold the send.
 * - `GET /healthz`, `GET /readyz`, `GET /metrics`, without authentication.
 * Requests are authenticated with `Authorization: Bearer <API key>`; the key selects the project.
 *
 * A request's path runs one way: this router (route, method, shutdown, byte budget) → the route's
 * module (`submit-batch`, `archive-now`, `probe-routes`, `dead-letter-routes`), which authenticates
 * (`authenticate-request`), reads the body (`parse-request`), checks what can be stored
 * (`check-storable`), enqueues or stores, and answers (`intake-answer`).
 */
export function createIntakeServer(options: IntakeServerOptions): IntakeServer {
  const { queue, directory } = options;
  const maxBodyBytes = options.limits?.maxBodyBytes ?? defaultMaxBodyBytes;
  const maxBatchMessages = options.limits?.maxBatchMessages ?? defaultMaxBatchMessages;
  const maxMessageBytes = options.limits?.maxMessageBytes ?? defaultMaxMessageBytes;
  const budget = createByteBudget(Math.max(maxBodyBytes, options.limits?.maxBytesInProgress ?? 128 * 1024 * 1024));
  const metricsToken = options.metricsToken === undefined ? undefined : tokenDigest(options.metricsToken);
  const report = createIntakeReport(options);
  const { log, emit } = report;
  const replies = new IntakeReplies();
  const reply = replies.reply.bind(replies);
  const checks = createStorableChecks({ queue, directory, maxMessageBytes, report });
  const submitBatch = createBatchIntake({ queue, directory, checks, replies, report, maxBodyBytes, maxBatchMessages, maxMessageBytes });
  const archiveNow = createGateIntake({ queue, directory, ledger: options.ledger, checks, replies, report, maxBodyBytes, maxMessageBytes, now: options.now ?? Date.now });
  const probes = createProbeRoutes({ queue, readiness: options.readiness, metrics: options.metrics, metricsToken, replies });
  const deadLetters = createDeadLetterRoutes({ queue, directory, reply, ...(options.logger === undefined ? {} : { logger: options.logger }) });

  /** Runs `handle` once the request's body fits in the intake's byte budget (see `maxBytesInProgress`), and frees its share when it is answered. */
  async function withinBudget(request: IncomingMessage, limitBytes: number, handle: () => Promise<number>): Promise<number> {
    const release = await budget.take(bodyShare(request, limitBytes));
    try {
      return await handle();
    } finally {
      release();
    }
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
      if (target === undefined) throw new HttpProblemError(400, 'bad_request', 'The request target is not a path (such as /v1/messages) or an http:// URL.');
      const allowed = route === '/v1/messages' || route === '/v1/archive' ? 'POST' : 'GET';
      if (route === 'other')
        throw new HttpProblemError(
          404,
          'not_found',
          `No such route. Use POST /v1/messages, POST /v1/archive, GET /v1/dead-letters, POST /v1/dead-letters/replay, POST /v1/dead-letters/discard, GET /v1/dead-letters/discarded, GET /healthz, GET /readyz or GET /metrics.`,
        );
      if (method !== allowed && !(allowed === 'GET' && method === 'HEAD')) throw new HttpProblemError(405, 'method_not_allowed', `Use ${allowed} for ${route}.`, {}, { allow: allowed });
      if (replies.closing && allowed === 'POST') throw new HttpProblemError(503, 'shutting_down', 'The worker is shutting down. Retry against another worker or later.', {}, { 'retry-after': '5', connection: 'close' });
      switch (route) {
        case '/v1/messages':
          // Authenticated before the body takes a share of the budget; the route authenticates again once it has it.
          authenticate(directory, request);
          status = await withinBudget(request, maxBodyBytes, () => submitBatch(request, response));
          break;
        case '/v1/archive':
          authenticate(directory, request);
          status = await withinBudget(request, Math.min(maxBodyBytes, maxMessageBytes), () => archiveNow(request, response));
          break;
        case '/healthz':
          status = probes.healthz(response);
          break;
        case '/readyz':
          status = await probes.readyz(request, response);
          break;
        default:
          status = await probes.metrics(request, response);
      }
    } catch (error) {
      const problem = error instanceof HttpProblemError ? error : new HttpProblemError(500, 'internal_error', 'Unexpected error; nothing was accepted from this request.');
      if (!(error instanceof HttpProblemError)) log('error', 'intake.unexpected', 'An intake request failed unexpectedly.', { route, error: error instanceof Error ? error.name : typeof error });
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
      replies.closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
