export { createEmbeddedQueue } from './create-embedded-queue.js';
export type { EmbeddedQueue } from './create-embedded-queue.js';
export type { EmbeddedQueueOptions } from './embedded-queue-options.js';
export { salvageEmbeddedQueue } from './salvage-embedded-queue.js';
export type { SalvageDamagedRange, SalvageEmbeddedQueueOptions, SalvageLostMessage, SalvageReport } from './salvage-embedded-queue.js';
