import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { loadRestXmlErrorCode, parseXmlErrorBody } from '@aws-sdk/core/protocols';
import { Sha256 } from '@smithy/core/checksum';
import { getEndpointFromInstructions } from '@smithy/core/endpoints';
import { extendedEncodeURIComponent } from '@smithy/core/protocols';
import { toUtf8 } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import { flattenHeaders, readCappedBody, transportFailure } from '@sentcopy/core';
import { Agent, type Dispatcher } from 'undici';

/** How the lean writer connects; the same figures the SDK client gets. */
export interface S3LeanWriterOptions {
  /** Most concurrent connections per endpoint. */
  readonly maxSockets: number;
  /** Longest time to establish a connection, in milliseconds. */
  readonly connectionTimeoutMs: number;
  /** Longest time without progress (sending the body, awaiting or reading the answer), in milliseconds. */
  readonly requestTimeoutMs: number;
}

/** One PutObject as the driver builds it: the key (prefix included), the request headers in S3's spelling, and the body. */
export interface S3LeanPut {
  readonly key: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** SHA-256 of `body`, lower-case hex: the signed payload hash, so the body is never hashed again. */
  readonly sha256: string;
}

/** An error answer of S3, shaped like the SDK's service exceptions so that `map-s3-error.ts` reads it unchanged. */
export class S3ResponseError extends Error {
  /** The S3 error code from the XML body, when there is one. */
  readonly Code: string | undefined;
  readonly $fault: 'client' | 'server';
  readonly $metadata: { readonly httpStatusCode: number; readonly requestId?: string | undefined; readonly extendedRequestId?: string | undefined };
  readonly $response: { readonly statusCode: number; readonly headers: Readonly<Record<string, string>> };

  constructor(status: number, code: string | undefined, message: string | undefined, headers: Readonly<Record<string, string>>) {
    super(message ?? code ?? `HTTP ${status}`);
    // The SDK names a bodiless error after its status (`UnknownError`); map-s3-error.ts knows those names.
    this.name = code ?? 'UnknownError';
    this.Code = code;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, requestId: headers['x-amz-request-id'], extendedRequestId: headers['x-amz-id-2'] };
    this.$response = { statusCode: status, headers };
  }
}

/** A failure below HTTP (connection refused or reset, a timeout), with the Node.js code map-s3-error.ts classifies. */
export class S3TransportError extends Error {
  readonly code: string;

  constructor(code: string, message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'S3TransportError';
    this.code = code;
  }
}

/** Where every PutObject of one bucket goes, resolved once by the SDK's own endpoint rules. */
interface PutTarget {
  readonly origin: string;
  readonly host: string;
  readonly protocol: string;
  readonly hostname: string;
  readonly port: number | undefined;
  /** Path up to the key: `/bucket/` (path-style) or `/` (virtual-hosted). */
  readonly basePath: string;
  /** Extra headers the endpoint rules ask for. */
  readonly headers: Readonly<Record<string, string>>;
  readonly signer: SignatureV4;
  /**
   * Body size from which the SDK sends `Expect: 100-continue`, so that a refusal (412: the key
   * exists) arrives before the body is uploaded; undici does not implement it over HTTP/1.1, so
   * such bodies are written through the SDK, where the request costs little next to the upload.
   */
  readonly expectContinueFrom: number;
}

/** The query the SDK adds to every PutObject (it names the operation in access logs). */
const query = { 'x-id': 'PutObject' };
const queryString = 'x-id=PutObject';

/** Names the lean path in store access logs; not signed, as with the SDK. */
const userAgent = 'sentcopy-destination-s3';

/** Largest error body read for its code, in bytes; S3's are a few hundred. */
const maxErrorBodyBytes = 64 * 1024;

function transportError(error: unknown): unknown {
  const failure = transportFailure(error);
  return failure === undefined ? error : new S3TransportError(failure.code, failure.message, error);
}

/**
 * Learns the store's clock from the answer's Date header as the SDK's signer does (its
 * `systemClockOffset`, shared with the SDK calls): a machine whose clock is off still signs dates
 * the store accepts after one refused request. Cached answers (an `Age` header) and answers that took
 * over 15 minutes say nothing about the clock.
 */
function updateClockOffset(config: { systemClockOffset?: number }, headers: Dispatcher.ResponseData['headers'], sentAt: number): void {
  const date = headers.date;
  if (typeof date !== 'string' || headers.age !== undefined) return;
  const serverTime = Date.parse(date);
  const now = Date.now();
  if (Number.isNaN(serverTime) || now - sentAt > 900_000) return;
  config.systemClockOffset = serverTime - now;
}

async function responseError(response: Dispatcher.ResponseData): Promise<S3ResponseError> {
  const headers = flattenHeaders(response.headers);
  const bytes = await readCappedBody(response.body, maxErrorBodyBytes).catch(() => new Uint8Array());
  let data: { Error?: { Code?: string; Message?: string; message?: string }; Code?: string; Message?: string } = {};
  try {
    data = await parseXmlErrorBody(bytes, { utf8Encoder: toUtf8 } as never);
  } catch {
    // Not XML (a proxy's HTML page): the status alone classifies it, as with the SDK.
  }
  const code = loadRestXmlErrorCode({ statusCode: response.statusCode, headers } as never, data);
  const message = data?.Error?.message ?? data?.Error?.Message ?? data?.Message;
  return new S3ResponseError(response.statusCode, code, typeof message === 'string' ? message : undefined, headers);
}

