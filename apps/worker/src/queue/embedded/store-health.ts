import { statfsSync, statSync } from 'node:fs';
import type { QueueHealth, QueueProblem } from '../message-queue.js';
import { QueueError } from '../queue-error.js';

/** Most severe first: a damaged or vanished file outranks a full disk, which may clear by itself. */
const severity: readonly QueueProblem[] = ['damaged', 'file_missing', 'file_replaced', 'io_error', 'disk_full'];

/** Problems that can clear while the process runs (space freed, a flaky disk answering again). */
export const transientProblems: ReadonlySet<QueueProblem> = new Set<QueueProblem>(['disk_full', 'io_error']);

/** Which problem an SQLite error code means, if any. */
export function problemOf(error: unknown): QueueProblem | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return undefined;
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'damaged';
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return 'disk_full';
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN') || code === 'EIO') return 'io_error';
  if (code === 'SQLITE_READONLY_DBMOVED') return 'file_missing';
  return undefined;
}

interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

/**
 * Tracks what is wrong with the embedded queue's store: one problem at a time, the most severe
 * kept. The reason sentences tell the operator what to do, since they reach `/readyz`, the log and
 * the alert webhook as they are.
 */
export class StoreHealth {
  private current: { problem: QueueProblem; reason: string; since: number } | undefined;
  private identity: FileIdentity | undefined;
  /**
   * Called once when the file is found deleted or replaced, to save what the open file holds;
   * returns a sentence for the reason (where the copy is), if one was made.
   */
  onFileLost: (() => string | undefined) | undefined;

  constructor(
    private readonly file: string,
    private readonly folder: string,
    private readonly reserveBytes: number,
    private readonly now: () => number,
  ) {}

  /** The state for {@link MessageQueue.health}. */
  snapshot(): QueueHealth {
    const current = this.current;
    return current === undefined ? { ok: true } : { ok: false, problem: current.problem, reason: current.reason, since: current.since };
  }

  get problem(): QueueProblem | undefined {
    return this.current?.problem;
  }

  /** Records a problem, unless a more severe one is already recorded. */
  set(problem: QueueProblem, detail?: string): void {
    if (this.current !== undefined && severity.indexOf(this.current.problem) <= severity.indexOf(problem)) return;
    this.current = { problem, reason: this.describe(problem, detail), since: this.now() };
    if ((problem === 'file_missing' || problem === 'file_replaced') && this.onFileLost !== undefined) {
      const saved = this.onFileLost();
      if (saved !== undefined) this.current.reason += ` ${saved}`;
    }
  }

  /** Clears `problem` if it is the one recorded. */
  clear(problem: QueueProblem): void {
    if (this.current?.problem === problem) this.current = undefined;
  }

  /** Records the problem an SQLite error means, if any; returns it. */
  note(error: unknown): QueueProblem | undefined {
    const problem = problemOf(error);
    if (problem !== undefined) this.set(problem, (error as { code?: string }).code);
    return problem;
  }

  /** The error that refuses new messages while a problem lasts. */
  refusal(): QueueError {
    const current = this.current!;
    return new QueueError('storage', current.reason, { problem: current.problem });
  }

  /** Remembers which file the store was opened on (device and inode). */
  rememberFile(): void {
    const stats = statSync(this.file);
    this.identity = { dev: stats.dev, ino: stats.ino };
  }

  /**
   * Compares the file at the store's path with the one opened: SQLite keeps writing to an open
   * file that was deleted or replaced without a word, and whatever it then holds is gone once the
   * process exits. Returns false (and records the problem) when it is no longer the same file.
   */
  checkFile(): boolean {
    if (this.identity === undefined) return true;
    let stats;
    try {
      stats = statSync(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') this.set('file_missing');
      else this.set('io_error', (error as NodeJS.ErrnoException).code);
      return false;
    }
    if (stats.dev !== this.identity.dev || stats.ino !== this.identity.ino) {
      this.set('file_replaced');
      return false;
    }
    return true;
  }

  /** Bytes free for this process on the store's file system; `undefined` when it cannot tell. */
  freeBytes(): number | undefined {
    try {
      const stats = statfsSync(this.folder);
      return Number(stats.bavail) * Number(stats.bsize);
    } catch {
      return undefined;
    }
  }

  /** True when `bytes` more would still leave the reserve free (or when free space cannot be read). */
  hasRoomFor(bytes: number): boolean {
    const free = this.freeBytes();
    return free === undefined || free - bytes >= this.reserveBytes;
  }

  private describe(problem: QueueProblem, detail: string | undefined): string {
    const code = detail === undefined ? '' : ` (${detail})`;
    switch (problem) {
      case 'damaged':
        return `The queue's store file ${this.file} is damaged${code}. New messages are refused. Stop the worker, copy out what is readable with \`sentcopy queue salvage --from ${this.file} --into <new folder>\`, and start the worker on the new folder (--queue or queue.path); the damaged file is kept.`;
      case 'file_missing':
        return `The queue's store file ${this.file} was deleted while the worker ran. New messages are refused; messages already queued are still archived from the open file, and when the worker stops, what the queue still holds is written back to ${this.file}, so a restart carries on.`;
      case 'file_replaced':
        return `Another file now sits at ${this.file}, not the queue's store the worker opened. New messages are refused; messages already queued are still archived from the open file, and when the worker stops, what the queue still holds is copied to ${this.file}.rescued-<time> beside it (the other file is left alone): salvage that copy with \`sentcopy queue salvage\` into a new folder.`;
      case 'disk_full':
        return `The file system of the queue (${this.folder}) is full${code} or has less than ${Math.round(this.reserveBytes / 1024 / 1024)} MiB free. New messages are refused until space is freed; the worker then resumes by itself.`;
      case 'io_error':
        return `The queue's store in ${this.folder} fails with I/O errors${code}. New messages are refused; the worker tries again every few seconds. Check the disk.`;
    }
  }
}
