import { isEmailAddress, MessageValidationError, toE164, type Channel } from '../payload/index.js';

/**
 * The recipient as keys hash it, so the same person always maps to the same folder however the
 * sender typed the address:
 * - email: trimmed and lower-cased, the local part included (as the vendors do);
 * - SMS and WhatsApp: E.164 (`+` and digits); a number without `+` or `00` is read as including its country code;
 * - push: the token exactly as given.
 * Throws a `MessageValidationError` for `to` when the value is not valid for the channel (never echoing it).
 */
export function normalizeRecipient(channel: Channel, to: string): string {
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
      if (to.length === 0) throw new MessageValidationError([{ path: 'to', problem: 'must not be empty' }]);
      return to;
  }
}
