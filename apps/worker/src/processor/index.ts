export { createProcessor } from './create-processor.js';
export type { OutcomeInfo, OutcomeMessage, ProcessOutcome } from './process-outcome.js';
export type { Processor, ProcessorOptions, StopOptions, StopReport } from './processor-options.js';
