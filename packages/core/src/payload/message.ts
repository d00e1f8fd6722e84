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
  /**
   * The channel the message was sent through; decides which channel fields apply. A known
   * channel, or another name a project declares (those get the generic rules only).
   */
  channel: Channel;
  /**
   * Unique id of this one message, chosen by the sender (Braze calls it `dispatch_id`).
   * The idempotency key: archiving the same `message_id` twice stores one object.
   * A non-empty string of at most 512 characters (Unicode code points), or a number (CleverTap
   * and others send numbers), which keys by its text (`identifierText`): `123` and `"123"` are
   * the same id.
   */
  message_id: string | number | JsonNumber;
  /** The sending project (workspace, app) the message belongs to. A non-empty string, or a number (keyed by its text). */
  project_id: string | number | JsonNumber;
  /** When the message was sent, in epoch milliseconds (UTC). A whole number. */
  sent_at: number;
  /**
   * The recipient exactly as the message was addressed, depending on the channel: email
   * addresses (optionally with display names, `Jane Doe <jane@example.com>`; several in one
   * string separated by commas), phone numbers (E.164 preferred), push tokens, or for other
   * channels any non-empty text. A string, or a non-empty list of them; the first recipient keys
   * the object (see `messageRecipients`).
   */
  to: string | string[];
  /**
   * The campaign the message belongs to, kept exactly as received (string or number; a number a
   * double cannot hold exactly is a {@link JsonNumber}). Absent for unassociated sends.
   */
  campaign_id?: string | number | JsonNumber | null;
  /** Human-readable campaign name. */
  campaign_name?: string | null;
  /** Braze-style Canvas (multi-step flow) id (string or number). */
  canvas_id?: string | number | JsonNumber | null;
  /** Braze-style Canvas step id (string or number); the key fallback when there is no `campaign_id`. */
  canvas_step_id?: string | number | JsonNumber | null;
  /** Braze-style Canvas variation id (string or number). */
  canvas_variation_id?: string | number | JsonNumber | null;
  /** Id of the message variation (A/B test arm) that was sent (string or number). */
  message_variation_id?: string | number | JsonNumber | null;
  /** CleverTap-style journey id, kept exactly as received (string, number or {@link JsonNumber}). */
  journey_id?: string | number | JsonNumber | null;
  /** CleverTap-style journey node id, kept exactly as received (string, number or {@link JsonNumber}). */
  journey_node_id?: string | number | JsonNumber | null;
  /** Human-readable journey name. */
  journey_name?: string | null;
  /** The sender's id for the recipient user, kept exactly as received (string, number or {@link JsonNumber}). */
  user_id?: string | number | JsonNumber | null;
  /** Free-form key/value data the sender attached (any JSON values). */
  extras?: JsonObject | null;
  /** Any other field: kept, untouched, exactly as received. */
  [field: string]: unknown;
}

/**
 * A file attached to an email, with the documented field names (`file_name`, `content_type`,
 * `bytes`) or nodemailer's (`filename`, `contentType`, `content`, `encoding`). Every field is
 * optional and may be `null`; the attachment is stored exactly as received.
 */
export interface EmailAttachment {
  /** File name as shown to the recipient. */
  file_name?: string | null;
  /** MIME type, e.g. `application/pdf`. */
  content_type?: string | null;
  /**
   * The file's bytes in base64, in any standard form: the standard or URL-safe alphabet, padded or
   * not, wrapped in lines (CRLF or LF) between groups of 4 characters as MIME does at 76 columns.
   */
  bytes?: string | null;
  /** nodemailer's name for `file_name`. */
  filename?: string | null;
  /** nodemailer's name for `content_type`. */
  contentType?: string | null;
  /** nodemailer's content: text, or base64 when `encoding` is `base64`. */
  content?: string | null;
  /** nodemailer's encoding of `content`, e.g. `base64`. */
  encoding?: string | null;
  /** Any other field: kept as received. */
  [field: string]: unknown;
}

