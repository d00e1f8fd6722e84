import { Worker, type WorkerOptions } from 'node:worker_threads';

// --input-type (set for `node -e` scripts) is about the main script; a thread given it refuses to load its module.
const mainScriptFlag = /^--input[-_]type(=|$)/;

/** The flags a thread started with, once one has: what this process's threads can take. */
let acceptedThreadFlags: string[] | undefined;

/** The flags Node named in an ERR_WORKER_INVALID_EXEC_ARGV ("…invalid execArgv flags: --a, --b"). */
function refusedFlags(error: Error): string[] {
  const listed = error.message.split(': ').slice(1).join(': ');
  return listed === '' ? [] : listed.split(', ');
}

/**
 * Starts a worker thread running `module` with the process's Node flags (so `--cpu-prof`,
 * `--conditions` or `--import` reach it), less those Node refuses in a thread: V8's
 * (`--max-old-space-size`, `--trace-gc`, `--expose-gc`…) and the process's own (`--title`,
 * `--v8-pool-size`…). Node names them in its refusal; that list is Node's own and changes between
 * releases, so it is read from the refusal, not kept here. If the refusal cannot be read, the thread
 * starts with no flags. Throws what `new Worker()` throws otherwise.
 */
export function startThreadWithProcessFlags(module: URL, options: Omit<WorkerOptions, 'execArgv'> = {}): Worker {
  let flags = acceptedThreadFlags ?? process.execArgv.filter((flag) => !mainScriptFlag.test(flag));
  for (let attempt = 0; ; attempt++) {
    try {
      const worker = new Worker(module, { ...options, execArgv: flags });
      acceptedThreadFlags = flags;
      return worker;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || flags.length === 0) throw error;
      const refused = refusedFlags(error as Error);
      flags = attempt === 0 && refused.length > 0 ? flags.filter((flag) => !refused.includes(flag)) : [];
    }
  }
}
