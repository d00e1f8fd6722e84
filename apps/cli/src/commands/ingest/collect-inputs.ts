import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import type { IngestFormat } from './read-emails.js';

/** What `ingest` reads a file as: the formats of `--format`, and `json` (one message, or an array of them, in one document). */
export type FileFormat = IngestFormat | 'json';

/** A file to ingest, with the format it is read as. */
export interface InputFile {
  /** The path as given or found (relative to the working directory when the argument was). */
  readonly file: string;
  readonly format: FileFormat;
  /** Size in bytes when the file was found. */
  readonly bytes: number;
}

/** A path found but not ingested, and why (an unrelated file, a folder without `--recursive`, …). */
export interface SkippedInput {
  readonly file: string;
  readonly reason: string;
}

/** A path named on the command line that cannot be read at all. */
export interface UnreadableInput {
  readonly file: string;
  readonly error: string;
}

/** What the command line's inputs expand to. */
export interface CollectedInputs {
  readonly files: readonly InputFile[];
  readonly skipped: readonly SkippedInput[];
  readonly unreadable: readonly UnreadableInput[];
}

const mboxSeparator = Buffer.from('From ');

/** The format a file found in a folder is read as, by its extension (or its first bytes, for mbox files that have none). */
async function formatInFolder(file: string): Promise<FileFormat | SkippedInput> {
  const name = path.basename(file);
  if (/\.rejects\.jsonl$/i.test(name)) return { file, reason: 'the rejects file of an earlier ingest' };
  if (/\.eml$/i.test(name)) return 'eml';
  if (/\.(mbox|mbx)$/i.test(name)) return 'mbox';
  if (/\.(jsonl|ndjson)$/i.test(name)) return 'jsonl';
  if (/\.json$/i.test(name)) return 'json';
  // Mail clients keep mbox files without an extension (Thunderbird's "Sent"): they start with a "From " line.
  if (path.extname(name) === '' && !name.startsWith('.')) {
    const head = Buffer.alloc(5);
    try {
      const handle = await open(file, 'r');
      try {
        await handle.read(head, 0, 5, 0);
      } finally {
        await handle.close();
      }
    } catch {
      return { file, reason: 'not readable' };
    }
    if (head.equals(mboxSeparator)) return 'mbox';
  }
  return { file, reason: 'not an .eml, mbox, .json or .jsonl file' };
}

/** The format of a file named on the command line: `--format` when given, else its extension (`.json` one document, otherwise JSON Lines). */
export function formatOfNamedFile(file: string, format: IngestFormat | undefined): FileFormat {
  if (format !== undefined) return format;
  if (/\.eml$/i.test(file)) return 'eml';
  if (/\.(mbox|mbx)$/i.test(file)) return 'mbox';
  if (/\.json$/i.test(file)) return 'json';
  return 'jsonl';
}

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code ?? 'error';

/**
 * Expands the command line's inputs into the files to ingest, in a stable order: a file as named
 * (read as `--format`, else by its extension); a folder's `.eml`, mbox (`.mbox`, `.mbx`, or no
 * extension and a first line starting "From "), `.json` and `.jsonl` files, sorted by name, its
 * subfolders too with `recursive` (otherwise listed as skipped); a glob pattern (`mail/**\/*.eml`)
 * the files it matches. Files found in folders that are none of these are listed as skipped, and
 * a path that cannot be read as unreadable; a file reached twice is taken once.
 */
export async function collectInputs(inputs: readonly string[], options: { recursive: boolean; format?: IngestFormat }): Promise<CollectedInputs> {
  const files: InputFile[] = [];
  const skipped: SkippedInput[] = [];
  const unreadable: UnreadableInput[] = [];
  const seen = new Set<string>();
  const add = (file: string, format: FileFormat, bytes: number) => {
    const resolved = path.resolve(file);
    if (seen.has(resolved)) return;
    seen.add(resolved);
    files.push({ file, format, bytes });
  };

  async function walk(folder: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      unreadable.push({ file: folder, error: `cannot list the folder (${errorCode(error)})` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        if (options.recursive) await walk(file);
        else skipped.push({ file, reason: 'a folder (add --recursive to read folders inside folders)' });
        continue;
      }
      if (!entry.isFile()) {
        // A symbolic link is followed when it leads to a file.
        const target = await stat(file).catch(() => undefined);
        if (target === undefined || !target.isFile()) {
          skipped.push({ file, reason: 'not a regular file' });
          continue;
        }
      }
      const format = await formatInFolder(file);
      if (typeof format !== 'string') {
        skipped.push(format);
        continue;
      }
      const info = await stat(file).catch(() => undefined);
      add(file, format, info?.size ?? 0);
    }
  }

  for (const input of inputs) {
    const info = await stat(input).catch((error: unknown) => error as NodeJS.ErrnoException);
    if (!(info instanceof Error)) {
      if (info.isDirectory()) await walk(input);
      else if (info.isFile()) add(input, formatOfNamedFile(input, options.format), info.size);
      else unreadable.push({ file: input, error: 'not a file or a folder' });
      continue;
    }
    if (isDynamicPattern(input)) {
      const matches = (await glob(input, { onlyFiles: true, absolute: false, dot: false, expandDirectories: false })).sort();
      if (matches.length === 0) unreadable.push({ file: input, error: 'the pattern matches no file' });
      for (const match of matches) {
        const format = await formatInFolder(match);
        if (typeof format !== 'string') skipped.push(format);
        else add(match, options.format ?? format, (await stat(match).catch(() => undefined))?.size ?? 0);
      }
      continue;
    }
    unreadable.push({ file: input, error: `cannot be read (${errorCode(info)})` });
  }
  return { files, skipped, unreadable };
}
