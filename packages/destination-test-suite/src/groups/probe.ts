import type { ConformanceCheck } from '../conformance-check.js';
import { listAll } from '../fixtures.js';

/** Checks of the `probe` group. */
export const probeChecks: readonly ConformanceCheck[] = [
  {
    name: 'probe() of a healthy destination is ok with a passed write check, twice, and leaves nothing behind',
    async run({ destination, backdoor, expect, prefix }) {
      for (const attempt of ['first', 'second']) {
        const result = await destination.probe();
        const failed = result.checks.filter((check) => check.status !== 'passed' && check.status !== 'unsupported');
        expect(
          failed.map((check) => `${check.name}: ${check.detail ?? ''}`),
          `${attempt} probe: no failed checks`,
        ).toEqual([]);
        expect(result.ok, `${attempt} probe: ok`).toBe(true);
        expect(result.checks.find((check) => check.name === 'write')?.status, `${attempt} probe: the write check passed`).toBe('passed');
        expect(result.public === true, `${attempt} probe: a healthy destination is not public`).toBe(false);
      }
      expect(await backdoor.listKeys(prefix), 'the probe left nothing under the suite prefix').toEqual([]);
      expect((await listAll(destination, prefix)).keys, 'list() shows nothing under the suite prefix').toEqual([]);
    },
  },
];
