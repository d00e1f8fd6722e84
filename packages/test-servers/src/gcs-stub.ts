import { createHash } from 'node:crypto';
import { crc32cBase64 } from './gcs/crc32c.js';
import { multipartBoundary, parseMultipart } from './gcs/multipart.js';
import { listen, readBody } from './http-server.js';

/** A running GCS stub. */
export interface GcsStub {
  /** `http://127.0.0.1:<port>`: the `apiEndpoint` to give `@google-cloud/storage`. */
  readonly endpoint: string;
  readonly port: number;
  /** Requests answered so far, by method. */
  readonly counts: Readonly<Record<string, number>>;
  /** Stops the stub. */
  stop(): Promise<void>;
}

const json = { 'content-type': 'application/json; charset=UTF-8' };
const notFound = (message: string) => JSON.stringify({ error: { code: 404, message, errors: [{ message, domain: 'global', reason: 'notFound' }] } });

/**
 * Starts a GCS JSON-API stub for benchmarks: it checks no credentials and stores nothing except
 * probe objects (names under `.sentcopy-probe/`), and answers at once — a multipart upload 200
 * with the object resource (generation, size, md5Hash and crc32c computed, which the SDK's
 * validation needs), metadata and media GET 404, a listing empty, DELETE 204, bucket metadata
 * and an IAM policy without public members — so a benchmark measures the client. A repeated
 * probe upload with `ifGenerationMatch=0` answers 412, so a destination's `probe()` passes.
 */
export async function startGcsStub(): Promise<GcsStub> {
  const counts: Record<string, number> = {};
  const probeObjects = new Map<string, { resource: Record<string, unknown>; body: Buffer }>();
  let generation = BigInt(Date.now()) * 1000n;
  const send = (response: import('node:http').ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = json) => {
    response.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
    response.end(body);
  };
  const server = await listen(async (request, response): Promise<void> => {
    const method = request.method ?? 'GET';
    counts[method] = (counts[method] ?? 0) + 1;
    const url = new URL(request.url ?? '/', 'http://stub');
    const path = url.pathname;
    const body = await readBody(request);
    if (method === 'POST' && path.startsWith('/upload/storage/v1/b/')) {
      const bucket = decodeURIComponent(path.split('/')[5] ?? '');
      const boundary = multipartBoundary(request.headers['content-type']);
      const parts = boundary === undefined ? undefined : parseMultipart(body, boundary);
      if (parts === undefined || parts.length !== 2) return send(response, 400, JSON.stringify({ error: { code: 400, message: 'the stub answers multipart uploads only', errors: [{ reason: 'invalid' }] } }));
      const metadata = JSON.parse(parts[0]!.body.toString('utf8')) as Record<string, unknown>;
      const data = parts[1]!.body;
      const name = (metadata.name as string | undefined) ?? url.searchParams.get('name') ?? '';
      const isProbe = name.includes('.sentcopy-probe/');
      if (isProbe && url.searchParams.get('ifGenerationMatch') === '0' && probeObjects.has(name)) {
        const message = 'At least one of the pre-conditions you specified did not hold.';
        return send(response, 412, JSON.stringify({ error: { code: 412, message, errors: [{ message, domain: 'global', reason: 'conditionNotMet' }] } }));
      }
      generation += 1n;
      const resource = {
        kind: 'storage#object',
        name,
        bucket,
        generation: generation.toString(),
        metageneration: '1',
        contentType: metadata.contentType ?? 'application/octet-stream',
        ...(metadata.contentEncoding === undefined ? {} : { contentEncoding: metadata.contentEncoding }),
        ...(metadata.metadata === undefined ? {} : { metadata: metadata.metadata }),
        size: String(data.length),
        md5Hash: createHash('md5').update(data).digest('base64'),
        crc32c: crc32cBase64(data),
        storageClass: 'STANDARD',
        timeCreated: new Date().toISOString(),
        updated: new Date().toISOString(),
      };
      if (isProbe) probeObjects.set(name, { resource, body: Buffer.from(data) });
      return send(response, 200, JSON.stringify(resource));
    }
    const objectMatch = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path);
    if (objectMatch) {
      const name = decodeURIComponent(objectMatch[2] ?? '');
      const probe = probeObjects.get(name);
      if (method === 'DELETE') {
        probeObjects.delete(name);
        response.writeHead(204, { 'content-length': 0 });
        response.end();
        return;
      }
      if (probe === undefined) return send(response, 404, notFound(`No such object: ${objectMatch[1]}/${name}`));
      if (url.searchParams.get('alt') === 'media') {
        return send(response, 200, probe.body, {
          'content-type': String(probe.resource.contentType),
          'x-goog-hash': `crc32c=${String(probe.resource.crc32c)},md5=${String(probe.resource.md5Hash)}`,
          'x-goog-stored-content-encoding': 'identity',
          'x-goog-generation': String(probe.resource.generation),
        });
      }
      return send(response, 200, JSON.stringify(probe.resource));
    }
    const bucketMatch = /^\/storage\/v1\/b\/([^/]+)(\/o|\/iam)?\/?$/.exec(path);
    if (bucketMatch && method === 'GET') {
      const bucket = decodeURIComponent(bucketMatch[1] ?? '');
      if (bucketMatch[2] === '/o') return send(response, 200, JSON.stringify({ kind: 'storage#objects' }));
      if (bucketMatch[2] === '/iam') return send(response, 200, JSON.stringify({ kind: 'storage#policy', resourceId: `projects/_/buckets/${bucket}`, version: 1, etag: 'CAE=', bindings: [] }));
      return send(response, 200, JSON.stringify({ kind: 'storage#bucket', id: bucket, name: bucket, metageneration: '1', iamConfiguration: { uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: 'enforced' } }));
    }
    return send(response, 404, notFound(`Not Found: ${method} ${path}`));
  });
  return { endpoint: server.url, port: server.port, counts, stop: () => server.close() };
}
