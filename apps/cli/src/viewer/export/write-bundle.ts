import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { DestinationV1 } from '@sentcopy/core';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { getObject, withRetries } from '../../archive/archive-source.js';
import { maskRecipient } from '../../archive/mask-recipient.js';
import { messageText } from '../../archive/message-text.js';
import { inspectObject } from '../../archive/read-object.js';
import { embeddedObject, offlinePageParts } from '../offline/offline-page.js';
import { bundleFiles, bundleFormatVersion, bundleObjectPath, type BundleManifest, type BundleManifestObject, type BundleQuery, type BundleSummary } from './bundle-manifest.js';
import { bundleReadme } from './bundle-readme.js';

/** Most objects one bundle holds: a ZIP without ZIP64 (which fflate does not write) has at most 65,535 entries, four of them the bundle's own files. */
export const maxBundleObjects = 65_531;

/** Most bytes one bundle may take: ZIP offsets without ZIP64 are 32-bit. */
export const maxBundleBytes = 0xffff_ffff;

/** Thrown when a bundle would pass the ZIP format's limits; nothing complete is written, and the message says how to split the export. */
export class BundleTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleTooLargeError';
  }
}

/** One object to put in a bundle, as a search found it. */
export interface BundleItem {
  /** The configured destination's name. */
  readonly destination: string;
  /** The object's key. */
  readonly key: string;
  /** The SHA-256 the ledger recorded for it, when it was found in the ledger. */
  readonly sha256?: string;
  /** The chain (writer id) of its ledger entry, when the index says. */
  readonly writer?: string;
  /** Its ledger segment's sequence number, when known. */
  readonly seq?: number;
}

/** Progress of {@link writeBundle}, after each object. */
export interface BundleProgress {
  /** Objects handled so far (written or found missing). */
  readonly done: number;
  /** Objects to handle. */
  readonly total: number;
  /** Stored bytes written so far. */
  readonly bytes: number;
}

/** Options for {@link writeBundle}. */
export interface WriteBundleOptions {
  /** The objects, in the order the bundle lists them. */
  readonly items: readonly BundleItem[];
  /** The opened destinations, by configured name. */
  readonly destinations: ReadonlyMap<string, DestinationV1>;
  /** Who asked and for what (no raw recipient). */
  readonly query: BundleQuery;
  /** Where the ZIP goes; ended when the bundle is complete. On failure it is left as it is: the caller destroys it (and deletes what it wrote). */
  readonly output: Writable;
  /** When the bundle is made. @default now */
  readonly createdAt?: Date;
  /** Told after each object. */
  readonly onProgress?: (progress: BundleProgress) => void;
  /** Folder for the page's spooled copy of the objects (deleted at the end). @default the system's temporary folder */
  readonly temporaryDirectory?: string;
  /** Most bytes of ZIP to write before failing with {@link BundleTooLargeError}. @default {@link maxBundleBytes} (4 GiB - 1) */
  readonly maxBytes?: number;
}

/** What {@link writeBundle} wrote. */
export interface WriteBundleResult {
  /** Objects in the bundle. */
  readonly objects: number;
  /** Stored bytes of those objects. */
  readonly bytes: number;
  /** Objects that could not be read (not in the bundle; listed in its manifest). */
  readonly missing: BundleManifest['missing'];
  /** Objects whose stored bytes already disagree with the archive's record (in the bundle as stored, and flagged). */
  readonly problems: readonly { readonly destination: string; readonly key: string; readonly problems: readonly string[] }[];
  /** The manifest written. */
  readonly manifest: BundleManifest;
}

const stringOf = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

function maskedList(value: unknown): string[] | undefined {
  const list = Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : typeof value === 'string' ? [value] : [];
  return list.length === 0 ? undefined : list.map(maskRecipient);
}

/** The list line of a message: masked recipients, and its subject or first line of text. */
async function summaryOf(document: Record<string, unknown> | undefined, channel: string | undefined): Promise<BundleSummary> {
  if (document === undefined) return {};
  const to = stringOf(document['to']);
  let title: string | undefined;
  try {
    const found = await messageText(document, channel ?? stringOf(document['channel']) ?? '');
    title = found.subject ?? found.body;
  } catch {
    title = stringOf(document['subject']);
  }
  const firstLine = title
    ?.split('\n')
    .map((line) => line.trim())
    .find((line) => line !== '');
  const cc = maskedList(document['cc']);
  const bcc = maskedList(document['bcc']);
  return {
    ...(to === undefined ? {} : { to: maskRecipient(to) }),
    ...(cc === undefined ? {} : { cc }),
    ...(bcc === undefined ? {} : { bcc }),
    ...(firstLine === undefined ? {} : { title: firstLine.length > 200 ? `${firstLine.slice(0, 199)}…` : firstLine }),
  };
}

