import { createHash } from 'node:crypto';
import yauzl, { type ZipFile } from 'yauzl';
import { bundleFiles, bundleFormatVersion, bundleObjectPath, objectsFolder, type BundleManifest } from './bundle-manifest.js';

/**
 * A problem {@link verifyBundle} found:
 * - `altered`: a file's bytes do not hash to the SHA-256 the manifest (or SHA256SUMS) records;
 * - `missing`: a file the manifest or SHA256SUMS lists is not in the ZIP, or an object the manifest
 *   records as found but unreadable when the bundle was made (its `missing`);
 * - `extra`: a file in the ZIP that neither lists;
 * - `contradicting`: the manifest and SHA256SUMS give one file different SHA-256s;
 * - `invalid`: the ZIP, the manifest or SHA256SUMS cannot be read.
 */
export type BundleProblemKind = 'altered' | 'missing' | 'extra' | 'contradicting' | 'invalid';

/** One problem, naming the file. */
export interface BundleProblem {
  readonly kind: BundleProblemKind;
  /** The path in the bundle. */
  readonly path: string;
  /** A human sentence. */
  readonly reason: string;
}

/** What {@link verifyBundle} found. */
export interface BundleCheck {
  /** Objects the manifest lists. */
  readonly objects: number;
  /** Objects whose bytes match. */
  readonly verified: number;
  /** Empty when the bundle is intact. */
  readonly problems: readonly BundleProblem[];
  /** The manifest, when it could be read. */
  readonly manifest?: BundleManifest;
}

/** Parses SHA256SUMS (`<hex>  <path>` or `<hex> *<path>` lines). */
function parseSums(text: string, problems: BundleProblem[]): Map<string, string> {
  const sums = new Map<string, string>();
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (match === null) problems.push({ kind: 'invalid', path: bundleFiles.sums, reason: `line ${index + 1} is not "<sha256>  <path>"` });
    else sums.set(match[2]!, match[1]!);
  }
  return sums;
}

function parseManifest(bytes: Uint8Array | undefined, problems: BundleProblem[]): BundleManifest | undefined {
  if (bytes === undefined) {
    problems.push({ kind: 'missing', path: bundleFiles.manifest, reason: 'the bundle has no manifest' });
    return undefined;
  }
  try {
    const manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as BundleManifest;
    if (manifest.format !== bundleFormatVersion) {
      problems.push({ kind: 'invalid', path: bundleFiles.manifest, reason: `format ${String(manifest.format)} is not one this sentcopy reads (${bundleFormatVersion})` });
      return undefined;
    }
    if (!Array.isArray(manifest.objects) || manifest.objects.some((object) => typeof object?.path !== 'string' || typeof object.sha256 !== 'string')) {
      problems.push({ kind: 'invalid', path: bundleFiles.manifest, reason: 'objects: every object needs a path and a sha256' });
      return undefined;
    }
    return manifest;
  } catch {
    problems.push({ kind: 'invalid', path: bundleFiles.manifest, reason: 'it is not JSON' });
    return undefined;
  }
}

/** What reading the ZIP found: each file's SHA-256 and size, and the two lists' own bytes. */
interface ZipContents {
  readonly files: ReadonlyMap<string, { readonly sha256: string; readonly size: number }>;
  readonly manifest?: Uint8Array;
  readonly sums?: Uint8Array;
  readonly duplicates: readonly string[];
}

/** Most bytes of manifest.json or SHA256SUMS read into memory (a 65,531-object manifest is far smaller). */
const maxListBytes = 256 * 1024 * 1024;

/** Hashes every file of the ZIP as it streams, one at a time (random access through the central directory, so memory does not grow with the bundle). */
async function readContents(zip: ZipFile): Promise<ZipContents> {
  const files = new Map<string, { sha256: string; size: number }>();
  const duplicates: string[] = [];
  let manifest: Uint8Array | undefined;
  let sums: Uint8Array | undefined;
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith('/')) continue;
      const keep = (entry.fileName === bundleFiles.manifest || entry.fileName === bundleFiles.sums) && entry.uncompressedSize <= maxListBytes;
      const hash = createHash('sha256');
      const kept: Buffer[] = [];
      let size = 0;
      for await (const chunk of await zip.openReadStreamPromise(entry)) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).byteLength;
        if (keep) kept.push(chunk as Buffer);
      }
      if (files.has(entry.fileName)) duplicates.push(entry.fileName);
      files.set(entry.fileName, { sha256: hash.digest('hex'), size });
      if (keep && entry.fileName === bundleFiles.manifest) manifest = Buffer.concat(kept);
      if (keep && entry.fileName === bundleFiles.sums) sums = Buffer.concat(kept);
    }
  } finally {
    zip.close();
  }
  return { files, duplicates, ...(manifest === undefined ? {} : { manifest }), ...(sums === undefined ? {} : { sums }) };
}

