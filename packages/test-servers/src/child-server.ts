import type { ChildProcess } from 'node:child_process';

/** Options for {@link waitForOutput}. */
export interface WaitForOutputOptions {
  /** Names the program in errors, e.g. `nats-server`. */
  readonly name: string;
  /** Longest wait, in milliseconds. */
  readonly timeoutMs: number;
  /** The error to report when the program cannot be started at all (ENOENT). @default the spawn error */
  readonly notInstalled?: string;
}

/**
 * Waits until a spawned server's stdout or stderr matches `pattern` (its "listening" line), then
 * keeps draining its output so a full pipe never blocks it. Kills it and rejects, with what it
 * printed, when it exits, cannot start, or takes longer than `timeoutMs`.
 */
export function waitForOutput(child: ChildProcess, pattern: RegExp, options: WaitForOutputOptions): Promise<RegExpExecArray> {
  let output = '';
  return new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${options.name} did not start within ${options.timeoutMs} ms. Output: ${output}`)), options.timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(match);
      }
    };
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const onExit = (code: number | null) => fail(new Error(`${options.name} exited with code ${code} before listening. Output: ${output}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error: NodeJS.ErrnoException) => fail(error.code === 'ENOENT' && options.notInstalled !== undefined ? new Error(options.notInstalled) : error));
    child.once('exit', onExit);
  }).finally(() => {
    child.stdout?.resume();
    child.stderr?.resume();
  });
}

/** Sends `signal` to a spawned server and waits for it to exit (SIGKILL after 3 s). */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}