/** An email message: `to` holds email addresses; every other field is optional (`raw_mime` may be the whole message). */
export interface EmailMessage extends MessageBase {
  /** Always `email`. */
  channel: 'email';
  /** Sender display name, e.g. `Example Shop`. */
  from_name?: string | null;
  /** Sender address, optionally with a display name, e.g. `no-reply@example.com` or `Example Shop <no-reply@example.com>`. */
  from_address?: string | null;
  /** Reply-To, as sent: a string or a list of strings. */
  reply_to?: string | string[] | null;
  /** Carbon-copy recipients, as sent: an address list in one string, or a list of them. */
  cc?: string | string[] | null;
  /** Blind carbon-copy recipients, as sent: an address list in one string, or a list of them. */
  bcc?: string | string[] | null;
  /** Subject line, as rendered for this recipient. */
  subject?: string | null;
  /** HTML body, as rendered for this recipient, byte-for-byte. */
  html_body?: string | null;
  /** Plain-text body, as rendered for this recipient. */
  plaintext_body?: string | null;
  /** AMP for Email body, when the email has one. */
  amp_body?: string | null;
  /**
   * Email headers: name to value (a string, a number, or a list of them for repeated headers
   * such as `Received`), or all headers as one string (as CleverTap documents them).
   */
  headers?: string | Record<string, string | number | JsonNumber | (string | number | JsonNumber)[] | null> | null;
  /** Attached files. */
  attachments?: EmailAttachment[] | null;
  /**
   * The exact RFC 5322 message handed to the mail server (headers and MIME body, as bytes), in
   * standard base64 (RFC 4648 alphabet, `=`-padded, no line breaks). Base64 because MIME may be
   * 8-bit and need not be UTF-8, and a JSON string can only hold text: decoding the field gives
   * the identical bytes. An email may carry only this body; `to`, `sent_at` and `message_id`
   * left out are then read from its To/Cc/Bcc, Date and Message-ID headers (see `completeRawMimeMessage`).
   */
  raw_mime?: string | null;
}

/** An SMS or MMS message: `to` holds phone numbers. */
export interface SmsMessage extends MessageBase {
  /** Always `sms`. */
  channel: 'sms';
  /** Text as sent. */
  body?: string | null;
  /** Name of the SMS provider that carried it, e.g. `twilio`. */
  provider?: string | null;
  /** URLs of MMS media, in order (one URL may be given as a string). */
  media_urls?: string | string[] | null;
  /** Subscription group (opt-in list) the message was sent under. */
  subscription_group?: string | null;
}

/** A push notification: `to` holds push tokens. */
export interface PushMessage extends MessageBase {
  /** Always `push`. */
  channel: 'push';
  /** Target platform as the sender names it, e.g. `ios`, `android`, `web`, `kindle` (not restricted). */
  platform?: string | null;
  /** The sending app's id or API key. */
  app_id?: string | null;
  /** The entire push payload as sent to the push service (e.g. the APNs or FCM JSON). */
  payload?: JsonObject | null;
}

/** A WhatsApp message: `to` holds phone numbers. */
export interface WhatsAppMessage extends MessageBase {
  /** Always `whatsapp`. */
  channel: 'whatsapp';
  /**
   * Text as sent (for a template message, the rendered text if the sender has it), or a
   * vendor-shaped body object such as CleverTap's structured WhatsApp body.
   */
  body?: string | JsonObject | null;
  /** Name of the provider that carried it, e.g. `twilio`. */
  provider?: string | null;
  /** Approved template name, for template messages. */
  template_name?: string | null;
  /** Template parameters: positional (array) or named (object). */
  template_params?: JsonValue[] | JsonObject | null;
  /** URLs of attached media, in order (one URL may be given as a string). */
  media_urls?: string | string[] | null;
}

/**
 * A message of a channel a project declared beyond the known four (RCS, in-app, voice, webhook,
 * …): the base fields are checked, `to` is any non-empty text (or a list), and every other field
 * is kept as received.
 */
export interface CustomChannelMessage extends MessageBase {
  /** The declared channel's name. */
  channel: string;
}

/**
 * A message of any channel; narrow it with `message.channel`. Any optional field may be `null`
 * as received: it is stored as sent and counts as absent for validation and key layouts.
 */
export type Message = EmailMessage | SmsMessage | PushMessage | WhatsAppMessage | CustomChannelMessage;
