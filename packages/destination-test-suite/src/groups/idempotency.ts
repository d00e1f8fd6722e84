import type { ConformanceCheck } from '../conformance-check.js';
import { pickEntries, putInput, sha256Hex, utf8 } from '../fixtures.js';

/** Checks of the `idempotency` group. */
export const idempotencyChecks: readonly ConformanceCheck[] = [
  {
    name: 'repeating a put with the same bytes reports created: false and keeps one object',
    async run({ destination, backdoor, expect, prefix }) {
      const input = putInput(`${prefix}once`, utf8('the same message, sent twice by a retry'));
      const first = await destination.put(input);
      const second = await destination.put(input);
      expect({ ...first }, 'first put').toEqual({ key: input.key, created: true, size: input.body.byteLength, sha256: input.sha256 });
      expect({ ...second }, 'second put').toEqual({ key: input.key, created: false, size: input.body.byteLength, sha256: input.sha256 });
      expect(await backdoor.listKeys(prefix), 'stored keys').toEqual([input.key]);
      const landed = await backdoor.readObject(input.key);
      expect(landed && sha256Hex(landed.body), 'stored bytes').toBe(input.sha256);
    },
  },
  {
    name: 'repeating a put with the same bytes but other metadata keeps the original metadata',
    async run({ destination, backdoor, expect, prefix }) {
      const body = utf8('{"subject":"hello"}');
      const original = putInput(`${prefix}meta`, body, { contentType: 'application/json', metadata: { attempt: '1' } });
      await destination.put(original);
      const retry = await destination.put(putInput(original.key, body, { contentType: 'text/plain', contentEncoding: 'identity', metadata: { attempt: '2' } }));
      expect(retry.created, 'the retry created nothing').toBe(false);
      const landed = await backdoor.readObject(original.key);
      expect({ contentType: landed?.contentType, contentEncoding: landed?.contentEncoding, metadata: pickEntries(landed?.metadata, ['attempt']) }, 'recorded metadata after the retry').toEqual({
        contentType: 'application/json',
        contentEncoding: undefined,
        metadata: { attempt: '1' },
      });
    },
  },
];
