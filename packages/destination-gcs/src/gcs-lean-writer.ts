import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { CRC32C, type Storage } from '@google-cloud/storage';
import { flattenHeaders, readCappedBody, transportFailure } from '@sentcopy/core';
import { Agent, type Dispatcher } from 'undici';

/** How the lean writer connects. */
export interface GcsLeanWriterOptions {
  /** Most concurrent connections to the endpoint. */
  readonly maxSockets: number;
  /** Longest time without progress (sending the body, awaiting or reading the answer), in milliseconds. */
  readonly requestTimeoutMs: number;
}

/** One upload as the driver builds it. */
export interface GcsLeanUpload {
  /** The full object name (prefix included). */
  readonly name: string;
  /** The object resource sent as the multipart metadata part, exactly what the SDK's write stream sends. */
  readonly resource: Readonly<Record<string, unknown>>;
  /** Content type of the data part (the SDK uses the resource's `contentType`). */
  readonly contentType: string;
  readonly body: Uint8Array;
  /** The KMS key, sent as the `kmsKeyName` query parameter as the SDK's `File` does. */
  readonly kmsKeyName?: string | undefined;
  /** Which hash the SDK would compare with the one GCS reports, or `false`. */
  readonly validation: 'crc32c' | 'md5' | false;
}

/** The fields of the object resource GCS answers with that the writer checks. */
interface UploadedResource {
  readonly generation?: string;
  readonly crc32c?: string;
  readonly md5Hash?: string;
}

/** An error answer of the JSON API, shaped like the SDK's `ApiError` so that `map-gcs-error.ts` reads it unchanged. */
export class GcsResponseError extends Error {
  /** The HTTP status, where the SDK's `ApiError` has it. */
  readonly code: number;
  /** The JSON API's `errors` (`reason`, `message`, `domain`). */
  readonly errors: readonly { readonly reason?: string; readonly message?: string }[];
  readonly response: { readonly statusCode: number; readonly headers: Readonly<Record<string, string>> };

  constructor(status: number, message: string, errors: GcsResponseError['errors'], headers: Readonly<Record<string, string>>) {
    super(message);
    this.name = 'GcsResponseError';
    this.code = status;
    this.errors = errors;
    this.response = { statusCode: status, headers };
  }
}

/** A failure below HTTP (connection refused or reset, a timeout), with the Node.js code map-gcs-error.ts classifies. */
export class GcsTransportError extends Error {
  readonly code: string;

  constructor(code: string, message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'GcsTransportError';
    this.code = code;
  }
}

/** The stored bytes differ from the ones sent (the check the SDK makes after an upload); `code` is the SDK's. */
export class GcsUploadMismatchError extends Error {
  readonly code: 'FILE_NO_UPLOAD' | 'FILE_NO_UPLOAD_DELETE';

  constructor(code: GcsUploadMismatchError['code'], message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'GcsUploadMismatchError';
    this.code = code;
  }
}

/** Largest multipart body built as one buffer, in bytes. */
const joinBelowBytes = 16 * 1024 * 1024;

/** Names the lean path in request logs. */
const userAgent = 'sentcopy-destination-gcs';

/** Largest answer body read, in bytes; object resources and error bodies are a few KB. */
const maxAnswerBytes = 256 * 1024;

/** CRC32C of `body`, base64, by the SDK's own implementation (the one its write stream validates with). */
function crc32cOf(body: Uint8Array): string {
  const crc = new CRC32C();
  crc.update(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  return crc.toString();
}

function transportError(error: unknown): unknown {
  const failure = transportFailure(error);
  return failure === undefined ? error : new GcsTransportError(failure.code, failure.message, error);
}

function responseError(status: number, headers: Record<string, string>, text: string): GcsResponseError {
  let error: { message?: unknown; errors?: unknown } | undefined;
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'object' && parsed.error !== null) error = parsed.error as typeof error;
  } catch {
    // Not the JSON API's error body (a proxy's page): the status alone classifies it, as with the SDK.
  }
  const errors = Array.isArray(error?.errors) ? (error.errors as GcsResponseError['errors']) : [];
  const message = typeof error?.message === 'string' && error.message !== '' ? error.message : `HTTP ${status}`;
  return new GcsResponseError(status, message, errors, headers);
}

/**
 * A single-request (multipart) upload without the SDK's stack (its write stream, request
 * decoration, retry-request and gaxios layers): the URL and query are the ones the SDK's `File`
 * builds, the `Authorization` header comes from the SDK client's own auth client
 * (`storage.authClient.authorizeRequest`, which caches and refreshes tokens as for every SDK
 * call) unless the SDK would send none (a custom endpoint without `useAuthWithCustomEndpoint`),
 * and the request goes over a bounded keep-alive undici pool. After the upload it makes the SDK's
 * integrity check: the CRC32C (the SDK's own `CRC32C`) or MD5 GCS reports must match the body.
 */
