import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { sendCanned, type CannedResponse } from './canned-response.js';
import { drainBody, listen } from './http-server.js';

/** What the proxy does to a request a rule matches. */
export type Fault =
  /** Answers with this response instead of forwarding (the request body is read first). */
  | { readonly type: 'respond'; readonly response: CannedResponse }
  /** Resets the TCP connection (RST) as soon as the request arrives: the client sees ECONNRESET. */
  | { readonly type: 'reset' }
  /** Waits this long, then forwards as usual (added latency). */
  | { readonly type: 'delay'; readonly ms: number }
  /** Forwards the request (so it takes effect upstream), then discards the upstream answer and sends this one: a lost answer. */
  | { readonly type: 'replace'; readonly response: CannedResponse };

/** Builders for {@link Fault}s. Cloud-specific error bodies come from `s3ErrorResponse()`, `azureErrorResponse()`, `gcsErrorResponse()`. */
export const faults = {
  /** Answer with `response` (e.g. `s3ErrorResponse('SlowDown')`). */
  respond: (response: CannedResponse): Fault => ({ type: 'respond', response }),
  /** Reset the connection. */
  reset: (): Fault => ({ type: 'reset' }),
  /** Add `ms` milliseconds of latency, then forward. */
  delay: (ms: number): Fault => ({ type: 'delay', ms }),
  /** Forward, let the upstream act, but answer `response` instead (e.g. a write that landed but whose answer was lost). */
  replace: (response: CannedResponse): Fault => ({ type: 'replace', response }),
};

/** A request as rules see it. */
export interface ProxiedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** When a rule applies. Without `times` and `forMs` it applies until removed. */
export interface FaultRuleOptions {
  /** Apply to the next N matching requests only. */
  readonly times?: number;
  /** Apply only to requests this predicate accepts. @default every request */
  readonly match?: (request: ProxiedRequest) => boolean;
  /** Apply only for this long from now, in milliseconds. */
  readonly forMs?: number;
}

/** An installed rule. */
export interface FaultRule {
  /** How many requests the rule has hit so far. */
  readonly hits: number;
  /** Whether the rule still applies (not removed, not used up, not expired). */
  readonly active: boolean;
  /** Stops applying the rule. */
  remove(): void;
}

/** One request the proxy saw. */
export interface ProxyRecord extends ProxiedRequest {
  /** `forwarded`, or the fault type applied. */
  readonly outcome: 'forwarded' | Fault['type'];
  /** Status answered to the client (the upstream's or the injected one); `undefined` after a reset. */
  readonly status?: number;
}

/** A running fault-injecting proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: point the client here instead of at the target. */
  readonly url: string;
  readonly port: number;
  /** Every request seen, in arrival order. */
  readonly requests: ProxyRecord[];
  /** Number of requests seen (all, or those `match` accepts). */
  count(match?: (request: ProxiedRequest) => boolean): number;
  /** Installs a rule; rules are checked in installation order and the first active match applies. */
  inject(fault: Fault, options?: FaultRuleOptions): FaultRule;
  /** Removes every rule and forgets recorded requests. */
  reset(): void;
  /** Stops the proxy (open connections are destroyed). */
  stop(): Promise<void>;
}

interface RuleState {
  readonly fault: Fault;
  readonly match?: (request: ProxiedRequest) => boolean;
  remaining: number;
  readonly until: number;
  hits: number;
  removed: boolean;
}

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function forwardHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !hopByHop.has(name)) result[name] = value;
  return result;
}

/**
 * Starts an HTTP proxy on 127.0.0.1 (random port) that forwards every request to `target`
 * unchanged — `Host` included, so signatures stay valid — unless a rule injects a fault.
 * Cloud-neutral: the error bodies to inject come from the per-cloud helpers.
 */
export async function startFaultProxy(options: { target: string }): Promise<FaultProxy> {
  const target = new URL(options.target);
  const rules: RuleState[] = [];
  const requests: ProxyRecord[] = [];
  const isActive = (rule: RuleState, now = Date.now()) => !rule.removed && rule.remaining > 0 && now < rule.until;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const seen: ProxiedRequest = { method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers };
    const rule = rules.find((candidate) => isActive(candidate) && (candidate.match?.(seen) ?? true));
    if (rule) {
      rule.hits++;
      rule.remaining--;
    }
    const fault = rule?.fault;
    const index = requests.push({ ...seen, outcome: fault?.type ?? 'forwarded' }) - 1;
    const setStatus = (status: number | undefined) => {
      requests[index] = { ...(requests[index] as ProxyRecord), status };
    };

    if (fault?.type === 'reset') {
      request.socket.resetAndDestroy();
      return;
    }
    if (fault?.type === 'respond') {
      await drainBody(request).catch(() => undefined);
      setStatus(fault.response.status);
      if (!response.destroyed) sendCanned(response, fault.response, seen.method);
      return;
    }
    if (fault?.type === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));

    await new Promise<void>((resolve) => {
      const upstream = httpRequest({ host: target.hostname, port: target.port, method: seen.method, path: seen.url, headers: forwardHeaders(request.headers) }, (upstreamResponse) => {
        if (fault?.type === 'replace') {
          upstreamResponse.resume();
          upstreamResponse.on('end', () => {
            setStatus(fault.response.status);
            if (!response.destroyed) sendCanned(response, fault.response, seen.method);
            resolve();
          });
          return;
        }
        setStatus(upstreamResponse.statusCode);
        response.writeHead(upstreamResponse.statusCode ?? 502, forwardHeaders(upstreamResponse.headers));
        upstreamResponse.pipe(response);
        upstreamResponse.on('end', resolve);
        upstreamResponse.on('error', () => {
          response.destroy();
          resolve();
        });
      });
      upstream.on('error', () => {
        setStatus(502);
        if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
        response.end('bad gateway: the proxy target did not answer');
        resolve();
      });
      // A client that goes away mid-upload aborts the forwarded request too, as a real network would.
      request.on('aborted', () => upstream.destroy());
      response.on('close', () => {
        if (!response.writableFinished) upstream.destroy();
      });
      request.pipe(upstream);
    });
  };

  const server = await listen(handle);
  return {
    url: server.url,
    port: server.port,
    requests,
    count: (match) => (match ? requests.filter(match).length : requests.length),
    inject(fault, ruleOptions = {}) {
      const state: RuleState = {
        fault,
        match: ruleOptions.match,
        remaining: ruleOptions.times ?? Infinity,
        until: ruleOptions.forMs === undefined ? Infinity : Date.now() + ruleOptions.forMs,
        hits: 0,
        removed: false,
      };
      rules.push(state);
      return {
        get hits() {
          return state.hits;
        },
        get active() {
          return isActive(state);
        },
        remove() {
          state.removed = true;
        },
      };
    },
    reset() {
      for (const rule of rules) rule.removed = true;
      rules.length = 0;
      requests.length = 0;
    },
    stop: () => server.close(),
  };
}
