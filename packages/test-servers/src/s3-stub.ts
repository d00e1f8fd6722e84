import { createHash } from 'node:crypto';
import { listen } from './http-server.js';

/** A running S3 stub. */
export interface S3Stub {
  /** `http://127.0.0.1:<port>`; use with path-style addressing. */
  readonly endpoint: string;
  readonly port: number;
  /** Requests answered so far, by method. */
  readonly counts: Readonly<Record<string, number>>;
  /** Stops the stub. */
  stop(): Promise<void>;
}

const emptyList =
  '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>stub</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>';
const etag = `"${createHash('md5').digest('hex')}"`;

/**
 * Starts an S3 stub for benchmarks: it stores nothing, reads each request body, and answers at
 * once — PUT 200 (with an ETag, echoing `x-amz-checksum-sha256`), HEAD 404, GET of a bucket an
 * empty listing, GET of an object 404 NoSuchKey, DELETE 204 — so a benchmark measures the client.
 */
export async function startS3Stub(): Promise<S3Stub> {
  const counts: Record<string, number> = {};
  const server = await listen((request, response) => {
    const method = request.method ?? 'GET';
    counts[method] = (counts[method] ?? 0) + 1;
    request.resume();
    request.on('end', () => {
      if (method === 'PUT') {
        const checksum = request.headers['x-amz-checksum-sha256'];
        response.writeHead(200, { etag, 'content-length': 0, ...(typeof checksum === 'string' ? { 'x-amz-checksum-sha256': checksum } : {}) });
        response.end();
      } else if (method === 'DELETE') {
        response.writeHead(204);
        response.end();
      } else if (method === 'HEAD') {
        response.writeHead(404, { 'content-length': 0 });
        response.end();
      } else if (method === 'GET' && (request.url ?? '').includes('list-type=2')) {
        response.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(emptyList) });
        response.end(emptyList);
      } else {
        const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>';
        response.writeHead(404, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        response.end(body);
      }
    });
  });
  return { endpoint: server.url, port: server.port, counts, stop: () => server.close() };
}
