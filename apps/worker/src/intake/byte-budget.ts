/** A budget of bytes shared by requests: each takes its share before its body is read and gives it back once answered. */
export interface ByteBudget {
  /** Waits until `bytes` fit (at once when nothing holds any, so a request larger than the budget still runs, alone); resolves with the release. */
  take(bytes: number): Promise<() => void>;
  /** Bytes held now. */
  held(): number;
  /** Requests waiting for room. */
  waiting(): number;
}

/** Creates a first-come, first-served budget of `limit` bytes. */
export function createByteBudget(limit: number): ByteBudget {
  let held = 0;
  const queue: { readonly bytes: number; readonly grant: () => void }[] = [];
  const grantWaiting = () => {
    while (queue.length > 0) {
      const next = queue[0] as { bytes: number; grant: () => void };
      if (held > 0 && held + next.bytes > limit) return;
      queue.shift();
      held += next.bytes;
      next.grant();
    }
  };
  return {
    take(bytes) {
      return new Promise((resolve) => {
        queue.push({
          bytes,
          grant: () => {
            let released = false;
            resolve(() => {
              if (released) return;
              released = true;
              held -= bytes;
              grantWaiting();
            });
          },
        });
        grantWaiting();
      });
    },
    held: () => held,
    waiting: () => queue.length,
  };
}
