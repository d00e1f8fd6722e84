export { layoutRecipientHash } from './layout-recipient-hash.js';
export type { NamedRecipientHash } from './layout-recipient-hash.js';
export { createWorkerLedgers, defaultLedgerSettings, ledgerSettingsOf, persistentWriterIdSync } from './worker-ledgers.js';
export type { LedgerHealthEvent, LedgerState, ProjectLedger, WorkerLedgers, WorkerLedgersOptions, WorkerLedgerSettings } from './worker-ledgers.js';
