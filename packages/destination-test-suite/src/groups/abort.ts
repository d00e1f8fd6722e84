import { randomBytes } from 'node:crypto';
import type { ConformanceCheck } from '../conformance-check.js';
import { outcomeKind, putInput, settle, sha256Hex, utf8 } from '../fixtures.js';

const abortedKinds = new Set(['abort', 'rate_limited', 'unauthorized', 'unreachable', 'conflict', 'invalid', 'unknown']);

type AbortTiming = 'synchronously' | 'after one event-loop turn' | 'after 1 ms' | 'after 10 ms';
const timings: readonly AbortTiming[] = ['synchronously', 'after one event-loop turn', 'after 1 ms', 'after 10 ms'];

async function wait(timing: AbortTiming): Promise<void> {
  if (timing === 'synchronously') return;
  if (timing === 'after one event-loop turn') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => setTimeout(resolve, timing === 'after 1 ms' ? 1 : 10));
}

/** Checks of the `abort` group. */
export const abortChecks: readonly ConformanceCheck[] = [
  {
    name: 'a pre-aborted signal rejects and stores nothing',
    async run({ destination, backdoor, expect, prefix }) {
      const input = putInput(`${prefix}never`, utf8('never stored'));
      const outcome = await settle(destination.put(input, { signal: AbortSignal.abort() }));
      const kind = outcomeKind(outcome);
      expect(kind !== 'fulfilled' && abortedKinds.has(kind), `put() with an aborted signal rejects with an AbortError or DestinationError (got ${kind})`).toBe(true);
      expect(await backdoor.readObject(input.key), 'nothing stored').toBe(undefined);
      expect(await backdoor.listKeys(prefix), 'no files at all').toEqual([]);
    },
  },
  {
    name: 'aborting mid-flight leaves nothing or the whole object, and a later put succeeds',
    async run({ destination, backdoor, expect, prefix }) {
      const body = new Uint8Array(randomBytes(8 * 1024 * 1024));
      const sha256 = sha256Hex(body);
      for (const timing of timings) {
        const key = `${prefix}${timing.replaceAll(' ', '-')}`;
        const controller = new AbortController();
        const pending = settle(destination.put(putInput(key, body), { signal: controller.signal }));
        await wait(timing);
        controller.abort();
        const outcome = await pending;
        const kind = outcomeKind(outcome);
        expect(abortedKinds.has(kind) || kind === 'fulfilled', `aborted ${timing}: resolves, or rejects with an AbortError or DestinationError (got ${kind})`).toBe(true);

        const landed = await backdoor.readObject(key);
        const state = landed === undefined ? 'nothing' : sha256Hex(landed.body) === sha256 ? 'whole' : `partial (${landed.body.byteLength} bytes)`;
        expect(state === 'nothing' || state === 'whole', `aborted ${timing}: the key holds nothing or the whole object (got ${state})`).toBe(true);
        if (outcome.ok) expect(state, `aborted ${timing}: a put that resolved has stored the object`).toBe('whole');
        const leftovers = (await backdoor.listKeys(prefix)).filter((listed) => listed.startsWith(key) && listed !== key);
        expect(leftovers, `aborted ${timing}: no temporary files next to the key`).toEqual([]);

        const retry = await settle(destination.put(putInput(key, body)));
        expect(outcomeKind(retry), `aborted ${timing}: a later put of the same bytes succeeds`).toBe('fulfilled');
        const after = await backdoor.readObject(key);
        expect(after && sha256Hex(after.body), `aborted ${timing}: the whole object is stored after the retry`).toBe(sha256);
      }
    },
  },
];
