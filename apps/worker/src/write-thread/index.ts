export { createWriteThread, destinationBehind, WriteThreadStoppedError, writeThreadRetryMs } from './create-write-thread.js';
export type { WriteThreadOptions } from './create-write-thread.js';
export type { WriteThreadData } from './write-thread-protocol.js';
