import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { ViewerApp } from '../viewer-context.js';

/** Options for {@link startViewer}. */
export interface StartViewerOptions {
  /** Address to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** TCP port; 0 picks any free port. @default 7420 */
  readonly port?: number;
  /** PEM certificate chain and key files: serve HTTPS. @default plain HTTP (only allowed on a loopback address) */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** Serve plain HTTP on an address other machines can reach, knowingly. @default false */
  readonly insecureBind?: boolean;
}

/** A running viewer. */
export interface RunningViewer {
  /** Its base URL, e.g. `http://127.0.0.1:7420/`. */
  readonly url: string;
  /** Stops accepting connections, closes open ones, and resolves when the server is closed. */
  close(): Promise<void>;
}

/** Refused: plain HTTP on an address other machines can reach, without `insecureBind`. */
export class ViewerBindError extends Error {
  constructor(readonly host: string) {
    super(
      `Refusing to serve the viewer on ${host} without TLS: anyone on that network could read the token, the session cookies and the archive pages in transit. Give --tls-cert and --tls-key, keep the default 127.0.0.1 (and put a TLS proxy in front), or pass --insecure-bind if the network is trusted.`,
    );
    this.name = 'ViewerBindError';
  }
}

/** True for an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

/** Serves `app` (HTTP on loopback, HTTPS with `tls`); resolves once it listens. */
export async function startViewer(app: ViewerApp, options: StartViewerOptions = {}): Promise<RunningViewer> {
  const host = options.host ?? '127.0.0.1';
  if (options.tls === undefined && !isLoopback(host) && options.insecureBind !== true) throw new ViewerBindError(host);
  const tls = options.tls === undefined ? undefined : { cert: await readFile(options.tls.certFile), key: await readFile(options.tls.keyFile) };
  const server = await new Promise<ServerType>((resolve, reject) => {
    const started = serve(
      {
        fetch: app.fetch,
        hostname: host,
        port: options.port ?? 7420,
        ...(tls === undefined ? {} : { createServer: createHttpsServer, serverOptions: tls }),
      },
      () => resolve(started),
    );
    started.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://${shown}:${address.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}
