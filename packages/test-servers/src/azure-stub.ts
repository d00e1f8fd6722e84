import { randomUUID } from 'node:crypto';
import { listen } from './http-server.js';

/** A running Azure Blob stub. */
export interface AzureStub {
  /** `http://127.0.0.1:<port>/<account>`: the account URL to give the SDK. */
  readonly blobEndpoint: string;
  readonly port: number;
  /** Requests answered so far, by method. */
  readonly counts: Readonly<Record<string, number>>;
  /** Stops the stub. */
  stop(): Promise<void>;
}

const emptyList = (container: string) => `\ufeff<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://127.0.0.1/" ContainerName="${container}"><Blobs /><NextMarker /></EnumerationResults>`;

/**
 * Starts an Azure Blob stub for benchmarks: it stores nothing and checks no signature, reads each
 * request body, and answers at once — Put Blob 201 (ETag, Last-Modified, echoing `Content-MD5`),
 * HEAD 404, a listing empty, GET of a blob 404 BlobNotFound, DELETE 202 — so a benchmark
 * measures the client.
 */
export async function startAzureStub(options: { accountName?: string } = {}): Promise<AzureStub> {
  const account = options.accountName ?? 'devstoreaccount1';
  const counts: Record<string, number> = {};
  const server = await listen((request, response) => {
    const method = request.method ?? 'GET';
    counts[method] = (counts[method] ?? 0) + 1;
    request.resume();
    request.on('end', () => {
      const common = { 'x-ms-request-id': randomUUID(), 'x-ms-version': '2025-11-05', date: new Date().toUTCString() };
      const url = request.url ?? '/';
      if (method === 'PUT') {
        const md5 = request.headers['content-md5'];
        response.writeHead(201, {
          ...common,
          etag: `"0x8DC${Date.now().toString(16).toUpperCase()}"`,
          'last-modified': new Date().toUTCString(),
          'x-ms-request-server-encrypted': 'true',
          'content-length': 0,
          ...(typeof md5 === 'string' ? { 'content-md5': md5 } : {}),
        });
        response.end();
      } else if (method === 'DELETE') {
        response.writeHead(202, { ...common, 'content-length': 0 });
        response.end();
      } else if (method === 'HEAD') {
        response.writeHead(404, { ...common, 'x-ms-error-code': 'BlobNotFound', 'content-length': 0 });
        response.end();
      } else if (method === 'GET' && url.includes('comp=list')) {
        const container = decodeURIComponent(url.split('?')[0]?.split('/')[2] ?? 'stub');
        const body = emptyList(container);
        response.writeHead(200, { ...common, 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        response.end(body);
      } else {
        const body = '\ufeff<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code><Message>The specified blob does not exist.</Message></Error>';
        response.writeHead(404, { ...common, 'x-ms-error-code': 'BlobNotFound', 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        response.end(body);
      }
    });
  });
  return { blobEndpoint: `${server.url}/${account}`, port: server.port, counts, stop: () => server.close() };
}
