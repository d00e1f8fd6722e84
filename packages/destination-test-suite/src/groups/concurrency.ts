import type { ConformanceCheck } from '../conformance-check.js';
import { outcomeKind, putInput, settle, sha256Hex } from '../fixtures.js';

function payload(fill: number, size: number): Uint8Array {
  const body = new Uint8Array(size);
  for (let index = 0; index < size; index++) body[index] = (fill * 31 + index * 7) & 0xff;
  body[0] = fill;
  return body;
}

/** Checks of the `concurrency` group. */
export const concurrencyChecks: readonly ConformanceCheck[] = [
  {
    name: '50 concurrent puts of one key leave exactly one whole object; every loser gets conflict',
    async run({ destination, backdoor, expect, prefix }) {
      const key = `${prefix}contended`;
      const shared = payload(0, 64 * 1024);
      const candidates = Array.from({ length: 50 }, (_, index) => (index % 2 === 0 ? shared : payload(index, 64 * 1024)));
      const outcomes = await Promise.all(candidates.map((body) => settle(destination.put(putInput(key, body)))));

      expect(await backdoor.listKeys(prefix), 'exactly one object and no temporary or partial files').toEqual([key]);
      const listed = await destination.list({ prefix });
      expect(
        listed.objects.map((object) => object.key),
        'list() shows exactly one object',
      ).toEqual([key]);
      const landed = await backdoor.readObject(key);
      const storedSha = landed ? sha256Hex(landed.body) : 'nothing stored';
      const candidateShas = candidates.map((body) => sha256Hex(body));
      expect(candidateShas.includes(storedSha), 'the stored bytes are exactly one of the candidates').toBe(true);
      expect(landed?.sha256, 'the recorded SHA-256 matches the stored bytes').toBe(storedSha);

      const expected = candidateShas.map((sha) => (sha === storedSha ? 'fulfilled' : 'conflict'));
      expect(
        outcomes.map((outcome) => outcomeKind(outcome)),
        'calls with the stored bytes succeed, all others fail with conflict',
      ).toEqual(expected);
      const created = outcomes.filter((outcome) => outcome.ok && outcome.value.created).length;
      expect(created, 'exactly one call reports created: true').toBe(1);
    },
  },
];
