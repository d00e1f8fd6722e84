export { createAlertNotifier } from './create-alert-notifier.js';
export type { AlertKind, AlertNotification, AlertNotifier, AlertNotifierHealth, AlertNotifierOptions, DestinationAlertState, LedgerAlertNotification, LedgerHealthChange, QueueAlertNotification } from './alert-notifier-options.js';
export { watchQueueHealth } from './watch-queue-health.js';
export type { QueueHealthWatch, WatchQueueHealthOptions } from './watch-queue-health.js';
