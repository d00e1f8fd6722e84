import { mkdirSync } from 'node:fs';
import { chmod, open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { AccessEvent } from '../viewer-context.js';

/** One line of the access log as stored: an {@link AccessEvent} with its time set. */
export interface AccessLogLine {
  /** When, ISO 8601 UTC. */
  readonly at: string;
  /** The account name, `token`, or `unknown` for a refused sign-in with an unknown name. */
  readonly who: string;
  /** What was done. */
  readonly action: AccessEvent['action'];
  /** What it was done to (recipients only as hash prefixes). */
  readonly what: Readonly<Record<string, string | number | boolean>>;
}

/** Filters and paging for {@link AccessLog.read}. */
export interface AccessLogQuery {
  /** Only lines of this user (`token` for the start-up token). */
  readonly who?: string;
  /** Only lines of this action. */
  readonly action?: string;
  /** Lines to skip, newest first. @default 0 */
  readonly offset?: number;
  /** Most lines to return. @default 100 */
  readonly limit?: number;
}

/** A page of the access log, newest first. */
export interface AccessLogPage {
  /** The page, newest first. */
  readonly lines: readonly AccessLogLine[];
  /** Every line matching the filters. */
  readonly total: number;
  /** Lines that could not be read as events (a torn last line after a crash), skipped. */
  readonly unreadable: number;
}

/** The viewer's access log: JSON lines, mode 0600, each appended and fsync'd before `append` resolves. */
export interface AccessLog {
  /** The log file's path. */
  readonly file: string;
  /** Appends one event; resolves once it is on disk. Appends run one at a time, in call order. */
  append(event: AccessEvent): Promise<void>;
  /** Reads the log back, newest first. */
  read(query?: AccessLogQuery): Promise<AccessLogPage>;
  /** Waits for pending appends, then closes the file. */
  close(): Promise<void>;
}

/** The access log's place: `.sentcopy/viewer-access.log` beside the configuration. */
export function accessLogFile(baseDir: string): string {
  return path.join(baseDir, '.sentcopy', 'viewer-access.log');
}

/** Opens (creating it with mode 0600) the access log `file`. */
export function openAccessLog(file: string): AccessLog {
  let handle: Promise<FileHandle> | undefined;
  let queue: Promise<void> = Promise.resolve();
  const opened = () => {
    handle ??= (async () => {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const fileHandle = await open(file, 'a', 0o600);
      // A file created earlier by hand with a wider mode is narrowed: the log names who looked at what.
      await chmod(file, 0o600);
      return fileHandle;
    })();
    return handle;
  };
  return {
    file,
    append(event) {
      const line: AccessLogLine = { at: new Date(event.at ?? Date.now()).toISOString(), who: event.who, action: event.action, what: event.what };
      const write = queue.then(async () => {
        const fileHandle = await opened();
        const { size } = await fileHandle.stat();
        try {
          await fileHandle.appendFile(`${JSON.stringify(line)}\n`, 'utf8');
          await fileHandle.datasync();
        } catch (error) {
          // A part-written line (a full disk) is cut off, so the next event does not land glued to it and both read as garbage.
          await fileHandle.truncate(size).catch(() => undefined);
          throw error;
        }
      });
      // One failed write must not block the next; the caller of the failed one sees its error.
      queue = write.catch(() => undefined);
      return write;
    },
    async read(query = {}) {
      let text = '';
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      const lines: AccessLogLine[] = [];
      let unreadable = 0;
      for (const raw of text.split('\n')) {
        if (raw === '') continue;
        try {
          const value = JSON.parse(raw) as AccessLogLine;
          if (typeof value.at !== 'string' || typeof value.who !== 'string' || typeof value.action !== 'string') throw new Error('not an event');
          lines.push({ at: value.at, who: value.who, action: value.action, what: typeof value.what === 'object' && value.what !== null ? value.what : {} });
        } catch {
          unreadable += 1;
        }
      }
      lines.reverse();
      const matching = lines.filter((line) => (query.who === undefined || line.who === query.who) && (query.action === undefined || line.action === query.action));
      const offset = query.offset ?? 0;
      return { lines: matching.slice(offset, offset + (query.limit ?? 100)), total: matching.length, unreadable };
    },
    async close() {
      await queue;
      if (handle !== undefined) await (await handle).close();
    },
  };
}
