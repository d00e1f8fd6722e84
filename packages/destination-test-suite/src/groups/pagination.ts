import type { ConformanceCheck } from '../conformance-check.js';
import { listAll, mapWithConcurrency, orderProblems, putInput, sortKeys, utf8 } from '../fixtures.js';

/** How many keys the large listing writes: more than one default page of 1,000. */
export const paginationKeyCount = 1050;

/** Checks of the `pagination` group. */
export const paginationChecks: readonly ConformanceCheck[] = [
  {
    name: `pages through ${paginationKeyCount} keys exactly once, in the declared order, with the default limit and with limit 100`,
    async run({ destination, backdoor, expect, prefix }) {
      const order = destination.capabilities.listOrder ?? 'utf8';
      const keys = Array.from({ length: paginationKeyCount }, (_, index) => (index % 3 === 0 ? `${prefix}many/${index}` : `${prefix}many/g${index % 8}/${index}`));
      await mapWithConcurrency(keys, 32, (key) => destination.put(putInput(key, utf8(`object ${key}`))));
      const expected = sortKeys(keys, order);
      expect(sortKeys(await backdoor.listKeys(prefix), order), 'the back door sees every key').toEqual(expected);

      const byDefault = await listAll(destination, prefix);
      expect(byDefault.problems, 'paging problems with the default limit').toEqual([]);
      expect(orderProblems(byDefault.keys, order), 'order problems with the default limit').toEqual([]);
      expect(byDefault.keys, 'keys listed with the default limit').toEqual(expected);
      expect(byDefault.pageSizes.length >= 2, `more than 1,000 keys need at least two pages (got ${byDefault.pageSizes.join(', ')})`).toBe(true);
      const wrongSizes = byDefault.objects.filter((object) => object.size !== utf8(`object ${object.key}`).byteLength).map((object) => object.key);
      expect(wrongSizes, 'listed objects with a wrong size').toEqual([]);

      const byHundred = await listAll(destination, prefix, 100);
      expect(byHundred.problems, 'paging problems with limit 100').toEqual([]);
      expect(orderProblems(byHundred.keys, order), 'order problems with limit 100').toEqual([]);
      expect(byHundred.keys, 'keys listed with limit 100').toEqual(expected);
      expect(byHundred.pageSizes.length >= Math.ceil(paginationKeyCount / 100), `limit 100 needs at least 11 pages (got ${byHundred.pageSizes.length})`).toBe(true);

      const group = await listAll(destination, `${prefix}many/g3/`, 50);
      expect(group.keys, 'listing one sub-folder').toEqual(expected.filter((key) => key.startsWith(`${prefix}many/g3/`)));
      const partialSegment = await listAll(destination, `${prefix}many/1`);
      expect(partialSegment.keys, 'a prefix ending mid-segment').toEqual(expected.filter((key) => key.startsWith(`${prefix}many/1`)));
    },
  },
  {
    name: 'orders keys by UTF-8 bytes, or by UTF-16 code units where declared (never by locale), and filters by exact string prefix',
    async run({ destination, expect, prefix }) {
      // In UTF-8 byte order; in UTF-16 code-unit order the emoji (a surrogate pair) comes before U+FF5E.
      const ordered = sortKeys(['d/Z', 'd/a-b', 'd/a.b', 'd/a/b', 'd/a0', 'd/~', 'd/é', 'd/\uff5e', 'd/😀'], destination.capabilities.listOrder ?? 'utf8');
      const siblings = ['p/a', 'p/a-b/x', 'p/ab', 'p/b', 'p2/x'];
      for (const key of [...ordered].reverse().concat(siblings)) await destination.put(putInput(prefix + key, utf8(key)));
      const relative = (keys: readonly string[]): string[] => keys.map((key) => key.slice(prefix.length));

      expect(relative((await listAll(destination, `${prefix}d/`)).keys), 'byte order; "/" sorts as 0x2F').toEqual(ordered);
      const onePerPage = await listAll(destination, `${prefix}d/`, 1);
      expect({ keys: relative(onePerPage.keys), problems: onePerPage.problems }, 'paging one key at a time').toEqual({ keys: ordered, problems: [] });

      expect(relative((await listAll(destination, `${prefix}p/a`)).keys), 'prefix "p/a"').toEqual(['p/a', 'p/a-b/x', 'p/ab']);
      expect(relative((await listAll(destination, `${prefix}p/`, 2)).keys), 'prefix "p/"').toEqual(['p/a', 'p/a-b/x', 'p/ab', 'p/b']);
      expect(relative((await listAll(destination, `${prefix}p`)).keys), 'prefix "p"').toEqual(siblings);
      expect(relative((await listAll(destination, `${prefix}p/a/`)).keys), 'prefix "p/a/" below an object').toEqual([]);
      const nothing = await destination.list({ prefix: `${prefix}nothing/` });
      expect({ keys: nothing.objects.map((object) => object.key), cursor: nothing.cursor }, 'an empty prefix gives one empty last page').toEqual({ keys: [], cursor: undefined });
    },
  },
];
