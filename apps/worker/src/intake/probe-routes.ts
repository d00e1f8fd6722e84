import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MessageQueue } from '../queue/index.js';
import { workerVersion } from '../worker-version.js';
import { hasBearerToken } from './authenticate-request.js';
import { HttpProblemError, type IntakeReplies } from './intake-answer.js';
import type { IntakeServerOptions } from './intake-options.js';

/** What the probe and metrics routes need; `metricsToken` is the digest of `http.metrics.token`. */
export interface ProbeRoutesOptions extends Pick<IntakeServerOptions, 'readiness' | 'metrics'> {
  readonly queue: MessageQueue;
  readonly metricsToken: Buffer | undefined;
  readonly replies: IntakeReplies;
}

/** `GET /healthz`, `GET /readyz` and `GET /metrics`, each resolving with the status it sent. */
export interface ProbeRoutes {
  healthz(response: ServerResponse): number;
  readyz(request: IncomingMessage, response: ServerResponse): Promise<number>;
  metrics(request: IncomingMessage, response: ServerResponse): Promise<number>;
}

/** Creates the routes that answer probes and scrapes, without an API key. */
export function createProbeRoutes({ queue, readiness, metrics, metricsToken, replies }: ProbeRoutesOptions): ProbeRoutes {
  return {
    healthz(response) {
      replies.reply(response, 200, { status: 'ok', version: workerVersion });
      return 200;
    },

    async readyz(request, response) {
      let state;
      try {
        state = readiness !== undefined ? await readiness() : (await queue.stats(), { ready: true, checks: { queue: 'ok' } });
      } catch {
        state = { ready: false, checks: { queue: 'not answering' } };
      }
      const closing = replies.closing;
      const status = state.ready && !closing ? 200 : 503;
      // The checks name projects, destinations and buckets: with a metrics token, only its holder sees them.
      const detailed = metricsToken === undefined || hasBearerToken(request, metricsToken);
      replies.reply(response, status, detailed ? { ready: status === 200, checks: { ...state.checks, ...(closing ? { shutdown: 'in progress' } : {}) } } : { ready: status === 200 });
      return status;
    },

    async metrics(request, response) {
      if (metrics === undefined) throw new HttpProblemError(404, 'not_found', 'Metrics are not enabled.');
      if (metricsToken !== undefined && !hasBearerToken(request, metricsToken)) {
        throw new HttpProblemError(401, 'unauthorized', 'Send the metrics token as "Authorization: Bearer <token>".', {}, { 'www-authenticate': 'Bearer realm="sentcopy-metrics"' });
      }
      const text = await metrics.render();
      response.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text), ...(replies.closing ? { connection: 'close' } : {}) });
      response.end(text);
      return 200;
    },
  };
}
