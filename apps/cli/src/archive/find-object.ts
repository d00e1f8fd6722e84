import { DestinationError, retryInline, RetryExhaustedError, type ParsedKey, type StoredObject } from '@sentcopy/core';
import { CliError, exitCodes } from '../cli-kit/index.js';
import { destinationFailure, getObject, withRetries, type ArchiveSource } from './archive-source.js';
import { listArchive, type ArchiveFilters } from './list-archive.js';
import { inspectObject, type ReadResult } from './read-object.js';

/** An object found by key or message id, read and checked. */
export interface FoundObject {
  readonly read: ReadResult;
  readonly fields?: ParsedKey;
  /**
   * Found by message id, when that id was sent more than once with different content: the other
   * copies (versions), in key order. The object itself is then the first copy (plain key).
   */
  readonly otherVersions?: readonly FoundObject[];
}

/** Most copies of one message id `show` reads. */
const maxVersions = 50;

async function getIfValidKey(source: ArchiveSource, key: string): Promise<StoredObject | undefined> {
  try {
    return (await retryInline(() => getObject(source.destination, key), { budgetMs: 10_000, maxAttempts: 4 })).value;
  } catch (error) {
    // A message id is often not a valid key at all; that is "not a key", not a failure.
    const last = RetryExhaustedError.isInstance(error) ? error.lastError : error;
    if (DestinationError.isInstance(last) && last.kind === 'invalid') return undefined;
    throw destinationFailure(error, source, 'read the object');
  }
}

/**
 * Finds `reference` as an object key (anything with a `/`), else as a message id matched against
 * the `{message_id}` segment of keys under the filters' prefix. Not found and ambiguous are both
 * exit 3, with what to try next.
 */
export async function findObject(source: ArchiveSource, reference: string, filters: ArchiveFilters): Promise<FoundObject> {
  const inspect = async (stored: StoredObject): Promise<FoundObject> => {
    const fields = source.reader.parse(stored.key);
    const read = await inspectObject(source.destination, stored, {
      ...(source.profileHint === undefined ? {} : { profileHint: source.profileHint }),
      ...(fields === undefined ? {} : { fields }),
      ...(filters.projectId === undefined ? {} : { projectId: filters.projectId }),
    });
    return { read, ...(fields === undefined ? {} : { fields }) };
  };

  const looksLikeKey = reference.includes('/') || !source.reader.template.includes('/');
  if (looksLikeKey) {
    const stored = await getIfValidKey(source, reference);
    if (stored !== undefined) return inspect(stored);
  }

  const listed = await listArchive(source, { filters: { ...filters, messageId: reference }, limit: maxVersions });
  const [first, second] = listed.entries;
  const read = async (key: string) => {
    const stored = await withRetries(source, `read ${key}`, () => getObject(source.destination, key));
    if (stored === undefined) {
      throw new CliError(`The object ${key} was listed but is gone.`, { exitCode: exitCodes.notFound, code: 'object_missing', hint: 'Run `sentcopy verify` on this archive.' });
    }
    return inspect(stored);
  };
  if (first !== undefined && second === undefined) return read(first.key);
  // One message id sent with different contents: the first copy and its versions, all shown.
  const groups = new Set(listed.entries.map((entry) => entry.fields?.originalKey ?? entry.key));
  if (first !== undefined && groups.size === 1 && listed.cursor === undefined) {
    const ordered = [...listed.entries].sort((a, b) => Number(a.fields?.versionId !== undefined) - Number(b.fields?.versionId !== undefined));
    const [head, ...rest] = await Promise.all(ordered.map((entry) => read(entry.key)));
    return { ...head!, otherVersions: rest };
  }
  const where = `destination "${source.destinationName}"${listed.prefix === '' ? '' : ` under "${listed.prefix}"`}`;
  if (first === undefined) {
    throw new CliError(`${looksLikeKey ? 'No object with that key, and no' : 'No'} message with that id in ${where} (${listed.scanned} object(s) looked at, layout ${source.reader.template}).`, {
      exitCode: exitCodes.notFound,
      code: 'message_not_found',
      hint: looksLikeKey
        ? 'Copy the key from `sentcopy ls`, or give the message id with the filters that find it (--project, --channel, --recipient, --from/--to).'
        : 'Check --project/--destination and --layout (the message id is matched on the key), or give the object key from `sentcopy ls`.',
    });
  }
  throw new CliError(`Several objects in ${where} have that message id:\n${listed.entries.map((entry) => `  ${entry.key}`).join('\n')}`, {
    exitCode: exitCodes.notFound,
    code: 'message_ambiguous',
    hint: 'Give the object key instead, or narrow with --project, --channel, --recipient or --from/--to (`sentcopy verify` reports one message id under keys the layout does not explain as conflicting).',
  });
}
