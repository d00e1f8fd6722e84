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
];
