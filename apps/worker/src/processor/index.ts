export { createProcessor } from './create-processor.js';
export type { OutcomeMessage, ProcessOutcome, Processor, ProcessorOptions, StopOptions, StopReport } from './processor-options.js';
