export { createAlertNotifier } from './create-alert-notifier.js';
export type { AlertKind, AlertNotification, AlertNotifier, AlertNotifierHealth, AlertNotifierOptions, DestinationAlertState } from './alert-notifier-options.js';