/**
 * PutObject without the SDK's middleware stack: the endpoint comes from the SDK client's own
 * endpoint rules, the signature from `@smithy/signature-v4` with the client's credential provider
 * (so caching and refresh stay the SDK's), and the request goes over a bounded keep-alive undici
 * pool. Answers other than 2xx become {@link S3ResponseError}s carrying S3's code and status.
 */
export class S3LeanWriter {
  private readonly agent: Agent;
  private target: Promise<PutTarget | 'sdk'> | undefined;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly options: S3LeanWriterOptions,
  ) {
    this.agent = new Agent({
      connections: options.maxSockets,
      connect: { timeout: options.connectionTimeoutMs },
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
      keepAliveTimeout: 4_000,
    });
  }

  /** The bucket's endpoint and signer, or `sdk` when it needs an auth scheme only the SDK implements (S3 Express sessions, SigV4a). */
  private resolveTarget(): Promise<PutTarget | 'sdk'> {
    if (this.target === undefined) {
      this.target = this.buildTarget();
      // A failed resolution (e.g. the region provider could not answer) is tried again on the next write.
      this.target.catch(() => {
        this.target = undefined;
      });
    }
    return this.target;
  }

  private async buildTarget(): Promise<PutTarget | 'sdk'> {
    const config = this.client.config;
    const endpoint = await getEndpointFromInstructions({ Bucket: this.bucket, Key: 'k' }, PutObjectCommand as never, config as never);
    const schemes = (endpoint.properties?.authSchemes ?? []) as { name?: string; signingName?: string; signingRegion?: string }[];
    const scheme = schemes[0];
    if (scheme !== undefined && scheme.name !== 'sigv4') return 'sdk';
    const url = endpoint.url;
    const headers: Record<string, string> = {};
    for (const [name, values] of Object.entries(endpoint.headers ?? {})) headers[name.toLowerCase()] = values.join(',');
    const region = scheme?.signingRegion ?? (await config.region());
    const expectContinue = (config as { expectContinueHeader?: number | boolean }).expectContinueHeader;
    return {
      origin: url.origin,
      host: url.host,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      basePath: url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`,
      headers,
      expectContinueFrom: typeof expectContinue === 'number' ? expectContinue : expectContinue === false ? Number.POSITIVE_INFINITY : 0,
      signer: new SignatureV4({ credentials: config.credentials, region, service: scheme?.signingName ?? 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false }),
    };
  }

  /**
   * Sends one PutObject; resolves with the answer's version id, or `sdk` when this bucket or this
   * body must be written through the SDK. Rejects with an {@link S3ResponseError}, an {@link S3TransportError},
   * or the signal's reason.
   */
  async put(request: S3LeanPut, signal: AbortSignal): Promise<{ readonly versionId: string | undefined } | 'sdk'> {
    const target = await this.resolveTarget();
    if (target === 'sdk' || request.body.byteLength >= target.expectContinueFrom) return 'sdk';
    signal.throwIfAborted();
    const config = this.client.config as { systemClockOffset?: number; disableClockSkewCorrection?: () => Promise<boolean | undefined> };
    const skewCorrection = (await config.disableClockSkewCorrection?.()) !== true;
    const sentAt = Date.now();
    const path = target.basePath + request.key.split('/').map(extendedEncodeURIComponent).join('/');
    const signed = await target.signer.sign(
      {
        method: 'PUT',
        protocol: target.protocol,
        hostname: target.hostname,
        ...(target.port === undefined ? {} : { port: target.port }),
        path,
        query,
        headers: { ...target.headers, ...request.headers, host: target.host, 'user-agent': userAgent, 'content-length': String(request.body.byteLength), 'x-amz-content-sha256': request.sha256 },
        body: request.body,
      },
      { signingDate: new Date(sentAt + (skewCorrection ? (config.systemClockOffset ?? 0) : 0)) },
    );
    signal.throwIfAborted();
    let response: Dispatcher.ResponseData;
    try {
      response = await this.agent.request({ origin: target.origin, path: `${path}?${queryString}`, method: 'PUT', headers: signed.headers, body: request.body, signal });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw transportError(error);
    }
    if (skewCorrection) updateClockOffset(config, response.headers, sentAt);
    if (response.statusCode >= 200 && response.statusCode < 300) {
      try {
        await response.body.dump();
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw transportError(error);
      }
      const version = response.headers['x-amz-version-id'];
      return { versionId: typeof version === 'string' ? version : undefined };
    }
    throw await responseError(response);
  }

  /** Closes the pool's connections and refuses new writes; writes still in flight fail, as they do when the SDK client is destroyed. */
  async close(): Promise<void> {
    await this.agent.destroy();
  }
}
