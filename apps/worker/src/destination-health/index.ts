export { createDestinationHealth } from './create-destination-health.js';
export type { DestinationHealth, DestinationHealthEvent, DestinationHealthOptions, DestinationHealthState, DestinationProblemKind, WriteReport } from './destination-health-options.js';
