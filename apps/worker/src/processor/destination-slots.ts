interface SlotState {
  active: number;
  readonly waiting: (() => void)[];
}

/** Bounds the writes in flight per destination; a waiter whose signal aborts leaves the line. */
export class DestinationSlots {
  private readonly states = new Map<string, SlotState>();

  constructor(private readonly limit: number) {}

  /** Resolves with a function that gives the slot back (call it exactly once). */
  acquire(destination: string, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    let state = this.states.get(destination);
    if (!state) {
      state = { active: 0, waiting: [] };
      this.states.set(destination, state);
    }
    const held = state;
    const releaser = () => {
      let released = false;
      return () => {
        if (released) return;
        released = true;
        held.active--;
        const next = held.waiting.shift();
        if (next) next();
        else if (held.active === 0) this.states.delete(destination);
      };
    };
    if (held.active < this.limit) {
      held.active++;
      return Promise.resolve(releaser());
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        held.active++;
        resolve(releaser());
      };
      const onAbort = () => {
        const index = held.waiting.indexOf(grant);
        if (index !== -1) held.waiting.splice(index, 1);
        reject(signal.reason);
      };
      held.waiting.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
