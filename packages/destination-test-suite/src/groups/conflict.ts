import type { ConformanceCheck, ConformanceContext } from '../conformance-check.js';
import { outcomeKind, putInput, settle, sha256Hex, utf8 } from '../fixtures.js';
import type { PutObjectInput } from '@sentcopy/core';

async function expectFirstKept({ destination, backdoor, expect, prefix }: ConformanceContext, first: PutObjectInput, expectedKinds: readonly string[]): Promise<void> {
  const kinds = expectedKinds.join(' or ');
  const landed = await backdoor.readObject(first.key);
  expect(landed && sha256Hex(landed.body), `stored bytes are still the first ones after a refused overwrite (${kinds})`).toBe(first.sha256);
  expect(landed?.sha256, 'recorded SHA-256 is still the first one').toBe(first.sha256);
  const got = await destination.get(first.key);
  expect(got && sha256Hex(got.body), 'get() returns the first bytes').toBe(first.sha256);
  expect(await backdoor.listKeys(prefix), 'stored keys').toEqual([first.key]);
}

/** Checks of the `conflict` group. */
export const conflictChecks: readonly ConformanceCheck[] = [
  {
    name: 'different bytes under an existing key are refused with conflict and never overwrite',
    async run(context) {
      const first = putInput(`${context.prefix}key`, utf8('original message'));
      await context.destination.put(first);
      const outcome = await settle(context.destination.put(putInput(first.key, utf8('a different, longer message'))));
      context.expect(outcomeKind(outcome), 'second put with different bytes').toBe('conflict');
      await expectFirstKept(context, first, ['conflict']);
    },
  },
  {
    name: 'same size with one byte changed is still a conflict',
    async run(context) {
      const body = utf8('0123456789abcdef'.repeat(64));
      const first = putInput(`${context.prefix}key`, body);
      await context.destination.put(first);
      const changed = body.slice();
      changed[512] = (changed[512] ?? 0) ^ 1;
      const outcome = await settle(context.destination.put(putInput(first.key, changed)));
      context.expect(outcomeKind(outcome), 'second put with one byte changed').toBe('conflict');
      await expectFirstKept(context, first, ['conflict']);
    },
  },
  {
    name: 'different bytes claiming the stored SHA-256 are refused, not reported as identical',
    async run(context) {
      const first = putInput(`${context.prefix}key`, utf8('original message'));
      await context.destination.put(first);
      const lying = { ...putInput(first.key, utf8('tampered message')), sha256: first.sha256 };
      const outcome = await settle(context.destination.put(lying));
      const kind = outcomeKind(outcome);
      context.expect(kind === 'conflict' || kind === 'invalid', `a put whose sha256 does not match its body is refused (got ${kind})`).toBe(true);
      await expectFirstKept(context, first, ['conflict', 'invalid']);
    },
  },
];
