import { describe, expect, it } from 'vitest';
import { conformanceGroups, type ConformanceGroupName } from '../src/index.js';
import { createMemoryDestination, type MemoryFlaw } from './memory-destination.js';

// reference-destination.test.ts shows the correct memory destination passes every check; here each flaw must make the named group fail, with a failure message naming what went wrong.
const cases: ReadonlyArray<[MemoryFlaw, ConformanceGroupName, string]> = [
  ['overwrites', 'conflict', "expected 'fulfilled' to be 'conflict'"],
  ['overwrites', 'idempotency', 'the retry created nothing'],
  ['trusts-claimed-sha256', 'conflict', 'sha256 does not match its body is refused (got fulfilled)'],
  ['checks-then-writes', 'concurrency', 'all others fail with conflict'],
  ['sorts-by-utf16', 'pagination', 'byte order; "/" sorts as 0x2F'],
  ['repeats-last-key-on-next-page', 'pagination', 'order problems with the default limit'],
  ['skips-key-validation', 'hostileKeys', 'put() of each invalid key'],
  ['truncates-large-bodies', 'largeObject', 'what really landed'],
  ['stores-partial-on-abort', 'abort', 'holds nothing or the whole object (got partial'],
  ['drops-content-encoding', 'roundtrip', 'gzip-encoded JSON body byte for byte: what really landed'],
  ['probe-fails-write', 'probe', 'no failed checks'],
];

describe('the conformance suite catches broken destinations', () => {
  it.each(cases)('a destination that %s fails the %s group', async (flaw, group, symptom) => {
    const { destination, backdoor } = createMemoryDestination(flaw);
    const failures: string[] = [];
    for (const [index, check] of conformanceGroups[group].entries()) {
      try {
        await check.run({ destination, backdoor, expect, prefix: `can-fail/${flaw}/${group}/${index}/` });
      } catch (error) {
        failures.push(`${check.name}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      }
    }
    expect(failures.some((failure) => failure.includes(symptom)), `failures for ${flaw}: ${failures.join(' | ')}`).toBe(true);
  }, 60_000);
});