/** Resolves once `stream` drains; rejects when it fails or closes first (a full disk, a cancelled download). */
function drained(stream: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onDrain = () => settle();
    const onError = (error: Error) => settle(error);
    const onClose = () => settle(new Error('the bundle was cancelled: its output closed before it was complete'));
    stream.once('drain', onDrain);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}

/**
 * A stream written with backpressure whose failure is kept and thrown at the next write, never
 * left as an unhandled 'error' event (which would end the process).
 */
class GuardedStream {
  private failure: Error | undefined;

  constructor(readonly stream: Writable) {
    stream.on('error', (error: Error) => {
      this.failure ??= error;
    });
  }

  async write(chunk: Uint8Array | string): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    // A reader that goes away (a cancelled download) closes the stream without a drain: that ends the bundle too, so the spool is deleted.
    if (this.stream.destroyed) throw new Error('the bundle was cancelled: its output closed before it was complete');
    if (!this.stream.write(chunk)) await drained(this.stream);
    if (this.failure !== undefined) throw this.failure;
  }

  async end(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.stream.end();
    await finished(this.stream);
  }
}

/** Writes fflate's output to `output`, waiting whenever the stream asks to (the whole ZIP is never held). */
class ZipSink {
  private readonly pending: Uint8Array[] = [];
  private failure: unknown;
  private ended = false;
  private written = 0;
  private readonly output: GuardedStream;
  readonly zip: Zip;

  constructor(
    output: Writable,
    private readonly maxBytes: number,
  ) {
    this.output = new GuardedStream(output);
    this.zip = new Zip((error, chunk, final) => {
      if (error !== null) this.failure = error;
      else this.pending.push(chunk);
      if (final) this.ended = true;
    });
  }

  async flush(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    while (this.pending.length > 0) {
      const chunk = this.pending.shift()!;
      this.written += chunk.byteLength;
      if (this.written > this.maxBytes) {
        throw new BundleTooLargeError(`The bundle would pass ${this.maxBytes} bytes, the most a ZIP file without ZIP64 can address: export fewer messages at once (narrow the search, e.g. by --from/--to).`);
      }
      await this.output.write(chunk);
    }
  }

  /** Adds one whole file. */
  async addFile(name: string, bytes: Uint8Array, compress: boolean): Promise<void> {
    const file = compress ? new ZipDeflate(name, { level: 6 }) : new ZipPassThrough(name);
    this.zip.add(file);
    file.push(bytes, true);
    await this.flush();
  }

  async end(): Promise<void> {
    this.zip.end();
    await this.flush();
    if (!this.ended) throw new Error('the ZIP did not finish');
    await this.output.end();
  }
}

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Writes a bundle to `options.output` as a ZIP, one object at a time: `objects/<destination>/<key>`
 * (the stored bytes exactly, compressed as stored), `viewer.html` (the offline viewer with a copy
 * of every object), `manifest.json`, `README.txt` and `SHA256SUMS`. Memory holds one object and the
 * manifest; the page's copy of the objects is spooled to a temporary file (mode 0600, deleted at
 * the end). An object that cannot be read is listed in the manifest's `missing`, never skipped silently.
 */
