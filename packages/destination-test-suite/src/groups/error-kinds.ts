import { randomBytes } from 'node:crypto';
import { DestinationError, type DestinationV1 } from '@sentcopy/core';
import type { ConformanceCheck, ConformanceContext } from '../conformance-check.js';
import type { ConformanceFault, ConformanceFaults } from '../conformance-options.js';
import { errorKind, putInput, settle, sha256Hex, utf8 } from '../fixtures.js';

const kinds: readonly Exclude<ConformanceFault, 'stall'>[] = ['rate_limited', 'unauthorized', 'unreachable', 'invalid', 'unknown'];

/** Every message in an error and its causes, for the secrets check. */
function messagesOf(error: unknown): string {
  const parts: string[] = [];
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    parts.push(current instanceof Error ? `${current.name}: ${current.message}` : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(' | ');
}

async function withFaultyDestination(context: ConformanceContext, work: (destination: DestinationV1, faults: ConformanceFaults) => Promise<void>): Promise<void> {
  const faults = context.options?.faults;
  context
    .expect(faults !== undefined, 'the errorKinds group needs the faults option (hooks that break the store on demand, e.g. a fault proxy); switch the group off with groups: { errorKinds: false } where no fault can be injected')
    .toBe(true);
  if (faults === undefined) return;
  const destination = await faults.createDestination();
  try {
    await work(destination, faults);
  } finally {
    await destination.close?.();
  }
}

/** Checks of the `errorKinds` group. */
export const errorKindsChecks: readonly ConformanceCheck[] = [
  {
    name: 'every error kind the store can cause reaches the caller as that kind, stores nothing, leaks no secret, and the next put succeeds',
    async run(context) {
      const { backdoor, expect, prefix, options } = context;
      await withFaultyDestination(context, async (destination, faults) => {
        const checked: string[] = [];
        for (const kind of kinds) {
          const injection = await faults.inject(kind);
          if (injection === undefined) continue;
          checked.push(kind);
          const input = putInput(`${prefix}${kind}`, utf8(`stored once ${kind} is over`));
          let outcome;
          try {
            outcome = await settle(destination.put(input));
          } finally {
            await injection.restore();
          }
          expect(outcome.ok ? 'fulfilled' : errorKind(outcome.error), `put() while the store causes ${kind}: rejects with a DestinationError of kind ${kind}`).toBe(kind);
          if (!outcome.ok && DestinationError.isInstance(outcome.error)) {
            expect(outcome.error.isRetryable, `${kind}: isRetryable`).toBe(kind !== 'invalid');
            const text = messagesOf(outcome.error);
            const leaked = (options?.secrets ?? []).filter((secret) => secret !== '' && text.includes(secret));
            expect(leaked, `${kind}: no secret in the error message or its causes`).toEqual([]);
          }
          expect(await backdoor.readObject(input.key), `${kind}: nothing stored by the failed put`).toBe(undefined);
          const retry = await settle(destination.put(input));
          expect(retry.ok ? 'fulfilled' : errorKind(retry.error), `${kind}: once the fault is gone the same put succeeds`).toBe('fulfilled');
          expect(sha256Hex((await backdoor.readObject(input.key))?.body ?? new Uint8Array()), `${kind}: what really landed after the retry`).toBe(input.sha256);
        }
        expect(checked.length > 0, 'inject() produced at least one error kind').toBe(true);
      });
    },
  },
  {
    name: 'an abort that lands mid-upload (a large body, after the request reached the store) leaves no object and no partial object',
    async run(context) {
      const { backdoor, expect, prefix } = context;
      await withFaultyDestination(context, async (destination, faults) => {
        const injection = await faults.inject('stall');
        expect(injection !== undefined, 'inject("stall") is supported: the store accepts a request but stops reading its body').toBe(true);
        if (injection === undefined) return;
        const body = new Uint8Array(randomBytes(32 * 1024 * 1024));
        const input = putInput(`${prefix}cut`, body);
        const controller = new AbortController();
        const pending = settle(destination.put(input, { signal: controller.signal }));
        try {
          await injection.requestArrived?.();
          controller.abort();
        } finally {
          await injection.restore();
        }
        const outcome = await pending;
        expect(outcome.ok ? 'fulfilled' : errorKind(outcome.error) === 'abort' || DestinationError.isInstance(outcome.error) ? 'rejected' : errorKind(outcome.error), 'the put cut mid-upload rejects (AbortError or DestinationError)').toBe(
          'rejected',
        );
        expect(await backdoor.readObject(input.key), 'no object, whole or partial, under the key').toBe(undefined);
        expect(await backdoor.listKeys(prefix), 'no temporary or partial objects next to it').toEqual([]);
        const retry = await settle(destination.put(input));
        expect(retry.ok ? 'fulfilled' : errorKind(retry.error), 'a later put of the same bytes succeeds').toBe('fulfilled');
        expect(sha256Hex((await backdoor.readObject(input.key))?.body ?? new Uint8Array()), 'what really landed: the whole object').toBe(input.sha256);
      });
    },
  },
];
