import { DestinationError, type DestinationErrorKind } from '@sentcopy/core';

/** What the destination was doing when a Node.js file-system call failed, for the error message. */
export interface FsErrorContext {
  /** A verb phrase, e.g. `write the object`. */
  operation: string;
  /** The object key involved, if any. */
  key?: string;
}

/** The `code` of a Node.js system error (`EACCES`, `ENOENT`, ...), if it has one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

const classification: Readonly<Record<string, readonly [DestinationErrorKind, string]>> = {
  EACCES: ['unauthorized', 'permission denied; check the folder owner and mode'],
  EPERM: ['unauthorized', 'operation not permitted; check the folder owner and mode, and that the file system supports hard links'],
  ENOSPC: ['unreachable', 'the disk is full'],
  EDQUOT: ['unreachable', 'the disk quota is exhausted'],
  EROFS: ['unreachable', 'the file system is mounted read-only'],
  EIO: ['unreachable', 'the disk reported an I/O error'],
  // Too many open files is pressure on this process, not a verdict on the object: back off and retry
  // (rate_limited retries with capped backoff, without the long outage cadence).
  EMFILE: ['rate_limited', 'the process has too many open files (raise ulimit -n, or lower the write concurrency)'],
  ENFILE: ['rate_limited', 'the system has too many open files'],
  ENAMETOOLONG: ['invalid', 'the path is too long for this file system'],
  ENOENT: ['unknown', 'a file or folder disappeared while in use'],
  ENOTSUP: ['invalid', 'the file system does not support an operation write-once publishing needs (hard links)'],
  EOPNOTSUPP: ['invalid', 'the file system does not support an operation write-once publishing needs (hard links)'],
  ENOSYS: ['invalid', 'the file system does not support an operation write-once publishing needs (hard links)'],
  EXDEV: ['invalid', 'the key crosses into another mounted file system; keep the whole root on one file system'],
};

/**
 * Maps a Node.js file-system error to a `DestinationError`: the one place where system error codes
 * become kinds. Messages name the operation and the code, never a path (paths embed keys).
 * `ENOENT` arrives here only after the caller has ruled out a missing root (which is `unreachable`).
 */
export function mapFsError(error: unknown, context: FsErrorContext): DestinationError {
  if (DestinationError.isInstance(error)) return error;
  const code = errorCode(error);
  const [kind, reason] = (code === undefined ? undefined : classification[code]) ?? ['unknown', 'an unexpected file-system error occurred'];
  return new DestinationError({
    kind,
    provider: 'fs',
    key: context.key,
    code,
    message: `Could not ${context.operation} in the local folder: ${reason}${code === undefined ? '' : ` (${code})`}.`,
    cause: error,
  });
}
