import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, open, readFile, rename, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DestinationError, objectKeyProblem, type DestinationV1, type ObjectInfo, type ProbeCheck, type PutObjectInput, type PutObjectResult } from '@sentcopy/core';
import type { FsDestinationSettings } from './fs-destination-settings.js';
import { fsyncFolder, removeFile, sha256Hex, sha256OfFile, writeNewFile } from './fs-files.js';
import { createFolderMaker } from './fs-folders.js';
import { assertFsObjectKey, createFsLayout } from './fs-layout.js';
import { createRootGuard, type RootIdentity } from './fs-root-guard.js';
import { createTempFiles } from './fs-temp-files.js';
import { readSidecar, serializeSidecar } from './fs-sidecar.js';
import { listFsKeys } from './list-fs-keys.js';
import { errorCode, mapFsError } from './map-fs-error.js';

const provider = 'fs';
const maxListLimit = 1000;

function invalid(message: string, key?: string): DestinationError {
  return new DestinationError({ kind: 'invalid', provider, key, message });
}

function assertPutInput(input: PutObjectInput): void {
  assertFsObjectKey(input.key);
  if (!(input.body instanceof Uint8Array)) throw invalid('The object body must be a Uint8Array.', input.key);
  if (typeof input.contentType !== 'string' || input.contentType === '') throw invalid('The object needs a content type.', input.key);
  if (sha256Hex(input.body) !== input.sha256) throw invalid('The given sha256 does not match the object body.', input.key);
  // The sidecar is JSON: a value that is not a string would be dropped or changed there, not stored as given.
  for (const [name, value] of Object.entries(input.metadata ?? {})) if (typeof value !== 'string') throw invalid(`Metadata values must be strings; the value of "${name}" is a ${value === null ? 'null' : typeof value}.`, input.key);
}

function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (encodeCursor(key) !== cursor || objectKeyProblem(key) !== undefined) throw invalid('The list cursor is not one this destination returned.');
  return key;
}

function permissionBits(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > 0o777) throw invalid(`The fs destination setting ${name} must be permission bits between 0 and 0o777 (e.g. 0o600).`);
  return value;
}

/**
 * Creates a destination that archives objects as files under a local folder, write-once.
 *
 * Layout under `root`: each object at `<root>/<key>`; its SHA-256, content type, encoding and
 * metadata in `<root>/.sentcopy/meta/<key>` (JSON); temporary files in `<root>/.sentcopy/tmp/`;
 * probe objects in `<root>/.sentcopy/probe/`. Keys starting with `.sentcopy` are refused. The root
 * is checked before every write to be the folder first used (see {@link FsDestinationSettings.root}).
 */
