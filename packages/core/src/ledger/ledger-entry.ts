import { createHash, createHmac } from 'node:crypto';
import { messageRecipients } from '../key-layout/index.js';
import { identifierText, type Channel, type Message } from '../payload/index.js';
import type { LedgerEntry } from './ledger-format.js';

/**
 * Hashes one normalized recipient (lower-cased email, E.164 phone, push token as is) for the
 * ledger. Use the same hash as the archive's key layout, so a person's entries are found from
 * their address the same way their keys are.
 */
export type RecipientHash = (recipient: string, channel: Channel) => string;

/** The unkeyed `{sha256(recipient)}` hash. Phone numbers are a small space: prefer {@link createHmacRecipientHash}. */
export const sha256RecipientHash: RecipientHash = (recipient) => createHash('sha256').update(recipient, 'utf8').digest('hex');

/** The keyed `{hmac(recipient)}` hash: HMAC-SHA-256 of the normalized recipient under a per-deployment secret. */
export function createHmacRecipientHash(secret: string | Uint8Array): RecipientHash {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (key.byteLength < 16) throw new TypeError('The recipient hash secret must be at least 16 bytes.');
  return (recipient) => createHmac('sha256', key).update(recipient, 'utf8').digest('hex');
}

/** What the archiver knows about one stored object. */
export interface LedgerObjectFacts {
  readonly key: string;
  readonly sha256: string;
  readonly size: number;
  readonly version: boolean;
  readonly originalKey?: string;
}

function asText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  const text = (value as { text?: unknown }).text;
  return typeof text === 'string' ? text : JSON.stringify(value);
}

/** Builds the ledger entry of a stored object from its message. */
export function ledgerEntryFor(message: Message, object: LedgerObjectFacts, options: { recipientHash: RecipientHash; storedAt: number }): LedgerEntry {
  const hash = (recipient: string) => options.recipientHash(recipient, message.channel);
  // Every recipient (to, then cc and bcc), normalized as key layouts do, so any of them finds the entry.
  const recipients = messageRecipients(message).map(hash);
  const optional: Record<string, string> = {};
  for (const field of ['campaign_id', 'canvas_id', 'canvas_step_id', 'journey_id', 'journey_node_id', 'user_id'] as const) {
    const text = asText(message[field]);
    if (text !== undefined) optional[field] = text;
  }
  return {
    type: 'entry',
    key: object.key,
    sha256: object.sha256,
    size: object.size,
    message_id: identifierText(message.message_id),
    channel: message.channel,
    project_id: identifierText(message.project_id),
    recipients,
    ...optional,
    sent_at: message.sent_at,
    stored_at: options.storedAt,
    version: object.version,
    ...(object.originalKey === undefined ? {} : { original_key: object.originalKey }),
  };
}
