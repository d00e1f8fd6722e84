import type { ConformanceCheck } from './conformance-check.js';
import type { ConformanceGroupName } from './conformance-options.js';
import { abortChecks } from './groups/abort.js';
import { concurrencyChecks } from './groups/concurrency.js';
import { conflictChecks } from './groups/conflict.js';
import { crossProcessChecks } from './groups/cross-process.js';
import { deleteChecks } from './groups/delete.js';
import { errorKindsChecks } from './groups/error-kinds.js';
import { hostileKeysChecks } from './groups/hostile-keys.js';
import { idempotencyChecks } from './groups/idempotency.js';
import { largeObjectChecks } from './groups/large-object.js';
import { paginationChecks } from './groups/pagination.js';
import { probeChecks } from './groups/probe.js';
import { roundtripChecks } from './groups/roundtrip.js';

/** Every group, in the order the suite runs them. */
export const conformanceGroupNames: readonly ConformanceGroupName[] = ['roundtrip', 'idempotency', 'conflict', 'concurrency', 'crossProcess', 'pagination', 'hostileKeys', 'largeObject', 'abort', 'delete', 'errorKinds', 'probe'];

/**
 * The checks of each group. {@link runDestinationConformance} registers them with a test runner;
 * they can also be run directly, e.g. to prove a check fails against a deliberately broken destination.
 */
export const conformanceGroups: Readonly<Record<ConformanceGroupName, readonly ConformanceCheck[]>> = {
  roundtrip: roundtripChecks,
  idempotency: idempotencyChecks,
  conflict: conflictChecks,
  concurrency: concurrencyChecks,
  crossProcess: crossProcessChecks,
  pagination: paginationChecks,
  hostileKeys: hostileKeysChecks,
  largeObject: largeObjectChecks,
  abort: abortChecks,
  delete: deleteChecks,
  errorKinds: errorKindsChecks,
  probe: probeChecks,
};
