import { watch as watchFolder } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { WorkerLogger } from '../logging/index.js';
import { ConfigError } from './config-error.js';
import { configLog, describeError, type ConfigLog } from './config-log.js';
import type { ConfigTextSource } from './config-text-source.js';

/** Options for {@link createFileConfigSource}. */
export interface FileConfigSourceOptions {
  /** Path of the configuration file (resolved against the working directory). */
  readonly file: string;
  /** Follow the file with `fs.watch` (changes are told within `debounceMs`); the poll runs either way, as a fallback. @default true */
  readonly watch?: boolean;
  /** How often the file's size and times are checked for changes, in milliseconds (a `stat`, not a read). @default 1000 */
  readonly pollIntervalMs?: number;
  /** Quiet time after a watch event before a change is told, so an editor's several writes apply once, in milliseconds. @default 100 */
  readonly debounceMs?: number;
  /** Receives `config.watch_failed` when the file cannot be watched (polling goes on). @default none */
  readonly logger?: WorkerLogger;
}

/** Identifies one version of the file without reading it: inode, size and times, or `missing`. */
async function statKey(file: string): Promise<string> {
  const info = await stat(file).catch(() => undefined);
  return info === undefined ? 'missing' : `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
}

async function readConfigFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? describeError(error);
    throw new ConfigError(file, [{ path: '', problem: code === 'ENOENT' ? 'the file does not exist' : `the file cannot be read (${code})` }]);
  }
}

/**
 * Tells `onChange` after a quiet time of `debounceMs` whenever the folder reports an event for the
 * file; returns a function that stops. Logs `config.watch_failed` and returns `undefined` when the
 * folder cannot be watched; a watcher that fails later closes itself and logs the same event.
 */
function followFolder(file: string, debounceMs: number, onChange: () => void, log: ConfigLog): (() => void) | undefined {
  let debounce: NodeJS.Timeout | undefined;
  try {
    // The folder, not the file: editors often save by writing a new file and renaming it over the old one.
    const watcher = watchFolder(path.dirname(file), { persistent: false }, (_, name) => {
      if (name !== null && name !== path.basename(file)) return;
      clearTimeout(debounce);
      debounce = setTimeout(onChange, debounceMs);
      debounce.unref();
    });
    watcher.on('error', (error) => {
      log('warn', 'config.watch_failed', `Watching the configuration file failed (${describeError(error)}); changes are still picked up by polling.`, { file });
      watcher.close();
    });
    return () => {
      clearTimeout(debounce);
      watcher.close();
    };
  } catch (error) {
    log('warn', 'config.watch_failed', `Cannot watch the configuration file (${describeError(error)}); changes are picked up by polling.`, { file });
    return undefined;
  }
}

/**
 * The configuration file as a {@link ConfigTextSource}, the worker's default: read with
 * `readFile`, and followed with `fs.watch` on its folder (so an editor's rename-over save is seen)
 * plus a cheap `stat` poll that keeps working when watching does not. A missing or unreadable file
 * is a `ConfigError` naming the file (`the file does not exist`, `the file cannot be read (EACCES)`).
 */
export function createFileConfigSource(options: FileConfigSourceOptions): ConfigTextSource {
  const file = path.resolve(options.file);
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const debounceMs = options.debounceMs ?? 100;
  const log = configLog(options.logger);
  /** The file's stat when it was last read (or polled): taken before the read, so a later change always differs. */
  let lastStat: string | undefined;

  function poll(onChange: () => void): () => void {
    let polling = false;
    const timer = setInterval(() => {
      if (polling) return;
      polling = true;
      void statKey(file)
        .then((key) => {
          if (key === lastStat) return;
          const first = lastStat === undefined;
          lastStat = key;
          if (!first) onChange();
        })
        .finally(() => (polling = false));
    }, pollIntervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  return {
    description: file,
    async read() {
      lastStat = await statKey(file);
      return readConfigFile(file);
    },
    watch(onChange) {
      // The poll compares a stat, so it costs no read; fs.watch makes most edits apply sooner.
      const stopPolling = poll(onChange);
      const stopFollowing = options.watch === false ? undefined : followFolder(file, debounceMs, onChange, log);
      return () => {
        stopPolling();
        stopFollowing?.();
      };
    },
  };
}
