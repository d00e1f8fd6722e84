export { createHmacRecipientHash, ledgerEntryFor, ledgerEntryFromFacts, ledgerMessageFacts, sha256RecipientHash, type LedgerMessageFacts } from './ledger-entry.js';
export type { LedgerObjectFacts, RecipientHash } from './ledger-entry.js';
export { LedgerError } from './ledger-error.js';
export type { LedgerErrorKind, LedgerErrorOptions } from './ledger-error.js';
export {
  assertWriterId,
  decodeLedgerSegment,
  encodeLedgerSegment,
  isLedgerKey,
  ledgerTombstoneReasons,
  ledgerChainPrefix,
  ledgerFormatVersion,
  ledgerPrefix,
  ledgerSegmentKey,
  parseLedgerSegmentKey,
} from './ledger-format.js';
export type { DecodedSegment, LedgerEntry, LedgerRecord, LedgerSegmentHeader, LedgerTombstone, LedgerTombstoneReason } from './ledger-format.js';
export { createLedgerWriter } from './ledger-writer.js';
export type { LedgerWriter, LedgerWriterOptions } from './ledger-writer.js';
export { readLedger } from './read-ledger.js';
export type { LedgerChainProblem, LedgerChainProblemKind, LedgerChainSummary, LedgerReadResult, ReadLedgerOptions } from './read-ledger.js';
export { persistentWriterId, randomWriterId } from './writer-id.js';
