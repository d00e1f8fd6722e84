export { conformanceGroupNames, conformanceGroups } from './conformance-groups.js';
export type { ConformanceCheck, ConformanceContext } from './conformance-check.js';
export type {
  BackdoorObject,
  ConformanceBody,
  ConformanceExpect,
  ConformanceGroupName,
  ConformanceMatchers,
  ConformanceRunner,
  DestinationBackdoor,
  DestinationConformanceOptions,
} from './conformance-options.js';
export { defaultConformanceTimeoutMs, runDestinationConformance } from './run-destination-conformance.js';
