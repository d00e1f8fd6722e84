export { createWorkerMetrics } from './create-worker-metrics.js';
export { metricsRejectReasons, metricsRoutes } from './worker-metrics-options.js';
export type { MetricsIntakeEvent, MetricsRejectReason, MetricsRoute, OutcomeInfo, ReloadResult, WorkerMetrics, WorkerMetricsOptions } from './worker-metrics-options.js';
