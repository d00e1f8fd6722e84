// The one description of payload format v1 that both the validator and the JSON Schema are built from.
// To add an optional field, add one entry to the fields of its channel (or to baseFieldRules).
import type { KnownChannel } from './channel.js';

/** What a known field must hold. Every optional field may also be `null`, which counts as absent. */
export type FieldRule =
  | 'version'
  | 'channel'
  /** A non-empty string of at most `maxMessageIdLength` code points, or a number. */
  | 'message-id'
  /** A non-empty string or a number. */
  | 'required-identifier'
  | 'epoch-milliseconds'
  | 'string'
  /** A string (an empty one counts as absent in key layouts) or a number. */
  | 'identifier'
  /** One mailbox: an address, optionally with a display name. */
  | 'mailbox'
  /** An address list in one string, or a non-empty array of them. */
  | 'email-recipients'
  /** A phone number, or a non-empty array of them. */
  | 'phone-recipients'
  /** A non-empty string (a push token, a user id…), or a non-empty array of them. */
  | 'token-recipients'
  /** An address list in one string, or an array of them (possibly empty). */
  | 'address-lists'
  /** A string, or an array of strings. */
  | 'string-or-strings'
  /** A string (as CleverTap sends them), or an object mapping names to a string, a number, or an array of them. */
  | 'headers'
  | 'json-object'
  /** A string, or a JSON object (a vendor-shaped body). */
  | 'string-or-object'
  | 'json-list-or-object'
  | 'attachments'
  | 'base64';

// Defined with the other message limits; re-exported here for the validator and the JSON Schema.
export { maxMessageIdLength } from '../limits/index.js';

/** Smallest accepted `sent_at`: 1e11 ms is March 1973; anything smaller is almost certainly epoch seconds. */
export const minSentAt = 100_000_000_000;

/** Largest accepted `sent_at`: the last millisecond of the year 9999 (UTC). */
export const maxSentAt = 253_402_300_799_999;

/** Fields of every channel, except `to`, whose rule depends on the channel. */
export const baseFieldRules: Readonly<Record<string, FieldRule>> = {
  version: 'version',
  channel: 'channel',
  message_id: 'message-id',
  project_id: 'required-identifier',
  sent_at: 'epoch-milliseconds',
  campaign_id: 'identifier',
  campaign_name: 'string',
  canvas_id: 'identifier',
  canvas_step_id: 'identifier',
  canvas_variation_id: 'identifier',
  message_variation_id: 'identifier',
  journey_id: 'identifier',
  journey_node_id: 'identifier',
  journey_name: 'string',
  user_id: 'identifier',
  extras: 'json-object',
};

/**
 * Required on every channel: what a message cannot be archived without (its format version, the
 * channel, an id, the project that keys and routes it, a time, a recipient to key by). Nothing
 * else is required: a message is archived with whatever content it carries.
 */
export const baseRequiredFields: readonly string[] = ['version', 'channel', 'message_id', 'project_id', 'sent_at', 'to'];

/** Fields of one channel. */
export interface ChannelFieldRules {
  /** Rules of the channel's own fields, `to` included. */
  readonly fields: Readonly<Record<string, FieldRule>>;
}

/** The channel-specific part of payload format v1, for the known channels. */
export const channelFieldRules: Readonly<Record<KnownChannel, ChannelFieldRules>> = {
  email: {
    fields: {
      to: 'email-recipients',
      from_name: 'string',
      from_address: 'mailbox',
      reply_to: 'string-or-strings',
      cc: 'address-lists',
      bcc: 'address-lists',
      subject: 'string',
      html_body: 'string',
      plaintext_body: 'string',
      amp_body: 'string',
      headers: 'headers',
      attachments: 'attachments',
      raw_mime: 'base64',
    },
  },
  sms: {
    fields: {
      to: 'phone-recipients',
      body: 'string',
      provider: 'string',
      media_urls: 'string-or-strings',
      subscription_group: 'string',
    },
  },
  push: {
    fields: {
      to: 'token-recipients',
      platform: 'string',
      app_id: 'string',
      payload: 'json-object',
    },
  },
  whatsapp: {
    fields: {
      to: 'phone-recipients',
      body: 'string-or-object',
      provider: 'string',
      template_name: 'string',
      template_params: 'json-list-or-object',
      media_urls: 'string-or-strings',
    },
  },
};

/** The rules of a channel that is not one of the known four: the base fields and a recipient. */
export const customChannelFieldRules: ChannelFieldRules = { fields: { to: 'token-recipients' } };

/**
 * Rules of an attachment's own fields: the documented names (`file_name`, `content_type`, base64
 * `bytes`) and nodemailer's (`filename`, `contentType`, `content`, `encoding`). Every field is
 * optional; an attachment must be an object.
 */
export const attachmentFieldRules: Readonly<Record<string, FieldRule>> = {
  file_name: 'string',
  content_type: 'string',
  bytes: 'base64',
  filename: 'string',
  contentType: 'string',
  content: 'string',
  encoding: 'string',
};
