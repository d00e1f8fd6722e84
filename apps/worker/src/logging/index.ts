export { createJsonLineLogger } from './worker-logger.js';
export type { LogEntry, LogLevel, WorkerLogger } from './worker-logger.js';
