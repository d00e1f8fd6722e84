import type { ConformanceCheck } from '../conformance-check.js';
import { errorKind, keyOfBytes, listAll, outcomeKind, putInput, settle, sha256Hex, sortKeys, utf8 } from '../fixtures.js';

const invalidRelativeKeys = ['../escape', 'a/../../b', '/abs', 'a//b', 'a/', '.', '..', 'a/./b', 'nul\u0000byte', 'back\\slash', 'lone\ud800surrogate', ''];

const oddValidRelativeKeys = ['with space', 'trailing space ', 'ü/日本/😀', 'NFD-u\u0308', '%2e%2e', '%2F', 'a+b', 'a=b', 'a#b', 'a?b', "it's", 'a&b', '.hidden', '...', '..a', 'dir.with.dots/x', 'brackets[1]{2}'];

/** Checks of the `hostileKeys` group. */
export const hostileKeysChecks: readonly ConformanceCheck[] = [
  {
    name: 'refuses invalid keys with invalid and writes nothing',
    async run({ destination, backdoor, expect, prefix }) {
      const keys = [...invalidRelativeKeys, 'x'.repeat(1025), ...invalidRelativeKeys.map((key) => prefix + key), keyOfBytes(prefix, 1025)];
      const kinds: Record<string, string> = {};
      for (const key of keys) kinds[JSON.stringify(key).slice(0, 80)] = outcomeKind(await settle(destination.put(putInput(key, utf8('hostile')))));
      expect(kinds, 'put() of each invalid key').toEqual(Object.fromEntries(Object.keys(kinds).map((name) => [name, 'invalid'])));
      expect(await backdoor.listKeys(prefix), 'nothing landed under the prefix').toEqual([]);
      expect((await listAll(destination, prefix)).keys, 'list() shows nothing under the prefix').toEqual([]);

      const reads: Record<string, string> = {};
      for (const key of [...invalidRelativeKeys, '../../../../../../etc/passwd', `${prefix}../hostile`]) {
        const name = JSON.stringify(key).slice(0, 80);
        for (const operation of ['get', 'head'] as const) {
          const outcome = await settle(destination[operation](key));
          reads[`${operation} ${name}`] = outcome.ok ? (outcome.value === undefined ? 'undefined' : 'returned an object') : errorKind(outcome.error);
        }
      }
      const unacceptable = Object.entries(reads).filter(([, result]) => result !== 'undefined' && result !== 'invalid');
      expect(unacceptable, 'get()/head() of an invalid key return undefined or reject with invalid').toEqual([]);
    },
  },
  {
    name: 'odd but valid keys round-trip and list exactly as given',
    async run({ destination, backdoor, expect, prefix }) {
      const keys = [...oddValidRelativeKeys.map((key) => prefix + key), keyOfBytes(`${prefix}long/`, 1000)];
      const bodies = new Map(keys.map((key, index) => [key, utf8(`odd key ${index}`)]));
      for (const [key, body] of bodies) {
        const outcome = await settle(destination.put(putInput(key, body)));
        expect(outcomeKind(outcome), `put(${JSON.stringify(key)})`).toBe('fulfilled');
      }
      const expected = sortKeys(keys);
      expect((await listAll(destination, prefix, 7)).keys, 'list() returns the exact keys').toEqual(expected);
      expect(sortKeys(await backdoor.listKeys(prefix)), 'the back door sees the exact keys').toEqual(expected);
      for (const [key, body] of bodies) {
        const landed = await backdoor.readObject(key);
        const got = await destination.get(key);
        expect({ landed: landed && sha256Hex(landed.body), got: got && sha256Hex(got.body), gotKey: got?.key }, `bytes under ${JSON.stringify(key)}`).toEqual({ landed: sha256Hex(body), got: sha256Hex(body), gotKey: key });
      }
    },
  },
];
