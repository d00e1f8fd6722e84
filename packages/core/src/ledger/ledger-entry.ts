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

/**
 * What a ledger entry takes from its message. A prepare pool's thread reads it where it parsed the
 * message and sends it back with the prepared object, so listing an object never parses its
 * message again on the writing thread.
 */
export interface LedgerMessageFacts {
  /** `message_id` as text. */
  readonly messageId: string;
  /** `project_id` as text. */
  readonly projectId: string;
  readonly channel: Channel;
  /** Every recipient (to, then cc and bcc), normalized as key layouts do; hashed only when the entry is built. */
  readonly recipients: readonly string[];
  /** The campaign, canvas, journey and user ids present, as text. */
  readonly fields: Readonly<Record<string, string>>;
  /** `sent_at`, epoch milliseconds. */
  readonly sentAt: number;
}

const listedFields = ['campaign_id', 'canvas_id', 'canvas_step_id', 'journey_id', 'journey_node_id', 'user_id'] as const;

/** Reads a message's {@link LedgerMessageFacts}. */
export function ledgerMessageFacts(message: Message): LedgerMessageFacts {
  const fields: Record<string, string> = {};
  for (const field of listedFields) {
    const text = asText(message[field]);
    if (text !== undefined) fields[field] = text;
  }
  return {
    messageId: identifierText(message.message_id),
    projectId: identifierText(message.project_id),
    channel: message.channel,
    // Every recipient, so any of them finds the entry.
    recipients: messageRecipients(message),
    fields,
    sentAt: message.sent_at,
  };
}

/** Builds the ledger entry of a stored object from what its message says ({@link ledgerMessageFacts}). */
export function ledgerEntryFromFacts(facts: LedgerMessageFacts, object: LedgerObjectFacts, options: { recipientHash: RecipientHash; storedAt: number }): LedgerEntry {
  return {
    type: 'entry',
    key: object.key,
    sha256: object.sha256,
    size: object.size,
    message_id: facts.messageId,
    channel: facts.channel,
    project_id: facts.projectId,
    recipients: facts.recipients.map((recipient) => options.recipientHash(recipient, facts.channel)),
    ...facts.fields,
    sent_at: facts.sentAt,
    stored_at: options.storedAt,
    version: object.version,
    ...(object.originalKey === undefined ? {} : { original_key: object.originalKey }),
  };
}

/** Builds the ledger entry of a stored object from its message. */
export function ledgerEntryFor(message: Message, object: LedgerObjectFacts, options: { recipientHash: RecipientHash; storedAt: number }): LedgerEntry {
  return ledgerEntryFromFacts(ledgerMessageFacts(message), object, options);
}
