import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A started HTTP server on 127.0.0.1 with a random free port. */
export interface ListeningServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The port the server listens on. */
  readonly port: number;
  /** Stops accepting connections and destroys open ones (keep-alive sockets included). */
  close(): Promise<void>;
}

/** Handles one request; a rejection answers 500 and is logged to stderr. */
export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

/** Starts an HTTP server on 127.0.0.1 with a random free port (or the given one). */
export async function listen(handler: RequestHandler, options: { port?: number } = {}): Promise<ListeningServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((request, response) => {
    Promise.resolve()
      .then(() => handler(request, response))
      .catch((error: unknown) => {
        process.stderr.write(`test server: unhandled error for ${request.method} ${request.url}: ${String((error as Error)?.stack ?? error)}\n`);
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
        response.end('internal test-server error');
      });
  });
  server.keepAliveTimeout = 30_000;
  server.requestTimeout = 0;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

/** Reads the whole request body. */
export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

/** Reads and discards the request body, so a keep-alive connection stays usable after an early answer. */
export async function drainBody(request: IncomingMessage): Promise<void> {
  for await (const _chunk of request) {
    // discard
  }
}

/** A header's value as one string (repeated headers joined with `,`), or `undefined`. */
export function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : value;
}
