import { randomBytes } from 'node:crypto';
import type { ConformanceCheck } from '../conformance-check.js';
import { putInput, sha256Hex } from '../fixtures.js';

/** Size of the large object, in bytes (25 MiB). */
export const largeObjectBytes = 25 * 1024 * 1024;

/** Checks of the `largeObject` group. */
export const largeObjectChecks: readonly ConformanceCheck[] = [
  {
    name: 'a 25 MiB object round-trips byte-identical',
    async run({ destination, backdoor, expect, prefix }) {
      const input = putInput(`${prefix}large.bin`, new Uint8Array(randomBytes(largeObjectBytes)));
      const result = await destination.put(input);
      expect({ created: result.created, size: result.size, sha256: result.sha256 }, 'put result').toEqual({ created: true, size: largeObjectBytes, sha256: input.sha256 });
      const landed = await backdoor.readObject(input.key);
      expect({ size: landed?.body.byteLength, sha256: landed && sha256Hex(landed.body) }, 'what really landed').toEqual({ size: largeObjectBytes, sha256: input.sha256 });
      const got = await destination.get(input.key);
      expect({ size: got?.size, sha256: got && sha256Hex(got.body) }, 'get()').toEqual({ size: largeObjectBytes, sha256: input.sha256 });
      const listed = await destination.list({ prefix });
      expect(
        listed.objects.map((object) => [object.key, object.size]),
        'list()',
      ).toEqual([[input.key, largeObjectBytes]]);
    },
  },
];
