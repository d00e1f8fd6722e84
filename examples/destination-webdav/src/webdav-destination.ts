import { randomUUID } from 'node:crypto';
import { checkAnonymousAccess, createHttpStoreRequester, createObjectStoreDestination, HttpStoreResponseError, listFolderTree, mapHttpStoreError } from '@sentcopy/core';
import { normalizeKeyPrefix, parseHttpStoreUrl, parseObjectRecord, probeFolder, serializeObjectRecord } from '@sentcopy/core';
import type { DestinationV1, FolderTreeEntry, ObjectStoreDriver, ObjectStoreEntry } from '@sentcopy/core';
import { XMLParser } from 'fast-xml-parser';
import type { WebdavDestinationSettings } from './webdav-destination-settings.js';

// The namespace ends in ':' because some servers (webdav-server) split property names at the last colon.
const namespaces = 'xmlns:D="DAV:" xmlns:S="urn:sentcopy:"';
const xmlHeaders = { 'content-type': 'application/xml; charset=utf-8' };
const propfindBody = `<?xml version="1.0"?><D:propfind ${namespaces}><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><S:object/></D:prop></D:propfind>`;
const proppatchBody = (value: string) => `<?xml version="1.0"?><D:propertyupdate ${namespaces}><D:set><D:prop><S:object>${value}</S:object></D:prop></D:set></D:propertyupdate>`;
const xml = new XMLParser({ removeNSPrefix: true, parseTagValue: false, isArray: (tag) => tag === 'response' || tag === 'propstat' });
const is = HttpStoreResponseError.hasStatus;
const orStatus = (status: number, value: unknown) => (error: unknown) => (is(error, status) ? value : Promise.reject(error));

type MultistatusEntry = { href: string; propstat?: { status: string; prop: Record<string, unknown> }[] };
// `path`: below the `url` folder, decoded, no trailing `/`; `record`: our dead property, the object record in base64.
type Resource = FolderTreeEntry & { readonly path: string; readonly record?: string };

