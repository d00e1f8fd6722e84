import { ledgerMessageFacts, type LedgerMessageFacts } from '../ledger/index.js';
import type { PreparedObject } from './prepare-object.js';

// Kept beside the prepared object rather than on it, so the public PreparedObject stays as it is;
// an object copied or built by hand simply has none, and its message is read instead.
const facts = new WeakMap<PreparedObject, LedgerMessageFacts>();

/** Records what a prepare thread read for the ledger from `prepared`'s message. */
export function rememberLedgerFacts(prepared: PreparedObject, read: LedgerMessageFacts): PreparedObject {
  facts.set(prepared, read);
  return prepared;
}

/** What a prepare thread read for the ledger from `prepared`'s message, if it was prepared on one. */
export function rememberedLedgerFacts(prepared: PreparedObject): LedgerMessageFacts | undefined {
  return facts.get(prepared);
}

/** What the ledger entry of `prepared` takes from its message: as the prepare thread read it, else read now. */
export function ledgerFactsOf(prepared: PreparedObject): LedgerMessageFacts {
  return facts.get(prepared) ?? ledgerMessageFacts(prepared.message);
}