/**
 * Checks a bundle offline (a file path, or the ZIP's bytes): every object's bytes against the
 * manifest's SHA-256 and size, every file against SHA256SUMS, the two lists against each other,
 * and no file beyond them. A file is read one entry at a time, so memory stays small whatever the
 * bundle's size.
 */
export async function verifyBundle(source: string | Uint8Array): Promise<BundleCheck> {
  const problems: BundleProblem[] = [];
  let contents: ZipContents;
  try {
    const options = { lazyEntries: true, validateEntrySizes: true, strictFileNames: false, decodeStrings: true };
    const zip = typeof source === 'string' ? await yauzl.openPromise(source, options) : await yauzl.fromBufferPromise(Buffer.from(source.buffer, source.byteOffset, source.byteLength), options);
    contents = await readContents(zip);
  } catch (error) {
    return { objects: 0, verified: 0, problems: [{ kind: 'invalid', path: '.', reason: `it is not a readable ZIP file (${error instanceof Error ? error.message : String(error)})` }] };
  }
  const { files } = contents;
  for (const path of contents.duplicates) problems.push({ kind: 'extra', path, reason: 'the ZIP holds two files under this path' });
  const manifest = parseManifest(contents.manifest, problems);
  if (contents.sums === undefined) problems.push({ kind: 'missing', path: bundleFiles.sums, reason: 'the bundle has no SHA256SUMS' });
  const sums = contents.sums === undefined ? new Map<string, string>() : parseSums(new TextDecoder().decode(contents.sums), problems);

  let verified = 0;
  const listed = new Set<string>([bundleFiles.manifest, bundleFiles.sums]);
  for (const object of manifest?.objects ?? []) {
    listed.add(object.path);
    const actual = files.get(object.path);
    if (actual === undefined) problems.push({ kind: 'missing', path: object.path, reason: 'the manifest lists it, but the bundle does not hold it' });
    else if (actual.sha256 !== object.sha256) problems.push({ kind: 'altered', path: object.path, reason: `its bytes hash to ${actual.sha256.slice(0, 12)}…, not the ${object.sha256.slice(0, 12)}… the manifest records` });
    else if (actual.size !== object.size) problems.push({ kind: 'altered', path: object.path, reason: `it is ${actual.size} bytes, not the ${object.size} the manifest records` });
    else verified += 1;
    const summed = sums.get(object.path);
    if (contents.sums !== undefined && summed === undefined) problems.push({ kind: 'missing', path: object.path, reason: 'SHA256SUMS does not list it' });
    else if (summed !== undefined && summed !== object.sha256) problems.push({ kind: 'contradicting', path: object.path, reason: 'SHA256SUMS and manifest.json record different SHA-256s' });
  }
  const inManifest = new Set(manifest?.objects.map((object) => object.path) ?? []);
  for (const [path, expected] of sums) {
    listed.add(path);
    if (inManifest.has(path)) continue;
    const actual = files.get(path)?.sha256;
    if (actual === undefined) problems.push({ kind: 'missing', path, reason: 'SHA256SUMS lists it, but the bundle does not hold it' });
    else if (actual !== expected) problems.push({ kind: 'altered', path, reason: `its bytes hash to ${actual.slice(0, 12)}…, not the ${expected.slice(0, 12)}… SHA256SUMS records` });
    else if (path.startsWith(objectsFolder) && manifest !== undefined) problems.push({ kind: 'extra', path, reason: 'SHA256SUMS lists it, but the manifest does not' });
  }
  // Found by the search but unreadable when the bundle was made: the bundle says so, and so does its check.
  for (const entry of Array.isArray(manifest?.missing) ? manifest.missing : []) {
    problems.push({ kind: 'missing', path: bundleObjectPath(String(entry.destination), String(entry.key)), reason: `not in the bundle: the search found it, but when the bundle was made ${String(entry.reason)}` });
  }
  for (const path of files.keys()) {
    if (listed.has(path)) continue;
    problems.push({ kind: 'extra', path, reason: 'neither the manifest nor SHA256SUMS lists it' });
  }
  return { objects: manifest?.objects.length ?? 0, verified, problems, ...(manifest === undefined ? {} : { manifest }) };
}
