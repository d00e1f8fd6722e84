import type { ConformanceCheck } from '../conformance-check.js';
import { errorKind, listAll, outcomeKind, putInput, settle, sha256Hex, utf8 } from '../fixtures.js';

/** Checks of the `delete` group. */
export const deleteChecks: readonly ConformanceCheck[] = [
  {
    name: 'delete() exists exactly when declared; it removes the object, tolerates absent keys, refuses invalid ones, and the key can be written again',
    async run({ destination, backdoor, expect, prefix }) {
      if (!destination.capabilities.delete) {
        expect(destination.delete, 'a destination that declares capabilities.delete: false has no delete()').toBe(undefined);
        return;
      }
      expect(typeof destination.delete, 'a destination that declares capabilities.delete has delete()').toBe('function');
      const remove = destination.delete!.bind(destination);
      const kept = putInput(`${prefix}kept`, utf8('kept'));
      const doomed = putInput(`${prefix}doomed`, utf8('first bytes'));
      await destination.put(kept);
      await destination.put(doomed);

      await remove(doomed.key);
      expect(await backdoor.readObject(doomed.key), 'what really landed: the deleted object is gone').toBe(undefined);
      expect(await destination.head(doomed.key), 'head() of the deleted key').toBe(undefined);
      expect(await destination.get(doomed.key), 'get() of the deleted key').toBe(undefined);
      expect((await listAll(destination, prefix)).keys, 'list() no longer shows it; the other object stays').toEqual([kept.key]);
      expect(sha256Hex((await backdoor.readObject(kept.key))?.body ?? new Uint8Array()), 'the other object is untouched').toBe(kept.sha256);

      expect(outcomeKind(await settle(remove(doomed.key))), 'deleting it again is not an error').toBe('fulfilled');
      expect(outcomeKind(await settle(remove(`${prefix}never-written`))), 'deleting a key never written is not an error').toBe('fulfilled');
      const invalid = await settle(remove(`${prefix}../escape`));
      expect(invalid.ok ? 'fulfilled' : errorKind(invalid.error), 'deleting an invalid key is refused as invalid').toBe('invalid');
      const aborted = await settle(remove(kept.key, { signal: AbortSignal.abort() }));
      expect(aborted.ok, 'delete() with an aborted signal rejects').toBe(false);
      expect((await backdoor.readObject(kept.key)) !== undefined, 'an aborted delete() removed nothing').toBe(true);

      const again = putInput(doomed.key, utf8('second bytes, after the delete'));
      const result = await destination.put(again);
      expect(result.created, 'the deleted key can be created again').toBe(true);
      expect(sha256Hex((await backdoor.readObject(doomed.key))?.body ?? new Uint8Array()), 'what really landed: the new bytes').toBe(again.sha256);
    },
  },
  {
    name: 'capabilities.versions is none, erasable or left out; eraseVersions() exists exactly when erasable, erases every version of exactly that key and nothing beside it',
    async run({ destination, backdoor, expect, prefix }) {
      const versions = destination.capabilities.versions;
      expect([undefined, 'none', 'erasable'].includes(versions), `capabilities.versions is 'none', 'erasable' or left out (got ${String(versions)})`).toBe(true);
      if (versions !== 'erasable') {
        expect(destination.eraseVersions, "a destination whose capabilities.versions is not 'erasable' has no eraseVersions()").toBe(undefined);
        return;
      }
      expect(typeof destination.eraseVersions, "a destination that declares capabilities.versions: 'erasable' has eraseVersions()").toBe('function');
      const eraseVersions = destination.eraseVersions!.bind(destination);
      const person = putInput(`${prefix}versions/a`, utf8('the person'));
      const neighbour = putInput(`${prefix}versions/a2`, utf8('a neighbour whose key starts with the same characters'));
      await destination.put(person);
      await destination.put(neighbour);

      const result = await eraseVersions(person.key);
      expect(result.key, 'the result names the key').toBe(person.key);
      expect(result.complete, 'no version is left after erasing an object nothing protects').toBe(true);
      expect(result.versions.length > 0 && result.versions.every((entry) => entry.outcome === 'erased'), 'every version listed was erased').toBe(true);
      expect(result.versions.filter((entry) => entry.current).length, 'exactly one version was the current one').toBe(1);
      expect(await backdoor.readObject(person.key), 'what really landed: the object is gone').toBe(undefined);
      expect(await destination.head(person.key), 'head() of the erased key').toBe(undefined);
      expect(sha256Hex((await backdoor.readObject(neighbour.key))?.body ?? new Uint8Array()), 'the key sharing its prefix is untouched').toBe(neighbour.sha256);
      expect(await eraseVersions(`${prefix}versions/never-written`), 'a key never written has no versions').toEqual({ key: `${prefix}versions/never-written`, versions: [], complete: true });
      const invalid = await settle(eraseVersions(`${prefix}../escape`));
      expect(invalid.ok ? 'fulfilled' : errorKind(invalid.error), 'an invalid key is refused as invalid').toBe('invalid');
    },
  },
];
