import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/core-auth';
import {
  bearerTokenAuthenticationPolicy,
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  RestError,
  type HttpClient,
  type Pipeline,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { parseXML } from '@azure/core-xml';
import { getCachedDefaultHttpClient, storageSharedKeyCredentialPolicy } from '@azure/storage-common';

/**
 * How the lean writer authenticates: exactly the credential the destination's SDK client was built
 * with. No signature is computed here: each kind is handed to the SDK's own signing piece.
 */
export type AzureLeanAuth =
  /** Shared Key: `storageSharedKeyCredentialPolicy` from `@azure/storage-common`, the policy the SDK's pipeline adds for a `StorageSharedKeyCredential`. */
  | { readonly kind: 'shared-key'; readonly accountName: string; readonly accountKey: Buffer }
  /** A SAS token: it travels as the URL's query, as with the SDK's `AnonymousCredential`; nothing is signed. */
  | { readonly kind: 'sas' }
  /** Microsoft Entra ID: core-rest-pipeline's `bearerTokenAuthenticationPolicy`, as the SDK adds it (token caching and refresh included). */
  | { readonly kind: 'token'; readonly credential: TokenCredential };

/** One Put Blob as the driver builds it. */
export interface AzureLeanPut {
  /** The full blob name (prefix included). */
  readonly name: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** The audience of storage tokens, as the SDK requests them (`StorageOAuthScopes`). */
const storageScope = 'https://storage.azure.com/.default';

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
 * only the SDK's own signing policy, over the SDK's cached keep-alive HTTP client. Answers other than
 * 2xx reject with the same `RestError` shape the SDK throws.
 */
export class AzureLeanWriter {
  private readonly pipeline: Pipeline;
  private readonly httpClient: HttpClient;
  private readonly containerPath: string;
  private readonly query: string;

  /**
   * @param containerUrl The container's URL as the SDK client has it (with the SAS query for `sas`).
   */
  constructor(containerUrl: string, auth: AzureLeanAuth) {
    const url = new URL(containerUrl);
    this.query = url.search;
    url.search = '';
    this.containerPath = url.href.replace(/\/+$/, '');
    this.httpClient = getCachedDefaultHttpClient();
    this.pipeline = createEmptyPipeline();
    if (auth.kind === 'shared-key') {
      this.pipeline.addPolicy(storageSharedKeyCredentialPolicy({ accountName: auth.accountName, accountKey: auth.accountKey }), { phase: 'Sign' });
    } else if (auth.kind === 'token') {
      this.pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential: auth.credential, scopes: storageScope }), { phase: 'Sign' });
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
}
