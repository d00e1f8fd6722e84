import { addressesIn, normalizeRecipient, toE164, type Channel, type KeyLayoutReader } from '@sentcopy/core';
import { CliError, exitCodes } from '../cli-kit/index.js';
import { recipientKeyRequired } from './layout-reader.js';

/** The forms a key can hold for one recipient address: hashed (or clear) the way the layout does it. */
export interface RecipientMatch {
  /** Every key form the address may take (one unless the channel is unknown and the address could be a phone number or a push token). */
  readonly keyForms: ReadonlySet<string>;
  /** The normalized recipients, for matching a message's `to` when the key holds none. Kept in memory only. */
  readonly normalized: ReadonlySet<string>;
}

/**
 * Normalizes `address` exactly as key layouts do (lower-cased email address part, so `Jane <jane@example.com>`
 * finds jane@example.com; E.164 phone; push token as is) and hashes it the way the layout's
 * `recipientEncoding` says (a keyed hash with the reader's recipient key), so only the hash is ever
 * compared with or sent to the store as a prefix. Without `channel`, an address with `@` is an email; anything else may be a
 * phone number (SMS, WhatsApp) or a push token, and both forms are kept.
 * Errors name `--recipient`, never the value.
 */
export function recipientMatch(address: string, channel: Channel | undefined, reader: Pick<KeyLayoutReader, 'recipientEncoding' | 'layout' | 'recipientKeyForm'>): RecipientMatch {
  if (reader.recipientEncoding === 'hmac' && reader.layout === undefined) throw recipientKeyRequired('--recipient');
  const normalized = new Set<string>();
  const channels: Channel[] = channel !== undefined ? [channel] : addressesIn(address) !== undefined ? ['email'] : toE164(address).ok ? ['sms', 'push'] : ['push'];
  for (const candidate of channels) {
    try {
      normalized.add(normalizeRecipient(candidate, address));
    } catch {
      // Reported below when no channel accepts it.
    }
  }
  if (normalized.size === 0) {
    throw new CliError(
      `--recipient is not ${channel === 'email' ? 'an email address' : channel === 'push' ? 'a push token' : channel === undefined ? 'a recipient address' : 'a phone number with its country code'}${channel === undefined ? '' : ` (the channel is ${channel})`}.`,
      {
        exitCode: exitCodes.usage,
        code: 'invalid_recipient',
        hint: 'Give the address as it was sent to: name@example.com, +15550100100, or a push token.',
      },
    );
  }
  return { keyForms: new Set([...normalized].map((value) => reader.recipientKeyForm(value) ?? value)), normalized };
}
