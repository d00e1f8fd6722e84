import { archiveMetadataKeys, DestinationError, isLedgerKey, retryInline, RetryExhaustedError, type ListedObject } from '@sentcopy/core';
import { ChecksumFailureError, destinationFailure, getObject, withRetries, type ArchiveSource } from './archive-source.js';
import { layoutOf } from './layout-reader.js';
import { mapConcurrently } from './map-concurrently.js';
import { inspectObject } from './read-object.js';

/** A problem `verify` found with one key. */
export interface VerifyProblem {
  readonly key: string;
  /**
   * - `missing`: expected (listed, or in the manifest) but absent or unreadable;
   * - `corrupt`: its bytes do not match the recorded (or manifest) SHA-256, or do not decode;
   * - `conflicting`: intact, but it contradicts the archive: its content belongs under another key
   *   of the layout, or its message id is stored under several keys (a version next to its first
   *   copy is not a conflict: see `versions`), or a version's id is not its content's hash.
   */
  readonly kind: 'missing' | 'corrupt' | 'conflicting';
  readonly reason: string;
}

/** A line of a manifest: a key expected in the archive, and the SHA-256 its bytes had. */
export interface ManifestEntry {
  readonly key: string;
  readonly sha256?: string;
  readonly size?: number;
}

/** Options for {@link verifyArchive}. */
export interface VerifyArchiveOptions {
  /** Only keys starting with this. */
  readonly prefix: string;
  /** Objects read at once. */
  readonly concurrency: number;
  /** Keys that must exist, with the SHA-256 they had (from `--manifest`). */
  readonly manifest?: ReadonlyMap<string, ManifestEntry>;
  /** Objects per `list()` call. @default 1000 */
  readonly pageSize?: number;
  /** Called as objects are listed (total so far) and checked (done so far). */
  readonly onProgress?: (listed: number, checked: number) => void;
}

/** What {@link verifyArchive} found. */
export interface VerifyReport {
  readonly prefix: string;
  /** Objects read and checked. */
  readonly checked: number;
  /** Objects with no problem. */
  readonly intact: number;
  /** Every problem, in key order within each kind. */
  readonly problems: readonly VerifyProblem[];
  /** Intact objects with no SHA-256 recorded (nor in the manifest): their bytes could not be checked. */
  readonly unverified: readonly string[];
  /** Objects whose key does not fit the layout (conflict checks skipped for them). */
  readonly unrecognized: readonly string[];
  /**
   * Intact versions: a message id sent again with other content, stored next to its first copy
   * (`…~v-<16 hex of its content SHA-256>…`). Both copies were sent, so both are expected.
   */
  readonly versions: readonly { readonly key: string; readonly originalKey: string }[];
  /** Intact objects whose JSON is not a valid message, with why. */
  readonly invalid: readonly { readonly key: string; readonly reason: string }[];
  /** Every intact object, for `--write-manifest`. */
  readonly manifest: readonly Required<ManifestEntry>[];
  /** Every object read, with the SHA-256 of its bytes as read (empty when they could not be read whole), for `--complete`. */
  readonly hashes: ReadonlyMap<string, string>;
}

type Checked =
  | { readonly state: 'missing'; readonly reason: string }
  | {
      readonly state: 'read';
      readonly sha256: string;
      readonly size: number;
      readonly corruption: readonly string[];
      readonly verified: boolean;
      readonly invalid?: string;
      readonly expectedKey?: string;
      readonly duplicateScope?: string;
      /** For a version: the first copy's key. */
      readonly versionOf?: string;
      /** For a version whose id is not its recorded content SHA-256: why. */
      readonly versionMismatch?: string;
    };

/**
 * Walks every object under the prefix: re-reads and re-hashes it against the SHA-256 recorded with
 * it (and the manifest's, when given), decodes it, and checks that its content belongs at its key
 * under the layout and that no message id is stored twice. Without a manifest, an object deleted
 * before the walk leaves no trace a store can show; with one, it is reported missing.
 */