export async function writeBundle(options: WriteBundleOptions): Promise<WriteBundleResult> {
  if (options.items.length > maxBundleObjects) {
    throw new BundleTooLargeError(`${options.items.length} objects are more than one bundle holds (${maxBundleObjects}, a ZIP file's limit): export fewer at once (narrow the search, e.g. by --from/--to).`);
  }
  const createdAt = (options.createdAt ?? new Date()).toISOString();
  const spoolFolder = await mkdtemp(path.join(options.temporaryDirectory ?? tmpdir(), 'sentcopy-bundle-'));
  const spoolFile = path.join(spoolFolder, 'embedded');
  const spool = new GuardedStream(createWriteStream(spoolFile, { mode: 0o600 }));
  const sink = new ZipSink(options.output, options.maxBytes ?? maxBundleBytes);
  const objects: BundleManifestObject[] = [];
  const missing: { destination: string; key: string; reason: string }[] = [];
  const problems: { destination: string; key: string; problems: string[] }[] = [];
  const sums: string[] = [];
  const usedPaths = new Set<string>();
  let bytes = 0;
  try {
    for (const [position, item] of options.items.entries()) {
      const destination = options.destinations.get(item.destination);
      const stored = destination === undefined ? undefined : await withRetries({ destinationName: item.destination }, `read ${item.key}`, () => getObject(destination, item.key));
      if (destination === undefined || stored === undefined) {
        missing.push({ destination: item.destination, key: item.key, reason: destination === undefined ? 'its destination could not be opened' : 'it is not in the store (deleted or never stored)' });
      } else {
        const read = await inspectObject(destination, stored);
        const document = (read.message as Record<string, unknown> | undefined) ?? read.document;
        const recorded = item.sha256 ?? read.recordedSha256;
        const found = [...read.corruption];
        if (item.sha256 !== undefined && item.sha256 !== read.sha256 && !found.some((problem) => problem.startsWith('its bytes hash'))) {
          found.push(`its bytes hash to ${read.sha256.slice(0, 12)}…, not the ${item.sha256.slice(0, 12)}… the ledger recorded`);
        }
        const channel = stringOf(document?.['channel']);
        const sentAt = typeof document?.['sent_at'] === 'number' ? (document['sent_at'] as number) : undefined;
        let objectPath = bundleObjectPath(item.destination, item.key);
        for (let copy = 2; usedPaths.has(objectPath); copy += 1) objectPath = `${bundleObjectPath(item.destination, item.key)}~${copy}`;
        usedPaths.add(objectPath);
        const entry: BundleManifestObject = {
          destination: item.destination,
          key: item.key,
          path: objectPath,
          sha256: recorded ?? read.sha256,
          sha256_source: item.sha256 !== undefined ? 'ledger' : read.recordedSha256 !== undefined ? 'store' : 'read',
          size: read.size,
          codec: read.codec,
          ...(stringOf(document?.['message_id']) === undefined ? {} : { message_id: stringOf(document?.['message_id'])! }),
          ...(channel === undefined ? {} : { channel }),
          ...(sentAt === undefined || !Number.isFinite(sentAt) ? {} : { sent_at: new Date(read.profile === 'braze' && sentAt < 1e11 ? sentAt * 1000 : sentAt).toISOString() }),
          ...(stringOf(document?.['project_id']) === undefined ? {} : { project: stringOf(document?.['project_id'])! }),
          ...(item.writer === undefined ? {} : { ledger: { chain: item.writer, ...(item.seq === undefined ? {} : { segment: item.seq }) } }),
          ...(found.length === 0 ? {} : { problems: found }),
          summary: await summaryOf(document, channel),
        };
        if (found.length > 0) problems.push({ destination: item.destination, key: item.key, problems: found });
        await sink.addFile(objectPath, stored.body, false);
        await spool.write(embeddedObject(objects.length, stored.body));
        sums.push(`${entry.sha256}  ${objectPath}`);
        objects.push(entry);
        bytes += read.size;
      }
      options.onProgress?.({ done: position + 1, total: options.items.length, bytes });
    }
    await spool.end();

    const manifest: BundleManifest = { format: bundleFormatVersion, created_at: createdAt, query: options.query, objects, missing };
    const viewerHash = await addViewer(sink, manifest, spoolFile);
    const manifestBytes = new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
    await sink.addFile(bundleFiles.manifest, manifestBytes, true);
    const readme = new TextEncoder().encode(bundleReadme(manifest));
    await sink.addFile(bundleFiles.readme, readme, true);
    sums.push(`${viewerHash}  ${bundleFiles.viewer}`, `${sha256Hex(manifestBytes)}  ${bundleFiles.manifest}`, `${sha256Hex(readme)}  ${bundleFiles.readme}`);
    await sink.addFile(bundleFiles.sums, new TextEncoder().encode(`${sums.join('\n')}\n`), true);
    await sink.end();
    return { objects: objects.length, bytes, missing, problems, manifest };
  } catch (error) {
    spool.stream.destroy();
    throw error;
  } finally {
    await rm(spoolFolder, { recursive: true, force: true });
  }
}

/** Streams viewer.html into the ZIP: its head, the spooled copies of the objects, its tail. Returns its SHA-256. */
async function addViewer(sink: ZipSink, manifest: BundleManifest, spoolFile: string): Promise<string> {
  const { head, tail } = offlinePageParts(manifest);
  const hash = createHash('sha256');
  const file = new ZipDeflate(bundleFiles.viewer, { level: 6 });
  sink.zip.add(file);
  const push = async (chunk: Uint8Array, final = false) => {
    hash.update(chunk);
    file.push(chunk, final);
    await sink.flush();
  };
  await push(new TextEncoder().encode(head));
  for await (const chunk of createReadStream(spoolFile, { highWaterMark: 256 * 1024 })) await push(chunk as Buffer);
  await push(new TextEncoder().encode(tail), true);
  return hash.digest('hex');
}
