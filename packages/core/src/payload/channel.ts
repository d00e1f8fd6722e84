/**
 * A delivery channel sentcopy archives.
 * - `email`: an email message.
 * - `sms`: an SMS or MMS text message.
 * - `push`: a mobile or web push notification.
 * - `whatsapp`: a WhatsApp message (free-form or template).
 */
export type Channel = 'email' | 'sms' | 'push' | 'whatsapp';

/** Every channel, in a stable order (useful for validation, menus and metrics). */
export const channels: readonly Channel[] = Object.freeze(['email', 'sms', 'push', 'whatsapp'] as const);

/** True when `value` is one of {@link channels}. */
export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (channels as readonly string[]).includes(value);
}
