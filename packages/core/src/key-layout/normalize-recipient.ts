import { channels, isEmailAddress, MessageValidationError, toE164, type Channel } from '../payload/index.js';

/**
 * The recipient as key layouts use it (`{recipient}`, `{md5(recipient)}`, `{sha256(recipient)}`),
 * so the same person always maps to the same folder however the sender typed the address, and a
 * support agent can find a person's messages from their address:
 * - email: surrounding white space trimmed and the whole address lower-cased, the local part
 *   included (as Braze and CleverTap do), although a mail server may treat its case as significant;
 * - SMS and WhatsApp: E.164, `+` then digits (spaces, dashes, dots and parentheses dropped; a
 *   leading `00` read as `+`; a number without `+` or `00` read as including its country code);
 * - push: the token exactly as given.
 *
 * Throws a `MessageValidationError` with path `to` when `to` is not a recipient of the channel
 * (or `channel` when that is not a channel): only possible for input that did not go through
 * `parseMessage`. The problem never echoes the value.
 */
export function normalizeRecipient(channel: Channel, to: string): string {
  if (typeof to !== 'string') throw new MessageValidationError([{ path: 'to', problem: 'must be a string' }]);
  switch (channel) {
    case 'email':
      if (!isEmailAddress(to)) throw new MessageValidationError([{ path: 'to', problem: 'must be a valid email address' }]);
      return to.trim().toLowerCase();
    case 'sms':
    case 'whatsapp': {
      const phone = toE164(to);
      if (!phone.ok) throw new MessageValidationError([{ path: 'to', problem: phone.problem }]);
      return phone.value;
    }
    case 'push':
      if (to.length === 0) throw new MessageValidationError([{ path: 'to', problem: 'must be a non-empty push token' }]);
      return to;
    default:
      throw new MessageValidationError([{ path: 'channel', problem: `must be one of ${channels.join(', ')}` }]);
  }
}
