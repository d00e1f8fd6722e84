import { maxObjectKeyBytes } from '../destination/object-key.js';

/** Hex digits of the content SHA-256 that name a version. */
export const versionIdDigits = 16;

/** The file extensions a version suffix goes in front of, longest first. */
const extensions = ['.json.gz', '.json.lz4', '.json'] as const;

// One character of the same segment must come before the suffix, so a version always has an original.
const versionEnding = new RegExp(`([^/])~v-([0-9a-f]{${versionIdDigits}})(\\.json\\.gz|\\.json\\.lz4|\\.json)?$`);

/** What {@link parseVersionKey} reads from a version key. */
export interface VersionKeyParts {
  /** The key of the first copy this version sits next to. */
  readonly originalKey: string;
  /** The version's id: the first 16 hex digits of its content SHA-256 (of the uncompressed JSON). */
  readonly versionId: string;
}

/**
 * The key a second, different message under an existing key is stored at: the original key with
 * `~v-` and the first 16 hex digits of the new content's SHA-256 (the uncompressed JSON) in front
 * of its extension, e.g. `shop/…/msg-1.json.gz` → `shop/…/msg-1~v-0123456789abcdef.json.gz`
 * (without a known extension the suffix ends the key). Deterministic, so a retry of the same
 * version finds its own key. Key layouts never produce a key ending like this (they encode the
 * `~`), so a version key cannot be mistaken for a first copy, nor the reverse.
 * Returns `undefined` when the version key would exceed the object key limit (1,024 UTF-8 bytes).
 */
export function versionKey(originalKey: string, contentSha256: string): string | undefined {
  if (!/^[0-9a-f]{64}$/.test(contentSha256)) throw new RangeError('versionKey() needs a SHA-256 as 64 lower-case hex digits.');
  const suffix = `~v-${contentSha256.slice(0, versionIdDigits)}`;
  const stem = versionStem(originalKey);
  const key = `${stem}${suffix}${originalKey.slice(stem.length)}`;
  return Buffer.byteLength(key, 'utf8') > maxObjectKeyBytes ? undefined : key;
}

/** The original key and version id of a version key (see {@link versionKey}), or `undefined` for any other key. */
export function parseVersionKey(key: string): VersionKeyParts | undefined {
  const match = versionEnding.exec(key);
  if (match === null) return undefined;
  const [whole, before, versionId, extension] = match as unknown as [string, string, string, string | undefined];
  return { originalKey: `${key.slice(0, key.length - whole.length)}${before}${extension ?? ''}`, versionId };
}

/**
 * Makes a rendered key that would read as a version key (its message id, say, ends with
 * `~v-` and 16 hex digits) unambiguous by percent-encoding that `~`, as `safeSegment` does for
 * its own `~hash` endings. Other keys are returned unchanged.
 */
export function escapeVersionLikeKey(key: string): string {
  const match = versionEnding.exec(key);
  if (match === null) return key;
  const tilde = match.index + 1;
  return `${key.slice(0, tilde)}%7E${key.slice(tilde + 1)}`;
}

/**
 * The part of `key` that its versions (see {@link versionKey}) start with too: the key without its
 * extension (`.json.gz`, `.json.lz4` or `.json`), where the version suffix goes.
 */
export function versionStem(key: string): string {
  const extension = extensions.find((candidate) => key.endsWith(candidate) && !key.endsWith(`/${candidate}`));
  return extension === undefined ? key : key.slice(0, -extension.length);
}

const escapedVersionEnding = new RegExp(`([^/])%7Ev-([0-9a-f]{${versionIdDigits}})(\\.json\\.gz|\\.json\\.lz4|\\.json)?$`);

/**
 * The key as rendered before {@link escapeVersionLikeKey} encoded its `~`, or `undefined` when
 * `key` is not such an escaped key.
 */
export function unescapeVersionLikeKey(key: string): string | undefined {
  const match = escapedVersionEnding.exec(key);
  if (match === null) return undefined;
  const tilde = match.index + 1;
  const rendered = `${key.slice(0, tilde)}~${key.slice(tilde + 3)}`;
  return escapeVersionLikeKey(rendered) === key ? rendered : undefined;
}
