export { createWorkerMetrics } from './create-worker-metrics.js';
export type { WorkerMetrics, WorkerMetricsOptions } from './create-worker-metrics.js';
