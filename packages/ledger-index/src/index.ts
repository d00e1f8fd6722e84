export { entryMatches, unassociatedCampaign } from './index-filters.js';
export type { LedgerIndexFilters } from './index-filters.js';
export { ledgerIndexSchemaVersion } from './index-schema.js';
export { openLedgerIndex } from './ledger-index.js';
export type { IndexedDestination, IndexedObject, IndexPage, IndexQueryOptions, LedgerIndex, LedgerIndexOptions } from './ledger-index.js';
export { LedgerIndexError } from './ledger-index-error.js';
export type { LedgerIndexErrorKind } from './ledger-index-error.js';
export type { IndexProblem, IndexProblemKind, IndexProgress, IndexUpdateOptions, IndexUpdateResult } from './update-index.js';
