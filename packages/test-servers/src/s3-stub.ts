import { createHash } from 'node:crypto';
import { listen } from './http-server.js';

/** A running S3 stub. */
export interface S3Stub {
  /** `http://127.0.0.1:<port>`; use with path-style addressing. */
  readonly endpoint: string;
  readonly port: number;
  /** Requests answered so far, by method. */
  readonly counts: Readonly<Record<string, number>>;
  /** While `true`, every request is answered 500 InternalError (an outage). */
  down: boolean;
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
 * HEAD of the bucket answers 200, and probe objects (keys under `.sentcopy-probe/`) are kept until
 * deleted, so a destination's `probe()` can pass against the stub.
 */
export async function startS3Stub(): Promise<S3Stub> {
  const counts: Record<string, number> = {};
  const probeObjects = new Map<string, { body: Buffer; headers: Record<string, string> }>();
  const server = await listen((request, response) => {
    const method = request.method ?? 'GET';
    counts[method] = (counts[method] ?? 0) + 1;
    const path = (request.url ?? '').split('?')[0] ?? '';
    const isProbe = path.includes('/.sentcopy-probe/');
    const chunks: Buffer[] = [];
    if (isProbe) request.on('data', (chunk: Buffer) => chunks.push(chunk));
    else request.resume();
    request.on('end', () => {
      if (stub.down) {
        const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>';
        response.writeHead(500, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        response.end(method === 'HEAD' ? undefined : body);
        return;
      }
      const probe = isProbe ? probeObjects.get(path) : undefined;
      if (isProbe && method === 'PUT' && probe !== undefined && request.headers['if-none-match'] === '*') {
        const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>';
        response.writeHead(412, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        response.end(body);
        return;
      }
      if (isProbe && method === 'PUT') {
        const metadata = Object.fromEntries(Object.entries(request.headers).filter((entry): entry is [string, string] => entry[0].startsWith('x-amz-meta-') && typeof entry[1] === 'string'));
        probeObjects.set(path, { body: Buffer.concat(chunks), headers: { ...metadata, 'content-type': String(request.headers['content-type'] ?? 'application/octet-stream'), etag } });
      }
      if (probe !== undefined && (method === 'GET' || method === 'HEAD')) {
        response.writeHead(200, { ...probe.headers, 'content-length': probe.body.length, 'last-modified': new Date().toUTCString() });
        response.end(method === 'GET' ? probe.body : undefined);
      } else if (method === 'PUT') {
        const checksum = request.headers['x-amz-checksum-sha256'];
        response.writeHead(200, { etag, 'content-length': 0, ...(typeof checksum === 'string' ? { 'x-amz-checksum-sha256': checksum } : {}) });
        response.end();
      } else if (method === 'DELETE') {
        probeObjects.delete(path);
        response.writeHead(204);
        response.end();
      } else if (method === 'HEAD' && /^\/[^/]+\/?$/.test(path)) {
        response.writeHead(200, { 'content-length': 0 });
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
  const stub: S3Stub = { endpoint: server.url, port: server.port, counts, down: false, stop: () => server.close() };
  return stub;
}
