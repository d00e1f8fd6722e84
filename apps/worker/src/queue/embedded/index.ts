export { createEmbeddedQueue } from './create-embedded-queue.js';
export type { EmbeddedQueue } from './create-embedded-queue.js';
export type { EmbeddedQueueOptions } from './embedded-queue-options.js';