/** A write-once destination that stores each object as a file in a WebDAV folder, its metadata in a dead property. */
export function createWebdavDestination(settings: WebdavDestinationSettings): DestinationV1 {
  const base = parseHttpStoreUrl(settings?.url, 'webdav');
  const prefix = normalizeKeyPrefix(settings.folder, 'webdav');
  const id = `${base.origin}${base.pathname}${prefix}`;
  const credentials = `${settings.username}:${settings.password ?? ''}`;
  const send = createHttpStoreRequester(base.href, settings.username === undefined ? {} : { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` });

  const resources = async (name: string, depth: '0' | '1', signal: AbortSignal): Promise<Resource[]> => {
    const answer = await send('PROPFIND', name, signal, { body: propfindBody, headers: { ...xmlHeaders, depth } });
    return (xml.parse(await answer.text())?.multistatus?.response ?? []).map((entry: MultistatusEntry) => {
      // Some servers leave `?` and `#` raw in hrefs: strip the origin by hand and decode, never parse it as a URL.
      const href = decodeURIComponent(String(entry.href).replace(/^[a-z]+:\/\/[^/]+/i, ''));
      const path = href.slice(decodeURIComponent(base.pathname).length).replace(/\/$/, '');
      const prop = Object.assign({}, ...(entry.propstat ?? []).filter((stat) => / 200 /.test(stat.status)).map((stat) => stat.prop));
      const folder = typeof prop.resourcetype === 'object' && 'collection' in prop.resourcetype;
      const lastModified = prop.getlastmodified ? new Date(prop.getlastmodified) : undefined;
      return { path, name: path.split('/').at(-1) ?? '', folder, size: Number(prop.getcontentlength ?? 0), lastModified, record: prop.object };
    });
  };
  const stat = async (name: string, signal: AbortSignal): Promise<ObjectStoreEntry> => {
    const [resource] = await resources(name, '0', signal);
    if (resource === undefined || resource.folder) throw new HttpStoreResponseError(404, 'a folder, not an object');
    return { size: resource.size ?? 0, lastModified: resource.lastModified, ...parseObjectRecord(resource.record && Buffer.from(resource.record, 'base64').toString('utf8')) };
  };
  // WebDAV answers 409 while a parent folder is missing: create the folders from the top (405: it exists), then try once more.
  const withParents = async (name: string, signal: AbortSignal, attempt: () => Promise<unknown>) => {
    if (await attempt().then(() => true, orStatus(409, false))) return;
    const parents = name.split('/').slice(0, -1);
    for (let depth = 1; depth <= parents.length; depth++) {
      await send('MKCOL', `${parents.slice(0, depth).join('/')}/`, signal).catch(orStatus(405, undefined));
    }
    await attempt();
  };
  const readFolder = (path: string, signal: AbortSignal) => resources(path, '1', signal).then((found) => found.filter((resource) => resource.path !== path.replace(/\/$/, '')), orStatus(404, undefined)) as Promise<Resource[] | undefined>;
  const driver: ObjectStoreDriver = {
    provider: 'webdav',
    service: 'WebDAV',
    location: `WebDAV folder ${id}`,
    id,
    capabilities: { delete: true, immutability: false, publicAccessCheck: true },
    maxObjectBytes: 256 * 1024 ** 2,
    metadata: { sha256Name: 'sentcopy-sha256', maxBytes: 64 * 1024 },
    createCondition: 'MOVE with Overwrite: F from a temporary upload',
    callTimeoutMs: settings.callTimeoutMs,
    async create(write, _purpose, signal) {
      // Upload under a unique name, attach the metadata, then MOVE it into place: the server refuses a taken name (412) in one step, whatever the process.
      const temp = `${prefix}${probeFolder}upload-${randomUUID()}`;
      try {
        await withParents(temp, signal, () => send('PUT', temp, signal, { body: write.body, headers: { 'content-type': 'application/octet-stream' } }));
        const patched = await send('PROPPATCH', temp, signal, { body: proppatchBody(Buffer.from(serializeObjectRecord(write)).toString('base64')), headers: xmlHeaders });
        if (!/ 200 /.test(await patched.text())) throw new HttpStoreResponseError(422, 'the server did not store the urn:sentcopy:object property');
        await withParents(write.name, signal, () => send('MOVE', temp, signal, { headers: { destination: send.url(write.name), overwrite: 'F' } }));
      } catch (error) {
        await send('DELETE', temp, AbortSignal.timeout(10_000)).catch(() => undefined);
        throw error;
      }
    },
    isAlreadyExists: (error) => is(error, 412),
    stat,
    read: async (name, signal) => ({ ...(await stat(name, signal)), body: new Uint8Array(await (await send('GET', name, signal)).arrayBuffer()) }),
    list: (request, signal) => listFolderTree(request, { readFolder, skip: (name) => name === prefix + probeFolder }, signal),
    async remove(name, signal) {
      await stat(name, signal); // a key naming a folder is no object: never delete a folder and what it holds
      await send('DELETE', name, signal);
    },
    isNotFound: (error) => is(error, 404),
    errorFacts: (error) => ({ status: error instanceof HttpStoreResponseError ? error.status : undefined }),
    mapError: (error, operation, key) => mapHttpStoreError(error, { provider: 'webdav', operation, key, location: `WebDAV folder ${id}` }),
    async checkReachable(signal) {
      await resources('', '0', signal);
      return { check: { name: 'reachable', status: 'passed', detail: `WebDAV folder ${base.href} answered.` } };
    },
    checkPublicAccess: (signal) => checkAnonymousAccess(base.href, signal, { method: 'PROPFIND', headers: { depth: '0' } }),
  };
  return createObjectStoreDestination(driver, { keyPrefix: prefix });
}
