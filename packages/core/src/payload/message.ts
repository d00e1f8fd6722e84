import type { Channel } from './channel.js';
import type { JsonNumber, JsonObject, JsonValue } from './json-value.js';

/**
 * Fields every message has, whatever its channel (payload format v1).
 *
 * Fields not listed here are kept exactly as received (see the index signature): sentcopy stores
 * an exact copy, so nothing a sender adds is dropped.
 */
export interface MessageBase {
  /** Payload format version. Always `1`. */
  version: 1;
  /** The channel the message was sent through; decides which channel fields apply. */
  channel: Channel;
  /**
   * Unique id of this one message, chosen by the sender (Braze calls it `dispatch_id`).
   * The idempotency key: archiving the same `message_id` twice stores one object.
   * A non-empty string of at most 512 characters (Unicode code points).
   */
  message_id: string;
  /** The sending project (workspace, app) the message belongs to. A non-empty string. */
  project_id: string;
  /** When the message was sent, in epoch milliseconds (UTC). A whole number. */
  sent_at: number;
  /**
   * The recipient exactly as the message was addressed: an email address, a phone number
   * (E.164 preferred) or a push token, depending on the channel.
   */
  to: string;
  /**
   * The campaign the message belongs to, kept exactly as received (string or number; a number a
   * double cannot hold exactly is a {@link JsonNumber}). Absent for unassociated sends.
   */
  campaign_id?: string | number | JsonNumber;
  /** Human-readable campaign name. */
  campaign_name?: string;
  /** Braze-style Canvas (multi-step flow) id. */
  canvas_id?: string;
  /** Braze-style Canvas step id; the key fallback when there is no `campaign_id`. */
  canvas_step_id?: string;
  /** Braze-style Canvas variation id. */
  canvas_variation_id?: string;
  /** Id of the message variation (A/B test arm) that was sent. */
  message_variation_id?: string;
  /** CleverTap-style journey id, kept exactly as received (string, number or {@link JsonNumber}). */
  journey_id?: string | number | JsonNumber;
  /** CleverTap-style journey node id, kept exactly as received (string, number or {@link JsonNumber}). */
  journey_node_id?: string | number | JsonNumber;
  /** Human-readable journey name. */
  journey_name?: string;
  /** The sender's id for the recipient user, kept exactly as received (string, number or {@link JsonNumber}). */
  user_id?: string | number | JsonNumber;
  /** Free-form key/value data the sender attached (any JSON values). */
  extras?: JsonObject;
  /** Any other field: kept, untouched, exactly as received. */
  [field: string]: unknown;
}

/** A file attached to an email. */
export interface EmailAttachment {
  /** File name as shown to the recipient. A non-empty string. */
  file_name: string;
  /** MIME type, e.g. `application/pdf`. */
  content_type?: string;
  /** The file's bytes, standard base64 (RFC 4648 alphabet, `=`-padded, no line breaks). */
  bytes: string;
  /** Any other field: kept as received. */
  [field: string]: unknown;
}

/** An email message. Requires `to` to be an email address and at least one of the three bodies or `raw_mime`. */
export interface EmailMessage extends MessageBase {
  /** Always `email`. */
  channel: 'email';
  /** Sender display name, e.g. `Example Shop`. */
  from_name?: string;
  /** Sender address, e.g. `no-reply@example.com`. */
  from_address?: string;
  /** Reply-To header value, as sent. */
  reply_to?: string;
  /** Carbon-copy recipients, as sent. */
  cc?: string[];
  /** Blind carbon-copy recipients, as sent. */
  bcc?: string[];
  /** Subject line, as rendered for this recipient. */
  subject?: string;
  /** HTML body, as rendered for this recipient, byte-for-byte. */
  html_body?: string;
  /** Plain-text body, as rendered for this recipient. */
  plaintext_body?: string;
  /** AMP for Email body, when the email has one. */
  amp_body?: string;
  /** Email headers, name to value. */
  headers?: Record<string, string>;
  /** Attached files. */
  attachments?: EmailAttachment[];
  /**
   * The exact RFC 5322 message handed to the mail server (headers and MIME body, as bytes), in
   * standard base64 (RFC 4648 alphabet, `=`-padded, no line breaks). Base64 because MIME may be
   * 8-bit and need not be UTF-8, and a JSON string can only hold text: decoding the field gives
   * the identical bytes. An email may carry only this body; `to`, `sent_at` and `message_id`
   * left out are then read from its To/Cc/Bcc, Date and Message-ID headers (see `completeRawMimeMessage`).
   */
  raw_mime?: string;
}

/** An SMS or MMS message. Requires `to` to be a phone number and a `body`. */
export interface SmsMessage extends MessageBase {
  /** Always `sms`. */
  channel: 'sms';
  /** Text as sent. */
  body: string;
  /** Name of the SMS provider that carried it, e.g. `twilio`. */
  provider?: string;
  /** URLs of MMS media, in order. */
  media_urls?: string[];
  /** Subscription group (opt-in list) the message was sent under. */
  subscription_group?: string;
}

/** A push notification. Requires a token in `to`, a `platform` and the `payload`. */
export interface PushMessage extends MessageBase {
  /** Always `push`. */
  channel: 'push';
  /** Target platform as the sender names it, e.g. `ios`, `android`, `web`, `kindle` (not restricted). */
  platform: string;
  /** The sending app's id or API key. */
  app_id?: string;
  /** The entire push payload as sent to the push service (e.g. the APNs or FCM JSON). */
  payload: JsonObject;
}

/** A WhatsApp message. Requires `to` to be a phone number and a `body` or a `template_name`. */
export interface WhatsAppMessage extends MessageBase {
  /** Always `whatsapp`. */
  channel: 'whatsapp';
  /** Text as sent (for a template message, the rendered text if the sender has it). */
  body?: string;
  /** Name of the provider that carried it, e.g. `twilio`. */
  provider?: string;
  /** Approved template name, for template messages. */
  template_name?: string;
  /** Template parameters: positional (array) or named (object). */
  template_params?: JsonValue[] | JsonObject;
  /** URLs of attached media, in order. */
  media_urls?: string[];
}

/** A message of any channel; narrow it with `message.channel`. */
export type Message = EmailMessage | SmsMessage | PushMessage | WhatsAppMessage;
