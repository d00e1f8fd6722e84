import { createHash } from 'node:crypto';
import { unzipSync } from 'fflate';
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

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

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

/**
 * Checks a bundle offline: every object's bytes against the manifest's SHA-256 and size, every
 * file against SHA256SUMS, the two lists against each other, and no file beyond them. Holds the
 * ZIP in memory (it reads `bytes`).
 */
export function verifyBundle(bytes: Uint8Array): BundleCheck {
  const problems: BundleProblem[] = [];
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (error) {
    return { objects: 0, verified: 0, problems: [{ kind: 'invalid', path: '.', reason: `it is not a readable ZIP file (${error instanceof Error ? error.message : String(error)})` }] };
  }
  const manifest = parseManifest(files[bundleFiles.manifest], problems);
  const sumsBytes = files[bundleFiles.sums];
  if (sumsBytes === undefined) problems.push({ kind: 'missing', path: bundleFiles.sums, reason: 'the bundle has no SHA256SUMS' });
  const sums = sumsBytes === undefined ? new Map<string, string>() : parseSums(new TextDecoder().decode(sumsBytes), problems);
  const hashes = new Map<string, string>();
  const hashOf = (path: string) => {
    let hash = hashes.get(path);
    if (hash === undefined && files[path] !== undefined) hashes.set(path, (hash = sha256Hex(files[path]!)));
    return hash;
  };

  let verified = 0;
  const listed = new Set<string>([bundleFiles.manifest, bundleFiles.sums]);
  for (const object of manifest?.objects ?? []) {
    listed.add(object.path);
    const actual = hashOf(object.path);
    if (actual === undefined) problems.push({ kind: 'missing', path: object.path, reason: 'the manifest lists it, but the bundle does not hold it' });
    else if (actual !== object.sha256) problems.push({ kind: 'altered', path: object.path, reason: `its bytes hash to ${actual.slice(0, 12)}…, not the ${object.sha256.slice(0, 12)}… the manifest records` });
    else if (files[object.path]!.byteLength !== object.size) problems.push({ kind: 'altered', path: object.path, reason: `it is ${files[object.path]!.byteLength} bytes, not the ${object.size} the manifest records` });
    else verified += 1;
    const summed = sums.get(object.path);
    if (sumsBytes !== undefined && summed === undefined) problems.push({ kind: 'missing', path: object.path, reason: 'SHA256SUMS does not list it' });
    else if (summed !== undefined && summed !== object.sha256) problems.push({ kind: 'contradicting', path: object.path, reason: 'SHA256SUMS and manifest.json record different SHA-256s' });
  }
  for (const [path, expected] of sums) {
    listed.add(path);
    if (manifest?.objects.some((object) => object.path === path)) continue;
    const actual = hashOf(path);
    if (actual === undefined) problems.push({ kind: 'missing', path, reason: 'SHA256SUMS lists it, but the bundle does not hold it' });
    else if (actual !== expected) problems.push({ kind: 'altered', path, reason: `its bytes hash to ${actual.slice(0, 12)}…, not the ${expected.slice(0, 12)}… SHA256SUMS records` });
    else if (path.startsWith(objectsFolder) && manifest !== undefined) problems.push({ kind: 'extra', path, reason: 'SHA256SUMS lists it, but the manifest does not' });
  }
  // Found by the search but unreadable when the bundle was made: the bundle says so, and so does its check.
  for (const entry of Array.isArray(manifest?.missing) ? manifest.missing : []) {
    problems.push({ kind: 'missing', path: bundleObjectPath(String(entry.destination), String(entry.key)), reason: `not in the bundle: the search found it, but when the bundle was made ${String(entry.reason)}` });
  }
  for (const path of Object.keys(files)) {
    if (path.endsWith('/') || listed.has(path)) continue;
    problems.push({ kind: 'extra', path, reason: 'neither the manifest nor SHA256SUMS lists it' });
  }
  return { objects: manifest?.objects.length ?? 0, verified, problems, ...(manifest === undefined ? {} : { manifest }) };
}
