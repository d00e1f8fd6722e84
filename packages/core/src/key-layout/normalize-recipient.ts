import { addressesIn, isKnownChannel, MessageValidationError, toE164, type Channel, type Message } from '../payload/index.js';

const addressProblem = 'must be an email address, optionally with a display name ("Jane Doe <jane@example.com>"), or several separated by commas';

/** The first recipient a `to` value (a string or a list) holds, as written. */
function firstRecipient(to: unknown): unknown {
  return Array.isArray(to) ? to[0] : to;
}

/** Every address a recipient text holds for `channel`: the address parts of an address list for email, else the text itself. */
function recipientsIn(channel: Channel, text: string): string[] | undefined {
  return channel === 'email' ? addressesIn(text) : [text];
}

/**
 * The recipient as key layouts use it (`{recipient}`, `{md5(recipient)}`, `{sha256(recipient)}`),
 * so the same person always maps to the same folder however the sender typed the address, and a
 * support agent can find a person's messages from their address:
 * - email: the address part only (a display name, `Jane Doe <jane@example.com>`, is dropped),
 *   surrounding white space trimmed and the whole address lower-cased, the local part included
 *   (as Braze and CleverTap do), although a mail server may treat its case as significant;
 * - SMS and WhatsApp: E.164, `+` then digits (spaces, dashes, dots and parentheses dropped; a
 *   leading `00` read as `+`; a number without `+` or `00` read as including its country code);
 * - push, and any channel beyond the known four: the text exactly as given.
 *
 * `to` may be a `to` field as a whole: a list (the first recipient keys the message) or, for
 * email, an address list in one string (its first address keys it). Throws a
 * `MessageValidationError` with path `to` when `to` holds no recipient of the channel: only
 * possible for input that did not go through `parseMessage`. The problem never echoes the value.
 */
export function normalizeRecipient(channel: Channel, to: string | readonly string[]): string {
  const first = firstRecipient(to);
  if (typeof first !== 'string') throw new MessageValidationError([{ path: 'to', problem: Array.isArray(to) ? 'must hold at least one recipient' : 'must be a string' }]);
  return normalizeOne(channel, first, 'to');
}

function normalizeOne(channel: Channel, text: string, path: string): string {
  switch (channel) {
    case 'email': {
      const address = addressesIn(text)?.[0];
      if (address === undefined) throw new MessageValidationError([{ path, problem: addressProblem }]);
      return address.toLowerCase();
    }
    case 'sms':
    case 'whatsapp': {
      const phone = toE164(text);
      if (!phone.ok) throw new MessageValidationError([{ path, problem: phone.problem }]);
      return phone.value;
    }
    default:
      if (typeof channel !== 'string') throw new MessageValidationError([{ path: 'channel', problem: 'must be a string' }]);
      if (text.length === 0) throw new MessageValidationError([{ path, problem: isKnownChannel(channel) ? 'must be a non-empty push token' : 'must not be empty' }]);
      return text;
  }
}

/**
 * The normalized recipient that keys `message` (see {@link normalizeRecipient}): the first
 * recipient of `to` (for email, the first address of its first entry). Documented in
 * `docs/messages.md`; the other recipients are in {@link messageRecipients}.
 */
export function messageRecipient(message: Message): string {
  return normalizeRecipient(message.channel, message.to);
}

/**
 * Every recipient of a validated message, normalized as {@link normalizeRecipient} does and
 * without repeats, the one that keys the message first: every entry of `to`, then for email every
 * address of `cc` and `bcc`. For browsing and search code that must find a message from any of its
 * recipients, not only from the one in its key. Entries that hold no recipient of the channel
 * (impossible after validation) are skipped.
 */
export function messageRecipients(message: Message): string[] {
  const found = new Set<string>();
  const fields = message.channel === 'email' ? ['to', 'cc', 'bcc'] : ['to'];
  for (const field of fields) {
    const value: unknown = (message as Record<string, unknown>)[field];
    const entries = Array.isArray(value) ? value : [value];
    for (const entry of entries) {
      if (typeof entry !== 'string') continue;
      for (const recipient of recipientsIn(message.channel, entry) ?? []) {
        try {
          found.add(normalizeOne(message.channel, recipient, field));
        } catch {
          // Not a recipient of the channel: nothing to find it by.
        }
      }
    }
  }
  return [...found];
}
