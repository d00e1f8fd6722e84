export { createWorkerMetrics } from './create-worker-metrics.js';
export { metricsRejectReasons, metricsRoutes } from './worker-metrics-options.js';
export type { OutcomeInfo } from '../processor/process-outcome.js';
export type { MetricsIntakeEvent, MetricsRejectReason, MetricsRoute, ReloadResult, WorkerMetrics, WorkerMetricsOptions } from './worker-metrics-options.js';
