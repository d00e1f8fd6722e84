import { describe, expect, it } from 'vitest';
import { conformanceGroups, type ConformanceGroupName } from '../src/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import createFileDestination, { readStored, storedKeys } from './fixtures/file-destination.mjs';
import { createMemoryDestination, memorySecret, type MemoryFlaw } from './memory-destination.js';

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
  ['delete-is-a-no-op', 'delete', 'the deleted object is gone'],
  ['erases-versions-by-prefix', 'delete', 'the key sharing its prefix is untouched'],
  ['reports-every-fault-as-unknown', 'errorKinds', 'rejects with a DestinationError of kind rate_limited'],
  ['leaks-the-secret', 'errorKinds', 'no secret in the error message or its causes'],
  ['stores-partial-on-abort', 'errorKinds', 'no object, whole or partial, under the key'],
];

describe('the conformance suite catches broken destinations', () => {
  it.each(cases)(
    'a destination that %s fails the %s group',
    async (flaw, group, symptom) => {
      const { destination, backdoor, faults } = createMemoryDestination(flaw);
      const failures: string[] = [];
      for (const [index, check] of conformanceGroups[group].entries()) {
        try {
          await check.run({ destination, backdoor, expect, prefix: `can-fail/${flaw}/${group}/${index}/`, options: { faults, secrets: [memorySecret] } });
        } catch (error) {
          failures.push(`${check.name}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
        }
      }
      expect(
        failures.some((failure) => failure.includes(symptom)),
        `failures for ${flaw}: ${failures.join(' | ')}`,
      ).toBe(true);
    },
    60_000,
  );
});

describe('the crossProcess group catches write-once that holds only inside one process', () => {
  const factoryModule = fileURLToPath(new URL('fixtures/file-destination.mjs', import.meta.url));
  const run = async (flaw: string | undefined): Promise<string[]> => {
    const root = mkdtempSync(join(tmpdir(), 'sentcopy-suite-cross-process-'));
    try {
      const destination = createFileDestination({ root, flaw });
      const backdoor = { readObject: (key: string) => readStored(root, key), listKeys: async (prefix: string) => (await storedKeys(root)).filter((key: string) => key.startsWith(prefix)) };
      const failures: string[] = [];
      for (const check of conformanceGroups.crossProcess) {
        try {
          await check.run({ destination, backdoor, expect, prefix: 'cross/', options: { crossProcess: { factoryModule, settings: { root, flaw } } } });
        } catch (error) {
          failures.push(error instanceof Error ? error.message.split('\n')[0]! : String(error));
        }
      }
      return failures;
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };

  it('an in-process lock around check-then-write fails: several processes report created', async () => {
    const failures = await run('in-process-lock');
    expect(
      failures.some((failure) => /exactly one put across all processes|puts of the stored bytes succeed in every process/.test(failure)),
      failures.join(' | '),
    ).toBe(true);
  }, 60_000);

  it('an exclusive create (temp file + link) passes', async () => {
    expect(await run(undefined)).toEqual([]);
  }, 60_000);

  it('without the crossProcess option the group fails and says how to switch it off', async () => {
    const { destination, backdoor } = createMemoryDestination();
    const check = conformanceGroups.crossProcess[0]!;
    await expect(check.run({ destination, backdoor, expect, prefix: 'cross-missing/' })).rejects.toThrow(/crossProcess: false/);
  });
});
