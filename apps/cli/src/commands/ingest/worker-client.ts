import { setTimeout as delay } from 'node:timers/promises';
import { CliError, exitCodes } from '../../cli-kit/index.js';

/** Where a running worker answers, and the API key of the project to act for. */
export interface WorkerConnection {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  /** The project's API key (never printed). */
  readonly apiKey: string;
  /** Name of the environment variable the key came from, for hints. */
  readonly apiKeyEnv: string;
}

/** Options shared by the commands that talk to a worker. */
export interface WorkerConnectionOptions {
  /** `--worker URL`. */
  readonly worker?: string;
  /** `--api-key-env VAR`. */
  readonly apiKeyEnv: string;
}

/** Environment variable `--api-key-env` defaults to (the one `sentcopy worker` tells you to export). */
export const defaultApiKeyEnv = 'SENTCOPY_KEY';

/** Checks `--worker` and reads the API key from the environment variable `--api-key-env` names. */
export function resolveWorkerConnection(options: WorkerConnectionOptions): WorkerConnection {
  if (options.worker === undefined || options.worker === '') {
    throw new CliError('No worker URL: --worker is required.', { exitCode: exitCodes.usage, code: 'usage', hint: 'Pass --worker http://HOST:PORT (or set SENTCOPY_WORKER_URL), the address `sentcopy worker` printed.' });
  }
  let parsed: URL;
  try {
    parsed = new URL(options.worker);
  } catch {
    throw new CliError('--worker is not a URL.', { exitCode: exitCodes.usage, code: 'usage', hint: 'Pass it like http://127.0.0.1:8787.' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliError('--worker must be an http:// or https:// URL.', { exitCode: exitCodes.usage, code: 'usage', hint: 'Pass it like http://127.0.0.1:8787.' });
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.apiKeyEnv)) {
    throw new CliError('--api-key-env must name an environment variable (letters, digits and _).', { exitCode: exitCodes.usage, code: 'usage', hint: `For example --api-key-env ${defaultApiKeyEnv}.` });
  }
  const apiKey = process.env[options.apiKeyEnv];
  if (apiKey === undefined || apiKey.trim() === '') {
    throw new CliError(`The environment variable ${options.apiKeyEnv} (--api-key-env) is not set.`, {
      exitCode: exitCodes.usage,
      code: 'api_key_missing',
      hint: `Export the project's API key first: export ${options.apiKeyEnv}=sc_… (the worker shows a new key once, when it creates the project).`,
    });
  }
  // Credentials in the URL would end up in error messages; the key travels in the header only.
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.href.replace(/\/+$/, ''), apiKey: apiKey.trim(), apiKeyEnv: options.apiKeyEnv };
}

/** A worker's answer. */
export interface WorkerResponse {
  readonly status: number;
  /** The parsed JSON body; `undefined` when it was not JSON. */
  readonly body: unknown;
  readonly headers: Headers;
}

/** Options of {@link callWorker}. */
export interface CallWorkerOptions {
  readonly method: 'GET' | 'POST';
  /** Path and query, e.g. `/v1/dead-letters?limit=10`. */
  readonly path: string;
  /** Request body: JSON text. */
  readonly body?: string;
  /** Retries after a 429, a 503 or a connection failure, before giving up. @default 8 */
  readonly maxRetries?: number;
  /** Told before each retry; `cause` completes "the worker …": `answered HTTP 503`, `could not be reached (connection refused…)`. */
  readonly onRetry?: (info: { attempt: number; delayMs: number; cause: string }) => void;
}

/** The `{"error": {"code", "message"}}` body every worker error carries. */
export function workerError(body: unknown): { code: string; message: string; [key: string]: unknown } | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return typeof code === 'string' && typeof message === 'string' ? (error as { code: string; message: string }) : undefined;
}

function retryDelayMs(attempt: number, retryAfter: string | null): number {
  const seconds = retryAfter === null ? Number.NaN : Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 60_000);
  // Full jitter, so several clients retrying together spread out.
  const ceiling = Math.min(250 * 2 ** (attempt - 1), 10_000);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

// fetch() throws a bare `TypeError: fetch failed`; what went wrong is in its cause.
const networkProblems: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused: nothing listens there',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the other side',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  CERT_HAS_EXPIRED: 'expired TLS certificate',
};

/** What kept a request from reaching the worker, in words: `connection refused: nothing listens there (ECONNREFUSED)`. */
export function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (code !== undefined) return networkProblems[code] === undefined ? code : `${networkProblems[code]} (${code})`;
  if (typeof cause?.message === 'string' && cause.message !== '') return cause.message;
  return error instanceof Error && error.message !== '' ? error.message : 'network error';
}

/**
 * Calls the worker with the API key, retrying 429 and 503 (honouring `Retry-After`) and
 * connection failures with backoff. A refused key is a {@link CliError}; a worker still
 * unreachable or overloaded after the retries is one with exit code `unavailable`. Other
 * statuses are returned for the caller to read.
 */
export async function callWorker(connection: WorkerConnection, options: CallWorkerOptions): Promise<WorkerResponse> {
  const maxRetries = options.maxRetries ?? 8;
  for (let attempt = 1; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(`${connection.url}${options.path}`, {
        method: options.method,
        headers: { authorization: `Bearer ${connection.apiKey}`, accept: 'application/json', ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(options.body === undefined ? {} : { body: options.body }),
      });
    } catch (error) {
      const cause = networkCause(error);
      if (attempt > maxRetries) {
        throw new CliError(`Cannot reach the worker at ${connection.url} (${cause}).`, {
          exitCode: exitCodes.unavailable,
          code: 'worker_unreachable',
          hint: 'Check the URL and that `sentcopy worker` is running, then run the command again.',
          cause: error,
        });
      }
      const delayMs = retryDelayMs(attempt, null);
      options.onRetry?.({ attempt, delayMs, cause: `could not be reached (${cause})` });
      await delay(delayMs);
      continue;
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (response.status === 429 || response.status === 503) {
      if (attempt > maxRetries) {
        const detail = workerError(body)?.message ?? `HTTP ${response.status}`;
        throw new CliError(`The worker at ${connection.url} is still not taking requests after ${maxRetries} retries: ${detail}`, {
          exitCode: exitCodes.unavailable,
          code: 'worker_unavailable',
          hint: 'Try again later, or raise --max-retries.',
        });
      }
      const delayMs = retryDelayMs(attempt, response.headers.get('retry-after'));
      options.onRetry?.({ attempt, delayMs, cause: `answered HTTP ${response.status}` });
      await delay(delayMs);
      continue;
    }
    if (response.status === 401) {
      throw new CliError(`The worker refused the API key in ${connection.apiKeyEnv}.`, {
        code: 'unauthorized',
        hint: `Put an API key of the project in ${connection.apiKeyEnv} (keys are listed, hashed, under projects.<id>.api_keys in the worker's config).`,
      });
    }
    return { status: response.status, body, headers: response.headers };
  }
}
