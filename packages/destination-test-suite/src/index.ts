export { conformanceGroupNames, conformanceGroups } from './conformance-groups.js';
export type { ConformanceCheck, ConformanceContext } from './conformance-check.js';
export type {
  BackdoorObject,
  ConformanceBody,
  ConformanceExpect,
  ConformanceFault,
  ConformanceFaultInjection,
  ConformanceFaults,
  ConformanceGroupName,
  ConformanceMatchers,
  ConformanceRunner,
  CrossProcessWriters,
  DestinationBackdoor,
  DestinationConformanceOptions,
} from './conformance-options.js';
export { defaultConformanceTimeoutMs, runDestinationConformance } from './run-destination-conformance.js';
export { runWriterProcesses } from './cross-process-writers.js';
export type { WriterOutcome, WriterPut } from './cross-process-writers.js';
