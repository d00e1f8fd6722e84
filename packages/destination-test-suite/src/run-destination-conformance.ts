import { randomUUID } from 'node:crypto';
import { objectKeyProblem, resolveDestination, type DestinationV1 } from '@sentcopy/core';
import { conformanceGroupNames, conformanceGroups } from './conformance-groups.js';
import type { DestinationConformanceOptions } from './conformance-options.js';

/** Per-test timeout when none is given, in milliseconds. */
export const defaultConformanceTimeoutMs = 60_000;

function runPrefix(keyPrefix: string | undefined): string {
  if (keyPrefix === undefined || keyPrefix === '') return `sentcopy-conformance/${Date.now().toString(36)}-${randomUUID().slice(0, 8)}/`;
  const prefix = keyPrefix.endsWith('/') ? keyPrefix : `${keyPrefix}/`;
  const problem = objectKeyProblem(`${prefix}x`);
  if (problem !== undefined) throw new TypeError(`keyPrefix must start valid object keys, but a key under it ${problem}.`);
  return prefix;
}

/**
 * Registers the destination conformance suite with `options.runner`: one `describe` per enabled
 * group, one test per check. Each check writes below its own prefix and verifies outcomes through
 * `options.backdoor`, not through the adapter's own answers.
 */
export function runDestinationConformance(options: DestinationConformanceOptions): void {
  const { runner, backdoor } = options;
  const timeout = options.timeoutMs ?? defaultConformanceTimeoutMs;
  const prefix = runPrefix(options.keyPrefix);
  let destination: DestinationV1 | undefined;

  runner.describe(options.name, () => {
    runner.beforeAll(async () => {
      destination = resolveDestination(await options.createDestination());
    }, timeout);
    runner.afterAll(async () => {
      await destination?.close?.();
    }, timeout);

    for (const group of conformanceGroupNames) {
      if (options.groups?.[group] === false) continue;
      runner.describe(group, () => {
        conformanceGroups[group].forEach((check, index) => {
          runner.it(
            check.name,
            async () => {
              runner.expect(destination !== undefined, 'createDestination() succeeded').toBe(true);
              await check.run({ destination: destination as DestinationV1, backdoor, expect: runner.expect, prefix: `${prefix}${group}/${index}/`, options });
            },
            timeout,
          );
        });
      });
    }
  });
}
