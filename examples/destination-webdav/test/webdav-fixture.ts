import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import type { BackdoorObject, DestinationBackdoor } from '@sentcopy/destination-test-suite';
import { proxyConformanceFaults, startFaultProxy } from '@sentcopy/test-servers';
import { v2 as webdav } from 'webdav-server';

/** A real WebDAV server (the npm `webdav-server`, in memory) on 127.0.0.1 with a random port and HTTP Basic authentication. */
export interface WebdavTestServer {
  /** `http://127.0.0.1:<port>/dav/`: the folder destinations are pointed at. */
  readonly url: string;
  readonly username: string;
  /** A fresh random password: the secret the suite checks never leaks. */
  readonly password: string;
  readonly server: webdav.WebDAVServer;
  readonly user: webdav.IUser;
  stop(): Promise<void>;
}

/** Starts the server with the folder `/dav/` in place; `anonymous: true` lets requests without credentials in (a public store). */
export async function startWebdavServer(options: { anonymous?: boolean } = {}): Promise<WebdavTestServer> {
  const users = new webdav.SimpleUserManager();
  const password = randomBytes(18).toString('base64url');
  const user = users.addUser('archiver', password, false);
  const privileges = new webdav.SimplePathPrivilegeManager();
  privileges.setRights(user, '/', ['all']);
  if (options.anonymous === true) privileges.setRights(await new Promise<webdav.IUser>((resolve) => users.getDefaultUser(resolve)), '/', ['all']);
  const server = new webdav.WebDAVServer({
    hostname: '127.0.0.1',
    port: 0,
    httpAuthentication: new webdav.HTTPBasicAuthentication(users, 'sentcopy test'),
    privilegeManager: privileges,
    requireAuthentification: options.anonymous !== true,
  });
  const httpServer = await new Promise<Server>((resolve) => server.start((started) => resolve(started as Server)));
  const port = (httpServer.address() as AddressInfo).port;
  const context = server.createExternalContext({ user });
  await server.rootFileSystem().createAsync(context, '/dav', webdav.ResourceType.Directory);
  return {
    url: `http://127.0.0.1:${port}/dav/`,
    username: 'archiver',
    password,
    server,
    user,
    stop: () => new Promise<void>((resolve) => server.stop(() => resolve())),
  };
}

async function bytesOf(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * Reads what really landed through the server's own file-system API, not over HTTP and not with
 * the adapter's code: the file `/dav/<folder><key>` and its dead property `urn:sentcopy:object`.
 */
export function createWebdavBackdoor(fixture: WebdavTestServer, folder = ''): DestinationBackdoor {
  const { server } = fixture;
  const context = server.createExternalContext({ user: fixture.user });
  const root = `/dav/${folder}`;
  const resource = async (path: string) => {
    try {
      const found = await server.getResourceAsync(context, path);
      return { found, type: await found.typeAsync() };
    } catch {
      return undefined;
    }
  };
  const filesUnder = async (path: string, relative: string): Promise<string[]> => {
    const keys: string[] = [];
    for (const name of await (await server.getResourceAsync(context, path)).readDirAsync()) {
      const child = await resource(`${path}/${name}`);
      if (child?.type.isDirectory) keys.push(...(await filesUnder(`${path}/${name}`, `${relative}${name}/`)));
      else if (child !== undefined) keys.push(relative + name);
    }
    return keys;
  };
  return {
    async readObject(key): Promise<BackdoorObject | undefined> {
      const entry = await resource(root + key);
      if (entry === undefined || entry.type.isDirectory) return undefined;
      const body = await bytesOf(await entry.found.openReadStreamAsync(false));
      const properties = await entry.found.propertyManagerAsync();
      const value = await new Promise<unknown>((resolve) => properties.getProperty('urn:sentcopy:object', (_error, found) => resolve(found)));
      // The server keeps a dead property as its XML content: a list of nodes, here one text node.
      const text = Array.isArray(value) ? value.map((node: { text?: string }) => node.text ?? '').join('') : undefined;
      const record = text === undefined ? {} : (JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as Record<string, unknown>);
      const { 'sentcopy-sha256': sha256, ...metadata } = (record.metadata ?? {}) as Record<string, string>;
      return { body, sha256, contentType: record.contentType as string | undefined, contentEncoding: record.contentEncoding as string | undefined, metadata };
    },
    async listKeys(prefix) {
      const top = await resource(root.replace(/\/$/, ''));
      if (top === undefined) return [];
      return (await filesUnder(root.replace(/\/$/, ''), '')).filter((key) => key.startsWith(prefix));
    },
  };
}

/** A fault proxy in front of the server, and the suite's `faults` hooks over it: each error kind is an answer a WebDAV server or its gateway gives. */
export async function startWebdavFaults<D>(fixture: WebdavTestServer, createDestination: (url: string) => D) {
  const proxy = await startFaultProxy({ target: new URL(fixture.url).origin });
  const url = new URL(new URL(fixture.url).pathname, proxy.url).href;
  const responses = {
    rate_limited: { status: 429, headers: { 'retry-after': '1' }, body: 'Too many requests' },
    unauthorized: { status: 401, headers: { 'www-authenticate': 'Basic realm="sentcopy test"' }, body: 'Unauthorized' },
    invalid: { status: 400, body: 'Bad request' },
    // A gateway sending the client to a login page: no answer a WebDAV client can act on.
    unknown: { status: 302, headers: { location: '/login' } },
  };
  const faults = proxyConformanceFaults({ proxy, createDestination: () => createDestination(url), responses, isUpload: (request) => request.method === 'PUT' });
  return { proxy, faults };
}