export async function verifyArchive(source: ArchiveSource, options: VerifyArchiveOptions): Promise<VerifyReport> {
  const { destination, reader } = source;
  // A keyed layout read without its secret cannot say where a message belongs: refuse up front rather than skip that check for every object.
  const layout = layoutOf(reader, 'Checking where a message belongs');
  const problems: VerifyProblem[] = [];
  const unverified: string[] = [];
  const unrecognized: string[] = [];
  const invalid: { key: string; reason: string }[] = [];
  const manifestOut: Required<ManifestEntry>[] = [];
  const seen = new Set<string>();
  const byMessage = new Map<string, string[]>();
  const versions: { key: string; originalKey: string }[] = [];
  const hashes = new Map<string, string>();
  let listed = 0;
  let checked = 0;

  const check = async (object: ListedObject): Promise<Checked> => {
    let stored;
    try {
      stored = (await retryInline(() => getObject(destination, object.key), { budgetMs: 10_000, maxAttempts: 4 })).value;
    } catch (error) {
      if (error instanceof ChecksumFailureError) return { state: 'read', sha256: '', size: object.size, corruption: [error.message], verified: true };
      const last = RetryExhaustedError.isInstance(error) ? error.lastError : error;
      // An outage stops the walk (nothing could be told apart); a refusal of this one key is a finding.
      if (DestinationError.isInstance(last) && (last.kind === 'invalid' || last.kind === 'conflict')) return { state: 'missing', reason: `listed, but cannot be read: ${last.message}` };
      throw destinationFailure(error, source, `read ${object.key}`);
    }
    if (stored === undefined) return { state: 'missing', reason: 'listed, but gone when read' };
    const fields = reader.parse(object.key);
    const read = await inspectObject(destination, stored, { ...(source.profileHint === undefined ? {} : { profileHint: source.profileHint }), ...(fields === undefined ? {} : { fields }) });
    const corruption = [...read.corruption];
    const expected = options.manifest?.get(object.key)?.sha256;
    if (expected !== undefined && expected !== read.sha256) corruption.push(`its bytes hash to ${read.sha256.slice(0, 12)}…, not the manifest's ${expected.slice(0, 12)}…`);
    let expectedKey: string | undefined;
    if (corruption.length === 0 && fields !== undefined && read.message !== undefined) {
      try {
        expectedKey = layout.render(read.message);
      } catch {
        expectedKey = undefined;
      }
    }
    const contentSha256 = read.metadata[archiveMetadataKeys.contentSha256];
    const versionMismatch =
      fields?.versionId !== undefined && contentSha256 !== undefined && !contentSha256.startsWith(fields.versionId) ? `its version id ${fields.versionId} is not the start of its content SHA-256 ${contentSha256.slice(0, 16)}…` : undefined;
    return {
      state: 'read',
      sha256: read.sha256,
      size: read.size,
      corruption,
      verified: read.recordedSha256 !== undefined || expected !== undefined,
      ...(read.invalid === undefined ? {} : { invalid: read.invalid }),
      ...(expectedKey === undefined ? {} : { expectedKey }),
      ...(fields?.messageId === undefined ? {} : { duplicateScope: `${reader.has.projectId ? `${fields.projectId ?? ''}\u0000` : ''}${fields.messageId}` }),
      ...(fields?.originalKey === undefined ? {} : { versionOf: fields.originalKey }),
      ...(versionMismatch === undefined ? {} : { versionMismatch }),
    };
  };

  let cursor: string | undefined;
  do {
    const listedPage = await withRetries(source, 'list objects', () => destination.list({ prefix: options.prefix, limit: options.pageSize ?? 1000, ...(cursor === undefined ? {} : { cursor }) }));
    // Ledger segments are not messages: `--complete` checks them as chains.
    const page = { ...listedPage, objects: listedPage.objects.filter((object) => !isLedgerKey(object.key)) };
    listed += page.objects.length;
    options.onProgress?.(listed, checked);
    const results = await mapConcurrently(page.objects, options.concurrency, async (object) => {
      const result = await check(object);
      checked += 1;
      options.onProgress?.(listed, checked);
      return result;
    });
    for (const [index, object] of page.objects.entries()) {
      const result = results[index]!;
      seen.add(object.key);
      if (result.state === 'read') hashes.set(object.key, result.sha256);
      if (result.state === 'missing') {
        problems.push({ key: object.key, kind: 'missing', reason: result.reason });
        continue;
      }
      if (result.corruption.length > 0) {
        problems.push({ key: object.key, kind: 'corrupt', reason: result.corruption.join('; ') });
        continue;
      }
      manifestOut.push({ key: object.key, sha256: result.sha256, size: result.size });
      if (!result.verified) unverified.push(object.key);
      if (result.invalid !== undefined) invalid.push({ key: object.key, reason: result.invalid });
      if (result.duplicateScope === undefined) unrecognized.push(object.key);
      else if (result.versionOf !== undefined) versions.push({ key: object.key, originalKey: result.versionOf });
      else {
        const keys = byMessage.get(result.duplicateScope);
        if (keys === undefined) byMessage.set(result.duplicateScope, [object.key]);
        else keys.push(object.key);
      }
      const ownKey = result.versionOf ?? object.key;
      if (result.expectedKey !== undefined && result.expectedKey !== ownKey) {
        problems.push({ key: object.key, kind: 'conflicting', reason: `its content belongs at ${result.expectedKey} under the layout ${reader.template}` });
      }
      if (result.versionMismatch !== undefined) problems.push({ key: object.key, kind: 'conflicting', reason: result.versionMismatch });
    }
    cursor = page.cursor;
  } while (cursor !== undefined);

  for (const keys of byMessage.values()) {
    if (keys.length < 2) continue;
    for (const key of keys) problems.push({ key, kind: 'conflicting', reason: `its message id is also stored at ${keys.filter((other) => other !== key).join(', ')}` });
  }
  // A version without its first copy: the first copy was deleted (or never listed).
  const orphans = new Map<string, string[]>();
  for (const version of versions) {
    if (version.originalKey.startsWith(options.prefix) && !seen.has(version.originalKey)) orphans.set(version.originalKey, [...(orphans.get(version.originalKey) ?? []), version.key]);
  }
  for (const [key, keys] of orphans) problems.push({ key, kind: 'missing', reason: `later versions of this message are stored (${keys.join(', ')}), but this first copy is not` });
  if (options.manifest !== undefined) {
    for (const entry of options.manifest.values()) {
      if (entry.key.startsWith(options.prefix) && !seen.has(entry.key)) problems.push({ key: entry.key, kind: 'missing', reason: 'in the manifest, but not in the store' });
    }
  }
  const order = { missing: 0, corrupt: 1, conflicting: 2 } as const;
  problems.sort((a, b) => order[a.kind] - order[b.kind] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const problemKeys = new Set(problems.map((problem) => problem.key));
  return {
    prefix: options.prefix,
    checked,
    intact: manifestOut.filter((entry) => !problemKeys.has(entry.key)).length,
    problems,
    unverified,
    unrecognized,
    versions,
    invalid,
    manifest: manifestOut,
    hashes,
  };
}