export class GcsLeanWriter {
  private readonly agent: Agent;
  private readonly uploadBase: string;
  private readonly origin: string;
  private readonly authenticate: boolean;

  constructor(
    private readonly storage: Storage,
    bucket: string,
    options: GcsLeanWriterOptions,
  ) {
    const endpoint = new URL(storage.apiEndpoint);
    this.origin = endpoint.origin;
    this.uploadBase = `${endpoint.pathname.replace(/\/+$/, '')}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o`;
    this.authenticate = !(storage.customEndpoint && storage.useAuthWithCustomEndpoint !== true);
    this.agent = new Agent({ connections: options.maxSockets, headersTimeout: options.requestTimeoutMs, bodyTimeout: options.requestTimeoutMs, keepAliveTimeout: 4_000 });
  }

  /** The path and query of the upload for `name`, as the SDK's `File` builds them. */
  pathOf(name: string, kmsKeyName: string | undefined): string {
    return `${this.uploadBase}?uploadType=multipart&name=${encodeURIComponent(name)}${kmsKeyName === undefined ? '' : `&kmsKeyName=${encodeURIComponent(kmsKeyName)}`}&ifGenerationMatch=0`;
  }

  /**
   * Uploads one object with `ifGenerationMatch=0`. Rejects with a {@link GcsResponseError}, a
   * {@link GcsTransportError}, a {@link GcsUploadMismatchError}, an error of the auth library, or the signal's reason.
   */
  async put(upload: GcsLeanUpload, signal: AbortSignal, removeMismatch: (generation: string | undefined) => Promise<void>): Promise<void> {
    const path = this.pathOf(upload.name, upload.kmsKeyName);
    const boundary = randomUUID();
    const headers: Record<string, string> = { 'content-type': `multipart/related; boundary=${boundary}`, accept: '*/*', 'user-agent': userAgent };
    if (this.authenticate) {
      const authorized = await this.storage.authClient.authorizeRequest({ url: `${this.origin}${path}`, headers: {} });
      for (const [name, value] of Object.entries((authorized.headers ?? {}) as Record<string, string>)) headers[name.toLowerCase()] = value;
    }
    signal.throwIfAborted();
    const parts = [
      Buffer.from(`--${boundary}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(upload.resource)}\r\n--${boundary}\r\nContent-Type: ${upload.contentType}\r\n\r\n`, 'utf8'),
      upload.body,
      Buffer.from(`\r\n--${boundary}--`, 'utf8'),
    ];
    const length = parts.reduce((sum, part) => sum + part.byteLength, 0);
    headers['content-length'] = String(length);
    // Small bodies are joined into one write; large ones (up to 5 GiB, above Buffer's limit) are streamed part by part, never copied.
    const body = length <= joinBelowBytes ? Buffer.concat(parts) : Readable.from(parts, { objectMode: false });
    let status: number;
    let answerHeaders: Record<string, string>;
    let text: string;
    try {
      const response = await this.agent.request({ origin: this.origin, path, method: 'POST', headers, body, signal });
      status = response.statusCode;
      answerHeaders = flattenHeaders(response.headers);
      text = Buffer.from(await readCappedBody(response.body, maxAnswerBytes)).toString('utf8');
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw transportError(error);
    }
    if (status < 200 || status >= 300) throw responseError(status, answerHeaders, text);
    if (upload.validation === false) return;
    let resource: UploadedResource = {};
    try {
      resource = JSON.parse(text) as UploadedResource;
    } catch {
      // No resource to check against: the check below fails, as the SDK's does.
    }
    const reported = upload.validation === 'crc32c' ? resource.crc32c : resource.md5Hash;
    const computed = upload.validation === 'crc32c' ? crc32cOf(upload.body) : createHash('md5').update(upload.body).digest('base64');
    if (reported === computed) return;
    // The SDK deletes an upload whose hash does not match; only the generation written here is removed.
    try {
      await removeMismatch(resource.generation);
    } catch (error) {
      throw new GcsUploadMismatchError('FILE_NO_UPLOAD_DELETE', 'The uploaded data did not match the data from the server, and the object could not be deleted.', error);
    }
    throw new GcsUploadMismatchError('FILE_NO_UPLOAD', 'The uploaded data did not match the data from the server. As a precaution, the object has been deleted.');
  }

  /** Closes the pool's connections; writes still in flight fail. */
  async close(): Promise<void> {
    await this.agent.destroy();
  }
}
