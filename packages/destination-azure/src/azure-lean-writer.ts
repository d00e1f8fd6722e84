import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/core-auth';
import { bearerTokenAuthenticationPolicy, createEmptyPipeline, createHttpHeaders, createPipelineRequest, RestError, type HttpClient, type Pipeline, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { authorizeRequestOnTenantChallenge } from '@azure/core-client';
import { parseXML } from '@azure/core-xml';
import { StorageOAuthScopes } from '@azure/storage-blob';
import { storageSharedKeyCredentialPolicy } from '@azure/storage-common';
import { flattenHeaders, readCappedBody, transportFailure } from '@sentcopy/core';
import { Agent, type Dispatcher } from 'undici';

/**
 * How the lean writer authenticates: exactly the credential the destination's SDK client was built
 * with. No signature is computed here: each kind is handed to the SDK's own signing piece.
 */
export type AzureLeanAuth =
  /** Shared Key: `storageSharedKeyCredentialPolicy` from `@azure/storage-common`, the policy the SDK's pipeline adds for a `StorageSharedKeyCredential`. */
  | { readonly kind: 'shared-key'; readonly accountName: string; readonly accountKey: Buffer }
  /** A SAS token: it travels as the URL's query, as with the SDK's `AnonymousCredential`; nothing is signed. */
  | { readonly kind: 'sas' }
  /** Microsoft Entra ID: core-rest-pipeline's `bearerTokenAuthenticationPolicy`, as the SDK adds it (token caching, refresh and the tenant challenge included). */
  | { readonly kind: 'token'; readonly credential: TokenCredential };

/** How the lean writer connects. */
export interface AzureLeanWriterOptions {
  /** Most concurrent connections to the account. */
  readonly maxSockets: number;
  /** Longest time without progress (sending the body, awaiting or reading the answer), in milliseconds. */
  readonly requestTimeoutMs: number;
}

/** One Put Blob as the driver builds it. */
export interface AzureLeanPut {
  /** The full blob name (prefix included). */
  readonly name: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** Names the lean path in storage analytics logs, like the SDK's prefix does. */
const userAgent = 'sentcopy-destination-azure';

/**
 * The blob's path as the SDK writes it: `encodeURIComponent` per segment (its `EscapePath`), set as a
 * URL's path (which resolves `.` and `..` segments), then `'` escaped (its `escapeURLPath`), so both
 * paths name the same blob.
 */
function blobPath(containerPath: string, name: string): string {
  const url = new URL(containerPath);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${name.split('/').map(encodeURIComponent).join('/')}`;
  return url.href.replaceAll("'", '%27');
}

/** Largest error answer read for its code and message, in bytes; Azure's are a few hundred. */
const maxErrorBodyBytes = 64 * 1024;

/**
 * The pipeline's transport: a bounded keep-alive undici pool instead of the SDK's node:http client
 * (whose per-request stream plumbing costs about as much CPU as the rest of the request). A failure
 * below HTTP becomes the `RestError` the SDK's client throws for it (`code` a Node.js system code).
 */
class UndiciHttpClient implements HttpClient {
  readonly agent: Agent;

  constructor(options: AzureLeanWriterOptions) {
    this.agent = new Agent({ connections: options.maxSockets, headersTimeout: options.requestTimeoutMs, bodyTimeout: options.requestTimeoutMs, keepAliveTimeout: 4_000 });
  }

  async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    const url = new URL(request.url);
    const signal = request.abortSignal;
    try {
      const response = await this.agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers: request.headers.toJSON(),
        body: request.body as Uint8Array,
        ...(signal === undefined ? {} : { signal }),
      });
      const headers = createHttpHeaders();
      for (const [name, value] of Object.entries(flattenHeaders(response.headers))) headers.set(name, value);
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      const bodyAsText = ok ? (await response.body.dump(), undefined) : Buffer.from(await readCappedBody(response.body, maxErrorBodyBytes)).toString('utf8');
      return { request, status: response.statusCode, headers, ...(bodyAsText === undefined ? {} : { bodyAsText }) };
    } catch (error) {
      if (signal?.aborted) throw (signal as AbortSignal).reason;
      // The SDK's pipeline surfaces every socket failure as a RestError with the Node.js code, which its error map reads.
      const code = (error as { code?: unknown } | null)?.code;
      const failure = transportFailure(error) ?? (typeof code === 'string' ? { code, message: `${(error as Error).message} (${code})` } : undefined);
      if (failure === undefined) throw error;
      throw new RestError(failure.message, { code: failure.code });
    }
  }
}

/**
 * Turns an error answer into the error the SDK would throw for it (a `RestError` with the status,
 * the Azure error code in `details.errorCode`, the answer's headers and Azure's message), so that
 * `map-azure-error.ts` classifies both paths with one table. The request (its URL may hold a SAS
 * token, its headers a signature) is deliberately not attached.
 */
async function responseError(response: PipelineResponse): Promise<RestError> {
  let parsed: { Code?: unknown; Message?: unknown } = {};
  const text = response.bodyAsText;
  if (typeof text === 'string' && text.trim().startsWith('<')) {
    try {
      parsed = (await parseXML(text)) as typeof parsed;
    } catch {
      // Not Azure's XML (a proxy's page): the status and headers alone classify it, as with the SDK.
    }
  }
  const code = response.headers.get('x-ms-error-code') ?? (typeof parsed.Code === 'string' ? parsed.Code : undefined);
  const message = typeof parsed.Message === 'string' ? parsed.Message : `Unexpected status code: ${response.status}`;
  const error = new RestError(message, { statusCode: response.status, response: { ...response, request: undefined as never } });
  (error as RestError & { details: unknown }).details = { errorCode: code, requestId: response.headers.get('x-ms-request-id') };
  return error;
}

/**
 * Put Blob without the SDK's client stack (operation spec, serializer, XML deserializer, tracing,
 * logging, retry and telemetry policies): the request goes through a core-rest-pipeline holding
 * only the SDK's own signing policy, over a bounded keep-alive undici pool. Answers other than 2xx
 * reject with the same `RestError` shape the SDK throws.
 */
export class AzureLeanWriter {
  private readonly pipeline: Pipeline;
  private readonly httpClient: UndiciHttpClient;
  private readonly containerPath: string;
  private readonly query: string;

  /**
   * @param containerUrl The container's URL as the SDK client has it (with the SAS query for `sas`).
   */
  constructor(containerUrl: string, auth: AzureLeanAuth, options: AzureLeanWriterOptions = { maxSockets: 64, requestTimeoutMs: 60_000 }) {
    const url = new URL(containerUrl);
    this.query = url.search;
    url.search = '';
    this.containerPath = url.href.replace(/\/+$/, '');
    this.httpClient = new UndiciHttpClient(options);
    this.pipeline = createEmptyPipeline();
    if (auth.kind === 'shared-key') {
      this.pipeline.addPolicy(storageSharedKeyCredentialPolicy({ accountName: auth.accountName, accountKey: auth.accountKey }), { phase: 'Sign' });
    } else if (auth.kind === 'token') {
      // As the SDK's pipeline adds it: the storage scope, and the tenant challenge answered as the SDK answers it.
      this.pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential: auth.credential, scopes: StorageOAuthScopes, challengeCallbacks: { authorizeRequestOnChallenge: authorizeRequestOnTenantChallenge } }), { phase: 'Sign' });
    }
  }

  /** The URL Put Blob is sent to for `name` (the SAS query included): the same the SDK's `getBlockBlobClient(name).url` gives. */
  urlOf(name: string): string {
    return `${blobPath(this.containerPath, name)}${this.query}`;
  }

  /** Sends one Put Blob. Rejects with a `RestError` (an error answer or a failed connection) or an `AbortError`. */
  async put(request: AzureLeanPut, abortSignal: AbortSignal): Promise<void> {
    const headers = createHttpHeaders({ ...request.headers, 'content-length': String(request.body.byteLength), 'user-agent': userAgent, 'x-ms-client-request-id': randomUUID() });
    const pipelineRequest = createPipelineRequest({ url: this.urlOf(request.name), method: 'PUT', headers, body: request.body, abortSignal, allowInsecureConnection: true });
    const response = await this.pipeline.sendRequest(this.httpClient, pipelineRequest);
    if (response.status >= 200 && response.status < 300) return;
    throw await responseError(response);
  }

  /** Closes the pool's connections; writes still in flight fail, as they do when an SDK client's agent is destroyed. */
  async close(): Promise<void> {
    await this.httpClient.agent.destroy();
  }
}
