import { parentPort, workerData } from 'node:worker_threads';
import { DestinationError, type DestinationV1 } from '@sentcopy/core';
import { buildDestination } from '../config/build-destination.js';
import type { WriteThreadData, WriteThreadError, WriteThreadMessage, WriteThreadRequest } from './write-thread-protocol.js';

// The thread of create-write-thread.ts: builds the destination as the main thread did, and writes.
const { name, config, baseDir, env } = workerData as WriteThreadData;
const port = parentPort as NonNullable<typeof parentPort>;

function errorFields(error: unknown): WriteThreadError {
  if (DestinationError.isInstance(error)) {
    return { destination: true, kind: error.kind, message: error.message, provider: error.provider, key: error.key, status: error.status, code: error.code, retryAfterMs: error.retryAfterMs };
  }
  const value = error as { name?: unknown; message?: unknown; code?: unknown } | null;
  return {
    destination: false,
    name: typeof value?.name === 'string' ? value.name : 'Error',
    message: typeof value?.message === 'string' ? value.message : String(error),
    code: typeof value?.code === 'string' ? value.code : undefined,
  };
}

// Answers go back in batches, one post per turn of the event loop.
let answers: Exclude<WriteThreadMessage, { ready: boolean }>[number][] = [];
function answer(entry: (typeof answers)[number]): void {
  if (answers.length === 0) {
    setImmediate(() => {
      const batch = answers;
      answers = [];
      port.postMessage(batch satisfies WriteThreadMessage);
    });
  }
  answers.push(entry);
}

/** The writes that can still be aborted, by id. */
const controllers = new Map<number, AbortController>();

const built: Promise<DestinationV1> = buildDestination(name, config, { baseDir, env });
built.then(
  () => port.postMessage({ ready: true } satisfies WriteThreadMessage),
  (error: unknown) => port.postMessage({ ready: false, error: errorFields(error) } satisfies WriteThreadMessage),
);

port.on('message', (request: WriteThreadRequest) => {
  if ('abort' in request) {
    controllers.get(request.abort)?.abort(new DOMException('The write was aborted.', 'AbortError'));
    return;
  }
  // Controllers are made as the writes arrive, not once the destination is built: an abort can follow at once.
  const writes = request.puts.map(([id, input, abortable]) => {
    let options: { signal: AbortSignal } | undefined;
    if (abortable) {
      const controller = new AbortController();
      controllers.set(id, controller);
      options = { signal: controller.signal };
    }
    return { id, input, options };
  });
  // A destination that could not be built was reported once (above): the main thread writes instead.
  built.then(
    (destination) => {
      for (const { id, input, options } of writes) {
        destination
          .put(input, options)
          .then(
            // The contract's fields only: anything else a package returns might not survive the post, and a lost answer would leave the write waiting forever.
            ({ key, size, sha256, created }) => answer([id, { key, size, sha256, created }]),
            (error: unknown) => answer([id, undefined, errorFields(error)]),
          )
          .finally(() => controllers.delete(id));
      }
    },
    () => undefined,
  );
});