export function createFsDestination(settings: FsDestinationSettings): DestinationV1 {
  if (typeof settings?.root !== 'string' || settings.root === '') throw invalid('The fs destination needs a root folder.');
  const root = resolve(settings.root);
  const fsync = settings.fsync ?? true;
  const fileMode = permissionBits(settings.fileMode, 0o600, 'fileMode');
  const directoryMode = permissionBits(settings.directoryMode, 0o700, 'directoryMode');
  const layout = createFsLayout(root);
  const guard = createRootGuard({ root, createRoot: settings.createRoot ?? true, requireMountPoint: settings.requireMountPoint ?? false, directoryMode, fsync });
  const folders = createFolderMaker({ root, mode: directoryMode, fsync });
  const tempFiles = createTempFiles(layout.tempFolder);
  let cleanedOnce = false;

  /** Before a write: the root is the folder first used, and (once per instance) crash leftovers are gone. */
  const assertRoot = async (): Promise<RootIdentity> => {
    const identity = await guard.assertWritable();
    if (!cleanedOnce) {
      cleanedOnce = true;
      await removeStaleFiles();
    }
    return identity;
  };

  const removeStaleFiles = async (): Promise<number> => {
    try {
      return await tempFiles.removeStale([layout.tempFolder, layout.probeFolder]);
    } catch {
      // Leftovers only cost disk space; the next probe tries again.
      return 0;
    }
  };

  /** Turns anything thrown into what callers see: aborts as they are, everything else a DestinationError. */
  const failure = async (error: unknown, operation: string, key: string | undefined, signal: AbortSignal | undefined): Promise<unknown> => {
    if (DestinationError.isInstance(error)) return error;
    if ((signal?.aborted && error === signal.reason) || (error instanceof Error && error.name === 'AbortError')) return error;
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EEXIST') {
      const problem = await guard.problem();
      if (problem) return problem;
    }
    return mapFsError(error, { operation, key });
  };

  const ensureFolders = async (paths: readonly string[], key: string | undefined): Promise<void> => {
    for (const folder of paths) {
      try {
        await folders.ensure(folder);
      } catch (error) {
        const code = errorCode(error);
        if ((code === 'ENOTDIR' || code === 'EEXIST') && !(await guard.problem())) {
          throw invalid('Part of the key is already an object; a local folder cannot hold keys below an object.', key);
        }
        throw error;
      }
    }
  };

  /** Fails when a file just written landed on another file system than the root's. */
  const assertSameDevice = (device: number, identity: RootIdentity): void => {
    if (device !== identity.device) {
      throw new DestinationError({ kind: 'unreachable', provider, message: 'The destination folder changed file system during the write (the volume was unmounted or replaced); nothing was published.' });
    }
  };

  const compareWithExisting = async (input: PutObjectInput, objectPath: string, sidecarTemp: string): Promise<PutObjectResult> => {
    if ((await lstat(objectPath)).isDirectory()) {
      throw invalid('The key names a folder that holds other keys; a local folder cannot also hold an object there.', input.key);
    }
    const existingSha = await sha256OfFile(objectPath);
    if (existingSha !== input.sha256) {
      throw new DestinationError({
        kind: 'conflict',
        provider,
        key: input.key,
        message: 'The key already holds different content; write-once destinations never overwrite.',
      });
    }
    // The winner may have crashed between publishing and writing the sidecar: restore it, without
    // overwriting one a live winner is about to rename into place.
    await link(sidecarTemp, layout.sidecarPath(input.key)).catch(() => undefined);
    // The winner may still be about to flush the folder entry; this answer must not come first.
    if (fsync) await fsyncFolder(dirname(objectPath));
    return { key: input.key, size: input.body.byteLength, sha256: input.sha256, created: false };
  };

  const put: DestinationV1['put'] = async (input, options) => {
    const signal = options?.signal;
    const objectTemp = tempFiles.newPath();
    const sidecarTemp = tempFiles.newPath();
    try {
      signal?.throwIfAborted();
      assertPutInput(input);
      const objectPath = layout.objectPath(input.key);
      const sidecarPath = layout.sidecarPath(input.key);
      const identity = await assertRoot();
      await ensureFolders([layout.tempFolder], input.key);
      assertSameDevice(await writeNewFile(objectTemp, input.body, { fsync, mode: fileMode, signal }), identity);
      await writeNewFile(sidecarTemp, serializeSidecar(input), { fsync, mode: fileMode, signal });
      await ensureFolders([dirname(objectPath), dirname(sidecarPath)], input.key);
      signal?.throwIfAborted();
      // Checked again just before publishing: a volume unmounted since the first check now shows
      // its mount point, and whatever was written there must not become an "archived" object.
      await guard.assertWritable();
      // Publish with link(), not rename(): rename() silently replaces an existing file on POSIX,
      // while link() fails with EEXIST, giving an atomic create-if-absent (Node has no
      // renameat2(RENAME_NOREPLACE)). The temp file is complete and fsynced, so a partial object
      // can never become visible, whatever happens to this process. link() never crosses file
      // systems, so an object published from the temp file checked above is on the root's.
      try {
        await link(objectTemp, objectPath);
      } catch (error) {
        if (errorCode(error) === 'EEXIST') return await compareWithExisting(input, objectPath, sidecarTemp);
        throw error;
      }
      // Only the winner of link() reaches here, so replacing a stale sidecar is safe.
      await rename(sidecarTemp, sidecarPath);
      if (fsync) {
        await fsyncFolder(dirname(objectPath));
        await fsyncFolder(dirname(sidecarPath));
      }
      return { key: input.key, size: input.body.byteLength, sha256: input.sha256, created: true };
    } catch (error) {
      throw await failure(error, 'write the object', input?.key, signal);
    } finally {
      await Promise.all([removeFile(objectTemp), removeFile(sidecarTemp)]).catch(() => undefined);
      tempFiles.release(objectTemp);
      tempFiles.release(sidecarTemp);
    }
  };

  const describeObject = async (key: string, size: number, lastModified: Date, body?: Uint8Array): Promise<ObjectInfo> => {
    const sidecar = await readSidecar(layout.sidecarPath(key), size);
    const sha256 = sidecar?.sha256 ?? (body ? sha256Hex(body) : await sha256OfFile(layout.objectPath(key)));
    return {
      key,
      size,
      sha256,
      contentType: sidecar?.contentType,
      contentEncoding: sidecar?.contentEncoding,
      metadata: { ...sidecar?.metadata },
      lastModified,
    };
  };

  const isAbsence = (error: unknown): boolean => {
    const code = errorCode(error);
    return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'EISDIR';
  };

  const head: DestinationV1['head'] = async (key, options) => {
    try {
      options?.signal?.throwIfAborted();
      assertFsObjectKey(key);
      let stats;
      try {
        stats = await lstat(layout.objectPath(key));
      } catch (error) {
        if (!isAbsence(error)) throw error;
        const problem = await guard.problem();
        if (problem) throw problem;
        return undefined;
      }
      if (!stats.isFile()) return undefined;
      return await describeObject(key, stats.size, stats.mtime);
    } catch (error) {
      throw await failure(error, 'read the object', typeof key === 'string' ? key : undefined, options?.signal);
    }
  };

  const get: DestinationV1['get'] = async (key, options) => {
    try {
      options?.signal?.throwIfAborted();
      assertFsObjectKey(key);
      let handle;
      try {
        handle = await open(layout.objectPath(key), constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
      } catch (error) {
        if (!isAbsence(error)) throw error;
        const problem = await guard.problem();
        if (problem) throw problem;
        return undefined;
      }
      try {
        const stats = await handle.stat();
        if (!stats.isFile()) return undefined;
        const body = new Uint8Array(await readFile(handle, { signal: options?.signal }));
        return { ...(await describeObject(key, body.byteLength, stats.mtime, body)), body };
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw await failure(error, 'read the object', typeof key === 'string' ? key : undefined, options?.signal);
    }
  };

  const list: DestinationV1['list'] = async (options = {}) => {
    try {
      options.signal?.throwIfAborted();
      const prefix = options.prefix ?? '';
      const limit = options.limit ?? maxListLimit;
      if (!Number.isInteger(limit) || limit < 1) throw invalid('The list limit must be a positive integer.');
      const pageSize = Math.min(limit, maxListLimit);
      const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
      const problem = await guard.problem();
      if (problem) throw problem;
      const found = await listFsKeys(root, { prefix, after, limit: pageSize, signal: options.signal });
      const objects = found.slice(0, pageSize);
      const last = objects.at(-1);
      return { objects, cursor: found.length > pageSize && last ? encodeCursor(last.key) : undefined };
    } catch (error) {
      throw await failure(error, 'list objects', undefined, options.signal);
    }
  };

  const deleteObject = async (key: string, options?: { signal?: AbortSignal }): Promise<void> => {
    try {
      options?.signal?.throwIfAborted();
      assertFsObjectKey(key);
      const objectPath = layout.objectPath(key);
      const stats = await lstat(objectPath).catch((error: unknown) => {
        if (isAbsence(error)) return undefined;
        throw error;
      });
      if (!stats || stats.isDirectory()) return;
      // Sidecar first: a crash in between leaves an object without a sidecar (handled on read),
      // never a sidecar that a later object with the same key could inherit.
      await removeFile(layout.sidecarPath(key)).catch((error: unknown) => {
        if (!isAbsence(error)) throw error;
      });
      await removeFile(objectPath);
    } catch (error) {
      throw await failure(error, 'delete the object', key, options?.signal);
    }
  };

  const probe: DestinationV1['probe'] = async (options) => {
    const signal = options?.signal;
    const checks: ProbeCheck[] = [];
    const result = () => ({ ok: checks.every((check) => check.status !== 'failed'), public: 'unknown' as const, checks });
    const failedDetail = async (error: unknown, operation: string): Promise<string> => {
      const mapped = await failure(error, operation, undefined, signal);
      if (!DestinationError.isInstance(mapped)) throw mapped;
      return mapped.message;
    };

    signal?.throwIfAborted();
    let mode: number;
    try {
      await guard.assertWritable();
      mode = (await stat(root)).mode & 0o777;
      cleanedOnce = true;
      const removed = await removeStaleFiles();
      checks.push({
        name: 'reachable',
        status: 'passed',
        detail: `The folder exists (mode ${mode.toString(8).padStart(4, '0')}) and is the one first used.${removed > 0 ? ` Removed ${removed} temporary file(s) left by a crash.` : ''}`,
      });
    } catch (error) {
      checks.push({ name: 'reachable', status: 'failed', detail: await failedDetail(error, 'open the destination folder') });
      return result();
    }

    const probePath = join(layout.probeFolder, randomUUID());
    const temp = tempFiles.newPath();
    const body = new Uint8Array(Buffer.from(`sentcopy probe ${new Date().toISOString()}\n`, 'utf8'));
    try {
      await ensureFolders([layout.tempFolder, layout.probeFolder], undefined);
      const identity = await guard.assertWritable();
      assertSameDevice(await writeNewFile(temp, body, { fsync, mode: fileMode, signal }), identity);
      await link(temp, probePath);
      checks.push({ name: 'write', status: 'passed', detail: 'Created a file exclusively and published it with a hard link.' });
    } catch (error) {
      checks.push({ name: 'write', status: 'failed', detail: await failedDetail(error, 'write a probe object') });
      await removeFile(temp).catch(() => undefined);
      tempFiles.release(temp);
      return result();
    }
    try {
      await removeFile(temp);
      tempFiles.release(temp);
      const read = await readFile(probePath);
      if (!read.equals(body)) throw new DestinationError({ kind: 'unknown', provider, message: 'The probe object read back differs from what was written.' });
      checks.push({ name: 'read', status: 'passed' });
    } catch (error) {
      checks.push({ name: 'read', status: 'failed', detail: await failedDetail(error, 'read the probe object') });
    }
    try {
      await removeFile(probePath);
      checks.push({ name: 'delete', status: 'passed' });
    } catch (error) {
      checks.push({ name: 'delete', status: 'failed', detail: await failedDetail(error, 'delete the probe object') });
    }
    checks.push({
      name: 'public-access',
      status: 'unsupported',
      detail:
        'A local folder has no public-access setting; sentcopy cannot tell whether it is shared (web server, network share). ' +
        ((mode & 0o007) === 0 ? 'Other local users cannot read it.' : 'Other local users can read it; messages hold personal data, so consider chmod 700 on the root.'),
    });
    return result();
  };

  return {
    specificationVersion: 'v1',
    provider,
    id: pathToFileURL(root).href,
    capabilities: { delete: true, immutability: false, publicAccessCheck: false, versions: 'none' },
    put,
    get,
    head,
    list,
    delete: deleteObject,
    probe,
    async close() {},
  };
}
