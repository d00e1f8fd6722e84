import { spawn, type ChildProcess } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CrossProcessWriters } from './conformance-options.js';

/** One put a writer process makes. */
export interface WriterPut {
  /** The key to write. */
  readonly key: string;
  /** The bytes. */
  readonly body: Uint8Array;
  /** Their SHA-256, lower-case hex. */
  readonly sha256: string;
}

/** How one put of a writer process settled: `fulfilled` (with `created`), or the error's kind. */
export interface WriterOutcome {
  /** `fulfilled`, a `DestinationError` kind, `abort`, or `not a DestinationError: …`. */
  readonly kind: string;
  /** `created` of a fulfilled put. */
  readonly created?: boolean;
}

/**
 * The writer, run by `node --input-type=module -e`: it imports the factory, creates the
 * destination, says `ready`, waits for `go` (so every process starts writing at once), runs its
 * puts concurrently, reports each outcome and exits.
 */
const writerScript = `
process.once('message', async (task) => {
  const module = await import(task.factoryModule);
  const factory = typeof module.default === 'function' ? module.default : module.createDestination;
  if (typeof factory !== 'function') throw new Error('The cross-process factory module exports no default function and no createDestination');
  const destination = await factory(task.settings);
  process.send({ type: 'ready' });
  await new Promise((resolve) => process.once('message', resolve));
  const kindOf = (error) => {
    if (error && typeof error === 'object' && typeof error.kind === 'string') return error.kind;
    if (error && error.name === 'AbortError') return 'abort';
    return 'not a DestinationError: ' + (error && error.name) + ': ' + (error && error.message);
  };
  const outcomes = await Promise.all(task.puts.map(async (put) => {
    try {
      const result = await destination.put({ key: put.key, body: new Uint8Array(Buffer.from(put.body, 'base64')), sha256: put.sha256, contentType: 'application/octet-stream' });
      return { kind: 'fulfilled', created: result.created };
    } catch (error) {
      return { kind: kindOf(error) };
    }
  }));
  await destination.close?.();
  process.send({ type: 'done', outcomes }, () => process.disconnect());
});
`;

function moduleUrl(factoryModule: string): string {
  if (factoryModule.startsWith('file:')) return factoryModule;
  if (!isAbsolute(factoryModule)) throw new TypeError(`crossProcess.factoryModule must be an absolute path or a file: URL, not "${factoryModule}".`);
  return pathToFileURL(factoryModule).href;
}

function waitFor<T>(child: ChildProcess, type: string, stderr: () => string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: { type?: string }) => {
      if (message?.type !== type) return;
      cleanup();
      resolve(message as T);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`A writer process exited (code ${code}) before "${type}": ${stderr().slice(-2000)}`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * Starts `writers.processes` Node.js processes, each with its own destination from the factory
 * module, hands process `n` the puts `putsPerProcess[n]`, starts them all at once and returns
 * every outcome, per process in the order given.
 */
export async function runWriterProcesses(writers: CrossProcessWriters, putsPerProcess: readonly (readonly WriterPut[])[]): Promise<WriterOutcome[][]> {
  const url = moduleUrl(writers.factoryModule);
  const children = putsPerProcess.map(() => {
    const child = spawn(process.execPath, [...(writers.execArgv ?? []), '--input-type=module', '-e', writerScript], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    return { child, stderr: () => stderr };
  });
  try {
    const ready = children.map(({ child, stderr }) => waitFor(child, 'ready', stderr));
    children.forEach(({ child }, index) => {
      const puts = (putsPerProcess[index] ?? []).map((put) => ({ key: put.key, sha256: put.sha256, body: Buffer.from(put.body).toString('base64') }));
      child.send({ factoryModule: url, settings: writers.settings, puts });
    });
    await Promise.all(ready);
    const done = children.map(({ child, stderr }) => waitFor<{ outcomes: WriterOutcome[] }>(child, 'done', stderr));
    for (const { child } of children) child.send({ type: 'go' });
    return (await Promise.all(done)).map((message) => message.outcomes);
  } finally {
    for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}
