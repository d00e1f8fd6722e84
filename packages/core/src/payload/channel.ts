/**
 * A channel sentcopy knows the fields of, and checks them:
 * - `email`: an email message.
 * - `sms`: an SMS or MMS text message.
 * - `push`: a mobile or web push notification.
 * - `whatsapp`: a WhatsApp message (free-form or template).
 */
export type KnownChannel = 'email' | 'sms' | 'push' | 'whatsapp';

/**
 * A delivery channel: one of the {@link KnownChannel}s, or any other name a project declares
 * (`rcs`, `in_app`, `voice`, `webhook`, …) matching {@link channelNamePattern}. Messages of
 * other channels get the generic rules only (id, time, recipient); their other fields are kept
 * as received, unchecked.
 */
export type Channel = KnownChannel | (string & {});

/** The known channels, in a stable order (useful for validation, menus and metrics). */
export const channels: readonly KnownChannel[] = Object.freeze(['email', 'sms', 'push', 'whatsapp'] as const);

/**
 * What a channel name must look like: a lower-case letter, then up to 31 lower-case letters,
 * digits, `_` or `-`. Safe in key segments, metric labels and file names.
 */
export const channelNamePattern = '^[a-z][a-z0-9_-]{0,31}$';

const channelName = new RegExp(channelNamePattern);

/** True when `value` is a channel name: a known channel or any name matching {@link channelNamePattern}. */
export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && channelName.test(value);
}

/** True when `value` is one of the known {@link channels}. */
export function isKnownChannel(value: unknown): value is KnownChannel {
  return typeof value === 'string' && (channels as readonly string[]).includes(value);
}
